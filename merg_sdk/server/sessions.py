"""Sessions and the turns running in them: state only, no I/O."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field

from merg_sdk.motion import Rig


@dataclass(slots=True)
class RunningTurn:
    number: int
    source: str
    task: asyncio.Task[None]
    started: float = field(default_factory=time.monotonic)


@dataclass(slots=True)
class Session:
    """One avatar conversation: its rig and timing choices, and at most one live turn."""

    sid: str
    owner: bytes | None
    rig: Rig
    fps: int
    sample_rate: int
    voice: str
    turns_started: int = 0
    turn: RunningTurn | None = None
    detached_at: float | None = None
    heard_s: dict[int, float] = field(default_factory=dict)

    def next_turn_number(self) -> int:
        self.turns_started += 1
        return self.turns_started


def new_session_id() -> str:
    """Unguessable, since `resume` re-attaches whoever presents it."""
    return secrets.token_urlsafe(16)


class SessionRegistry:
    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

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
