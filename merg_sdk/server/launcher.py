"""Starting, running and ending a turn: the same for a `say` and a `user.text`.

A turn is one task. A new turn in a session first interrupts the running
one; the task's end (done, interrupted or failed) always leaves exactly one
`turn.end` and tells the conversation memory what the user really heard.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from merg_sdk.empathy.responder import ReplyOutcome
from merg_sdk.protocol import ErrorCode, Message, TurnEnd, TurnStart
from merg_sdk.server.sessions import PlayingTurn, RunningTurn, Session, TurnStats
from merg_sdk.server.turns import Line, SpokenClause, run_speech_turn
from merg_sdk.upstream import UpstreamError

if TYPE_CHECKING:
    from merg_sdk.server.app import ClientState, MergServer

log = logging.getLogger("merg.server")

Emit = Callable[[Message], Awaitable[None]]
LineSource = Callable[[Emit, ReplyOutcome], Iterable[Line] | AsyncIterable[Line]]
Heard = Callable[[str, str], None]
Body = Callable[[Emit, TurnStats], Awaitable[None]]


class TurnLauncher:
    def __init__(self, server: MergServer) -> None:
        self.server = server

    async def start(
        self,
        client: ClientState,
        session: Session,
        source: str,
        seq: int | None,
        lines: LineSource | None = None,
        after: Heard | None = None,
        body: Body | None = None,
    ) -> int:
        """Start a turn that speaks `lines`, or runs `body` (an `animate` turn)."""
        server = self.server
        await server.end_turn(session, "interrupted")
        session.cut_playback()
        number = session.next_turn_number()
        server.send(client, TurnStart(sid=session.sid, turn=number, source=source, ref=seq))
        stats = TurnStats()
        task = asyncio.create_task(self._run(client, session, number, lines, stats, after, body))
        session.turn = RunningTurn(number=number, source=source, task=task, stats=stats)
        return number

    async def _run(
        self,
        client: ClientState,
        session: Session,
        number: int,
        lines: LineSource | None,
        stats: TurnStats,
        after: Heard | None,
        body: Body | None,
    ) -> None:
        server = self.server
        tag = (session.sid, number)
        outcome = ReplyOutcome()
        spoken: list[SpokenClause] = []

        async def emit(message: Message) -> None:
            await client.outbox.put(message, tag)

        try:
            if body is not None:
                await body(emit, stats)
            elif lines is not None:
                await run_speech_turn(
                    session,
                    number,
                    lines(emit, outcome),
                    tts=server.tts,
                    executor=server.executor,
                    chunk_samples=max(
                        1, session.sample_rate * server.config.audio_chunk_ms // 1000
                    ),
                    emit=emit,
                    stats=stats,
                    spoken=spoken,
                )
        except asyncio.CancelledError:
            raise
        except UpstreamError as exc:  # a service a stage relies on failed: not our bug
            log.warning("turn %s of session %s: %s", number, session.sid, exc)
            if session.turn is not None and session.turn.number == number:
                server.send_error(client, ErrorCode.UPSTREAM_FAILED, str(exc), sid=session.sid)
                await server.end_turn(session, "error")
            return
        except ValueError as exc:  # bad input discovered mid-turn (e.g. a rate change)
            if session.turn is not None and session.turn.number == number:
                server.send_error(client, ErrorCode.BAD_MESSAGE, str(exc), sid=session.sid)
                await server.end_turn(session, "error")
            return
        except Exception:
            log.exception("turn %s of session %s failed", number, session.sid)
            if session.turn is not None and session.turn.number == number:
                await server.end_turn(session, "error", code=ErrorCode.INTERNAL)
            return
        finally:
            if after is not None:
                after(_heard(session, number, spoken), spoken[-1].strategy if spoken else "")
        if session.turn is not None and session.turn.number == number:
            session.turn = None
            if stats.first_audio_ms is not None:
                session.playing = PlayingTurn(
                    number,
                    stats.started + stats.first_audio_ms / 1000,
                    stats.samples / session.sample_rate,
                    _rehear(session, number, spoken, after),
                )
            reason = "error" if outcome.llm_error is not None else "done"
            wire = stats.as_wire(session.sample_rate)
            if outcome.fallback:
                wire["fallback"] = True
            if outcome.rejected:
                wire["guard_rejected"] = outcome.rejected
            server.send(client, TurnEnd(sid=session.sid, turn=number, reason=reason, stats=wire))


def _rehear(
    session: Session, turn: int, spoken: list[SpokenClause], after: Heard | None
) -> Callable[[], None] | None:
    """Tell the memory again what was heard of a finished turn the user cut off."""
    if after is None:
        return None
    return lambda: after(_heard(session, turn, spoken), spoken[-1].strategy if spoken else "")


def _heard(session: Session, turn: int, spoken: list[SpokenClause]) -> str:
    """The clauses the user heard: all that were sent, or up to the reported playback."""
    heard_s = session.heard_s.get(turn)
    if heard_s is None:
        return " ".join(c.text for c in spoken)
    return " ".join(c.text for c in spoken if c.start_s < heard_s)
