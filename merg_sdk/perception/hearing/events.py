"""What the hearing stage reports as a user's audio streams in, in one place.

Every event carries `t_s`, a position on the listener's own timeline: seconds of
16 kHz audio fed since the listener was created. The server maps it to its turn
clock; nothing here reads a wall clock, so the same audio always gives the same
events whatever the chunking or the machine's load.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from merg_sdk.perception.hearing.base import Transcript


class EndReason(StrEnum):
    """Why an utterance was closed."""

    SILENCE = "silence"  # the trailing silence reached `end_silence_ms`
    SENTENCE_END = "sentence_end"  # a shorter silence after a transcript that ends a sentence
    MAX_LENGTH = "max_length"  # the utterance reached `max_utterance_s`
    STREAM_END = "stream_end"  # the caller flushed the listener mid-utterance


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The user has taken the floor (barge-in point). `t_s` is where the speech began,
    reported once `min_speech_ms` of it has been heard, so it arrives that much later."""

    t_s: float


@dataclass(frozen=True, slots=True)
class FalseStart:
    """Something voiced began at `t_s` but stopped before it counted as speech (a cough,
    a click, a door): the avatar should not yield the floor for it."""

    t_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    """The utterance is over; `t_s` is the end of its last voiced window."""

    t_s: float
    reason: EndReason


@dataclass(frozen=True, slots=True)
class PartialTranscript:
    """Words heard so far in the current utterance; later partials replace earlier ones."""

    t_s: float
    transcript: Transcript


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    """The utterance's words (possibly empty: voiced sound without recognisable words).
    `decode_s` is the wall time of the decode that produced them, which began at
    `decode_started_s` on the timeline: in a pause, before the end was decided, when the
    early decode was kept, otherwise at `t_s`. In real time the transcript is ready at
    about max(t_s, decode_started_s + decode_s)."""

    t_s: float
    transcript: Transcript
    decode_s: float
    decode_started_s: float


@dataclass(frozen=True, slots=True)
class TranscriptFailed:
    """The recogniser failed (a remote backend down, a bad model); the utterance's
    turn-taking events still stand, its words are lost."""

    t_s: float
    detail: str


@dataclass(frozen=True, slots=True)
class AudioWarning:
    """The input is usable but suspect; `code` is stable (`clipped`, `digital_silence`)."""

    t_s: float
    code: str
    detail: str


EndpointEvent = SpeechStarted | FalseStart | SpeechEnded
HearingEvent = (
    SpeechStarted
    | FalseStart
    | SpeechEnded
    | PartialTranscript
    | FinalTranscript
    | TranscriptFailed
    | AudioWarning
)
