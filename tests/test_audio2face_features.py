"""Log-mel features: chunking-invariant, on the 10 ms grid, energy in the right band."""

from __future__ import annotations

import numpy as np
import pytest

from merg_sdk.motion.audio2face.features import (
    FMAX_HZ,
    FMIN_HZ,
    LOG_FLOOR,
    N_MELS,
    FeatureStream,
    log_mel,
    mel_filterbank,
)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_chunked_features_equal_whole_clip(rate: int) -> None:
    rng = np.random.default_rng(rate)
    audio = (rng.standard_normal(2 * rate) * 0.1).astype(np.float32)
    whole = log_mel(audio, rate, min_frames=205)
    stream, parts, i = FeatureStream(rate), [], 0
    while i < len(audio):
        n = int(rng.integers(1, 3000))
        parts.append(stream.push(audio[i : i + n]))
        i += n
    parts.append(stream.finish(min_frames=205))
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-4, rtol=0)
    assert whole.shape == (205, N_MELS) and whole.dtype == np.float32


def test_frames_are_centred_every_10_ms() -> None:
    audio = np.zeros(16000, np.float32)
    audio[8000] = 1.0  # a click at 0.5 s
    feats = log_mel(audio, 16000)
    assert len(feats) == 100
    loud = np.flatnonzero(feats.max(axis=1) > 1)
    assert set(loud) == {50}  # only the window centred on it (Hann is zero at its edges)
    audio[8000], audio[8080] = 0.0, 1.0  # 5 ms later: frames 50 and 51 both hear it
    assert set(np.flatnonzero(log_mel(audio, 16000).max(axis=1) > 1)) == {
        50,
        51,
    }


def test_silence_is_the_floor_and_a_tone_lands_in_its_band() -> None:
    assert np.all(log_mel(np.zeros(1600, np.float32), 16000) == 0.0)
    quiet = log_mel(np.full(1600, 1e-6, np.float32), 16000)  # below the floor: still silence
    assert np.all(quiet == 0.0) and LOG_FLOOR < 1e-9
    t = np.arange(16000) / 16000
    feats = log_mel(np.sin(2 * np.pi * 1000 * t).astype(np.float32), 16000)
    centres = mel_filterbank().argmax(axis=0) * 16000 / 512
    assert abs(centres[feats[50].argmax()] - 1000) < 120
    assert centres.min() > FMIN_HZ and centres.max() < FMAX_HZ


def test_finish_pads_to_the_frames_asked_for() -> None:
    stream = FeatureStream(22050)
    got = len(stream.push(np.zeros(2205, np.float32)))
    got += len(stream.finish(min_frames=30))
    assert got == 30
    with pytest.raises(RuntimeError):
        stream.push(np.zeros(1, np.float32))
    with pytest.raises(ValueError):
        FeatureStream(0)
