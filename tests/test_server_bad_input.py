"""Bad input gets an `error` with a stable code, and everyone else goes on being served."""

from __future__ import annotations

import msgpack
import pytest

from merg_sdk.client import MergClient, MergError
from merg_sdk.server import ServerThread
from tests.wire import RawPeer


def _error(peer: RawPeer) -> dict:
    message = peer.recv(10)
    assert message is not None, "the server said nothing"
    assert message["type"] == "error", message
    assert message["message"]
    return message


def test_a_message_before_hello_is_refused(server: ServerThread) -> None:
    with RawPeer(server.endpoint) as peer:
        seq = peer.send("session.open", rig="arkit52", fps=60, sample_rate=22050)
        error = _error(peer)
        assert error["code"] == "hello_required" and error["ref"] == seq
        peer.greet()  # and the same connection can still say hello afterwards


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b"\xc1\xff\x00garbage", "bad_message"),
        (msgpack.packb([1, 2, 3]), "bad_message"),
        (msgpack.packb("just a string"), "bad_message"),
        (msgpack.packb({"type": "ping"}), "bad_message"),
        (msgpack.packb({"v": 9, "type": "ping", "seq": 1}), "unsupported_version"),
        (msgpack.packb({"v": 1, "type": "teleport", "seq": 1}), "unsupported"),
        (msgpack.packb({"v": 1, "type": 42, "seq": 1}), "bad_message"),
        (msgpack.packb({"v": 1, "type": "say", "seq": 1}), "bad_message"),
        (msgpack.packb({"v": 1, "type": "say", "seq": 1, "sid": 5, "text": "x"}), "bad_message"),
        (msgpack.packb({"v": 1, "type": "session.open", "fps": "60"}), "bad_message"),
        (msgpack.packb({"v": 1, "type": "session.open", "fps": 59}), "unsupported"),
        (msgpack.packb({"v": 1, "type": "session.open", "sample_rate": 8000}), "unsupported"),
        (msgpack.packb({"v": 1, "type": "session.open", "rig": "klingon"}), "unsupported"),
        (msgpack.packb({"v": 1, "type": "session.open", "voice": "nobody"}), "unsupported"),
        (msgpack.packb({"v": 1, "type": "say", "sid": "nope", "text": "hi"}), "unknown_session"),
        (msgpack.packb({"v": 1, "type": "interrupt", "sid": "nope"}), "unknown_session"),
        (msgpack.packb({"v": 1, "type": "session.close", "sid": "nope"}), "unknown_session"),
    ],
)
def test_bad_messages_get_errors_and_the_server_goes_on(
    server: ServerThread, payload: bytes, code: str
) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        peer.send_bytes(payload)
        assert _error(peer)["code"] == code
        peer.send("ping", t=1.0)
        assert peer.recv_until("pong")[-1]["t"] == 1.0


def test_bad_fields_in_say(server: ServerThread) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session()
        cases = [
            ({"text": "hi", "intensity": 1.5}, "bad_message"),
            ({"text": "hi", "intensity": True}, "bad_message"),
            ({"text": "hi", "emotion": "smug"}, "unsupported"),
            ({"text": "  ... !! "}, "bad_message"),
            ({"text": "word " * 1000}, "too_large"),
        ]
        for fields, code in cases:
            seq = peer.send("say", sid=sid, **fields)
            error = _error(peer)
            assert (error["code"], error["ref"]) == (code, seq), fields


def test_oversized_messages_are_refused(server: ServerThread) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        peer.send("ping", t=0.0, padding=b"\x00" * (2 << 20))
        assert _error(peer)["code"] == "too_large"
        peer.send("ping", t=2.0)
        assert peer.recv_until("pong")[-1]["t"] == 2.0


def test_multipart_messages_are_refused(server: ServerThread) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        frame = msgpack.packb({"v": 1, "type": "ping", "t": 0.0})
        peer.socket.send_multipart([frame, frame])
        assert _error(peer)["code"] == "bad_message"


def test_a_session_is_private_to_its_client(server: ServerThread) -> None:
    with MergClient(server.endpoint) as owner, RawPeer(server.endpoint) as stranger:
        session = owner.open_session()
        stranger.greet()
        stranger.send("say", sid=session.sid, text="I am not yours.")
        assert _error(stranger)["code"] == "unknown_session"
        assert session.say("Still mine.").collect().reason == "done"


def test_bad_input_from_one_client_never_disturbs_another_turn(server: ServerThread) -> None:
    with MergClient(server.endpoint) as good, RawPeer(server.endpoint) as bad:
        session = good.open_session(fps=30, sample_rate=16000)
        turn = session.say("I keep talking while somebody sends nonsense to the server.")
        bad.greet()
        for junk in (b"", b"\x00" * 10, msgpack.packb(None), msgpack.packb({"v": 1})):
            bad.send_bytes(junk)
            assert _error(bad)["code"] == "bad_message"
        result = turn.collect()
        assert result.reason == "done" and result.audio_s > 2.0


def test_sdk_raises_merg_error_with_the_code(client: MergClient) -> None:
    with pytest.raises(MergError) as caught:
        client.open_session(rig="arkit52", fps=25)
    assert caught.value.code == "unsupported"
    session = client.open_session()
    with pytest.raises(MergError) as caught:
        list(session.say("Hello", emotion="smug"))
    assert caught.value.code == "unsupported"
