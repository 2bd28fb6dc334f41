"""Notice at once when a client's connection closes, instead of after the idle timeout.

ROUTER sockets say nothing when a peer goes away. The socket monitor reports
DISCONNECTED with the connection's file descriptor, and every received frame
carries the descriptor it came from (ZMQ_SRCFD), so the two together name
the client that left. Its sessions are detached at once and can be resumed
from a new connection straight away.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable

import zmq
import zmq.asyncio
from zmq.utils.monitor import parse_monitor_message

log = logging.getLogger("merg.server")


class ConnectionWatch:
    def __init__(
        self, socket: zmq.asyncio.Socket, on_disconnect: Callable[[bytes], Awaitable[None]]
    ) -> None:
        self._monitor = socket.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self._socket = socket
        self._on_disconnect = on_disconnect
        self._owner_of_fd: dict[int, bytes] = {}

    def saw(self, identity: bytes, frame: zmq.Frame) -> None:
        """Remember which connection a client's latest message came in on."""
        with contextlib.suppress(zmq.ZMQError, AttributeError):
            self._owner_of_fd[frame.get(zmq.SRCFD)] = identity

    async def run(self) -> None:
        while True:
            event = parse_monitor_message(await self._monitor.recv_multipart())
            identity = self._owner_of_fd.pop(int(event["value"]), None)
            if identity is not None:
                log.info("client %s disconnected", identity.hex())
                await self._on_disconnect(identity)

    def close(self) -> None:
        with contextlib.suppress(zmq.ZMQError):
            self._socket.disable_monitor()
        self._monitor.close(linger=0)
