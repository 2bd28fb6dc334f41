"""Resampling to the session's rate with soxr (a real band-limited resampler)."""

from __future__ import annotations

import numpy as np
import soxr

_INT16_MAX = 32767.0


class Resampler:
    """Converts engine audio to the session rate; clauses are resampled whole.

    Clauses start and end in the engine's own silence, so resampling each one
    alone leaves no seam, and its length maps exactly onto the turn timeline.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate

    def to_int16(self, audio: np.ndarray, source_rate: int) -> np.ndarray:
        mono = np.asarray(audio, dtype=np.float32).reshape(-1)
        if source_rate != self.sample_rate and len(mono):
            mono = soxr.resample(mono, source_rate, self.sample_rate, quality="HQ")
        return np.clip(np.round(mono * _INT16_MAX), -_INT16_MAX, _INT16_MAX).astype(np.int16)
