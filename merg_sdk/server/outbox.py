"""One ordered, bounded queue of outgoing messages per client, and its sender.

ROUTER sockets drop messages for a peer whose pipe is full unless
ROUTER_MANDATORY is set; with it set, a full pipe raises `Again` and a gone
peer raises `EHOSTUNREACH`. The sender retries on `Again` (holding the
client's turn back through the bounded queue) and reports a peer that stays
full or is gone, so nothing is ever dropped silently.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import zmq
import zmq.asyncio

from merg_sdk.protocol import Audio, Face, Flame, Message, encode

RETRY_INTERVAL_S = 0.002


class PeerGone(Exception):
    """The peer's connection is closed: its sessions can be detached at once."""


class PeerStalled(Exception):
    """The peer took nothing for `stall_timeout_s`: its turns are ended as overloaded."""


TurnTag = tuple[str, int]


@dataclass(slots=True)
class _Queued:
    message: Message
    tag: TurnTag | None
    size: int


def _size(message: Message) -> int:
    if isinstance(message, Audio):
        return len(message.pcm) + 96
    if isinstance(message, Flame):
        parts = (message.expression, message.jaw, message.neck, message.eyes)
        return sum(len(p or b"") for p in parts) + 128
    if isinstance(message, Face):
        return len(message.weights) + len(message.head or b"") + len(message.eyes or b"") + 128
    return 256


class Outbox:
    def __init__(
        self,
        socket: zmq.asyncio.Socket,
        identity: bytes,
        max_bytes: int,
        stall_timeout_s: float,
        observe: Callable[[str, bytes], None] | None = None,
    ) -> None:
        self._socket = socket
        self._observe = observe
        self._identity = identity
        self._max_bytes = max_bytes
        self._stall_timeout_s = stall_timeout_s
        self._queue: deque[_Queued] = deque()
        self._bytes = 0
        self._changed = asyncio.Event()
        self._seq = 0
        self.stalled = False
        """Set by the owner when it has reacted to a stall; cleared by the next send."""

    async def put(self, message: Message, tag: TurnTag | None = None) -> None:
        """Queue a message; waits (holding the turn back) while the queue is full."""
        size = _size(message)
        while self._queue and self._bytes + size > self._max_bytes:
            self._changed.clear()
            await self._changed.wait()
        self._queue.append(_Queued(message, tag, size))
        self._bytes += size
        self._changed.set()

    def put_nowait(self, message: Message) -> None:
        """Control messages (errors, pongs, turn ends) never wait behind a full queue."""
        self._queue.append(_Queued(message, None, _size(message)))
        self._bytes += _size(message)
        self._changed.set()

    def purge(self, tag: TurnTag) -> int:
        """Drop everything queued for one turn (an interrupt); returns how many."""
        kept = deque(item for item in self._queue if item.tag != tag)
        dropped = len(self._queue) - len(kept)
        self._queue = kept
        self._bytes = sum(item.size for item in kept)
        self._changed.set()
        return dropped

    async def run(self) -> None:
        """Send queued messages in order until cancelled; raises PeerGone / PeerStalled."""
        while True:
            while not self._queue:
                self._changed.clear()
                await self._changed.wait()
            item = self._queue[0]
            payload = encode(item.message, self._seq + 1)  # a number is used once it is sent
            await self._send(payload)
            self._seq += 1
            sid = getattr(item.message, "sid", None)
            if self._observe is not None and sid:
                self._observe(sid, payload)
            if self._queue and self._queue[0] is item:
                self._queue.popleft()
                self._bytes -= item.size
            self._changed.set()

    async def _send(self, payload: bytes) -> None:
        stalled_since: float | None = None
        while True:
            try:
                await self._socket.send_multipart([self._identity, payload], flags=zmq.NOBLOCK)
                self.stalled = False
                return
            except zmq.Again:
                now = time.monotonic()
                stalled_since = stalled_since or now
                if now - stalled_since > self._stall_timeout_s:
                    raise PeerStalled from None
                await asyncio.sleep(RETRY_INTERVAL_S)
            except zmq.ZMQError as exc:
                if exc.errno == zmq.EHOSTUNREACH:
                    raise PeerGone from None
                raise
