"""Sessions and the turns running in them: state only, no I/O."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from merg_sdk.empathy.chain import EmpathyChain
from merg_sdk.motion.output import OutputRig
from merg_sdk.protocol import SessionOpened

HEARD_TURNS_KEPT = 16


@dataclass(slots=True)
class TurnStats:
    """What `turn.end` reports; times are milliseconds from the turn's start."""

    started: float = field(default_factory=time.monotonic)
    first_audio_ms: float | None = None
    first_face_ms: float | None = None
    samples: int = 0
    frames: int = 0
    clauses: int = 0

    def elapsed_ms(self) -> float:
        return round((time.monotonic() - self.started) * 1000.0, 2)

    def as_wire(self, sample_rate: int) -> dict[str, float | int | None]:
        return {
            "first_audio_ms": self.first_audio_ms,
            "first_face_ms": self.first_face_ms,
            "audio_s": round(self.samples / sample_rate, 4),
            "samples": self.samples,
            "frames": self.frames,
            "clauses": self.clauses,
            "total_ms": self.elapsed_ms(),
        }


@dataclass(slots=True)
class RunningTurn:
    number: int
    source: str
    task: asyncio.Task[None]
    stats: TurnStats
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class PlayingTurn:
    """A turn the server has finished sending whose audio may still be playing: the server
    sends faster than real time, so a user can barge into a turn that is already `done`."""

    number: int
    audio_started: float  # monotonic time its first audio was sent
    audio_s: float
    heard: Callable[[], None] | None = None
    """Tells the conversation memory what was heard, once `heard_s` holds it."""

    def heard_at(self, now: float) -> float | None:
        """Seconds of it heard by `now`, or None when it has finished playing."""
        elapsed = now - self.audio_started
        return elapsed if 0 <= elapsed < self.audio_s else None


@dataclass(slots=True)
class Session:
    """One avatar conversation: its rig and timing choices, and at most one live turn."""

    sid: str
    owner: bytes | None
    rig: OutputRig
    fps: int
    sample_rate: int
    voice: str
    turns_started: int = 0
    turn: RunningTurn | None = None
    detached_at: float | None = None
    animating: Any = None
    """The `animate` turn chunks are fed to (server.animate.AnimateTurn), if one runs."""
    chain: EmpathyChain | None = None
    """The conversation's state (persona, memory, strategies), when empathy is on."""
    heard_s: dict[int, float] = field(default_factory=dict)
    playing: PlayingTurn | None = None
    """The last turn, sent in full, until its audio has played (see `cut_playback`)."""
    ears: Any = None
    """The session's listener for `user.audio` (server.listening.SessionEars), once used."""
    eyes: Any = None
    """The user's face for `user.face` (server.seeing.SessionEyes), once used."""
    voice_baseline: Any = None
    """How this user's voice usually sounds (perception.voice.SpeakerBaseline)."""

    def record_heard(self, turn: int, heard_s: float) -> bool:
        """Keep how much of a recent turn the user heard; False for a turn never started."""
        if not 1 <= turn <= self.turns_started:
            return False
        self.heard_s[turn] = heard_s
        for old in sorted(self.heard_s)[:-HEARD_TURNS_KEPT]:
            del self.heard_s[old]
        return True

    def cut_playback(self, now: float | None = None) -> int | None:
        """The user cut the last turn off while it still played (they spoke, interrupted,
        or started a new turn): keep what they heard of it; its number, or None."""
        playing, self.playing = self.playing, None
        if playing is None:
            return None
        heard = playing.heard_at(time.monotonic() if now is None else now)
        if heard is None:
            return None
        reported = self.heard_s.get(playing.number)
        self.record_heard(playing.number, heard if reported is None else min(reported, heard))
        if playing.heard is not None:
            playing.heard()
        return playing.number

    def next_turn_number(self) -> int:
        self.turns_started += 1
        return self.turns_started


def session_opened(session: Session, resumed: bool) -> SessionOpened:
    """The session's description as the client (and any watcher) receives it."""
    return SessionOpened(
        sid=session.sid,
        rig={"name": session.rig.name, "names": list(session.rig.names)},
        fps=session.fps,
        sample_rate=session.sample_rate,
        voice=session.voice,
        resumed=resumed,
    )


def new_session_id() -> str:
    """Unguessable, since `resume` re-attaches whoever presents it."""
    return secrets.token_urlsafe(16)


class SessionRegistry:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def add(self, session: Session) -> None:
        self._sessions[session.sid] = session

    def get(self, sid: str) -> Session | None:
        return self._sessions.get(sid)

    def owned_by(self, owner: bytes) -> list[Session]:
        return [s for s in self._sessions.values() if s.owner == owner]

    def remove(self, sid: str) -> Session | None:
        return self._sessions.pop(sid, None)

    def detached_before(self, deadline: float) -> list[Session]:
        return [
            s
            for s in self._sessions.values()
            if s.detached_at is not None and s.detached_at < deadline
        ]
