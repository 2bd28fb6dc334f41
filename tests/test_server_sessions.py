"""Session limits, vanished clients, idle time-outs and resuming after a hiccup."""

from __future__ import annotations

import time

import pytest

from merg_sdk.client import MergClient, MergError
from tests.wire import RawPeer

LONG_LINE = " ".join(["The caravan will arrive at dawn, and the market will be full."] * 6)


def _wait_for(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_sessions_per_client_are_limited(make_server) -> None:
    running = make_server(limits={"max_sessions_per_client": 2})
    with MergClient(running.endpoint) as client:
        client.open_session()
        client.open_session()
        with pytest.raises(MergError) as caught:
            client.open_session()
        assert caught.value.code == "too_many_sessions"
        with MergClient(running.endpoint) as other:  # the limit is per client
            other.open_session()


def test_total_sessions_are_limited(make_server) -> None:
    running = make_server(limits={"max_sessions": 1})
    with MergClient(running.endpoint) as first, MergClient(running.endpoint) as second:
        first.open_session()
        with pytest.raises(MergError) as caught:
            second.open_session()
        assert caught.value.code == "too_many_sessions"


def test_text_length_is_limited(make_server) -> None:
    running = make_server(limits={"max_text_chars": 40})
    with MergClient(running.endpoint) as client:
        session = client.open_session()
        with pytest.raises(MergError) as caught:
            list(session.say("This line is far too long for the limit set on this server."))
        assert caught.value.code == "too_large"
        assert session.say("Short is fine.").collect().reason == "done"


def test_a_client_that_vanishes_mid_turn_is_freed(make_server) -> None:
    running = make_server(limits={"idle_timeout_s": 0.5})
    server = running.server
    peer = RawPeer(running.endpoint)
    peer.greet()
    sid = peer.open_session()
    peer.send("say", sid=sid, text=LONG_LINE)
    peer.recv_until("audio", sid=sid)
    peer.close()  # gone without a word, mid-turn

    assert _wait_for(lambda: running.call(lambda: len(server.clients)) == 0)
    assert _wait_for(lambda: running.call(lambda: len(server.sessions)) == 0)
    with MergClient(running.endpoint) as client:  # and the server still serves
        assert client.open_session().say("Still here.").collect().reason == "done"


def test_pings_keep_an_idle_client_alive(make_server) -> None:
    running = make_server(limits={"idle_timeout_s": 0.6})
    with MergClient(running.endpoint) as client:
        session = client.open_session()
        for _ in range(6):
            time.sleep(0.2)
            client.ping()
        assert running.call(lambda: running.server.sessions.get(session.sid)) is not None


def test_an_idle_client_loses_its_sessions(make_server) -> None:
    running = make_server(limits={"idle_timeout_s": 0.3})
    with MergClient(running.endpoint) as client:
        session = client.open_session()
        assert _wait_for(lambda: running.call(lambda: len(running.server.sessions)) == 0)
        with pytest.raises(MergError) as caught:  # forgotten: it must greet again
            list(session.say("Anyone there?"))
        assert caught.value.code == "hello_required"


def test_a_session_can_be_resumed_from_a_new_connection(make_server) -> None:
    running = make_server(limits={"idle_timeout_s": 2.0})
    first = RawPeer(running.endpoint)
    first.greet()
    sid = first.open_session(rig="visemes", fps=30, sample_rate=16000)
    first.close()  # a network hiccup: the socket is gone
    with MergClient(running.endpoint) as client:
        session = client.open_session(resume=sid)
        assert session.sid == sid and session.rig == "visemes" and session.fps == 30
        result = session.say("We meet again.").collect()
        assert result.reason == "done" and result.turn == 1


def test_resuming_an_unknown_session_fails(client: MergClient) -> None:
    with pytest.raises(MergError) as caught:
        client.open_session(resume="no-such-session")
    assert caught.value.code == "unknown_session"


def test_playback_reports_are_accepted(client: MergClient) -> None:
    session = client.open_session()
    result = session.say("Listen closely.").collect()
    session.report_playback(result.turn, 0.5)
    assert client.ping().t > 0  # the server processed it and is still answering


def test_a_closed_connection_is_noticed_at_once(make_server) -> None:
    running = make_server(limits={"idle_timeout_s": 60.0})
    peer = RawPeer(running.endpoint)
    peer.greet()
    sid = peer.open_session()
    peer.close()
    detached = lambda: running.call(lambda: running.server.sessions.get(sid).owner) is None  # noqa: E731
    assert _wait_for(detached, timeout_s=2.0)
    with MergClient(running.endpoint) as client:
        assert client.open_session(resume=sid).sid == sid


def test_resume_cannot_take_a_live_clients_session(server) -> None:
    with MergClient(server.endpoint) as owner, MergClient(server.endpoint) as other:
        session = owner.open_session()
        with pytest.raises(MergError) as caught:
            other.open_session(resume=session.sid)
        assert caught.value.code == "unknown_session"
        assert session.say("Still mine.").collect().reason == "done"


def test_the_sdk_heartbeat_keeps_a_quiet_client(make_server) -> None:
    running = make_server(limits={"idle_timeout_s": 0.6})
    with MergClient(running.endpoint, heartbeat_s=0.15) as client:
        session = client.open_session()
        time.sleep(2.0)  # no calls of ours: only the heartbeat speaks
        assert session.say("Still connected.").collect().reason == "done"


def test_a_takeover_ends_the_old_owners_turn_and_tells_it(make_server) -> None:
    running = make_server(limits={"resume_takeover_s": 0.3})
    old = RawPeer(running.endpoint)
    old.greet()
    sid = old.open_session()
    old.send("say", sid=sid, text=" ".join([LONG_LINE] * 4))  # ~100 s of speech: still running
    old.recv_until("audio", sid=sid)
    time.sleep(0.5)  # silent past the takeover time (a half-open connection, say)
    with MergClient(running.endpoint) as client:
        session = client.open_session(resume=sid)
        tail = old.recv_until("session.closed", sid=sid)
        ended = [m for m in tail if m["type"] == "turn.end"]
        assert ended and ended[0]["reason"] == "interrupted"
        assert tail[-1]["reason"] == "resumed_elsewhere"
        assert session.say("Mine now.").collect().reason == "done"
    old.close()
