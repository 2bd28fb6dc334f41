"""Interrupts, concurrent clients and sessions: turns stay separate and end cleanly."""

from __future__ import annotations

import threading
import time

from merg_sdk.client import AudioChunk, FaceFrames, MergClient, TurnEnded
from merg_sdk.server import ServerThread
from tests.wire import RawPeer

LONG_LINE = (
    "Long ago, before the river changed its course, the village kept a lantern burning "
    "on the hill, and every traveller who saw it knew that a warm meal and a kind word "
    "were waiting. Tonight, the lantern is lit again, and I have a story for you."
)


def test_interrupt_ends_the_turn_at_once_and_nothing_follows(client: MergClient) -> None:
    session = client.open_session(rig="arkit52", fps=60, sample_rate=22050)
    turn = session.say(LONG_LINE)
    events = iter(turn)
    for event in events:
        if isinstance(event, AudioChunk):
            break
    sent = time.perf_counter()
    session.interrupt()
    ended = None
    for event in events:
        if isinstance(event, TurnEnded):
            ended = event
            break
    latency_ms = (time.perf_counter() - sent) * 1000
    assert ended is not None and ended.reason == "interrupted"
    assert latency_ms < 100, f"turn.end came {latency_ms:.0f} ms after the interrupt"

    # the next turn starts clean: its own number, timeline from zero, done
    following = session.say("Sorry, where was I?").collect()
    assert following.turn == ended.turn + 1 and following.reason == "done"
    stale = [e for e in following.events if getattr(e, "turn", following.turn) != following.turn]
    assert not stale
    first_audio = next(e for e in following.events if isinstance(e, AudioChunk))
    first_face = next(e for e in following.events if isinstance(e, FaceFrames))
    assert first_audio.t0 == 0 and first_face.f0 == 0


def test_nothing_of_an_interrupted_turn_reaches_the_socket_afterwards(
    server: ServerThread,
) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="visemes", fps=30, sample_rate=16000)
        peer.send("say", sid=sid, text=LONG_LINE)
        peer.recv_until("audio", sid=sid)
        peer.send("interrupt", sid=sid)
        ended = peer.recv_until("turn.end", sid=sid)[-1]
        assert ended["reason"] == "interrupted" and ended["turn"] == 1
        time.sleep(0.5)  # the synthesis thread finishes its clause meanwhile
        peer.send("ping", t=0.0)
        after = peer.recv_until("pong")
        assert [m["type"] for m in after] == ["pong"], after


def test_a_new_say_interrupts_the_running_turn(client: MergClient) -> None:
    session = client.open_session()
    first = session.say(LONG_LINE)
    second = session.say("Never mind that.")
    first_events = list(first)
    assert first_events[-1].reason == "interrupted"
    result = second.collect()
    assert result.reason == "done" and result.turn == first_events[-1].turn + 1


def test_two_clients_speak_at_the_same_time(server: ServerThread) -> None:
    results: dict[str, object] = {}

    def speak(name: str, text: str) -> None:
        with MergClient(server.endpoint, name=name) as client:
            session = client.open_session(rig="arkit52", fps=60, sample_rate=24000)
            results[name] = (session.sid, session.say(text).collect())

    threads = [
        threading.Thread(target=speak, args=("a", "The bridge is open until sunset.")),
        threading.Thread(target=speak, args=("b", "Bring water for the horses, please.")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    (sid_a, a), (sid_b, b) = results["a"], results["b"]
    assert sid_a != sid_b
    for result in (a, b):
        assert result.reason == "done" and result.audio_s > 1.0
        assert len(result.weights) == -(-len(result.audio) * 60 // 24000)
    assert a.replies[0].text.startswith("The bridge") and b.replies[0].text.startswith("Bring")


def test_sessions_of_one_client_run_turns_concurrently(client: MergClient) -> None:
    first = client.open_session(fps=30, sample_rate=16000)
    second = client.open_session(fps=60, sample_rate=48000)
    turn_one = first.say("One session speaks.")
    turn_two = second.say("Another session speaks too.")
    one, two = turn_one.collect(), turn_two.collect()
    assert one.reason == two.reason == "done"
    assert one.sample_rate == 16000 and two.sample_rate == 48000
    assert one.replies[0].text == "One session speaks."


def test_session_close_frees_the_session(client: MergClient, server: ServerThread) -> None:
    session = client.open_session()
    sid = session.sid
    assert server.call(lambda: server.server.sessions.get(sid)) is not None
    session.close()
    assert server.call(lambda: server.server.sessions.get(sid)) is None


def test_an_unread_turn_never_leaks_into_the_next(client: MergClient) -> None:
    session = client.open_session()
    first = session.say("First line, never read before the second.")
    second = session.say("Second line.")
    result = second.collect()
    assert result.reason == "done" and [r.text for r in result.replies] == ["Second line."]
    earlier = first.collect()  # still readable, and it ends as interrupted
    assert earlier.reason == "interrupted" and earlier.turn == result.turn - 1


def test_interrupted_turns_report_full_stats(client: MergClient) -> None:
    session = client.open_session()
    turn = session.say(LONG_LINE)
    events = iter(turn)
    for event in events:
        if isinstance(event, AudioChunk):
            break
    session.interrupt()
    ended = next(e for e in events if isinstance(e, TurnEnded))
    assert ended.reason == "interrupted"
    assert ended.stats["first_audio_ms"] > 0 and ended.stats["samples"] > 0
    assert {"first_face_ms", "audio_s", "frames"} <= set(ended.stats)


def test_an_error_without_session_still_fails_the_turn_that_caused_it(make_server) -> None:
    from merg_sdk.client import MergError

    running = make_server(limits={"max_message_bytes": 2048})
    with MergClient(running.endpoint, timeout_s=5) as client:
        session = client.open_session()
        started = time.perf_counter()
        try:
            list(session.say("word " * 1000))
            raise AssertionError("expected too_large")
        except MergError as error:
            assert error.code == "too_large"
        assert time.perf_counter() - started < 2.0
