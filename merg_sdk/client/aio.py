"""The asyncio Python SDK: connect, open sessions, say lines, stream turns as events.

One DEALER socket and one receive task per client. Replies are matched to
requests in order per reply type (the server answers each kind in order),
and an `error` whose `ref` names a request fails that request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import zmq
import zmq.asyncio

import merg_sdk
from merg_sdk.client.events import (
    HeardEvent,
    MergError,
    TurnEnded,
    TurnEvent,
    TurnResult,
    VoiceTurn,
    gather,
    to_event,
)
from merg_sdk.protocol import (
    SERVER_MESSAGES,
    Animate,
    Error,
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
    UserAudio,
    UserFace,
    UserSpeech,
    UserText,
    UserTranscript,
    Welcome,
    decode,
    encode,
)

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_HEARTBEAT_S = 5.0
"""A ping this often keeps the server from taking a quiet client for gone (its idle
timeout is 60 s by default) or its session for resumable (after 10 s of silence)."""
_REPLY_TO = {
    Hello.TYPE: Welcome.TYPE,
    SessionOpen.TYPE: SessionOpened.TYPE,
    SessionClose.TYPE: SessionClosed.TYPE,
    Ping.TYPE: Pong.TYPE,
}


def _key(value: bytes | str | Path, part: str) -> bytes:
    """A Z85 Curve key given as bytes, text, or a `merg keys` file (`part`: public|secret)."""
    if isinstance(value, Path) or (isinstance(value, str) and Path(value).is_file()):
        import zmq.auth

        public, secret = zmq.auth.load_certificate(str(value))
        if part == "public":
            return public
        if secret is None:
            raise ValueError(f"{value} holds no secret key (is it the public .key file?)")
        return secret
    return value.encode() if isinstance(value, str) else value


class AsyncMergClient:
    """A connection to a MERG server. Use as `async with AsyncMergClient(endpoint) as c:`."""

    def __init__(
        self,
        endpoint: str = "tcp://127.0.0.1:5555",
        *,
        name: str = "merg-python",
        engine: str = "python",
        server_public_key: bytes | str | Path | None = None,
        client_public_key: bytes | str | Path | None = None,
        client_secret_key: bytes | str | Path | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        heartbeat_s: float | None = DEFAULT_HEARTBEAT_S,
    ) -> None:
        self.endpoint = endpoint
        self.timeout_s = timeout_s
        self.heartbeat_s = heartbeat_s
        self._last_sent = time.monotonic()
        self.welcome: Welcome | None = None
        self._hello = Hello(
            client={"name": name, "version": merg_sdk.__version__, "engine": engine}
        )
        self._context = zmq.asyncio.Context()
        self._socket = self._context.socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        if server_public_key is not None:
            if client_secret_key is None:
                public, secret = zmq.curve_keypair()
            else:
                secret = _key(client_secret_key, "secret")
                public = (
                    _key(client_public_key, "public")
                    if client_public_key
                    else zmq.curve_public(secret)
                )
            self._socket.curve_serverkey = _key(server_public_key, "public")
            self._socket.curve_publickey = public
            self._socket.curve_secretkey = secret
        self._seq = 0
        self._waiting: dict[str, deque[tuple[int, asyncio.Future[Message]]]] = {}
        self._sessions: dict[str, AsyncSession] = {}
        self._receiver: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._turn_requests: dict[int, AsyncSession] = {}
        self.errors: asyncio.Queue[MergError] = asyncio.Queue()
        self.payload_listeners: list[Callable[[bytes], None]] = []
        """Called with every raw MessagePack frame received, before it is decoded (a
        recorder keeps the server's exact bytes)."""
        """Errors that belong to no request or session (e.g. `bad_message` for a raw send)."""

    async def __aenter__(self) -> AsyncMergClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def connect(self) -> Welcome:
        self._socket.connect(self.endpoint)
        self._receiver = asyncio.create_task(self._receive_loop())
        welcome = await self._request(self._hello)
        assert isinstance(welcome, Welcome)
        self.welcome = welcome
        if self.heartbeat_s:
            self._heartbeat = asyncio.create_task(self._heartbeat_loop(self.heartbeat_s))
        return welcome

    async def close(self) -> None:
        for task in (self._heartbeat, self._receiver):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._socket.close(linger=0)
        self._context.term()

    async def open_session(
        self,
        rig: str = "arkit52",
        fps: int = 60,
        sample_rate: int = 22050,
        voice: str | None = None,
        avatar: str | dict[str, Any] | None = None,
        resume: str | None = None,
    ) -> AsyncSession:
        request = SessionOpen(
            rig=rig, fps=fps, sample_rate=sample_rate, voice=voice, avatar=avatar, resume=resume
        )
        opened = await self._request(request)
        assert isinstance(opened, SessionOpened)
        session = AsyncSession(self, opened)
        self._sessions[opened.sid] = session
        return session

    async def ping(self) -> Pong:
        pong = await self._request(Ping(t=time.time()))
        assert isinstance(pong, Pong)
        return pong

    async def send(self, message: Message, before_send: Callable[[int], None] | None = None) -> int:
        """Send any message; returns its `seq` (errors about it carry `ref` = this)."""
        self._seq += 1
        seq = self._seq
        if before_send is not None:
            before_send(seq)
        self._last_sent = time.monotonic()
        await self._socket.send(encode(message, seq))
        return seq

    async def send_raw(self, payload: bytes) -> None:
        """Send bytes as they are: for tests of the server's input checks."""
        await self._socket.send(payload)

    async def _request(self, message: Message) -> Message:
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        seq = await self.send(message)
        self._waiting.setdefault(_REPLY_TO[message.TYPE], deque()).append((seq, future))
        return await asyncio.wait_for(future, self.timeout_s)

    async def _heartbeat_loop(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._last_sent + interval_s - time.monotonic()))
            if time.monotonic() - self._last_sent >= interval_s:
                await self.send(Ping(t=time.time()))

    async def _receive_loop(self) -> None:
        while True:
            payload = await self._socket.recv()
            for listener in self.payload_listeners:
                listener(payload)
            try:
                message, _ = decode(payload, SERVER_MESSAGES)
            except ProtocolError:
                continue  # a newer server's message type: ignore, as the protocol says
            self._route(message)

    def _route(self, message: Message) -> None:
        if isinstance(message, Error):
            error = MergError(message.code, message.message, message.sid)
            if message.ref is not None and self._fail_request(message.ref, error):
                return
            session = self._turn_requests.get(message.ref or 0) or self._sessions.get(
                message.sid or ""
            )
            if session is not None:
                session._deliver(message)
            else:
                self.errors.put_nowait(error)
            return
        if isinstance(message, Pong) and not self._waiting.get(Pong.TYPE):
            return  # a heartbeat's answer
        if isinstance(message, SessionClosed) and message.reason == "resumed_elsewhere":
            self._sessions.pop(message.sid, None)  # another connection took it over
            self.errors.put_nowait(
                MergError("resumed_elsewhere", "session resumed elsewhere", message.sid)
            )
            return
        waiting = self._waiting.get(message.TYPE)
        if waiting:
            _, future = waiting.popleft()
            if not future.done():
                future.set_result(message)
            if message.TYPE == SessionClosed.TYPE:
                self._sessions.pop(getattr(message, "sid", ""), None)
            return
        session = self._sessions.get(getattr(message, "sid", "") or "")
        if session is not None:
            session._deliver(message)

    def _fail_request(self, ref: int, error: MergError) -> bool:
        for waiting in self._waiting.values():
            for item in waiting:
                if item[0] == ref:
                    waiting.remove(item)
                    if not item[1].done():
                        item[1].set_exception(error)
                    return True
        return False


class AsyncSession:
    """An open session: the rig's names, and turns started with `say`.

    Each turn has its own queue: `turn.start` names the request that started it
    (`ref`), and every later message of that turn number goes to that turn only.
    """

    def __init__(self, client: AsyncMergClient, opened: SessionOpened) -> None:
        self.client = client
        self.sid = opened.sid
        self.rig: str = opened.rig["name"]
        self.names: tuple[str, ...] = tuple(opened.rig["names"])
        self.fps = opened.fps
        self.sample_rate = opened.sample_rate
        self.voice = opened.voice
        self._by_request: dict[int, AsyncTurn] = {}
        self._by_number: dict[int, AsyncTurn] = {}
        self.heard: asyncio.Queue[HeardEvent] = asyncio.Queue()
        """What the server heard of the user's voice (`send_audio`), and the turns it
        started in reply (`VoiceTurn`), in order."""

    def _deliver(self, message: Message) -> None:
        if isinstance(message, Error):
            turn = self._by_request.get(message.ref or 0)
            if turn is not None:
                turn._queue.put_nowait(message)
            else:  # about the session, not one request (e.g. `overloaded`)
                self.client.errors.put_nowait(MergError(message.code, message.message, self.sid))
            return
        if isinstance(message, UserSpeech | UserTranscript):
            event = to_event(message, self.names)
            self.heard.put_nowait(event)  # type: ignore[arg-type]
        if isinstance(message, TurnStart):
            turn = self._by_request.get(message.ref or 0)
            if turn is None and message.ref is None and message.source == "user.audio":
                turn = AsyncTurn(self)  # the server's reply to the user's voice
                self.heard.put_nowait(VoiceTurn(turn))
            if turn is None:
                return
            turn.number = message.turn
            self._by_number[message.turn] = turn
        number = getattr(message, "turn", None)
        turn = self._by_number.get(number) if number is not None else None
        if turn is None:
            return
        turn._queue.put_nowait(message)
        if isinstance(message, TurnEnd):
            self._forget(turn)

    def _forget(self, turn: AsyncTurn) -> None:
        self._by_request.pop(turn.request_seq, None)
        self.client._turn_requests.pop(turn.request_seq, None)
        if turn.number is not None:
            self._by_number.pop(turn.number, None)

    async def say(
        self, text: str, emotion: str | None = None, intensity: float | None = None
    ) -> AsyncTurn:
        """Start a scripted line; iterate the returned turn for its events."""
        turn = AsyncTurn(self)
        say = Say(sid=self.sid, text=text, emotion=emotion, intensity=intensity)
        seq = await self.client.send(say, before_send=turn._bind)
        assert turn.request_seq == seq
        return turn

    async def send_text(self, text: str) -> AsyncTurn:
        """What the user said; the avatar reads it, plans, and replies (a `user.text` turn)."""
        turn = AsyncTurn(self)
        seq = await self.client.send(UserText(sid=self.sid, text=text), before_send=turn._bind)
        assert turn.request_seq == seq
        return turn

    async def animate(
        self,
        pcm: np.ndarray,
        sample_rate: int,
        *,
        chunk_ms: int = 100,
        emotion: str | None = None,
        intensity: float | None = None,
        echo: bool = False,
    ) -> AsyncTurn:
        """A face for audio you already have (int16 mono): sent in chunks, as a stream
        would be; frames come back while later chunks are still on their way."""
        samples = np.ascontiguousarray(pcm, dtype="<i2").reshape(-1)
        step = max(1, sample_rate * chunk_ms // 1000)
        starts = list(range(0, len(samples), step)) or [0]
        turn = AsyncTurn(self)
        for index, start in enumerate(starts):
            message = Animate(
                sid=self.sid,
                pcm=samples[start : start + step].tobytes(),
                sample_rate=sample_rate,
                final=index == len(starts) - 1,
                emotion=emotion,
                intensity=intensity,
                echo=echo,
            )
            await self.client.send(message, before_send=turn._bind if index == 0 else None)
        return turn

    async def send_audio(
        self,
        pcm: np.ndarray,
        sample_rate: int,
        *,
        chunk_ms: int = 20,
        final: bool = False,
        realtime: bool = False,
    ) -> None:
        """Stream microphone audio (int16 mono) as `user.audio` chunks; `final` ends the
        utterance without waiting for the silence (push-to-talk released). `realtime`
        paces the chunks like a live microphone. What the server hears arrives on
        `heard` (`SpeechHeard`, `TranscriptHeard`, `VoiceTurn`)."""
        samples = np.ascontiguousarray(pcm, dtype="<i2").reshape(-1)
        step = max(1, sample_rate * chunk_ms // 1000)
        starts = list(range(0, len(samples), step)) or [0]
        loop = asyncio.get_running_loop()
        began = loop.time()
        for index, start in enumerate(starts):
            if realtime:
                await asyncio.sleep(max(0.0, began + start / sample_rate - loop.time()))
            chunk = samples[start : start + step].tobytes()
            last = final and index == len(starts) - 1
            await self.client.send(
                UserAudio(sid=self.sid, pcm=chunk, sample_rate=sample_rate, final=last)
            )

    async def send_face(
        self,
        t: float,
        *,
        weights: np.ndarray | None = None,
        jpeg: bytes | None = None,
    ) -> None:
        """The user's face at `t` seconds (your clock): ARKit-52 weights in the arkit52
        order (headset face tracking) or a camera frame as JPEG. Read into `user.affect`."""
        packed = None if weights is None else np.asarray(weights, "<f4").reshape(-1).tobytes()
        await self.client.send(UserFace(sid=self.sid, t=t, weights=packed, jpeg=jpeg))

    async def next_heard(self, timeout_s: float | None = None) -> HeardEvent:
        """The next thing the server heard (or a `VoiceTurn`); TimeoutError after the wait."""
        return await asyncio.wait_for(self.heard.get(), timeout_s or self.client.timeout_s)

    async def interrupt(self) -> None:
        await self.client.send(Interrupt(sid=self.sid))

    async def report_playback(self, turn: int, heard_s: float) -> None:
        await self.client.send(Playback(sid=self.sid, turn=turn, t=heard_s))

    async def close(self) -> None:
        await self.client._request(SessionClose(sid=self.sid))


class AsyncTurn:
    """The events of one turn, in order, ending with `TurnEnded`."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.request_seq = 0
        self.number: int | None = None
        self._queue: asyncio.Queue[Message] = asyncio.Queue()
        self._done = False

    def _bind(self, seq: int) -> None:
        """Registered under its request's seq before the request leaves (no race)."""
        self.request_seq = seq
        self.session._by_request[seq] = self
        self.session.client._turn_requests[seq] = self.session

    def __aiter__(self) -> AsyncIterator[TurnEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TurnEvent]:
        timeout = self.session.client.timeout_s
        try:
            while not self._done:
                message = await asyncio.wait_for(self._queue.get(), timeout)
                if isinstance(message, Error):
                    raise MergError(message.code, message.message, message.sid)
                event = to_event(message, self.session.names)
                if event is None:
                    continue
                if isinstance(event, TurnEnded):
                    self._done = True
                yield event
        finally:
            if self._done or self.number is None:
                self.session._forget(self)

    async def collect(self) -> TurnResult:
        """Wait for the whole turn and gather its audio and face frames."""
        events = [event async for event in self]
        return gather(events, self.session.sample_rate, self.session.fps, self.session.names)
