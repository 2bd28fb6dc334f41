"""One session's ears: microphone PCM in, turn-taking events and transcripts out.

The server feeds s16le chunks as they arrive (any supported rate, any size);
the listener resamples to 16 kHz with soxr, scores every 32 ms with silero,
runs the endpointer, and streams audio to the recogniser only while the user
holds the floor (plus `pre_roll_ms` before the onset, which the VAD hears late).
Everything is blocking and meant for a worker thread; a listener serves one
session, and `close` may come from any thread (barge-in, session gone).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Protocol, runtime_checkable

import numpy as np
import soxr
from pydantic import BaseModel, ConfigDict, Field

from merg_sdk.perception.hearing.base import (
    SAMPLE_RATE,
    RecognitionError,
    RecognitionStream,
    SpeechRecognizer,
    Transcript,
)
from merg_sdk.perception.hearing.endpoint import Endpointer, EndpointSettings, EndpointState
from merg_sdk.perception.hearing.events import (
    AudioWarning,
    FalseStart,
    FinalTranscript,
    HearingEvent,
    PartialTranscript,
    SpeechEnded,
    SpeechStarted,
    TranscriptFailed,
)
from merg_sdk.perception.hearing.vad import WINDOW_S, WINDOW_SAMPLES, SileroVad

SUPPORTED_RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)
_FULL_SCALE = 32767
_FINAL_TAIL_S = 0.2  # trailing silence after the last voiced window the recogniser gets
_HISTORY_S = 3.0  # audio kept before an onset is confirmed: covers pre-roll and slow onsets


class HearingInputError(ValueError):
    """Audio the listener cannot take; `code` is stable for the server to map to an error
    message: `odd_length`, `unsupported_rate`, `bad_type`, `closed`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ListenerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: EndpointSettings = EndpointSettings()
    pre_roll_ms: float = Field(400.0, ge=0, le=1000)
    """Audio before the detected onset that the recogniser also gets: silero scores a
    window as speech only once the sound is under way, and Whisper needs the attack
    (400 ms rather than 250 cut clean-speech WER on the development sentences from
    10.9% to about 8.7%, for ~1% more decode time)."""
    early_decode_ms: float = Field(130.0, ge=0)
    """Trailing silence after which the utterance so far is decoded, to learn whether it
    ends a sentence (then `sentence_end_silence_ms` of silence ends the turn). Started
    well before that wait runs out, the decode (~0.4 s for tiny.en on 2 cores) overlaps
    the silence instead of following it; a pause that turns out to be mid-sentence costs
    one wasted decode. Capped at one window before `sentence_end_silence_ms`."""
    clipped_fraction: float = Field(0.01, gt=0, le=1)
    """A chunk with this share of samples at full scale raises a `clipped` warning."""
    digital_silence_s: float = Field(3.0, gt=0)
    """Exact zeros this long raise a `digital_silence` warning (a muted or dead mic)."""
    warning_interval_s: float = Field(10.0, ge=0)
    """The same warning is repeated at most this often."""


@runtime_checkable
class _EarlyDecoding(Protocol):
    """Streams that can decode without ending (WhisperStream): used in a pause to learn
    whether the sentence is complete, and kept as the final transcript when it is."""

    def transcribe_now(self) -> Transcript: ...


@dataclass(frozen=True, slots=True)
class _EarlyResult:
    transcript: Transcript
    voiced_until_s: float  # the utterance's end as it stood when the decode ran
    started_s: float
    decode_s: float


@cache
def _continuation_words() -> frozenset[str]:
    text = resources.files(__package__).joinpath("data/continuation_words.txt").read_text("utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def ends_sentence(text: str) -> bool:
    """Whether a transcript reads as a finished sentence: it ends in . ! or ? (not an
    ellipsis) and its last word is not one that leaves a thought hanging."""
    text = text.strip()
    if not text or text[-1] not in ".!?" or text.endswith(("...", "…")):
        return False
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and words[-1] not in _continuation_words()


class Listener:
    """Feed PCM with `feed_pcm` (or 16 kHz float32 with `feed`); events come back in
    order. Pass `recognizer=None` for turn-taking only (no transcripts)."""

    def __init__(
        self,
        vad: SileroVad,
        recognizer: SpeechRecognizer | None,
        settings: ListenerSettings | None = None,
    ) -> None:
        self.settings = settings or ListenerSettings()
        self._vad = vad.open_stream()
        self._recognizer = recognizer
        self._endpointer = Endpointer(self.settings.endpoint)
        self._lock = threading.RLock()
        self._closed = False
        self._rate: int | None = None
        self._resampler: soxr.ResampleStream | None = None
        self._history = np.zeros(0, np.float32)
        self._history_start = 0  # absolute 16 kHz sample index of _history[0]
        self._stream: RecognitionStream | None = None
        self._fed_until = 0  # absolute sample index fed to the recogniser
        self._early: _EarlyResult | None = None
        self._early_tried = False
        self._zeros = 0  # run of exact-zero input samples (at the input rate)
        self._warned: dict[str, float] = {}

    @property
    def time_s(self) -> float:
        """The listener's timeline: 16 kHz audio scored so far."""
        return self._endpointer.time_s

    @property
    def speaking(self) -> bool:
        return self._endpointer.state is EndpointState.SPEAKING

    def feed_pcm(
        self, data: bytes | bytearray | memoryview, sample_rate: int
    ) -> list[HearingEvent]:
        """Signed 16-bit little-endian mono PCM. The rate may change between chunks."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise HearingInputError("bad_type", f"PCM must be bytes, not {type(data).__name__}")
        if sample_rate not in SUPPORTED_RATES:
            rates = ", ".join(map(str, SUPPORTED_RATES))
            raise HearingInputError(
                "unsupported_rate", f"sample rate {sample_rate} Hz is not one of {rates}"
            )
        if len(data) % 2:
            raise HearingInputError(
                "odd_length", f"{len(data)} bytes is not a whole number of 16-bit samples"
            )
        with self._lock:
            self._check_open()
            pcm = np.frombuffer(data, dtype="<i2")
            warnings = self._check_level(pcm, sample_rate)
            audio = self._to_16k(pcm.astype(np.float32) / 32768.0, sample_rate)
            return warnings + self.feed(audio)

    def feed(self, audio: np.ndarray) -> list[HearingEvent]:
        """Mono float32 at 16 kHz in [-1, 1]."""
        with self._lock:
            self._check_open()
            audio = np.asarray(audio, np.float32).reshape(-1)
            if not len(audio):
                return []
            self._history = np.concatenate([self._history, audio])
            events: list[HearingEvent] = []
            for probability in self._vad.feed(audio):
                self._window(float(probability), events)
            if self._stream is not None:
                self._feed_recognizer(self._endpointer.windows * WINDOW_SAMPLES, events)
            self._trim_history()
            return events

    def flush(self) -> list[HearingEvent]:
        """The input has ended: close an open utterance (final transcript) or onset."""
        with self._lock:
            if self._closed:
                return []
            event = self._endpointer.flush()
            events: list[HearingEvent] = [] if event is None else [event]
            if isinstance(event, SpeechEnded) and self._stream is not None:
                events.append(self._finish(event))
            return events

    def reset(self) -> None:
        """Drop the current utterance, keep the timeline (e.g. the avatar's own voice leaked
        into the mic): no event is sent for what was dropped."""
        with self._lock:
            self._endpointer.flush()
            self._drop_stream()

    def close(self) -> None:
        """Abandon everything; safe from any thread, more than once, even mid-decode."""
        self._closed = True
        self._drop_stream()

    def _window(self, probability: float, events: list[HearingEvent]) -> None:
        endpointer = self._endpointer
        event = endpointer.step(probability)
        window_end = endpointer.windows * WINDOW_SAMPLES
        if isinstance(event, SpeechStarted):
            events.append(event)
            if self._recognizer is not None:
                self._stream = self._recognizer.open_stream()
                pre_roll = int(self.settings.pre_roll_ms / 1000 * SAMPLE_RATE)
                self._fed_until = max(
                    self._history_start, round(event.t_s * SAMPLE_RATE) - pre_roll
                )
                self._early, self._early_tried = None, False
        elif isinstance(event, FalseStart):
            events.append(event)
        elif isinstance(event, SpeechEnded):
            if self._stream is not None:
                # the rest is trailing silence: a little of it helps Whisper close the
                # last word, all of it would only buy a useless partial
                tail = round(event.t_s * SAMPLE_RATE) + int(_FINAL_TAIL_S * SAMPLE_RATE)
                self._feed_recognizer(min(window_end, tail), events)
                events.append(event)
                events.append(self._finish(event))
            else:
                events.append(event)
        elif self._stream is not None and endpointer.state is EndpointState.SPEAKING:
            self._maybe_decode_early(window_end, events)

    def _maybe_decode_early(self, window_end: int, events: list[HearingEvent]) -> None:
        silence = self._endpointer.silence_s
        if silence == 0:
            self._early, self._early_tried = None, False
            return
        target = self.settings.endpoint.sentence_end_silence_ms
        stream = self._stream
        if self._early_tried or target is None or not isinstance(stream, _EarlyDecoding):
            return
        start_s = min(self.settings.early_decode_ms, target - WINDOW_S * 1000) / 1000
        if silence + 1e-9 < start_s:
            return
        self._early_tried = True
        self._feed_recognizer(window_end, events)
        if self._stream is None:
            return
        started_s, started = self.time_s, time.perf_counter()
        try:
            transcript = stream.transcribe_now()
        except RecognitionError as exc:
            self._drop_stream()
            events.append(TranscriptFailed(self.time_s, str(exc)))
            return
        spent = time.perf_counter() - started
        self._early = _EarlyResult(transcript, self.time_s - silence, started_s, spent)
        self._endpointer.sentence_complete = ends_sentence(transcript.text)

    def _feed_recognizer(self, until: int, events: list[HearingEvent]) -> None:
        stream = self._stream
        if stream is None or until <= self._fed_until:
            return
        start = self._fed_until - self._history_start
        chunk = self._history[max(0, start) : until - self._history_start]
        self._fed_until = until
        try:
            partials = stream.feed(chunk)
        except RecognitionError as exc:
            self._drop_stream()
            events.append(TranscriptFailed(self.time_s, str(exc)))
            return
        events.extend(PartialTranscript(self.time_s, partial) for partial in partials)

    def _finish(self, ended: SpeechEnded) -> FinalTranscript | TranscriptFailed:
        stream, self._stream = self._stream, None
        early, self._early = self._early, None
        assert stream is not None  # callers check; not input validation
        if early is not None and abs(early.voiced_until_s - ended.t_s) < 1e-6:
            # nothing voiced since the early decode, only silence was added: keep it
            stream.close()
            final = replace(early.transcript, final=True)
            return FinalTranscript(self.time_s, final, early.decode_s, early.started_s)
        started = time.perf_counter()
        try:
            final = stream.finish()
        except RecognitionError as exc:
            return TranscriptFailed(self.time_s, str(exc))
        return FinalTranscript(self.time_s, final, time.perf_counter() - started, self.time_s)

    def _drop_stream(self) -> None:
        stream, self._stream = self._stream, None
        self._early = None
        if stream is not None:
            stream.close()

    def _trim_history(self) -> None:
        keep_from = self._endpointer.windows * WINDOW_SAMPLES - int(_HISTORY_S * SAMPLE_RATE)
        if self._stream is not None:
            keep_from = min(keep_from, self._fed_until)
        drop = keep_from - self._history_start
        if drop > 0:
            self._history = self._history[drop:]
            self._history_start += drop

    def _to_16k(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """soxr keeps filter state per stream, so chunk seams are inaudible; a new rate
        flushes the old stream first so no sample is lost."""
        tail = np.zeros(0, np.float32)
        if sample_rate != self._rate:
            if self._resampler is not None:
                tail = self._resampler.resample_chunk(tail, last=True)
            self._rate = sample_rate
            self._resampler = None
            if sample_rate != SAMPLE_RATE:
                self._resampler = soxr.ResampleStream(
                    sample_rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ"
                )
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio)
        return np.concatenate([tail, audio]) if len(tail) else audio

    def _check_open(self) -> None:
        if self._closed:
            raise HearingInputError("closed", "the listener is closed")

    def _check_level(self, pcm: np.ndarray, sample_rate: int) -> list[HearingEvent]:
        warnings: list[HearingEvent] = []
        if not len(pcm):
            return warnings
        clipped = np.count_nonzero(np.abs(pcm.astype(np.int32)) >= _FULL_SCALE) / len(pcm)
        if clipped >= self.settings.clipped_fraction:
            warnings += self._warn("clipped", f"{clipped:.1%} of samples at full scale")
        nonzero = np.flatnonzero(pcm)
        self._zeros = self._zeros + len(pcm) if not len(nonzero) else len(pcm) - 1 - nonzero[-1]
        if self._zeros >= self.settings.digital_silence_s * sample_rate:
            seconds = self._zeros / sample_rate
            warnings += self._warn("digital_silence", f"{seconds:.1f} s of exact zeros")
        return warnings

    def _warn(self, code: str, detail: str) -> list[HearingEvent]:
        last = self._warned.get(code)
        if last is not None and self.time_s - last < self.settings.warning_interval_s:
            return []
        self._warned[code] = self.time_s
        return [AudioWarning(self.time_s, code, detail)]
