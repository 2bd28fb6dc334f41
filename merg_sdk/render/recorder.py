"""Record sessions to `.merg` files: by watching the observer stream, or by saying a line.

Watching (`record_observer`) takes part in nothing: it subscribes to a running
session's messages on the server's observer socket (port + 1), so a game's own
session can be captured as its players see it. Saying (`record_turn`) opens a
session of its own with the client API and records the one turn it asks for.
Both write the bytes the server sent, as they arrive (see `recording.py`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import zmq

from merg_sdk.client import AsyncMergClient, MergError, TurnEvent
from merg_sdk.render.recording import (
    RecordedTurn,
    Recording,
    RecordingWriter,
    make_header,
)

POLL_MS = 200
"""How often the watcher looks up from the socket to check its stop conditions."""


def observer_endpoint(endpoint: str) -> str:
    """The server's observer endpoint by the protocol's default: the same host, port + 1."""
    base, _, port = endpoint.rpartition(":")
    if not port.isdigit() or not base:
        raise ValueError(f"endpoint {endpoint!r} has no port; give the observer endpoint itself")
    return f"{base}:{int(port) + 1}"


def discover_observer(endpoint: str, timeout_s: float = 10.0, **client_options: Any) -> str:
    """The observer endpoint a server announces in `welcome` (it knows its real port, which
    differs from port + 1 under --observer-port or port 0); a wildcard host is replaced by
    the host used to reach the server."""
    from merg_sdk.client import MergClient

    with MergClient(endpoint, timeout_s=timeout_s, heartbeat_s=None, **client_options) as client:
        capabilities = client.welcome.capabilities if client.welcome else {}
    announced = capabilities.get("observer")
    if not isinstance(announced, str):
        raise RuntimeError(
            f"the server at {endpoint} has no observer stream: start it with `merg serve "
            "--observer` (or ServerConfig(observer=True))"
        )
    host = announced.rpartition(":")[0].removeprefix("tcp://")
    if host in ("0.0.0.0", "*", "[::]"):
        announced = f"{endpoint.rpartition(':')[0]}:{announced.rpartition(':')[2]}"
    return announced


@dataclass(slots=True)
class RecordSummary:
    """What a recorder wrote, and why it stopped."""

    path: Path
    records: int = 0
    turns: int = 0
    sessions: set[str] = field(default_factory=set)
    seconds: float = 0.0
    stopped_by: str = ""


def _curve_keys(
    socket: zmq.Socket,
    server_public_key: str | Path | bytes | None,
    client_secret_key: str | Path | bytes | None,
) -> None:
    """The observer is a Curve server with the main socket's keys and allow-list."""
    if server_public_key is None:
        return
    import zmq.auth

    def key(value: str | Path | bytes, part: int) -> bytes:
        if isinstance(value, Path) or (isinstance(value, str) and Path(value).is_file()):
            loaded = zmq.auth.load_certificate(str(value))[part]
            if loaded is None:
                raise ValueError(f"{value} holds no secret key (is it the public .key file?)")
            return loaded
        return value.encode() if isinstance(value, str) else value

    if client_secret_key is None:
        public, secret = zmq.curve_keypair()
    else:
        secret = key(client_secret_key, 1)
        public = zmq.curve_public(secret)
    socket.curve_serverkey = key(server_public_key, 0)
    socket.curve_publickey = public
    socket.curve_secretkey = secret


def record_observer(
    out: str | Path,
    endpoint: str,
    *,
    sid: str = "",
    rig: str = "arkit52",
    turns: int | None = None,
    duration_s: float | None = None,
    stop: threading.Event | None = None,
    ready: threading.Event | None = None,
    on_message: Callable[[dict[str, Any]], None] | None = None,
    server_public_key: str | Path | bytes | None = None,
    client_secret_key: str | Path | bytes | None = None,
) -> RecordSummary:
    """Watch session `sid` ("" = every session) on the observer `endpoint` and record it.

    Stops after `turns` turn.end messages, after `duration_s`, when `stop` is set, when the
    watched session closes, or on Ctrl-C (all normal ends; the file is complete). The server
    sends a late watcher the session's `session.opened`, which carries the rig names; `rig`
    names a shipped rig whose names are used for sessions whose opening never arrives (an
    older server). `ready` is set on the first message, proof that the subscription is live.
    """
    from merg_sdk.motion.rig import load_rig

    fallback = load_rig(rig)
    header = make_header(
        "observer", endpoint, rig={"name": fallback.name, "names": list(fallback.names)}
    )
    summary = RecordSummary(Path(out))
    context = zmq.Context()
    socket = context.socket(zmq.SUB)
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.RCVHWM, 0)  # the recorder keeps all it can; the server never waits
    _curve_keys(socket, server_public_key, client_secret_key)
    socket.setsockopt_string(zmq.SUBSCRIBE, sid)
    socket.connect(endpoint)
    started = time.monotonic()
    try:
        with RecordingWriter(out, header) as writer:
            summary.stopped_by = _watch(
                socket, writer, summary, sid, turns, duration_s, stop, ready, on_message
            )
            summary.records = writer.records
    finally:
        socket.close(linger=0)
        context.term()
        summary.seconds = time.monotonic() - started
    return summary


def _watch(
    socket: zmq.Socket,
    writer: RecordingWriter,
    summary: RecordSummary,
    sid: str,
    turns: int | None,
    duration_s: float | None,
    stop: threading.Event | None,
    ready: threading.Event | None,
    on_message: Callable[[dict[str, Any]], None] | None,
) -> str:
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        while True:
            if stop is not None and stop.is_set():
                return "stopped"
            if deadline is not None and time.monotonic() >= deadline:
                return "duration"
            if not socket.poll(POLL_MS):
                continue
            frames = socket.recv_multipart()
            if len(frames) != 2:
                continue  # not an observer message; the protocol says ignore
            topic, payload = frames
            try:
                message = msgpack.unpackb(payload, raw=False, strict_map_key=False)
            except Exception:  # a peer's garbage must not end a recording
                continue
            if not isinstance(message, dict):
                continue
            writer.write_payload(payload)
            summary.sessions.add(topic.decode(errors="replace"))
            if ready is not None:
                ready.set()
            if on_message is not None:
                on_message(message)
            kind = message.get("type")
            if kind == "turn.end":
                summary.turns += 1
                if turns is not None and summary.turns >= turns:
                    return "turns"
            elif kind == "session.closed" and sid and message.get("sid") == sid:
                return "session closed"
    except KeyboardInterrupt:
        return "interrupted"


class _Tap:
    """Receives every payload the client's socket reads; writes the session's to the file."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.pending: list[tuple[float, bytes]] = []
        self.writer: RecordingWriter | None = None
        self.sid: str | None = None

    def __call__(self, payload: bytes) -> None:
        t = time.monotonic() - self.start
        if self.writer is None:
            self.pending.append((t, payload))
        else:
            self._write(t, payload)

    def opened(self, sid: str) -> dict[str, Any]:
        for _, payload in self.pending:
            message = _unpack(payload)
            if message.get("type") == "session.opened" and message.get("sid") == sid:
                return message
        raise RuntimeError(f"session.opened for {sid} was not seen on the socket")

    def attach(self, writer: RecordingWriter, sid: str) -> None:
        self.writer, self.sid = writer, sid
        pending, self.pending = self.pending, []
        for t, payload in pending:
            if _unpack(payload).get("type") != "session.opened":  # it is in the header
                self._write(t, payload)

    def _write(self, t: float, payload: bytes) -> None:
        assert self.writer is not None
        if _unpack(payload).get("sid") == self.sid:
            self.writer.write_payload(payload, t)


def _unpack(payload: bytes) -> dict[str, Any]:
    try:
        message = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except Exception:
        return {}
    return message if isinstance(message, dict) else {}


async def arecord_turn(
    out: str | Path,
    text: str,
    *,
    endpoint: str = "tcp://127.0.0.1:5555",
    user_text: bool = False,
    emotion: str | None = None,
    intensity: float | None = None,
    rig: str = "arkit52",
    fps: int = 60,
    sample_rate: int = 22050,
    voice: str | None = None,
    avatar: str | dict[str, Any] | None = None,
    on_event: Callable[[TurnEvent], None] | None = None,
    **client_options: Any,
) -> RecordedTurn:
    """Open a session, say `text` (or send it as the user's words, `user_text=True`, which
    needs a server with the empathy stage), record that one turn, and return it as read
    back from the file. `client_options` go to `AsyncMergClient` (keys, timeout_s)."""
    tap = _Tap()
    client = AsyncMergClient(endpoint, **client_options)
    client.payload_listeners.append(tap)
    async with client:
        welcome = client.welcome
        assert welcome is not None
        if user_text and "user.text" not in welcome.capabilities.get("features", ()):
            raise MergError("unsupported", "this server has no empathy stage (user.text)")
        session = await client.open_session(
            rig=rig, fps=fps, sample_rate=sample_rate, voice=voice, avatar=avatar
        )
        header = make_header(
            "client",
            endpoint,
            server=welcome.server,
            capabilities=welcome.capabilities,
            session=tap.opened(session.sid),
        )
        with RecordingWriter(out, header) as writer:
            tap.attach(writer, session.sid)
            if user_text:
                turn = await session.send_text(text)
            else:
                turn = await session.say(text, emotion, intensity)
            async for event in turn:
                if on_event is not None:
                    on_event(event)
            await session.close()
    return Recording.load(out).turns()[-1]


def record_turn(out: str | Path, text: str, **options: Any) -> RecordedTurn:
    """Blocking `arecord_turn`, for scripts (not from inside a running event loop)."""
    return asyncio.run(arecord_turn(out, text, **options))
