"""Stationary-noise suppression for one utterance before it is decoded (Wiener gain).

A headset in a room hears the user over fans, hum and traffic: noise whose
spectrum changes slowly. For each frequency the noise power is estimated as a
low percentile of that frequency's power over the utterance (speech comes and
goes, so the quiet frames of each band are mostly noise), and each bin is scaled
by a Wiener gain from its smoothed signal-to-noise ratio, never below `floor`
so the residue stays a quiet hiss instead of "musical" chirps that Whisper
mistakes for words. Other talkers (babble) are speech and are not removed.

Only numpy and scipy; a 3 s utterance costs a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import istft, stft

from merg_sdk.perception.hearing.base import SAMPLE_RATE

_FRAME = 512  # 32 ms at 16 kHz
_HOP = 256  # half a frame: Hann windows overlap-add to a constant


def suppress_noise(
    audio: np.ndarray,
    *,
    strength: float = 1.0,
    floor: float = 0.3,
    noise_percentile: float = 10.0,
    smoothing: float = 0.7,
) -> np.ndarray:
    """`audio` (16 kHz mono float32) with stationary noise attenuated, same length.

    `strength` scales the noise estimate (over-subtraction above 1), `floor` is the
    least gain a bin gets, `noise_percentile` picks the frames taken as noise, and
    `smoothing` (0..1) is how much each frame's SNR leans on the previous frame's,
    which suppresses isolated noise peaks more than speech.
    """
    audio = np.asarray(audio, np.float32).reshape(-1)
    if len(audio) < _FRAME * 4:
        return audio
    _, _, spectrum = stft(
        audio, fs=SAMPLE_RATE, nperseg=_FRAME, noverlap=_FRAME - _HOP, boundary="even"
    )
    power = np.abs(spectrum) ** 2
    # a bin's noise power is exponentially distributed, so its p-th percentile is
    # -ln(1 - p) of its mean: undo that, or the noise looks ten times quieter than it is
    quantile = np.percentile(power, noise_percentile, axis=1, keepdims=True)
    noise = quantile / -np.log1p(-noise_percentile / 100) * strength
    noise = np.maximum(noise, 1e-12)
    posterior = power / noise
    gains = np.empty_like(power)
    previous = np.ones(power.shape[0])
    for t in range(power.shape[1]):  # decision-directed a priori SNR (Ephraim-Malah)
        prior = smoothing * previous + (1 - smoothing) * np.maximum(posterior[:, t] - 1, 0)
        gain = np.maximum(prior / (1 + prior), floor)
        gains[:, t] = gain
        previous = gain**2 * posterior[:, t]
    _, cleaned = istft(
        spectrum * gains, fs=SAMPLE_RATE, nperseg=_FRAME, noverlap=_FRAME - _HOP, boundary=True
    )
    cleaned = cleaned[: len(audio)]
    if len(cleaned) < len(audio):
        cleaned = np.pad(cleaned, (0, len(audio) - len(cleaned)))
    return cleaned.astype(np.float32)
