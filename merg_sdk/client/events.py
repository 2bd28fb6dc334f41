"""What a turn yields to a Python renderer: wire messages turned into numpy-ready events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from merg_sdk.protocol import (
    Audio,
    Face,
    Flame,
    Message,
    Reasoning,
    Reply,
    Safety,
    TurnEnd,
    TurnStart,
    UserAffect,
    UserSpeech,
    UserTranscript,
)


class MergError(Exception):
    """An `error` from the server, with its stable code (see docs/protocol.md)."""

    def __init__(self, code: str, message: str, sid: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.sid = sid


@dataclass(frozen=True, slots=True)
class TurnStarted:
    turn: int
    source: str


@dataclass(frozen=True, slots=True)
class UserAffectRead:
    """How the server read the user this turn (`by` holds each modality's reading)."""

    turn: int
    emotion: str
    vad: tuple[float, float, float]
    confidence: float
    fine_emotion: str | None = None
    cause: str | None = None
    by: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReasoningChain:
    """The chain of empathy behind the reply (need, stage, strategy, avatar emotion...)."""

    turn: int
    chain: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SafetyAlert:
    """Crisis language in the user's words; the host decides whom to alert."""

    turn: int
    category: str
    severity: str
    matched: str


@dataclass(frozen=True, slots=True)
class ReplyText:
    turn: int
    text: str
    emotion: str
    intensity: float
    final: bool
    strategy: str | None = None
    t0: int | None = None
    phonemes: tuple[tuple[str, float, float], ...] = ()
    source: str | None = None


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """int16 mono samples; `t0` is the first sample's index on the turn timeline."""

    turn: int
    t0: int
    sample_rate: int
    pcm: np.ndarray

    @property
    def start_s(self) -> float:
        return self.t0 / self.sample_rate


@dataclass(frozen=True, slots=True)
class FaceFrames:
    """`weights[i]` is frame `f0 + i`, shown at (f0 + i) / fps seconds; columns are `names`."""

    turn: int
    f0: int
    fps: int
    weights: np.ndarray
    names: tuple[str, ...]
    head: np.ndarray | None = None
    """[count, 3] pitch (+ down), yaw (+ to the avatar's left), roll, radians."""
    eyes: np.ndarray | None = None
    """[count, 4] left pitch, left yaw, right pitch, right yaw, radians."""

    def column(self, name: str) -> np.ndarray:
        return self.weights[:, self.names.index(name)]


@dataclass(frozen=True, slots=True)
class FlameParams:
    """FLAME parameters for frames f0 .. f0+count-1 (a `flame` session's face)."""

    turn: int
    f0: int
    fps: int
    expression: np.ndarray  # [count, E]
    jaw: np.ndarray  # [count, 3] axis-angle
    neck: np.ndarray | None = None
    eyes: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class TurnEnded:
    turn: int
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TranscriptHeard:
    """The user's words as recognised: partials while they speak, then the final one,
    which names the `turn` the avatar replies in (None when there is no reply)."""

    utterance: int
    text: str
    final: bool
    turn: int | None = None


@dataclass(frozen=True, slots=True)
class SpeechHeard:
    """What the server hears of the user's voice: `started` (the user took the floor; a
    running avatar turn is interrupted), `false_start` (a cough), `ended`, or `warning`
    (`code`: clipped, digital_silence)."""

    utterance: int
    state: str
    t: float
    code: str | None = None
    detail: str | None = None
    interrupts: int | None = None
    """For `started`: the avatar's turn to stop playing (it was cut off)."""


@dataclass(frozen=True, slots=True)
class VoiceTurn:
    """The server started a reply to the user's speech: iterate `turn` for its events."""

    turn: Any  # merg_sdk.client.aio.AsyncTurn (or MergTurn in the blocking client)


HeardEvent = TranscriptHeard | SpeechHeard | VoiceTurn

TurnEvent = (
    TurnStarted
    | TranscriptHeard
    | UserAffectRead
    | ReasoningChain
    | SafetyAlert
    | ReplyText
    | AudioChunk
    | FaceFrames
    | FlameParams
    | TurnEnded
)


def to_event(message: Message, names: tuple[str, ...]) -> TurnEvent | None:
    """The event for a turn message, or None for messages that are not part of a turn."""
    match message:
        case UserTranscript(utterance=utterance, text=text, final=final, turn=turn):
            return TranscriptHeard(utterance, text, final, turn)
        case UserSpeech(utterance=utterance, state=state, t=t, code=code, detail=detail):
            return SpeechHeard(utterance, state, t, code, detail, message.interrupts)
        case TurnStart(turn=turn, source=source):
            return TurnStarted(turn, source)
        case UserAffect():
            vad = tuple(float(v) for v in message.vad[:3])
            return UserAffectRead(
                message.turn, message.emotion, vad, message.confidence,  # type: ignore[arg-type]
                message.fine_emotion, message.cause, dict(message.by),
            )  # fmt: skip
        case Reasoning(turn=turn, chain=chain):
            return ReasoningChain(turn, dict(chain))
        case Safety(turn=turn, category=category, severity=severity, matched=matched):
            return SafetyAlert(turn, category, severity, matched)
        case Reply():
            return ReplyText(
                message.turn,
                message.text,
                message.emotion,
                message.intensity,
                message.final,
                message.strategy,
                message.t0,
                tuple((str(p[0]), float(p[1]), float(p[2])) for p in message.phonemes or ()),
                message.source,
            )
        case Audio(turn=turn, t0=t0, sample_rate=rate):
            return AudioChunk(turn, t0, rate, message.samples)
        case Face(turn=turn, f0=f0, fps=fps, count=count):
            weights = np.frombuffer(message.weights, dtype="<f4").reshape(count, len(names))
            head = _matrix(message.head, count, 3)
            eyes = _matrix(message.eyes, count, 4)
            return FaceFrames(turn, f0, fps, weights, names, head, eyes)
        case Flame(turn=turn, f0=f0, fps=fps, count=count):
            expression = np.frombuffer(message.expression, dtype="<f4").reshape(count, -1)
            jaw = np.frombuffer(message.jaw, dtype="<f4").reshape(count, 3)
            neck, eyes = _matrix(message.neck, count, 3), _matrix(message.eyes, count, 6)
            return FlameParams(turn, f0, fps, expression, jaw, neck, eyes)
        case TurnEnd(turn=turn, reason=reason, stats=stats):
            return TurnEnded(turn, reason, dict(stats))
    return None


def _matrix(payload: bytes | None, count: int, width: int) -> np.ndarray | None:
    if payload is None or len(payload) != count * width * 4:
        return None
    return np.frombuffer(payload, dtype="<f4").reshape(count, width)


@dataclass(slots=True)
class TurnResult:
    """A whole turn gathered: what the demo writes to WAV and CSV, and tests inspect."""

    turn: int
    reason: str
    sample_rate: int
    fps: int
    names: tuple[str, ...]
    audio: np.ndarray
    weights: np.ndarray
    head: np.ndarray | None
    eyes: np.ndarray | None
    replies: list[ReplyText]
    stats: dict[str, Any]
    events: list[TurnEvent]

    @property
    def audio_s(self) -> float:
        return len(self.audio) / self.sample_rate

    def column(self, name: str) -> np.ndarray:
        return self.weights[:, self.names.index(name)]


def gather(
    events: list[TurnEvent], sample_rate: int, fps: int, names: tuple[str, ...]
) -> TurnResult:
    """Concatenate a turn's audio and face frames in timeline order."""
    chunks = [e for e in events if isinstance(e, AudioChunk)]
    frames = [e for e in events if isinstance(e, FaceFrames)]
    flames = [e for e in events if isinstance(e, FlameParams)]
    end = next((e for e in events if isinstance(e, TurnEnded)), None)
    start = next((e for e in events if isinstance(e, TurnStarted)), None)
    audio = np.concatenate([c.pcm for c in chunks]) if chunks else np.zeros(0, np.int16)
    if flames:  # a flame session: the expression coefficients are its weights
        weights = np.concatenate([f.expression for f in flames])
    elif frames:
        weights = np.concatenate([f.weights for f in frames])
    else:
        weights = np.zeros((0, len(names)), np.float32)
    heads = [f.head for f in frames if f.head is not None]
    eyes = [f.eyes for f in frames if f.eyes is not None]
    return TurnResult(
        turn=start.turn if start else (end.turn if end else 0),
        reason=end.reason if end else "incomplete",
        sample_rate=sample_rate,
        fps=fps,
        names=names,
        audio=audio,
        weights=weights,
        head=np.concatenate(heads) if heads and len(heads) == len(frames) else None,
        eyes=np.concatenate(eyes) if eyes and len(eyes) == len(frames) else None,
        replies=[e for e in events if isinstance(e, ReplyText)],
        stats=end.stats if end else {},
        events=events,
    )
