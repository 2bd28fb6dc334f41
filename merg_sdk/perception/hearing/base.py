"""The speech-recognition contract shared by every backend (Whisper, Riva).

A recogniser opens one stream per user utterance. Audio goes in as it arrives;
partial transcripts come out when the backend has them; `finish` returns the
final transcript. Every call is blocking (backends are CPU- or network-bound)
and the server runs them in worker threads, one stream per session at a time.
`close` abandons a stream (barge-in, session closed) and must be safe to call
at any time, more than once, from any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from merg_sdk.upstream import UpstreamError

#: Every recogniser takes audio at this rate (the server resamples to it).
SAMPLE_RATE = 16_000


@dataclass(frozen=True, slots=True)
class Transcript:
    """What the user said so far (`final=False`) or in all (`final=True`)."""

    text: str
    final: bool
    confidence: float | None = None
    audio_s: float = 0.0  # seconds of audio this transcript covers


class RecognitionError(UpstreamError):
    """The backend failed (down, timed out, refused); the message says which and why."""


class RecognitionStream(Protocol):
    def feed(self, audio: np.ndarray) -> list[Transcript]:
        """Add mono float32 audio in [-1, 1] at SAMPLE_RATE; return any new partials."""
        ...

    def finish(self) -> Transcript:
        """End of the utterance: the final transcript (blocking)."""
        ...

    def close(self) -> None:
        """Abandon the stream and free what it holds."""
        ...


class SpeechRecognizer(Protocol):
    name: str

    def open_stream(self) -> RecognitionStream: ...

    def warm_up(self) -> None:
        """Load models / connect so the first utterance is not slow."""
        ...
