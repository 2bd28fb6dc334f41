"""The real Piper voice: timings add up, resampling keeps the timeline, streaming order."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody, SpeechRequest, speak


def test_phoneme_timings_cover_the_audio_exactly(tts: PiperTTS) -> None:
    clause = tts.synthesize("Maybe we should buy a map.", tts.default_voice, Prosody())
    assert clause.sample_rate == 22050
    assert clause.phonemes[0].start == 0 and clause.phonemes[-1].end == len(clause.audio)
    spoken = [p.phoneme for p in clause.phonemes if p.phoneme]
    assert spoken[:4] == ["m", "e", "ɪ", "b"] and spoken[-3:] == ["m", "æ", "p"]
    assert 0.2 < np.max(np.abs(clause.audio)) <= 1.0


def test_rate_changes_duration(tts: PiperTTS) -> None:
    text = "The road is long and the night is cold."
    normal = len(tts.synthesize(text, tts.default_voice, Prosody()).audio)
    slow = len(tts.synthesize(text, tts.default_voice, Prosody(rate=0.7)).audio)
    assert slow > normal * 1.2


@pytest.mark.parametrize("rate", [16000, 22050, 48000])
def test_speak_streams_clauses_on_one_timeline(tts: PiperTTS, rate: int) -> None:
    async def run() -> list:
        with ThreadPoolExecutor(2) as pool:
            texts = ["First clause here.", "And a second one.", "Then the third."]
            clauses = [SpeechRequest(text) for text in texts]
            return [s async for s in speak(tts, clauses, voice=tts.default_voice,
                                           sample_rate=rate, executor=pool)]  # fmt: skip

    segments = asyncio.run(run())
    assert [s.text for s in segments] == [
        "First clause here.",
        "And a second one.",
        "Then the third.",
    ]
    position = 0
    for segment in segments:
        assert segment.t0 == position and segment.sample_rate == rate
        assert segment.pcm.dtype == np.int16
        assert segment.phonemes[0].start_s == pytest.approx(position / rate, abs=1e-6)
        assert segment.phonemes[-1].end_s == pytest.approx(segment.end / rate, abs=1e-6)
        position = segment.end


def test_unknown_voice_is_a_clear_error(tts: PiperTTS) -> None:
    with pytest.raises(KeyError, match="unknown voice"):
        tts.synthesize("Hi.", "nobody", Prosody())


def test_emotion_changes_delivery() -> None:
    from merg_sdk.speech.prosody import emotion_prosody, prosody_for

    assert set(emotion_prosody()) >= {"neutral", "happy", "sad", "angry", "calm", "caring"}
    sad = prosody_for("sad", 1.0)
    assert sad.rate < 1.0 and sad.volume < 1.0
    half = prosody_for("sad", 0.5)
    assert sad.rate < half.rate < 1.0
    assert prosody_for("unknown", 1.0) == prosody_for("neutral", 1.0)
