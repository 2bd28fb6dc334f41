"""Where an output's frames come from: a session watched on the observer stream, or a
client's own turns.

(a) `ObserverSource` watches a session it does not own, so a relay runs beside
any client (a game, the web viewer) without taking part: it subscribes to the
session id on the server's observer stream (`merg serve --observer`) and turns
each message into the same events the Python client yields. The rig names come
from the session's `session.opened`, which the server republishes to every new
subscriber; until one arrives, frames are read as `arkit52` (the default rig).
(b) A client's turns: `forward(turn, relay.feed)` passes each event on to the
relay while the caller reads it too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from urllib.parse import urlsplit

import zmq

from merg_sdk.client.events import TurnEvent, to_event
from merg_sdk.outputs.pose import arkit_names
from merg_sdk.protocol import (
    SERVER_MESSAGES,
    Error,
    Face,
    Hello,
    ProtocolError,
    SessionClosed,
    SessionOpened,
    TurnEnd,
    TurnStart,
    Welcome,
    decode,
    encode,
)

log = logging.getLogger("merg.outputs")

POLL_MS = 100
"""How often a blocking source looks at its stop flag."""
SUB_HWM = 20_000
"""As the server's observer high-water mark: a slow relay loses frames, never the server."""

Feed = Callable[[TurnEvent], None]


class SourceError(RuntimeError):
    """No observer stream to watch: the server lacks one, or does not answer."""


def observer_endpoint(server: str, timeout_s: float = 5.0) -> str:
    """The observer endpoint a server names in `welcome.capabilities` (one hello, then gone).

    A wildcard bind address (`0.0.0.0`, `*`) is replaced by the server's own host.
    """
    context = zmq.Context()
    socket = context.socket(zmq.DEALER)
    socket.setsockopt(zmq.LINGER, 0)
    try:
        socket.connect(server)
        client = {"name": "merg-relay", "version": "0", "engine": "relay"}
        socket.send(encode(Hello(client=client), 1))
        if not socket.poll(int(timeout_s * 1000)):
            raise SourceError(f"no answer from {server} within {timeout_s:g} s")
        message, _ = decode(socket.recv(), SERVER_MESSAGES)
    except ProtocolError as exc:
        raise SourceError(f"{server} answered something else than a MERG welcome: {exc}") from None
    finally:
        socket.close(linger=0)
        context.term()
    if isinstance(message, Error) or not isinstance(message, Welcome):
        raise SourceError(f"{server} did not welcome the relay: {message}")
    endpoint = message.capabilities.get("observer")
    if not isinstance(endpoint, str) or not endpoint:
        raise SourceError(
            f"the server at {server} has no observer stream: start it with "
            "`merg serve --observer` (or ServerConfig(observer=True))"
        )
    parts = urlsplit(endpoint)
    if parts.hostname in ("0.0.0.0", "*", "::") and parts.port is not None:
        host = urlsplit(server).hostname or "127.0.0.1"
        endpoint = f"{parts.scheme}://{host}:{parts.port}"
    return endpoint


class ObserverSource:
    """Watches session `sid` on an observer endpoint; each turn event goes to `feed`.

    `run()` blocks until `stop()`, or until the session is closed (returns its
    reason); `start()` runs it on a thread instead.
    """

    def __init__(
        self,
        endpoint: str,
        sid: str,
        feed: Feed,
        names: tuple[str, ...] | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.sid = sid
        self.feed = feed
        self.names: tuple[str, ...] = tuple(names or arkit_names())
        self.opened: SessionOpened | None = None
        self.received = 0
        self.closed_reason: str | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.setsockopt(zmq.RCVHWM, SUB_HWM)
        self._socket.setsockopt(zmq.SUBSCRIBE, sid.encode())
        self._socket.connect(endpoint)

    def run(self) -> str | None:
        self._idle.clear()
        try:
            while not self._stop.is_set() and self.closed_reason is None:
                if not self._socket.poll(POLL_MS):
                    continue
                frames = self._socket.recv_multipart()
                if len(frames) == 2 and frames[0] == self.sid.encode():  # SUB filters by prefix
                    self.handle(frames[1])
        finally:
            self._idle.set()
        return self.closed_reason

    def start(self) -> ObserverSource:
        self._thread = threading.Thread(target=self.run, name="merg-observer-source", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching and close the socket (after `run` returned, or from another thread)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._idle.wait(timeout=5)  # the socket belongs to whichever thread runs `run`
        if not self._socket.closed:
            self._socket.close(linger=0)
            self._context.term()

    def handle(self, payload: bytes) -> TurnEvent | None:
        """One republished message: remember the rig, pass turn events on; never raises."""
        self.received += 1
        try:
            message, _ = decode(payload, SERVER_MESSAGES)
        except ProtocolError:
            return None  # a newer server's message type: ignore it, as the protocol says
        if isinstance(message, SessionOpened):
            self.opened = message
            self.names = tuple(message.rig.get("names") or self.names)
            return None
        if isinstance(message, SessionClosed):
            self.closed_reason = message.reason
            return None
        if not isinstance(message, TurnStart | Face | TurnEnd):
            return None  # audio, captions...: an output shows the face only
        try:
            event = to_event(message, self.names)
        except ValueError as exc:  # weights that do not fit the names we hold
            log.warning("skipped a %s message: %s", message.TYPE, exc)
            return None
        if event is not None:
            self.feed(event)
        return event


def forward(events: Iterable[TurnEvent], feed: Feed) -> Iterator[TurnEvent]:
    """Yield a turn's events unchanged, feeding each to `feed` (e.g. `relay.feed`) first."""
    for event in events:
        feed(event)
        yield event


async def aforward(events: AsyncIterable[TurnEvent], feed: Feed) -> AsyncIterator[TurnEvent]:
    """`forward` for an `AsyncTurn`: `async for event in aforward(turn, relay.feed)`."""
    async for event in events:
        feed(event)
        yield event
