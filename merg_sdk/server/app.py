"""The MERG server: one ROUTER socket, many clients, many sessions, one event loop.

The loop only routes: it decodes, validates and answers small messages at
once, and runs each turn as its own task whose heavy work (synthesis) goes to
a thread pool, so one session's turn never delays another's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import zmq
import zmq.asyncio

import merg_sdk
from merg_sdk.motion import EMOTIONS
from merg_sdk.motion.flame import FlameMapper
from merg_sdk.motion.output import output_rigs
from merg_sdk.protocol import (
    SUPPORTED_FPS,
    SUPPORTED_SAMPLE_RATES_HZ,
    Error,
    ErrorCode,
    Message,
    ProtocolError,
    TurnEnd,
    encode,
)
from merg_sdk.server.config import ServerConfig
from merg_sdk.server.connections import ConnectionWatch
from merg_sdk.server.conversation import Mind, load_mind
from merg_sdk.server.handlers import Handlers
from merg_sdk.server.hearing import Hearing, load_hearing
from merg_sdk.server.listening import close_ears
from merg_sdk.server.observer import Observer
from merg_sdk.server.outbox import Outbox, PeerGone, PeerStalled
from merg_sdk.server.security import make_curve_server, secure_server_socket
from merg_sdk.server.sessions import Session, SessionRegistry, session_opened
from merg_sdk.speech.backends import create_tts
from merg_sdk.speech.base import TextToSpeech

log = logging.getLogger("merg.server")

REAP_INTERVAL_S = 0.25


@dataclass(slots=True)
class ClientState:
    identity: bytes
    outbox: Outbox
    last_seen: float = field(default_factory=time.monotonic)
    greeted: bool = False
    sender: asyncio.Task[None] | None = None


class MergServer:
    """Serve protocol v1 until `stop()`; see docs/protocol.md for the messages."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        tts: TextToSpeech | None = None,
        mind: Mind | None = None,
        hearing: Hearing | None = None,
    ):
        self.config = config or ServerConfig()
        self.tts: TextToSpeech = tts or create_tts(self.config.tts)
        self.mind = mind
        self.hearing = hearing
        """VAD and speech recognition for `user.audio` (None: no voice input)."""
        self.flame: FlameMapper | None = None
        """Perception, LLM and personas for `user.text` turns (None: say-only server)."""
        self.sessions = SessionRegistry()
        self.clients: dict[bytes, ClientState] = {}
        self.executor = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2, thread_name_prefix="merg"
        )
        self.hearing_executor = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 2, thread_name_prefix="merg-hearing"
        )
        """Listening (VAD, recognition) has its own threads: a long decode never queues
        a clause's synthesis behind it."""
        self.endpoint: str | None = None
        self._context: zmq.asyncio.Context | None = None
        self._socket: zmq.asyncio.Socket | None = None
        self._authenticator = None
        self._connections: ConnectionWatch | None = None
        self.observer: Observer | None = None
        """The watchers' XPUB socket, when `config.observer` is on."""
        self._tasks: list[asyncio.Task[None]] = []
        self._handlers = Handlers(self)
        self._owns_mind = False
        self._owns_hearing = False

    def capabilities(self) -> dict[str, Any]:
        features = ["say", "animate", "interrupt", "ping", "playback", "resume", "head", "eyes"]
        if self.mind is not None:
            features += ["user.text", "reasoning", "safety"]
        if self.hearing is not None:
            features += ["user.audio", "user.transcript", "barge_in"]
            if self.hearing.voice is not None:
                features.append("voice_affect")
            if self.hearing.face is not None:
                features.append("user.face")
        if self.config.server_secret_key:
            features.append("curve")
        extra: dict[str, Any] = {}
        if self.observer is not None:
            features.append("observer")
            extra["observer"] = self.observer.endpoint
        return extra | {
            "rigs": list(output_rigs(self.flame)),
            "voices": list(self.tts.voices),
            "fps": list(SUPPORTED_FPS),
            "sample_rates": list(SUPPORTED_SAMPLE_RATES_HZ),
            "emotions": list(EMOTIONS),
            "features": features,
        }

    def server_info(self) -> dict[str, str]:
        return {"name": "merg-sdk", "version": merg_sdk.__version__, "tts": self.tts.name}

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> str:
        """Warm the models up, then bind; returns the bound endpoint."""
        loop = asyncio.get_running_loop()
        if self.config.warm_up and hasattr(self.tts, "warm_up"):
            await loop.run_in_executor(self.executor, self.tts.warm_up)
        if self.config.flame_model is not None:  # fails the start: a bad file is a setup error
            self.flame = await loop.run_in_executor(
                self.executor,
                lambda: FlameMapper(
                    self.config.flame_model,
                    n_expression=self.config.flame_expression,
                    cache_dir=self.config.flame_cache_dir,
                ),
            )
        if self.mind is None and self.config.empathy.enabled:
            self.mind = await loop.run_in_executor(self.executor, load_mind, self.config.empathy)
            self._owns_mind = True
        if self.hearing is None and self.config.hearing.enabled:
            self.hearing = await loop.run_in_executor(
                self.executor, load_hearing, self.config.hearing
            )
            self._owns_hearing = True
        self._context = zmq.asyncio.Context()
        socket = self._context.socket(zmq.ROUTER)
        socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        socket.setsockopt(zmq.MAXMSGSIZE, self.config.limits.transport_max_message_bytes)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.SNDHWM, self.config.limits.send_hwm)
        if self.config.limits.socket_send_buffer_bytes:
            socket.setsockopt(zmq.SNDBUF, self.config.limits.socket_send_buffer_bytes)
        if self.config.server_secret_key:
            self._authenticator = secure_server_socket(
                self._context,
                socket,
                self.config.server_secret_key,
                self.config.allowed_clients,
            )
        port = self.config.port
        if port == 0:
            host = self.config.endpoint.rsplit(":", 1)[0]
            socket.bind_to_random_port(host)
        else:
            socket.bind(self.config.endpoint)
        self.endpoint = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self._socket = socket
        self._connections = ConnectionWatch(socket, self.drop_client)
        if self.config.observer:
            self.observer = self._bind_observer()
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name="merg-receive"),
            asyncio.create_task(self._reap_loop(), name="merg-reap"),
            asyncio.create_task(self._connections.run(), name="merg-connections"),
        ]
        if self.observer is not None:
            self._tasks.append(self.observer.start())
            log.info("observer stream on %s", self.observer.endpoint)
        log.info("serving on %s", self.endpoint)
        return self.endpoint

    def _bind_observer(self) -> Observer:
        assert self._context is not None
        secret = self.config.server_secret_key
        return Observer.bind(
            self._context,
            self.config.observer_endpoint,
            self._describe_sessions,
            secure=(lambda socket: make_curve_server(socket, secret)) if secret else None,
        )

    def _describe_sessions(self, prefix: bytes) -> list[tuple[str, bytes]]:
        """`session.opened` of every session whose id starts with `prefix`, for a new watcher."""
        return [
            (session.sid, encode(session_opened(session, resumed=False), 0))
            for session in self.sessions
            if session.sid.encode().startswith(prefix)
        ]

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.gather(*self._tasks)
        finally:
            await self.stop()

    async def stop(self) -> None:
        for session in self.sessions:
            await self.end_turn(session, "interrupted", notify=False)
            await close_ears(session)
            if session.eyes is not None:
                session.eyes.close()
        for client in self.clients.values():
            if client.sender:
                client.sender.cancel()
        for task in self._tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._connections is not None:
            self._connections.close()
        if self._authenticator is not None:
            self._authenticator.stop()
        if self.observer is not None:
            self.observer.close()
        if self._owns_mind and self.mind is not None and self.mind.llm is not None:
            # llama.cpp's threads must stop before the interpreter exits, or glibc aborts
            # the process at exit ("FATAL: exception not rethrown")
            with contextlib.suppress(Exception):
                await self.mind.llm.aclose()
        if self._owns_hearing and self.hearing is not None:
            self.hearing.close()
        if self._socket is not None:
            self._socket.close(linger=0)
        if self._context is not None:
            self._context.term()
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.hearing_executor.shutdown(wait=False, cancel_futures=True)

    # --- receiving ------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        assert self._socket is not None
        while True:
            frames = await self._socket.recv_multipart(copy=False)
            identity, payload = frames[0].bytes, [frame.bytes for frame in frames[1:]]
            if len(frames) > 1:
                self._connections.saw(identity, frames[1])
            client = self._client(identity)
            client.last_seen = time.monotonic()
            try:
                await self._handlers.handle(client, payload)
            except ProtocolError as exc:
                self.send_error(client, exc.code, exc.message, ref=exc.ref, sid=exc.sid)
            except Exception:  # a bug must cost one message, never the server
                log.exception("internal error handling a message")
                self.send_error(client, ErrorCode.INTERNAL, "internal server error")

    def _client(self, identity: bytes) -> ClientState:
        client = self.clients.get(identity)
        if client is None:
            assert self._socket is not None
            outbox = Outbox(
                self._socket,
                identity,
                self.config.limits.outbox_bytes,
                self.config.limits.stall_timeout_s,
                observe=self.observer.publish if self.observer else None,
            )
            client = ClientState(identity=identity, outbox=outbox)
            client.sender = asyncio.create_task(self._send_loop(client))
            self.clients[identity] = client
        return client

    # --- sending --------------------------------------------------------------------------

    async def _send_loop(self, client: ClientState) -> None:
        while True:
            try:
                await client.outbox.run()
            except PeerStalled:
                if not client.outbox.stalled:
                    log.warning(
                        "client %s stopped reading; ending its turns", client.identity.hex()
                    )
                client.outbox.stalled = True
                for session in self.sessions.owned_by(client.identity):
                    await self.end_turn(session, "error", code=ErrorCode.OVERLOADED)
            except PeerGone:
                log.info("client %s is gone", client.identity.hex())
                await self.drop_client(client.identity)
                return

    def send(self, client: ClientState, message: Message) -> None:
        client.outbox.put_nowait(message)

    def send_error(
        self,
        client: ClientState,
        code: ErrorCode,
        message: str,
        ref: int | None = None,
        sid: str | None = None,
    ) -> None:
        self.send(client, Error(code=code.value, message=message, ref=ref, sid=sid))

    # --- turns and clients ----------------------------------------------------------------

    async def end_turn(
        self,
        session: Session,
        reason: str,
        *,
        code: ErrorCode | None = None,
        notify: bool = True,
    ) -> None:
        """Stop the session's running turn (if any) and tell its client how it ended."""
        running = session.turn
        if running is None:
            return
        session.turn = None
        if running.task is not asyncio.current_task():
            running.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await running.task
        owner = self.clients.get(session.owner) if session.owner else None
        if owner is None or not notify:
            return
        owner.outbox.purge((session.sid, running.number))
        if code is not None:
            self.send_error(
                owner, code, f"turn {running.number} ended: {code.value}", sid=session.sid
            )
        end_stats = running.stats.as_wire(session.sample_rate)
        self.send(
            owner, TurnEnd(sid=session.sid, turn=running.number, reason=reason, stats=end_stats)
        )

    async def drop_client(self, identity: bytes) -> None:
        """Detach a vanished client's sessions (resumable for one idle timeout) and forget it."""
        client = self.clients.pop(identity, None)
        now = time.monotonic()
        for session in self.sessions.owned_by(identity):
            await self.end_turn(session, "interrupted", notify=False)
            session.owner = None
            session.detached_at = now
        if client and client.sender and client.sender is not asyncio.current_task():
            client.sender.cancel()

    async def _reap_loop(self) -> None:
        idle_s = self.config.limits.idle_timeout_s
        while True:
            await asyncio.sleep(min(REAP_INTERVAL_S, idle_s / 4))
            now = time.monotonic()
            for identity, client in list(self.clients.items()):
                if now - client.last_seen > idle_s:
                    log.info("client %s idle for %.1f s; detaching", identity.hex(), idle_s)
                    await self.drop_client(identity)
            for session in self.sessions.detached_before(now - idle_s):
                await self.close_session(session)
                log.info("session %s freed", session.sid)

    async def close_session(self, session: Session) -> None:
        """End its turn, stop its listener, forget it."""
        await self.end_turn(session, "interrupted")
        await close_ears(session)
        if session.eyes is not None:
            session.eyes.close()
        self.sessions.remove(session.sid)
