"""The blocking Python SDK: the asyncio client run on a private event-loop thread.

For scripts, notebooks and renderers with their own main loop. Every call
blocks until the server answers; a turn is a plain iterator of events.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from merg_sdk.client.aio import AsyncMergClient, AsyncSession, AsyncTurn
from merg_sdk.client.events import HeardEvent, TurnEvent, TurnResult, VoiceTurn, gather
from merg_sdk.protocol import Message, Pong, Welcome

T = TypeVar("T")


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="merg-client", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


class MergClient:
    """Blocking client. `with MergClient(endpoint) as client: ...`; same options as async."""

    def __init__(self, endpoint: str = "tcp://127.0.0.1:5555", **options: Any) -> None:
        self._loop = _LoopThread()
        self._async = self._loop.run(_make_client(endpoint, options))

    def __enter__(self) -> MergClient:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def welcome(self) -> Welcome | None:
        return self._async.welcome

    def connect(self) -> Welcome:
        return self._loop.run(self._async.connect())

    def close(self) -> None:
        try:
            self._loop.run(self._async.close(), timeout_s=5)
        finally:
            self._loop.stop()

    def open_session(self, **options: Any) -> MergSession:
        return MergSession(self, self._loop.run(self._async.open_session(**options)))

    def ping(self) -> Pong:
        return self._loop.run(self._async.ping())

    def send(self, message: Message) -> int:
        return self._loop.run(self._async.send(message))

    def send_raw(self, payload: bytes) -> None:
        self._loop.run(self._async.send_raw(payload))

    def next_error(self, timeout_s: float = 5.0):
        """The next error that belongs to no request or session (raises TimeoutError)."""
        return self._loop.run(asyncio.wait_for(self._async.errors.get(), timeout_s))


class MergSession:
    def __init__(self, client: MergClient, session: AsyncSession) -> None:
        self._client = client
        self._async = session

    sid = property(lambda self: self._async.sid)
    names = property(lambda self: self._async.names)
    fps = property(lambda self: self._async.fps)
    sample_rate = property(lambda self: self._async.sample_rate)
    voice = property(lambda self: self._async.voice)
    rig = property(lambda self: self._async.rig)

    def say(
        self, text: str, emotion: str | None = None, intensity: float | None = None
    ) -> MergTurn:
        turn = self._client._loop.run(self._async.say(text, emotion, intensity))
        return MergTurn(self, turn)

    def send_text(self, text: str) -> MergTurn:
        """What the user said; the avatar replies (a `user.text` turn)."""
        return MergTurn(self, self._client._loop.run(self._async.send_text(text)))

    def animate(self, pcm, sample_rate: int, **options: Any) -> MergTurn:
        """A face for audio you already have; see `AsyncSession.animate`."""
        turn = self._client._loop.run(self._async.animate(pcm, sample_rate, **options))
        return MergTurn(self, turn)

    def send_audio(self, pcm, sample_rate: int, **options: Any) -> None:
        """Stream microphone audio as `user.audio`; see `AsyncSession.send_audio`."""
        self._client._loop.run(self._async.send_audio(pcm, sample_rate, **options))

    def send_face(self, t: float, **frame: Any) -> None:
        """The user's face; see `AsyncSession.send_face`."""
        self._client._loop.run(self._async.send_face(t, **frame))

    def next_heard(self, timeout_s: float | None = None) -> HeardEvent:
        """The next thing the server heard; a `VoiceTurn` holds a `MergTurn` to iterate."""
        event = self._client._loop.run(self._async.next_heard(timeout_s))
        if isinstance(event, VoiceTurn):
            return VoiceTurn(MergTurn(self, event.turn))
        return event

    def interrupt(self) -> None:
        self._client._loop.run(self._async.interrupt())

    def report_playback(self, turn: int, heard_s: float) -> None:
        self._client._loop.run(self._async.report_playback(turn, heard_s))

    def close(self) -> None:
        self._client._loop.run(self._async.close())


class MergTurn:
    """Iterate for events as they arrive, or `collect()` the whole turn."""

    def __init__(self, session: MergSession, turn: AsyncTurn) -> None:
        self._session = session
        self._async = turn
        self._events = aiter(turn)

    @property
    def number(self) -> int | None:
        return self._async.number

    def __iter__(self) -> Iterator[TurnEvent]:
        run = self._session._client._loop.run
        while True:
            try:
                yield run(anext(self._events))
            except StopAsyncIteration:
                return

    def collect(self) -> TurnResult:
        session = self._session
        return gather(list(self), session.sample_rate, session.fps, session.names)


async def _make_client(endpoint: str, options: dict[str, Any]) -> AsyncMergClient:
    """Built on the loop thread, so its sockets and queues belong to that loop."""
    return AsyncMergClient(endpoint, **options)
