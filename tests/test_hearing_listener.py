"""The per-session listener: PCM in at any rate and chunking; onsets, false starts, ends and
transcripts out, at the right times; bad input refused with stable codes."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soxr

from merg_sdk.perception.hearing.base import RecognitionError
from merg_sdk.perception.hearing.endpoint import EndpointSettings
from merg_sdk.perception.hearing.evaluation import mix_at_snr, white_noise, word_errors
from merg_sdk.perception.hearing.events import (
    AudioWarning,
    EndReason,
    FalseStart,
    FinalTranscript,
    PartialTranscript,
    SpeechEnded,
    SpeechStarted,
    TranscriptFailed,
)
from merg_sdk.perception.hearing.listener import (
    SUPPORTED_RATES,
    HearingInputError,
    Listener,
    ListenerSettings,
    ends_sentence,
)
from merg_sdk.perception.hearing.whisper import WhisperRecognizer, WhisperSettings

RATE = 16_000


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.float32)


def pcm(audio: np.ndarray) -> bytes:
    return np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2").tobytes()


def listen(listener: Listener, audio: np.ndarray, rate: int = RATE, chunk_s: float = 0.02):
    """Feed like a microphone; return (listener time when emitted, event) pairs."""
    data, step, heard = pcm(audio), int(chunk_s * rate) * 2, []
    for start in range(0, len(data), step):
        heard += [(listener.time_s, e) for e in listener.feed_pcm(data[start : start + step], rate)]
    return heard + [(listener.time_s, e) for e in listener.flush()]


def of(kind, heard) -> list:
    return [event for _, event in heard if isinstance(event, kind)]


@pytest.fixture(scope="module")
def conversation(clips):
    """Two utterances with a 0.3 s pause inside the second, over faint white noise."""
    a, b, c = clips[1].audio, clips[2].audio, clips[4].audio
    parts = [silence(0.8), a, silence(1.2), b, silence(0.3), c, silence(1.5)]
    audio = np.concatenate(parts)
    starts = np.cumsum([0] + [len(p) for p in parts]) / RATE
    truth = [(starts[1], starts[2]), (starts[3], starts[6])]
    texts = [clips[1].text, f"{clips[2].text} {clips[4].text}"]
    noisy = mix_at_snr(audio, white_noise(len(audio), np.random.default_rng(5)), 35.0)
    return noisy, truth, texts


def test_a_conversation_gives_onsets_ends_and_transcripts_in_order(
    vad, whisper, conversation
) -> None:
    audio, truth, texts = conversation
    patient = ListenerSettings(endpoint=EndpointSettings(sentence_end_silence_ms=None))
    heard = listen(Listener(vad, whisper, patient), audio)
    starts, ends, finals = (
        of(SpeechStarted, heard),
        of(SpeechEnded, heard),
        of(FinalTranscript, heard),
    )
    assert len(starts) == len(ends) == len(finals) == 2, heard
    for started, ended, (true_start, true_end) in zip(starts, ends, truth, strict=True):
        assert started.t_s == pytest.approx(true_start, abs=0.15)
        assert ended.t_s == pytest.approx(true_end - 0.05, abs=0.2)  # clips keep 50 ms margins
    for final, text in zip(finals, texts, strict=True):
        assert word_errors(text, final.transcript.text).rate <= 0.25, final.transcript.text
    kinds = [type(event) for _, event in heard]
    first_end = kinds.index(SpeechEnded)
    assert kinds[0] is SpeechStarted and kinds[first_end + 1] is FinalTranscript
    assert PartialTranscript in kinds[:first_end]  # words arrive while the user still speaks
    # the onset is known min_speech_ms after it began, and the end after the trailing silence
    onset_at = next(at for at, e in heard if isinstance(e, SpeechStarted))
    assert 0.25 <= onset_at - starts[0].t_s <= 0.35
    end_at = next(at for at, e in heard if isinstance(e, SpeechEnded))
    assert 0.55 <= end_at - ends[0].t_s <= 0.6 + 0.02  # end_silence_ms, in whole windows


def test_a_finished_sentence_ends_the_turn_sooner(vad, whisper, clips) -> None:
    audio = np.concatenate([silence(0.5), clips[0].audio, silence(1.2)])
    waits = {}
    for shortcut in (300.0, None):
        settings = ListenerSettings(endpoint=EndpointSettings(sentence_end_silence_ms=shortcut))
        heard = listen(Listener(vad, whisper, settings), audio, chunk_s=0.032)
        (ended_at, ended), *_ = [(at, e) for at, e in heard if isinstance(e, SpeechEnded)]
        waits[shortcut] = (ended_at - ended.t_s, ended.reason)
        assert of(FinalTranscript, heard)[0].transcript.text
    assert waits[300.0][1] is EndReason.SENTENCE_END and waits[None][1] is EndReason.SILENCE
    assert waits[300.0][0] <= 0.36 and waits[None][0] >= 0.54


def test_ends_sentence_reads_punctuation_and_the_last_word() -> None:
    assert ends_sentence("Can you help me with something?")
    assert ends_sentence("I had a long day.")
    assert not ends_sentence("So yesterday my boss and.")
    assert not ends_sentence("And then...")
    assert not ends_sentence("I don't know if I")
    assert not ends_sentence("")


def test_chunking_and_rate_do_not_change_what_is_heard(vad, conversation) -> None:
    audio, _, _ = conversation
    reference = [e for _, e in listen(Listener(vad, None), audio)]
    assert [type(e) for e in reference] == [SpeechStarted, SpeechEnded] * 2
    assert [e for _, e in listen(Listener(vad, None), audio, chunk_s=0.7)] == reference
    for rate in SUPPORTED_RATES:
        resampled = soxr.resample(audio, RATE, rate)
        heard = [e for _, e in listen(Listener(vad, None), resampled, rate=rate)]
        assert [type(e) for e in heard] == [type(e) for e in reference], rate
        for got, want in zip(heard, reference, strict=True):
            assert got.t_s == pytest.approx(want.t_s, abs=0.1), rate


def test_transcripts_do_not_depend_on_chunking(vad, clips) -> None:
    recognizer = WhisperRecognizer(WhisperSettings(partials=False))
    audio = np.concatenate([silence(0.4), clips[6].audio, silence(1.0)])
    texts = [
        [
            e.transcript.text
            for e in of(FinalTranscript, listen(Listener(vad, recognizer), audio, chunk_s=chunk))
        ]
        for chunk in (0.02, 0.5)
    ]
    assert texts[0] == texts[1] and texts[0][0]


def _cough(rng: np.random.Generator) -> np.ndarray:
    """A noise burst with a sharp attack and a fast decay, band-limited like a cough."""
    samples = int(0.25 * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    freqs = np.fft.rfftfreq(samples, 1 / RATE)
    spectrum[(freqs < 300) | (freqs > 3500)] = 0
    burst = np.fft.irfft(spectrum, samples)
    t = np.arange(samples) / RATE
    burst *= np.minimum(t / 0.01, 1) * np.exp(-t / 0.07)
    return (0.8 * burst / np.abs(burst).max()).astype(np.float32)


def _grunt(seconds: float = 0.15) -> np.ndarray:
    """A short voiced sound ("uh"): harmonics of 130 Hz shaped by three vowel formants."""
    t = np.arange(int(seconds * RATE)) / RATE
    voice = np.zeros_like(t)
    for harmonic in range(1, 30):
        f = 130.0 * harmonic
        gain = sum(1 / (1 + ((f - formant) / 90) ** 2) for formant in (700, 1200, 2500))
        voice += gain / harmonic * np.sin(2 * np.pi * f * t)
    envelope = np.minimum(np.minimum(t / 0.02, 1), np.maximum((seconds - t) / 0.03, 0))
    return (0.5 * voice * envelope / np.abs(voice).max()).astype(np.float32)


def test_coughs_and_short_sounds_do_not_take_the_floor(vad, clips) -> None:
    rng = np.random.default_rng(2)
    audio = np.concatenate(
        [
            silence(0.5),
            _cough(rng),
            silence(1.0),
            _grunt(),
            silence(1.0),
            clips[3].audio,
            silence(1.0),
        ]
    )
    heard = [e for _, e in listen(Listener(vad, None), audio)]
    assert [type(e) for e in heard] == [FalseStart, SpeechStarted, SpeechEnded]
    false_start = heard[0]
    assert false_start.t_s == pytest.approx(0.5 + 0.25 + 1.0, abs=0.1)
    assert 0.05 <= false_start.duration_s < 0.25


def test_endless_speech_is_cut_at_max_length(vad, whisper, clips) -> None:
    speech = np.concatenate([clip.audio for clip in clips[:4]])  # about 12 s without a pause
    settings = ListenerSettings(endpoint=EndpointSettings(max_utterance_s=4.0))
    heard = listen(Listener(vad, whisper, settings), np.concatenate([speech, silence(1.0)]))
    ends = of(SpeechEnded, heard)
    assert [e.reason for e in ends[:2]] == [EndReason.MAX_LENGTH] * 2
    assert all(
        end.t_s - start.t_s <= 4.0 + 1e-6
        for start, end in zip(of(SpeechStarted, heard), ends, strict=False)
    )
    finals = of(FinalTranscript, heard)
    assert len(finals) == len(ends) >= 3 and all(f.transcript.text for f in finals[:2])


def test_bad_input_is_refused_with_stable_codes(vad) -> None:
    listener = Listener(vad, None)
    for data, rate, code in (
        (b"\x00\x01\x02", RATE, "odd_length"),
        (b"\x00\x00" * 10, 11025, "unsupported_rate"),
        ("not bytes", RATE, "bad_type"),
    ):
        with pytest.raises(HearingInputError) as raised:
            listener.feed_pcm(data, rate)  # type: ignore[arg-type]
        assert raised.value.code == code and isinstance(raised.value, ValueError)
    assert listener.feed_pcm(b"", RATE) == []
    assert listener.time_s == 0.0
    listener.close()
    listener.close()
    with pytest.raises(HearingInputError) as raised:
        listener.feed_pcm(b"\x00\x00", RATE)
    assert raised.value.code == "closed"
    assert listener.flush() == []


def test_clipped_and_dead_input_warn_but_still_work(vad, clips) -> None:
    listener = Listener(vad, None)
    heard = [e for _, e in listen(listener, silence(4.0))]
    assert [(type(e), e.code) for e in heard] == [(AudioWarning, "digital_silence")]
    loud = np.clip(clips[2].audio * 8, -1, 1)
    heard = [e for _, e in listen(listener, np.concatenate([loud, silence(1.0)]))]
    assert any(isinstance(e, AudioWarning) and e.code == "clipped" for e in heard)
    assert (
        sum(isinstance(e, AudioWarning) and e.code == "clipped" for e in heard) == 1
    )  # rate-limited
    assert [type(e) for e in heard if not isinstance(e, AudioWarning)] == [
        SpeechStarted,
        SpeechEnded,
    ]


def test_reset_drops_the_utterance_and_close_works_from_another_thread(vad, whisper, clips) -> None:
    listener = Listener(vad, whisper)
    half = clips[0].audio[: len(clips[0].audio) // 2]
    assert of(SpeechStarted, listen_no_flush(listener, half))
    listener.reset()
    after = [type(e) for _, e in listen_no_flush(listener, silence(1.0))]
    assert set(after) <= {FalseStart}  # at most the cut-off word's tail; no turn, no words

    listener = Listener(vad, whisper)
    closer = threading.Timer(0.3, listener.close)
    closer.start()
    with pytest.raises(HearingInputError, match="closed"):
        speech = np.tile(clips[1].audio, 20)  # a minute of talk, with partial decodes
        for start in range(0, len(speech), 1600):  # until the other thread closes it
            listener.feed(speech[start : start + 1600])
    closer.join()


def listen_no_flush(listener: Listener, audio: np.ndarray) -> list:
    data, heard = pcm(audio), []
    for start in range(0, len(data), 640):
        heard += [(listener.time_s, e) for e in listener.feed_pcm(data[start : start + 640], RATE)]
    return heard


class _Unreachable:
    """A remote recogniser whose service is down (what a Riva backend raises)."""

    name = "unreachable"

    def warm_up(self) -> None: ...

    def open_stream(self):
        return self

    def feed(self, audio: np.ndarray) -> list:
        raise RecognitionError("connection refused")

    def finish(self):
        raise RecognitionError("connection refused")

    def close(self) -> None: ...


def test_a_failing_recogniser_costs_the_words_not_the_turn(vad, clips) -> None:
    audio = np.concatenate([silence(0.5), clips[5].audio, silence(1.0)])
    heard = [e for _, e in listen(Listener(vad, _Unreachable()), audio)]
    assert [type(e) for e in heard] == [SpeechStarted, TranscriptFailed, SpeechEnded]
    assert "connection refused" in heard[1].detail
