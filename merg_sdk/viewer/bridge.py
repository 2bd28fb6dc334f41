"""The viewer's bridge: the server's observer stream to a browser, over one WebSocket per page.

A browser cannot speak ZeroMQ, so the bridge subscribes to the observer stream
(`merg serve --observer`) for the session a page watches and forwards each
message's MessagePack bytes, unchanged, as one binary WebSocket frame; the page
decodes them itself. Control messages from the bridge are JSON text frames
(`viewer.status`), so the two never mix.

A page either watches a session that belongs to another client (read-only: the
observer stream cannot send anything to a session), or asks the bridge to open
a session of its own through `merg_sdk.client`, and may then type to it
(`user.text` when the server runs the empathy stage, `say` otherwise). Either
way the page's data path is the observer stream, so what a page shows is what
any client of that session was sent. When a page goes away the bridge closes
its SUB socket (and its own session, if it opened one); the server and every
other session carry on untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgpack
import zmq
import zmq.asyncio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from merg_sdk.client import AsyncMergClient, AsyncSession, AsyncTurn, MergError
from merg_sdk.data import blendshapes_file
from merg_sdk.viewer import static

log = logging.getLogger("merg.viewer")

MAX_COMMAND_BYTES = 16 << 10
"""A page sends short JSON commands only (typed text is capped by the server at 2000
characters); anything larger closes its WebSocket."""
SUB_HWM = 20_000
"""As the server's observer high-water mark: a slow page loses messages, never the server."""
SCAN_S = 0.4
"""How long a session listing listens: the server describes every live session as soon as
the listing's subscription reaches it, so a fraction of a second is plenty on loopback."""


class ViewerError(RuntimeError):
    """The bridge cannot start: no server, no observer stream, or no JavaScript packages."""


@dataclass(frozen=True, slots=True)
class ViewerConfig:
    server: str = "tcp://127.0.0.1:5555"
    """The MERG server's ROUTER endpoint (for the welcome and for sessions of our own)."""
    observer: str | None = None
    """The observer endpoint; None = the one the server names in `welcome.capabilities`."""
    host: str = "127.0.0.1"
    port: int = 8765
    """HTTP + WebSocket port of the page; 0 picks a free one."""
    sid: str | None = None
    """The session the page watches by default (`/?sid=` overrides)."""
    own: bool = False
    """The page opens a session of its own by default and may type to it."""
    head: Path | None = None
    """A glTF/GLB head with ARKit-named morph targets; None = the reference head."""
    avatar: str | None = None
    voice: str | None = None
    fps: int = 60
    sample_rate: int = 22050
    unknown_after_s: float = 2.0
    """No `session.opened` this long after subscribing: the page is told the id is unknown
    (the server describes a live session to a new watcher at once)."""
    timeout_s: float = 15.0
    web_dir: Path = static.WEB_DIR


@dataclass(slots=True, eq=False)
class Watch:
    """One page's view of one session: its WebSocket, its SUB socket, its own session."""

    ws: ServerConnection
    sid: str
    socket: zmq.asyncio.Socket
    session: AsyncSession | None = None
    opened: bool = False
    forwarded: int = 0
    turns: set[asyncio.Task[None]] = field(default_factory=set)


class ViewerBridge:
    """Serve the page and bridge the observer stream; `await start()`, then `close()`."""

    def __init__(self, config: ViewerConfig | None = None) -> None:
        self.config = config or ViewerConfig()
        self.head = self.config.head or blendshapes_file("head/reference_head.glb")
        self.watches: set[Watch] = set()
        self.observer: str | None = self.config.observer
        self.features: list[str] = []
        self._client: AsyncMergClient | None = None
        self._context: zmq.asyncio.Context | None = None
        self._server: Server | None = None
        self._names = _arkit_names()
        self._scan_lock = asyncio.Lock()
        self._scan: tuple[float, list[dict[str, Any]]] = (0.0, [])

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        host, port = next(iter(self._server.sockets)).getsockname()[:2]
        return f"http://{host}:{port}/"

    @property
    def text_kind(self) -> str:
        """What typing sends: the empathetic turn when the server has it, else a scripted line."""
        return "user.text" if "user.text" in self.features else "say"

    async def start(self) -> str:
        static.modules_dir(self.config.web_dir)  # fail now, not when a page asks
        if not self.head.is_file():
            raise ViewerError(f"no head file at {self.head}")
        self._client = AsyncMergClient(self.config.server, timeout_s=self.config.timeout_s)
        try:
            welcome = await self._client.connect()
        except (TimeoutError, MergError) as exc:
            await self._client.close()
            raise ViewerError(f"no MERG server answered at {self.config.server}: {exc}") from exc
        self.features = list(welcome.capabilities.get("features", []))
        self.observer = self.observer or welcome.capabilities.get("observer")
        if not self.observer:
            await self._client.close()
            raise ViewerError(
                f"the server at {self.config.server} has no observer stream: start it with "
                "`merg serve --observer` (or ServerConfig(observer=True))"
            )
        self._context = zmq.asyncio.Context()
        self._server = await serve(
            self._handle,
            self.config.host,
            self.config.port,
            process_request=self._http,
            max_size=MAX_COMMAND_BYTES,
        )
        log.info("viewer on %s (observer %s)", self.url, self.observer)
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._client is not None:
            await self._client.close()
        if self._context is not None:
            self._context.term()

    # --- HTTP ---------------------------------------------------------------------------

    async def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == "/ws":
            return None  # the WebSocket handshake goes on
        if path in ("/", "/index.html"):
            return static.file_response(self.config.web_dir / "index.html")
        if path.startswith("/static/") and path[8:] in static.PAGE_FILES:
            return static.file_response(self.config.web_dir / path[8:])
        if path.startswith("/modules/"):
            relative = path[9:]
            if any(relative.startswith(f"{name}/") for name in static.SERVED_PACKAGES):
                found = static.inside(self.config.web_dir / "node_modules", relative)
                if found is not None:
                    return static.file_response(found)
        if path.startswith("/head/"):
            found = static.inside(self.head.parent, path[6:])
            if found is not None:
                return static.file_response(found)
        if path == "/favicon.ico":
            return static.empty()
        if path == "/api/config":
            return static.json_response(self.page_config())
        if path == "/api/sessions":
            return static.json_response({"sessions": await self.live_sessions()})
        return static.not_found(path)

    def page_config(self) -> dict[str, Any]:
        return {
            "sid": self.config.sid,
            "own": self.config.own,
            "text_kind": self.text_kind,
            "head": f"/head/{self.head.name}",
            "expected": self._names,
            "server": self.config.server,
            "observer": self.observer,
        }

    async def live_sessions(self) -> list[dict[str, Any]]:
        """The server's sessions now: subscribe to every session briefly and collect the
        `session.opened` descriptions the server sends to a new subscriber."""
        async with self._scan_lock:
            if time.monotonic() - self._scan[0] < 1.0:
                return self._scan[1]
            assert self._context is not None
            socket = self._subscribe("")
            found: dict[str, dict[str, Any]] = {}
            try:
                deadline = time.monotonic() + SCAN_S
                while (left := deadline - time.monotonic()) > 0:
                    if not await socket.poll(int(left * 1000) + 1):
                        break
                    topic, payload = await socket.recv_multipart()
                    message = _unpack(payload)
                    sid = topic.decode(errors="replace")
                    entry = found.setdefault(sid, {"sid": sid, "busy": False})
                    if message.get("type") == "session.opened":
                        rig = message.get("rig") or {}
                        entry.update(rig=rig.get("name"), fps=message.get("fps"))
                        entry.update(sample_rate=message.get("sample_rate"))
                    elif message.get("type") in ("audio", "face"):
                        entry["busy"] = True
            finally:
                socket.close(linger=0)
            own = {watch.sid for watch in self.watches if watch.session is not None}
            sessions = [entry | {"viewer": entry["sid"] in own} for entry in found.values()]
            self._scan = (time.monotonic(), sessions)
            return sessions

    # --- one page -----------------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None and self._client is not None
        query = parse_qs(urlsplit(ws.request.path).query)
        session: AsyncSession | None = None
        if query.get("own") == ["1"]:
            try:
                session = await self._client.open_session(
                    fps=self.config.fps,
                    sample_rate=self.config.sample_rate,
                    voice=self.config.voice,
                    avatar=self.config.avatar,
                )
            except (MergError, TimeoutError) as exc:
                await _status(ws, "error", f"the server did not open a session: {exc}")
                return
            sid = session.sid
        elif query.get("sid") and query["sid"][0].strip():
            sid = query["sid"][0].strip()
        else:
            await _status(ws, "error", "no session id: open /?sid=SESSION_ID or /?own=1")
            return
        watch = Watch(ws, sid, self._subscribe(sid), session)
        self.watches.add(watch)
        log.info("page watches %s%s", sid, " (own session)" if session else "")
        try:
            await _status(
                ws,
                "waiting",
                f"waiting for session {sid}",
                sid=sid,
                own=session is not None,
                text_kind=self.text_kind if session else None,
            )
            tasks = [
                asyncio.create_task(self._forward(watch)),
                asyncio.create_task(self._commands(watch)),
                asyncio.create_task(self._watchdog(watch)),
            ]
            await asyncio.wait(tasks[:2], return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await self._forget(watch)

    async def _forget(self, watch: Watch) -> None:
        """The page is gone: close its SUB socket, and its own session if it had one."""
        self.watches.discard(watch)
        watch.socket.close(linger=0)
        for task in watch.turns:
            task.cancel()
        if watch.session is not None:
            with contextlib.suppress(MergError, TimeoutError):
                await asyncio.wait_for(watch.session.close(), self.config.timeout_s)
        log.info("page left %s after %d messages", watch.sid, watch.forwarded)

    def _subscribe(self, topic: str) -> zmq.asyncio.Socket:
        assert self._context is not None and self.observer is not None
        socket = self._context.socket(zmq.SUB)
        socket.setsockopt(zmq.LINGER, 0)
        socket.setsockopt(zmq.RCVHWM, SUB_HWM)
        socket.setsockopt_string(zmq.SUBSCRIBE, topic)
        socket.connect(self.observer)
        return socket

    async def _forward(self, watch: Watch) -> None:
        """Observer frames of this session, byte for byte, to the page."""
        topic = watch.sid.encode()
        with contextlib.suppress(ConnectionClosed):
            while True:
                sid, payload = await watch.socket.recv_multipart()
                if sid != topic:  # a subscription is a prefix; ids must match exactly
                    continue
                kind = _unpack(payload).get("type")
                if kind == "session.opened" and not watch.opened:
                    watch.opened = True
                    text = (
                        "your session {}: type to the avatar"
                        if watch.session
                        else "watching session {}"
                    )
                    await _status(watch.ws, "watching", text.format(watch.sid))
                await watch.ws.send(payload)
                watch.forwarded += 1
                if kind == "session.closed":
                    await _status(watch.ws, "closed", f"session {watch.sid} was closed")

    async def _watchdog(self, watch: Watch) -> None:
        await asyncio.sleep(self.config.unknown_after_s)
        if not watch.opened:
            await _status(
                watch.ws,
                "unknown_session",
                f"no such session: nothing has arrived for {watch.sid!r}. Check the id "
                "(the page at / lists the live sessions); still waiting for it.",
            )

    async def _commands(self, watch: Watch) -> None:
        """What the page asks: typed text, interrupt, playback progress (own sessions only)."""
        with contextlib.suppress(ConnectionClosed):
            async for raw in watch.ws:
                try:
                    command = json.loads(raw)
                    kind = command["type"]
                except (ValueError, TypeError, KeyError):
                    await _status(watch.ws, "error", "bad command: expected JSON with a type")
                    continue
                if watch.session is None:
                    await _status(
                        watch.ws,
                        "read_only",
                        "read-only: this session belongs to another client",
                    )
                    continue
                try:
                    await self._command(watch, watch.session, kind, command)
                except (KeyError, TypeError, ValueError) as exc:
                    await _status(watch.ws, "error", f"bad {kind!r} command: {exc}")

    async def _command(
        self, watch: Watch, session: AsyncSession, kind: str, command: dict[str, Any]
    ) -> None:
        if kind == "text":
            text = str(command["text"])
            if not watch.opened:
                await _status(watch.ws, "error", "not ready yet: the session is still opening")
                return
            if self.text_kind == "user.text":
                turn = await session.send_text(text)
            else:
                turn = await session.say(text, emotion=command.get("emotion") or None)
            task = asyncio.create_task(self._drain(watch, turn))
            watch.turns.add(task)
            task.add_done_callback(watch.turns.discard)
        elif kind == "interrupt":
            await session.interrupt()
        elif kind == "playback":
            await session.report_playback(int(command["turn"]), float(command["t"]))
        else:
            await _status(watch.ws, "error", f"unknown command {kind!r}")

    async def _drain(self, watch: Watch, turn: AsyncTurn) -> None:
        """Read our own turn to its end (the page gets it from the observer stream), so the
        client frees it, and tell the page when the server refused it."""
        try:
            async for _ in turn:
                pass
        except MergError as exc:
            with contextlib.suppress(ConnectionClosed):
                await _status(watch.ws, "error", f"the server refused: {exc}")
        except TimeoutError:
            log.warning("turn of %s went quiet", watch.sid)


async def _status(ws: ServerConnection, status: str, message: str, **extra: Any) -> None:
    await ws.send(
        json.dumps({"type": "viewer.status", "status": status, "message": message, **extra})
    )


def _unpack(payload: bytes) -> dict[str, Any]:
    try:
        message = msgpack.unpackb(payload, raw=False)
    except (ValueError, msgpack.UnpackException):
        return {}
    return message if isinstance(message, dict) else {}


def _arkit_names() -> list[str]:
    """The names the page expects on a head (the arkit52 rig), before any session says so."""
    from merg_sdk.motion.rig import load_rig

    return list(load_rig("arkit52").names)
