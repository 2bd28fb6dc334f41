"""A client that stops reading: its turn is held back, then ended as `overloaded`, and
what it did receive is a contiguous prefix: nothing is dropped silently."""

from __future__ import annotations

import time

import zmq

from merg_sdk.client import MergClient
from tests.wire import RawPeer

STORY = " ".join(
    ["The wagons rolled north through the long valley, past farms and frozen rivers."] * 20
)


def test_a_client_that_stops_reading_is_held_back_then_told(make_server) -> None:
    limits = {"send_hwm": 2, "outbox_bytes": 64 << 10, "stall_timeout_s": 1.0}
    running = make_server(limits={**limits, "socket_send_buffer_bytes": 16384})
    peer = RawPeer(running.endpoint, options={zmq.RCVHWM: 1, zmq.RCVBUF: 4096})
    peer.greet()
    sid = peer.open_session(rig="arkit52", fps=120, sample_rate=48000)
    peer.send("say", sid=sid, text=STORY)
    with MergClient(running.endpoint) as bystander:  # the server keeps serving others
        time.sleep(3.0)  # not reading: TCP and ZeroMQ buffers fill, the outbox holds back
        assert bystander.open_session().say("I am fine.").collect().reason == "done"

    received = peer.recv_until("turn.end", timeout_s=60, sid=sid)
    peer.close()
    seqs = [m["seq"] for m in received]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # retries never skip a number
    errors = [m for m in received if m["type"] == "error"]
    assert [e["code"] for e in errors] == ["overloaded"]
    assert received[-1]["reason"] == "error"
    position = 0
    audio = [m for m in received if m["type"] == "audio"]
    for message in audio:
        assert message["t0"] == position
        position += len(message["pcm"]) // 2
    assert 0 < position < 48000 * 60  # a prefix of a turn over a minute long
