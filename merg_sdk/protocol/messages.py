"""Every protocol message as a frozen dataclass, named as on the wire.

Field names are the wire keys; the envelope keys `v`, `type` and `seq` are
added and checked by the codec. Binary fields stay `bytes` here (the wire
truth) with numpy views as properties, so a message round-trips exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import Field

NonEmptyStr = Annotated[str, Field(min_length=1)]
UnitFloat = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]


@dataclass(frozen=True, slots=True)
class Message:
    """Base of all messages; `TYPE` is the wire `type` string."""

    TYPE: ClassVar[str] = ""


# --- handshake and liveness -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hello(Message):
    TYPE: ClassVar[str] = "hello"
    client: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Welcome(Message):
    TYPE: ClassVar[str] = "welcome"
    server: dict[str, Any]
    capabilities: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Ping(Message):
    TYPE: ClassVar[str] = "ping"
    t: float = 0.0


@dataclass(frozen=True, slots=True)
class Pong(Message):
    TYPE: ClassVar[str] = "pong"
    t: float
    server_t: float


# --- sessions ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionOpen(Message):
    TYPE: ClassVar[str] = "session.open"
    rig: NonEmptyStr = "arkit52"
    fps: int = 60
    sample_rate: int = 22050
    voice: str | None = None
    language: str | None = None
    avatar: str | dict[str, Any] | None = None
    resume: str | None = None


@dataclass(frozen=True, slots=True)
class SessionOpened(Message):
    TYPE: ClassVar[str] = "session.opened"
    sid: str
    rig: dict[str, Any]
    fps: int
    sample_rate: int
    voice: str
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class SessionClose(Message):
    TYPE: ClassVar[str] = "session.close"
    sid: NonEmptyStr


@dataclass(frozen=True, slots=True)
class SessionClosed(Message):
    TYPE: ClassVar[str] = "session.closed"
    sid: str
    reason: str = "closed"


# --- turns, client to server -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Say(Message):
    TYPE: ClassVar[str] = "say"
    sid: NonEmptyStr
    text: str
    emotion: str | None = None
    intensity: UnitFloat | None = None


@dataclass(frozen=True, slots=True)
class UserText(Message):
    """The user said this (typed, or recognised by the engine); the avatar replies."""

    TYPE: ClassVar[str] = "user.text"
    sid: NonEmptyStr
    text: str


@dataclass(frozen=True, slots=True)
class Animate(Message):
    """Audio the game already has (voice-over, another TTS): the server returns face frames
    for it. Chunks stream in; `final: true` ends the utterance. `echo: true` also returns
    the audio on the turn timeline (resampled to the session rate)."""

    TYPE: ClassVar[str] = "animate"
    sid: NonEmptyStr
    pcm: bytes
    sample_rate: Annotated[int, Field(ge=8000, le=96000)]
    final: bool = False
    emotion: str | None = None
    intensity: UnitFloat | None = None
    echo: bool = False


@dataclass(frozen=True, slots=True)
class UserAudio(Message):
    """The user's microphone, streamed as it is captured (s16le mono). The server detects
    speech, recognises it and replies when the user stops; `final: true` says the user
    finished (push-to-talk released) without waiting for the silence."""

    TYPE: ClassVar[str] = "user.audio"
    sid: NonEmptyStr
    pcm: bytes
    sample_rate: Annotated[int, Field(ge=8000, le=96000)]
    final: bool = False


@dataclass(frozen=True, slots=True)
class UserFace(Message):
    """The user's face at time `t` (seconds, the client's clock): ARKit-52 weights from
    headset face tracking (float32, the arkit52 order) or one camera frame as JPEG."""

    TYPE: ClassVar[str] = "user.face"
    sid: NonEmptyStr
    t: float
    weights: bytes | None = None
    jpeg: bytes | None = None


@dataclass(frozen=True, slots=True)
class Interrupt(Message):
    TYPE: ClassVar[str] = "interrupt"
    sid: NonEmptyStr


@dataclass(frozen=True, slots=True)
class Playback(Message):
    TYPE: ClassVar[str] = "playback"
    sid: NonEmptyStr
    turn: Count
    t: Annotated[float, Field(ge=0.0)]


# --- turns, server to client -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TurnStart(Message):
    TYPE: ClassVar[str] = "turn.start"
    sid: str
    turn: int
    source: str
    ref: int | None = None
    """`seq` of the request that started this turn, so a client matches turns to requests."""


@dataclass(frozen=True, slots=True)
class UserSpeech(Message):
    """What the server hears of the user's voice: `started` (speech onset confirmed),
    `false_start` (a noise too short to be speech: a cough), `ended` (end of turn).
    `utterance` counts the session's utterances; `t` is seconds of user audio received."""

    TYPE: ClassVar[str] = "user.speech"
    sid: str
    utterance: int
    state: str
    t: float
    code: str | None = None
    """For `warning`: clipped, digital_silence."""
    detail: str | None = None
    interrupts: int | None = None
    """For `started`: the avatar turn this speech cut off (still being sent, or sent and
    still playing at the client). Stop playing it and drop what is left of it."""


@dataclass(frozen=True, slots=True)
class UserTranscript(Message):
    """The recognised words of an utterance: partials while the user speaks, then the
    final one, which carries the `turn` the avatar's reply runs in."""

    TYPE: ClassVar[str] = "user.transcript"
    sid: str
    utterance: int
    text: str
    final: bool
    turn: int | None = None
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class UserAffect(Message):
    """How the user seems to feel this turn; `by` holds each modality's own reading."""

    TYPE: ClassVar[str] = "user.affect"
    sid: str
    turn: int
    emotion: str
    vad: list[float]
    confidence: float
    by: dict[str, Any] = field(default_factory=dict)
    fine_emotion: str | None = None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class Reasoning(Message):
    """The chain of empathy behind a reply, for tools and therapists' dashboards."""

    TYPE: ClassVar[str] = "reasoning"
    sid: str
    turn: int
    chain: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Safety(Message):
    """Crisis language in the user's words: the host decides whom to alert."""

    TYPE: ClassVar[str] = "safety"
    sid: str
    turn: int
    category: str
    severity: str
    matched: str


@dataclass(frozen=True, slots=True)
class Reply(Message):
    TYPE: ClassVar[str] = "reply"
    sid: str
    turn: int
    text: str
    emotion: str
    intensity: float
    final: bool
    strategy: str | None = None
    source: str | None = None
    """opener (said at once while the LLM writes), llm, fallback or safety; None for say."""
    t0: int | None = None
    """Where this clause's audio starts on the turn timeline (samples)."""
    phonemes: list[list[Any]] | None = None
    """[[ipa, start_s, end_s], ...] on the turn timeline; "" is a pause. For captions,
    engine-side lip-sync and checking the face against the voice."""


@dataclass(frozen=True, slots=True)
class Audio(Message):
    """`pcm` is s16le mono; sample k of it sits at index t0 + k of the turn timeline."""

    TYPE: ClassVar[str] = "audio"
    sid: str
    turn: int
    t0: int
    sample_rate: int
    pcm: bytes

    @property
    def samples(self) -> np.ndarray:
        return np.frombuffer(self.pcm, dtype="<i2")


@dataclass(frozen=True, slots=True)
class Face(Message):
    """`weights` is float32 little-endian, `count` rows in the session rig's name order."""

    TYPE: ClassVar[str] = "face"
    sid: str
    turn: int
    f0: int
    fps: int
    count: int
    weights: bytes
    head: bytes | None = None
    eyes: bytes | None = None

    @property
    def matrix(self) -> np.ndarray:
        """The weights as a [count, names] float32 array."""
        flat = np.frombuffer(self.weights, dtype="<f4")
        return flat.reshape(self.count, -1) if self.count else flat.reshape(0, 0)


@dataclass(frozen=True, slots=True)
class Flame(Message):
    """FLAME parameters for frames f0 .. f0+count-1 (float32 little-endian), for `flame`
    sessions in place of `face`: expression [count, E], jaw [count, 3] axis-angle,
    neck [count, 3], eyes [count, 6] (left then right eyeball axis-angle)."""

    TYPE: ClassVar[str] = "flame"
    sid: str
    turn: int
    f0: int
    fps: int
    count: int
    expression: bytes
    jaw: bytes
    neck: bytes | None = None
    eyes: bytes | None = None


@dataclass(frozen=True, slots=True)
class TurnEnd(Message):
    TYPE: ClassVar[str] = "turn.end"
    sid: str
    turn: int
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Error(Message):
    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    ref: int | None = None
    sid: str | None = None


CLIENT_MESSAGES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Ping,
        SessionOpen,
        SessionClose,
        Say,
        UserText,
        Animate,
        UserAudio,
        UserFace,
        Interrupt,
        Playback,
    )
}
SERVER_MESSAGES: dict[str, type[Message]] = {
    cls.TYPE: cls
    for cls in (
        Welcome,
        Pong,
        SessionOpened,
        SessionClosed,
        TurnStart,
        UserSpeech,
        UserTranscript,
        UserAffect,
        Reasoning,
        Safety,
        Reply,
        Audio,
        Face,
        Flame,
        TurnEnd,
        Error,
    )
}
