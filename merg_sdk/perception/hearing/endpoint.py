"""End-of-turn detection: speech onset, false starts and end of utterance from VAD scores.

A pure state machine over per-window speech probabilities, so the server can
drive it chunk by chunk and tests can drive it with made-up numbers. Two
thresholds give hysteresis (a window counts as speech above `threshold`, as
silence only below `neg_threshold`), which keeps a soft syllable from ending a
turn. The user takes the floor only after `min_speech_ms` of speech: a cough,
a click or a slammed door is shorter and ends as a `FalseStart`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from merg_sdk.perception.hearing.events import (
    EndpointEvent,
    EndReason,
    FalseStart,
    SpeechEnded,
    SpeechStarted,
)
from merg_sdk.perception.hearing.vad import WINDOW_S


class EndpointSettings(BaseModel):
    """Turn-taking timings. Defaults follow conversational gaps: people answer after
    roughly 200-700 ms, so 550 ms of silence ends a turn without cutting thinking pauses
    short too often."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    threshold: float = Field(0.5, gt=0, lt=1)
    """A window with at least this speech probability is speech."""
    neg_threshold: float = Field(0.35, gt=0, lt=1)
    """Once speaking, only windows below this count as silence."""
    min_speech_ms: float = Field(250.0, ge=0)
    """Speech needed before the user takes the floor; shorter bursts are false starts."""
    onset_gap_ms: float = Field(160.0, gt=0)
    """Silence that abandons an onset that has not yet reached `min_speech_ms`."""
    end_silence_ms: float = Field(550.0, gt=0)
    """Trailing silence that ends an utterance."""
    sentence_end_silence_ms: float | None = Field(300.0, gt=0)
    """Shorter trailing silence once the transcript of the utterance ends a sentence
    (see `Endpointer.sentence_complete`); None always waits `end_silence_ms`."""
    max_utterance_s: float = Field(28.0, gt=0)
    """Longest utterance; endless speech (or endless noise the VAD takes for speech) is
    cut here into utterances of this length. With the pre-roll it stays inside Whisper's
    30 s window, so the final transcript costs one window's decode."""

    @model_validator(mode="after")
    def _ordered(self) -> EndpointSettings:
        if self.neg_threshold > self.threshold:
            raise ValueError("neg_threshold must not exceed threshold")
        return self


class EndpointState(StrEnum):
    SILENT = "silent"
    ONSET = "onset"  # voiced, but not yet long enough to be the user's turn
    SPEAKING = "speaking"


def _windows(ms: float) -> int:
    return max(1, math.ceil(ms / 1000.0 / WINDOW_S - 1e-9))


class Endpointer:
    """Feed one probability per VAD window; events come back as soon as they are decided.
    Times are window boundaries on the stream's timeline (window index x 32 ms)."""

    def __init__(self, settings: EndpointSettings | None = None) -> None:
        self.settings = settings or EndpointSettings()
        s = self.settings
        self._min_speech = _windows(s.min_speech_ms) if s.min_speech_ms > 0 else 0
        self._onset_gap = _windows(s.onset_gap_ms)
        self._end_silence = _windows(s.end_silence_ms)
        self._sentence_silence = (
            _windows(s.sentence_end_silence_ms) if s.sentence_end_silence_ms else None
        )
        self._max_windows = _windows(s.max_utterance_s * 1000.0)
        self.windows = 0
        self._reset_utterance()

    def _reset_utterance(self) -> None:
        self.state = EndpointState.SILENT
        self._start = 0  # first voiced window of the onset / utterance
        self._last_voiced = 0  # one past the last voiced window
        self._voiced = 0  # voiced windows in the onset
        self._silence = 0  # current run of silent windows
        # set by the caller when the transcript so far ends a sentence; cleared by speech
        self.sentence_complete = False

    @property
    def time_s(self) -> float:
        """The end of the last window fed: the stream's current time."""
        return self.windows * WINDOW_S

    @property
    def silence_s(self) -> float:
        """Trailing silence of the current utterance so far (0 when not speaking)."""
        return self._silence * WINDOW_S if self.state is EndpointState.SPEAKING else 0.0

    @property
    def utterance_start_s(self) -> float:
        return self._start * WINDOW_S

    def feed(self, probabilities: Iterable[float]) -> list[EndpointEvent]:
        events: list[EndpointEvent] = []
        for probability in probabilities:
            event = self.step(float(probability))
            if event is not None:
                events.append(event)
        return events

    def step(self, probability: float) -> EndpointEvent | None:
        """One window. At most one event per window: onset and end cannot coincide."""
        index = self.windows
        self.windows += 1
        if self.state is EndpointState.SILENT:
            return self._silent(index, probability)
        if self.state is EndpointState.ONSET:
            return self._onset(index, probability)
        return self._speaking(index, probability)

    def flush(self) -> EndpointEvent | None:
        """The audio stops (session closed, client finished): close what is open."""
        event: EndpointEvent | None = None
        if self.state is EndpointState.SPEAKING:
            event = SpeechEnded(self._last_voiced * WINDOW_S, EndReason.STREAM_END)
        elif self.state is EndpointState.ONSET:
            event = self._false_start()
        self._reset_utterance()
        return event

    def _silent(self, index: int, probability: float) -> EndpointEvent | None:
        if probability < self.settings.threshold:
            return None
        self.state = EndpointState.ONSET
        self._start, self._voiced, self._silence = index, 0, 0
        return self._onset(index, probability)

    def _onset(self, index: int, probability: float) -> EndpointEvent | None:
        if probability >= self.settings.threshold:
            self._voiced += 1
            self._silence = 0
            self._last_voiced = index + 1
        elif probability < self.settings.neg_threshold:
            self._silence += 1
        if self._voiced >= self._min_speech:
            self.state = EndpointState.SPEAKING
            self._silence = 0
            return SpeechStarted(self._start * WINDOW_S)
        if self._silence >= self._onset_gap:
            event = self._false_start()
            self._reset_utterance()
            return event
        return None

    def _speaking(self, index: int, probability: float) -> EndpointEvent | None:
        if probability >= self.settings.neg_threshold:
            self._silence = 0
            self._last_voiced = index + 1
            self.sentence_complete = False
        else:
            self._silence += 1
        if index + 1 - self._start >= self._max_windows:
            return self._end(
                EndReason.MAX_LENGTH, self._last_voiced if self._silence else index + 1
            )
        if self._silence >= self._end_silence:
            return self._end(EndReason.SILENCE, self._last_voiced)
        if (
            self.sentence_complete
            and self._sentence_silence is not None
            and self._silence >= self._sentence_silence
        ):
            return self._end(EndReason.SENTENCE_END, self._last_voiced)
        return None

    def _end(self, reason: EndReason, end_window: int) -> SpeechEnded:
        self._reset_utterance()
        return SpeechEnded(end_window * WINDOW_S, reason)

    def _false_start(self) -> FalseStart:
        return FalseStart(self._start * WINDOW_S, (self._last_voiced - self._start) * WINDOW_S)
