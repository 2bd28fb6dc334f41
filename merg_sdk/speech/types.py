"""Messages the speech stage hands to the motion stage and the transport."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class PhonemeSpan:
    """One phoneme on the turn timeline, as the voice really spoke it.

    `phoneme` is an IPA symbol as espeak-ng writes it (Piper's phoneme set);
    pauses are "" (silence). Times are seconds from the turn's start, so the
    motion stage never needs to know how audio was chunked or resampled.
    """

    phoneme: str
    start_s: float
    end_s: float
    stressed: bool = False

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class SpeechSegment:
    """A clause of synthesized speech placed on the turn timeline.

    `pcm` is mono int16 at the session's sample rate; `t0` is the index of its
    first sample in the turn timeline; `phonemes` carry turn-timeline times
    (empty when the engine gives no timings and motion must come from audio).
    """

    text: str
    t0: int
    sample_rate: int
    pcm: np.ndarray
    phonemes: tuple[PhonemeSpan, ...]

    @property
    def end(self) -> int:
        """Index one past the last sample, in the turn timeline."""
        return self.t0 + len(self.pcm)
