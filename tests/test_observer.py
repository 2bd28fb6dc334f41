"""The observer stream: watchers see a session's messages, byte for byte, without taking part."""

from __future__ import annotations

import time

import msgpack
import pytest
import zmq

from tests.wire import RawPeer


class Watcher:
    def __init__(self, endpoint: str, topic: str) -> None:
        self.context = zmq.Context()
        self.socket = self.context.socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt_string(zmq.SUBSCRIBE, topic)
        self.socket.connect(endpoint)

    def recv(self, timeout_s: float) -> tuple[str, bytes] | None:
        if not self.socket.poll(int(timeout_s * 1000)):
            return None
        topic, payload = self.socket.recv_multipart()
        return topic.decode(), payload

    def recv_until(self, kind: str, timeout_s: float = 30.0) -> list[tuple[str, dict]]:
        seen: list[tuple[str, dict]] = []
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            got = self.recv(left)
            if got is None:
                break
            seen.append((got[0], msgpack.unpackb(got[1], raw=False)))
            if seen[-1][1]["type"] == kind:
                return seen
        kinds = [m["type"] for _, m in seen]
        raise AssertionError(f"no {kind!r} within {timeout_s} s; saw {kinds}")

    def close(self) -> None:
        self.socket.close(linger=0)
        self.context.term()


def _open(peer: RawPeer) -> tuple[dict, str]:
    peer.send("hello", client={"name": "test", "version": "0", "engine": "pytest"})
    welcome = peer.recv_until("welcome")[-1]
    peer.send("session.open", rig="arkit52", fps=60, sample_rate=24000)
    return welcome, peer.recv_until("session.opened")[-1]["sid"]


def test_watcher_sees_the_session_as_its_client_does(make_server) -> None:
    running = make_server(observer=True, empathy={"enabled": False})
    with RawPeer(running.endpoint) as peer, RawPeer(running.endpoint) as other:
        welcome, sid = _open(peer)
        _, other_sid = _open(other)
        capabilities = welcome["capabilities"]
        assert "observer" in capabilities["features"]
        watcher = Watcher(capabilities["observer"], sid)
        try:
            # joining mid-session: the server describes the session to the new watcher
            opened = watcher.recv_until("session.opened", timeout_s=10)[-1]
            assert opened[0] == sid
            assert len(opened[1]["rig"]["names"]) == 52
            peer.send("say", sid=sid, text="Watch me speak.", emotion="happy")
            other.send("say", sid=other_sid, text="Not for the watcher.")
            sent = [m for m in peer.recv_until("turn.end") if m.get("sid") == sid]
            seen = watcher.recv_until("turn.end")
        finally:
            watcher.close()
    assert {topic for topic, _ in seen} == {sid}
    assert [m for _, m in seen] == sent  # same maps, same order, same seq
    kinds = [m["type"] for m in sent]
    assert {"turn.start", "face", "audio", "turn.end"} <= set(kinds)


def test_watchers_never_hold_a_session_back(make_server) -> None:
    """A watcher that reads nothing costs the session nothing."""
    running = make_server(observer=True, empathy={"enabled": False})
    with RawPeer(running.endpoint) as peer:
        welcome, sid = _open(peer)
        idle = Watcher(welcome["capabilities"]["observer"], "")
        try:
            peer.send("say", sid=sid, text="One. Two. Three. Four. Five. Six. Seven.")
            end = peer.recv_until("turn.end")[-1]
        finally:
            idle.close()
    assert end["reason"] == "done"


def test_observer_is_off_by_default(server) -> None:
    with RawPeer(server.endpoint) as peer:
        welcome, _ = _open(peer)
    assert "observer" not in welcome["capabilities"]["features"]
    assert "observer" not in welcome["capabilities"]


def test_observer_port_follows_the_server_port() -> None:
    from merg_sdk.server import ServerConfig

    assert ServerConfig(port=6000, observer=True).observer_endpoint == "tcp://127.0.0.1:6001"
    assert ServerConfig(port=6000, observer_port=7000).observer_endpoint.endswith(":7000")
    with pytest.raises(ValueError, match="observer_port"):
        ServerConfig(port=65535, observer=True)
