"""Stationary-noise suppression before Whisper: it removes hiss and hum, leaves clean
speech alone, keeps the length, and is cheap enough to run on every utterance."""

from __future__ import annotations

import numpy as np

from merg_sdk.perception.hearing.denoise import suppress_noise
from merg_sdk.perception.hearing.evaluation import mix_at_snr, pink_noise, white_noise


def _snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    """SNR of `estimate` against `reference` after the best gain (denoising may scale)."""
    gain = float(np.dot(reference, estimate) / np.dot(reference, reference))
    residue = estimate - gain * reference
    return float(10 * np.log10(np.sum((gain * reference) ** 2) / np.sum(residue**2)))


def _padded(audio: np.ndarray) -> np.ndarray:
    pad = np.zeros(8000, np.float32)
    return np.concatenate([pad, audio, pad])


def test_stationary_noise_is_attenuated_and_speech_kept(clips) -> None:
    speech = _padded(clips[0].audio)
    rng = np.random.default_rng(3)
    for make in (white_noise, pink_noise):
        noisy = mix_at_snr(speech, make(len(speech), rng), 10.0)
        cleaned = suppress_noise(noisy)
        assert cleaned.dtype == np.float32 and len(cleaned) == len(noisy)
        assert _snr_db(speech, cleaned) >= _snr_db(speech, noisy) + 2.0, make.__name__
        # the pause before the speech: noise only, clearly quieter afterwards
        assert np.std(cleaned[:6000]) <= 0.7 * np.std(noisy[:6000]), make.__name__


def test_clean_speech_passes_almost_unchanged(clips) -> None:
    speech = _padded(clips[3].audio)
    assert _snr_db(speech, suppress_noise(speech)) >= 20.0


def test_short_audio_is_returned_as_is() -> None:
    blip = np.ones(300, np.float32) * 0.1
    assert np.array_equal(suppress_noise(blip), blip)
