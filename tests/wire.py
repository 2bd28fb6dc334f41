"""A raw protocol peer for tests: a DEALER socket that sends and reads plain maps.

The SDK client hides protocol details; these tests need to see every frame the
server sends, and to send frames no well-behaved client would.
"""

from __future__ import annotations

import time
from typing import Any

import msgpack
import zmq


class RawPeer:
    def __init__(
        self, endpoint: str, options: dict[int, int] | None = None, **curve: bytes
    ) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        for option, number in (options or {}).items():
            self.socket.setsockopt(option, number)
        for option, value in curve.items():
            setattr(self.socket, option, value)
        self.socket.connect(endpoint)
        self.seq = 0

    def __enter__(self) -> RawPeer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()

    def send(self, kind: str, **fields: Any) -> int:
        self.seq += 1
        self.send_map({"v": 1, "type": kind, "seq": self.seq, **fields})
        return self.seq

    def send_map(self, message: Any) -> None:
        self.send_bytes(msgpack.packb(message, use_bin_type=True))

    def send_bytes(self, payload: bytes) -> None:
        self.socket.send(payload)

    def recv(self, timeout_s: float = 10.0) -> dict[str, Any] | None:
        if not self.socket.poll(int(timeout_s * 1000)):
            return None
        return msgpack.unpackb(self.socket.recv(), raw=False)

    def recv_until(self, kind: str, timeout_s: float = 30.0, **match: Any) -> list[dict]:
        """Every message up to and including the first of `kind` matching `match`."""
        seen: list[dict] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            message = self.recv(deadline - time.monotonic())
            if message is None:
                break
            seen.append(message)
            if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
                return seen
        raise AssertionError(
            f"no {kind!r} {match} within {timeout_s}s; got {[m['type'] for m in seen]}"
        )

    def greet(self) -> dict[str, Any]:
        self.send("hello", client={"name": "raw-test", "version": "0", "engine": "test"})
        return self.recv_until("welcome")[-1]

    def open_session(self, **options: Any) -> str:
        self.send("session.open", **options)
        return self.recv_until("session.opened")[-1]["sid"]
