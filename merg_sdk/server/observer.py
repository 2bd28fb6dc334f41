"""The observer stream: every session's messages republished for watchers on an XPUB socket.

A viewer, a recorder or a therapist's dashboard subscribes to a session id and
sees exactly what the session's client was sent (two frames: the sid, then the
same MessagePack bytes), without taking part. XPUB rather than PUB because a
watcher that joins mid-session needs the session's `session.opened` (rig names,
fps, sample rate) to make sense of `face` and `audio`: when a subscription
arrives the server republishes the current description of every session the
new topic matches. Publishing never waits: a watcher that falls behind loses
messages (PUB semantics, bounded by the high-water mark); the session's own
client is never held back by a watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

import zmq
import zmq.asyncio

log = logging.getLogger("merg.server")

#: Messages queued per watcher before the socket drops for that watcher.
OBSERVER_HWM = 20_000


class Observer:
    """Owns the XPUB socket; `publish` is called by each client's sender after a send."""

    def __init__(
        self,
        socket: zmq.asyncio.Socket,
        describe: Callable[[bytes], Iterable[tuple[str, bytes]]],
    ) -> None:
        """`describe(prefix)` yields (sid, encoded session.opened) for sessions matching it."""
        self._socket = socket
        self._describe = describe
        self._task: asyncio.Task[None] | None = None
        self.published = 0
        self.dropped = 0

    @classmethod
    def bind(
        cls,
        context: zmq.asyncio.Context,
        endpoint: str,
        describe: Callable[[bytes], Iterable[tuple[str, bytes]]],
        secure: Callable[[zmq.asyncio.Socket], None] | None = None,
    ) -> Observer:
        socket = context.socket(zmq.XPUB)
        socket.setsockopt(zmq.XPUB_VERBOSE, 1)  # every subscription, not only the first per topic
        socket.setsockopt(zmq.SNDHWM, OBSERVER_HWM)
        socket.setsockopt(zmq.LINGER, 0)
        if secure is not None:
            secure(socket)
        if endpoint.endswith(":0"):
            socket.bind_to_random_port(endpoint.rsplit(":", 1)[0])
        else:
            socket.bind(endpoint)
        return cls(socket, describe)

    @property
    def endpoint(self) -> str:
        return self._socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def start(self) -> asyncio.Task[None]:
        self._task = asyncio.create_task(self._subscriptions(), name="merg-observer")
        return self._task

    def publish(self, sid: str, payload: bytes) -> None:
        """Republish one encoded message of session `sid`; never blocks."""
        try:
            self._socket.send_multipart([sid.encode(), payload], flags=zmq.NOBLOCK)
            self.published += 1
        except zmq.Again:  # XPUB with no room for some watcher drops for it, not for us
            self.dropped += 1

    async def _subscriptions(self) -> None:
        """Answer each new subscription with the descriptions of the sessions it covers."""
        while True:
            event = await self._socket.recv()
            if not event or event[0] != 1:  # 0 = unsubscribe
                continue
            prefix = event[1:]
            for sid, opened in self._describe(prefix):
                self.publish(sid, opened)

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        with contextlib.suppress(zmq.ZMQError):
            self._socket.close(linger=0)
