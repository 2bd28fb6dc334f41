"""Whisper tiny.en through faster-whisper: accuracy on voices MERG does not speak with,
partials while an utterance grows, sharing one model across threads, bad model paths."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from merg_sdk.perception.hearing.base import RecognitionError
from merg_sdk.perception.hearing.evaluation import (
    mix_at_snr,
    normalize_words,
    pink_noise,
    total_errors,
    white_noise,
    word_errors,
)
from merg_sdk.perception.hearing.whisper import (
    CONVERSATIONAL_PROMPT,
    WhisperRecognizer,
    WhisperSettings,
)

PINK_BOUND = 0.25


def _padded(audio: np.ndarray, before_s: float = 0.25, after_s: float = 0.3) -> np.ndarray:
    pad = lambda s: np.zeros(int(s * 16000), np.float32)  # noqa: E731
    return np.concatenate([pad(before_s), audio, pad(after_s)])


def test_word_error_rate_on_unseen_voices_clean_and_noisy(whisper, clips) -> None:
    """The committed subset (4 espeak-ng and 4 flite clips, never the project's voice;
    bench/hearing_bench.py measures all 210). tiny.en makes 6 errors in 84 words clean
    (7.1 %) and 9 with white noise at 20 dB (10.7 %); the bounds leave room for other
    CPUs' int8 kernels, not for a broken pipeline."""
    rng = np.random.default_rng(11)
    clean, noisy = [], []
    for clip in clips:
        audio = _padded(clip.audio)
        clean.append((clip.text, whisper.transcribe(audio).text))
        mixed = mix_at_snr(audio, white_noise(len(audio), rng), 20.0)
        noisy.append((clip.text, whisper.transcribe(mixed).text))
    assert total_errors(clean).rate <= 0.12, clean
    assert total_errors(noisy).rate <= 0.18, noisy


def test_pink_noise_is_denoised_and_both_aids_can_be_switched_off(whisper, clips) -> None:
    """Loud fan-like noise (pink, 10 dB SNR): the default stationary-noise suppression
    (chosen on the development sentences) keeps tiny.en usable; switched off, with the
    optional prompt instead, it still decodes clean speech."""
    assert whisper.settings.denoise and whisper.settings.initial_prompt is None
    rng = np.random.default_rng(12)
    noisy = []
    for clip in clips:
        audio = _padded(clip.audio)
        mixed = mix_at_snr(audio, pink_noise(len(audio), rng), 10.0)
        noisy.append((clip.text, whisper.transcribe(mixed).text))
    assert total_errors(noisy).rate <= PINK_BOUND, noisy
    plain = WhisperRecognizer(WhisperSettings(denoise=False, initial_prompt=CONVERSATIONAL_PROMPT))
    clean = [(clip.text, plain.transcribe(_padded(clip.audio)).text) for clip in clips[:3]]
    assert total_errors(clean).rate <= 0.25, clean


def test_partials_arrive_before_the_final_on_a_long_utterance(whisper, clips) -> None:
    gap = np.zeros(3200, np.float32)
    speech = np.concatenate([clips[0].audio, gap, clips[3].audio, gap, clips[5].audio])
    stream = whisper.open_stream()
    partials = []
    for start in range(0, len(speech), 1600):  # 100 ms chunks, as the listener feeds them
        partials += stream.feed(speech[start : start + 1600])
    final = stream.finish()
    assert len(partials) >= 3
    assert all(not p.final and p.text for p in partials)
    assert [p.audio_s for p in partials] == sorted(p.audio_s for p in partials)
    assert final.final and final.audio_s == pytest.approx(len(speech) / 16000)
    reference = " ".join(clips[i].text for i in (0, 3, 5))
    assert word_errors(reference, final.text).rate <= 0.2, final.text
    # the last partial already begins with the words the final begins with
    assert normalize_words(partials[-1].text)[:3] == normalize_words(final.text)[:3]
    with pytest.raises(RecognitionError):
        stream.feed(gap)


def test_partials_are_rate_limited_and_can_be_switched_off(clips) -> None:
    quiet = WhisperRecognizer(WhisperSettings(partials=False))
    stream = quiet.open_stream()
    assert stream.feed(clips[1].audio) == []
    assert stream.finish().text
    slow = WhisperRecognizer(WhisperSettings(partial_interval_s=5.0))
    stream = slow.open_stream()
    assert sum(len(stream.feed(clips[1].audio[i : i + 1600])) for i in range(0, 48000, 1600)) == 0
    stream.close()


def test_one_model_serves_concurrent_streams(whisper, clips) -> None:
    audio = [_padded(clip.audio) for clip in clips[:4]]
    alone = [whisper.transcribe(a).text for a in audio]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda a: whisper.transcribe(a).text, audio))
    assert together == alone


def test_bad_model_paths_fail_clearly(tmp_path) -> None:
    with pytest.raises(RecognitionError, match="not found"):
        WhisperRecognizer(WhisperSettings(model_path=tmp_path / "nowhere"))
    with pytest.raises(RecognitionError, match=r"missing model\.bin"):
        WhisperRecognizer(WhisperSettings(model_path=tmp_path))
    (tmp_path / "model.bin").write_bytes(b"not a model")
    (tmp_path / "config.json").write_text("{}")
    broken = WhisperRecognizer(WhisperSettings(model_path=tmp_path))
    with pytest.raises(RecognitionError, match="cannot load"):
        broken.warm_up()


def test_a_closed_stream_refuses_audio_and_silence_gives_no_words(whisper) -> None:
    stream = whisper.open_stream()
    stream.close()
    stream.close()  # twice is fine
    with pytest.raises(RecognitionError):
        stream.feed(np.zeros(160, np.float32))
    with pytest.raises(RecognitionError):
        stream.finish()
    tiny = whisper.open_stream()
    tiny.feed(np.zeros(800, np.float32))
    assert tiny.finish().text == ""
