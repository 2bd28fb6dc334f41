"""Silero VAD on onnxruntime: the wheel's own model, scored window by window."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from merg_sdk.perception.hearing.evaluation import pink_noise, white_noise
from merg_sdk.perception.hearing.vad import WINDOW_SAMPLES, bundled_model_path
from merg_sdk.speech.base import Prosody


@pytest.fixture(scope="module")
def espeak_speech(clips) -> np.ndarray:
    return next(c for c in clips if c.voice.startswith("espeak")).audio


def test_streaming_in_any_chunks_equals_scoring_at_once(vad, espeak_speech) -> None:
    audio = np.concatenate([np.zeros(3000, np.float32), espeak_speech])
    whole = vad.open_stream().feed(audio)
    stream, parts, start = vad.open_stream(), [], 0
    for size in np.random.default_rng(7).integers(1, 2500, size=10_000):
        parts.append(stream.feed(audio[start : start + size]))
        start += size
        if start >= len(audio):
            break
    assert len(whole) == len(audio) // WINDOW_SAMPLES
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_matches_silero_own_wrapper(vad, espeak_speech) -> None:
    """The numpy port of the recurrent state and the 64-sample context is exact."""
    torch = pytest.importorskip("torch")
    from silero_vad.utils_vad import OnnxWrapper

    reference = OnnxWrapper(str(bundled_model_path()), force_onnx_cpu=True)
    windows = len(espeak_speech) // WINDOW_SAMPLES
    expected = [
        reference(
            torch.from_numpy(espeak_speech[i * WINDOW_SAMPLES : (i + 1) * WINDOW_SAMPLES]), 16000
        ).item()
        for i in range(windows)
    ]
    np.testing.assert_allclose(vad.open_stream().feed(espeak_speech), expected, atol=1e-5)


def test_finds_speech_in_piper_and_espeak_voices(vad, tts, espeak_speech) -> None:
    clause = tts.synthesize("Hello there, how are you feeling today?", tts.default_voice, Prosody())
    piper = soxr.resample(clause.audio, clause.sample_rate, 16000)
    for speech in (piper, espeak_speech):
        probabilities = vad.open_stream().feed(speech)
        assert np.mean(probabilities > 0.5) > 0.6  # most windows of a sentence are voiced


def test_silence_and_steady_noise_are_not_speech(vad) -> None:
    rng = np.random.default_rng(3)
    seconds = 16000 * 3
    for audio in (
        np.zeros(seconds, np.float32),
        0.05 * white_noise(seconds, rng),
        0.1 * pink_noise(seconds, rng) / np.std(pink_noise(seconds, rng)),
    ):
        assert vad.open_stream().feed(audio).max() < 0.5


def test_reset_forgets_the_state(vad, espeak_speech) -> None:
    stream = vad.open_stream()
    first = stream.feed(espeak_speech)
    stream.feed(np.zeros(100, np.float32))
    stream.reset()
    np.testing.assert_array_equal(stream.feed(espeak_speech), first)
