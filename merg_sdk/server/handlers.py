"""What the server does with each client message: validate, answer, start or stop turns."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from merg_sdk.motion import EMOTIONS
from merg_sdk.motion.output import output_rig
from merg_sdk.protocol import (
    CLIENT_MESSAGES,
    SUPPORTED_FPS,
    SUPPORTED_SAMPLE_RATES_HZ,
    ErrorCode,
    Hello,
    Interrupt,
    Message,
    Ping,
    Playback,
    Pong,
    ProtocolError,
    Say,
    SessionClose,
    SessionClosed,
    SessionOpen,
    SessionOpened,
    TurnEnd,
    TurnStart,
    Welcome,
    decode,
)
from merg_sdk.protocol.codec import read_envelope
from merg_sdk.server.sessions import RunningTurn, Session, TurnStats, new_session_id
from merg_sdk.server.turns import Line, run_speech_turn, say_lines

if TYPE_CHECKING:
    from merg_sdk.server.app import ClientState, MergServer

log = logging.getLogger("merg.server")

DEFAULT_INTENSITY = 0.5


class Handlers:
    def __init__(self, server: MergServer) -> None:
        self.server = server

    async def handle(self, client: ClientState, frames: list[bytes]) -> None:
        limits = self.server.config.limits
        if len(frames) != 1:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message is exactly one frame")
        payload = frames[0]
        if len(payload) > limits.max_message_bytes:
            sid, seq = _peek_ids(payload)  # so the client can tell which request failed
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"message of {len(payload)} bytes exceeds {limits.max_message_bytes}",
                sid=sid,
                ref=seq,
            )
        if not client.greeted:
            envelope, kind, seq = read_envelope(payload)
            if kind != Hello.TYPE:
                sid = envelope.get("sid") if isinstance(envelope.get("sid"), str) else None
                raise ProtocolError(
                    ErrorCode.HELLO_REQUIRED, "send 'hello' first", sid=sid, ref=seq
                )
        message, seq = decode(payload, CLIENT_MESSAGES)
        await self._dispatch(client, message, seq)

    async def _dispatch(self, client: ClientState, message: Message, seq: int | None) -> None:
        server = self.server
        match message:
            case Hello():
                client.greeted = True
                server.send(
                    client,
                    Welcome(server=server.server_info(), capabilities=server.capabilities()),
                )
            case Ping(t=t):
                server.send(client, Pong(t=t, server_t=time.time()))
            case SessionOpen():
                self._open(client, message, seq)
            case SessionClose(sid=sid):
                session = self._session(client, sid, seq)
                await server.end_turn(session, "interrupted")
                server.sessions.remove(sid)
                server.send(client, SessionClosed(sid=sid))
            case Say():
                await self._say(client, message, seq)
            case Interrupt(sid=sid):
                await server.end_turn(self._session(client, sid, seq), "interrupted")
            case Playback(sid=sid, turn=turn, t=t):
                if not self._session(client, sid, seq).record_heard(turn, t):
                    raise ProtocolError(
                        ErrorCode.BAD_MESSAGE, f"turn {turn} never started", sid=sid, ref=seq
                    )

    def _session(self, client: ClientState, sid: str, seq: int | None) -> Session:
        session = self.server.sessions.get(sid)
        if session is None or session.owner != client.identity:
            raise ProtocolError(ErrorCode.UNKNOWN_SESSION, f"no session {sid!r}", sid=sid, ref=seq)
        return session

    def _open(self, client: ClientState, request: SessionOpen, seq: int | None) -> None:
        server = self.server
        limits = server.config.limits
        if request.resume is not None:
            self._resume(client, request.resume, seq)
            return
        if len(server.sessions.owned_by(client.identity)) >= limits.max_sessions_per_client:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS,
                f"at most {limits.max_sessions_per_client} sessions per client",
                ref=seq,
            )
        if len(server.sessions) >= limits.max_sessions:
            raise ProtocolError(ErrorCode.TOO_MANY_SESSIONS, "the server is full", ref=seq)
        _require(request.fps in SUPPORTED_FPS, f"fps {request.fps} not in {SUPPORTED_FPS}", seq)
        _require(
            request.sample_rate in SUPPORTED_SAMPLE_RATES_HZ,
            f"sample_rate {request.sample_rate} not in {SUPPORTED_SAMPLE_RATES_HZ}",
            seq,
        )
        voice = request.voice or server.tts.default_voice
        _require(voice in server.tts.voices, f"unknown voice {voice!r}", seq)
        try:
            rig = output_rig(request.rig)
        except ValueError as exc:
            raise ProtocolError(ErrorCode.UNSUPPORTED, str(exc), ref=seq) from None
        session = Session(
            sid=new_session_id(),
            owner=client.identity,
            rig=rig,
            fps=request.fps,
            sample_rate=request.sample_rate,
            voice=voice,
        )
        server.sessions.add(session)
        server.send(client, _opened(session, resumed=False))

    def _resume(self, client: ClientState, sid: str, seq: int | None) -> None:
        """Re-attach a session whose client vanished (or went silent: a reconnect from a new
        socket usually arrives before the server notices the old one is gone)."""
        server = self.server
        session = server.sessions.get(sid)
        owner = server.clients.get(session.owner) if session and session.owner else None
        silent_s = time.monotonic() - owner.last_seen if owner else float("inf")
        takeover_s = server.config.limits.resume_takeover_s
        if session is None or (owner is not None and owner is not client and silent_s < takeover_s):
            raise ProtocolError(
                ErrorCode.UNKNOWN_SESSION, f"no session {sid!r} to resume", sid=sid, ref=seq
            )
        limit = server.config.limits.max_sessions_per_client
        if (
            session.owner != client.identity
            and len(server.sessions.owned_by(client.identity)) >= limit
        ):
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS, f"at most {limit} sessions per client", ref=seq
            )
        if owner is not None and owner is not client:
            server.send(owner, SessionClosed(sid=sid, reason="resumed_elsewhere"))
        session.owner = client.identity
        session.detached_at = None
        server.send(client, _opened(session, resumed=True))

    async def _say(self, client: ClientState, request: Say, seq: int | None) -> None:
        server = self.server
        session = self._session(client, request.sid, seq)
        limit = server.config.limits.max_text_chars
        if len(request.text) > limit:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"text over {limit} characters", sid=session.sid, ref=seq
            )
        if not any(ch.isalnum() for ch in request.text):
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "nothing to say: text has no words", sid=session.sid, ref=seq
            )
        emotion = request.emotion or "neutral"
        if emotion not in EMOTIONS:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED,
                f"unknown emotion {emotion!r}; one of {', '.join(EMOTIONS)}",
                sid=session.sid,
                ref=seq,
            )
        intensity = DEFAULT_INTENSITY if request.intensity is None else request.intensity
        await server.end_turn(session, "interrupted")
        number = session.next_turn_number()
        server.send(client, TurnStart(sid=session.sid, turn=number, source="say", ref=seq))
        stats = TurnStats()
        task = asyncio.create_task(
            self._run_turn(
                client, session, number, say_lines(request.text, emotion, intensity), stats
            )
        )
        session.turn = RunningTurn(number=number, source="say", task=task, stats=stats)

    async def _run_turn(
        self,
        client: ClientState,
        session: Session,
        number: int,
        lines: list[Line],
        stats: TurnStats,
    ) -> None:
        server = self.server
        tag = (session.sid, number)

        async def emit(message: Message) -> None:
            await client.outbox.put(message, tag)

        try:
            await run_speech_turn(
                session,
                number,
                lines,
                tts=server.tts,
                executor=server.executor,
                chunk_samples=max(1, session.sample_rate * server.config.audio_chunk_ms // 1000),
                emit=emit,
                stats=stats,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("turn %s of session %s failed", number, session.sid)
            if session.turn is not None and session.turn.number == number:
                await server.end_turn(session, "error", code=ErrorCode.INTERNAL)
            return
        if session.turn is not None and session.turn.number == number:
            session.turn = None
            server.send(
                client,
                TurnEnd(
                    sid=session.sid,
                    turn=number,
                    reason="done",
                    stats=stats.as_wire(session.sample_rate),
                ),
            )


def _require(condition: bool, message: str, seq: int | None) -> None:
    if not condition:
        raise ProtocolError(ErrorCode.UNSUPPORTED, message, ref=seq)


def _opened(session: Session, resumed: bool) -> SessionOpened:
    return SessionOpened(
        sid=session.sid,
        rig={"name": session.rig.name, "names": list(session.rig.names)},
        fps=session.fps,
        sample_rate=session.sample_rate,
        voice=session.voice,
        resumed=resumed,
    )


def _peek_ids(payload: bytes) -> tuple[str | None, int | None]:
    """The sid and seq of a message we will not process, if it is readable at all."""
    try:
        envelope, _, seq = read_envelope(payload)
    except ProtocolError as exc:
        return None, exc.ref
    sid = envelope.get("sid")
    return (sid if isinstance(sid, str) else None), seq
