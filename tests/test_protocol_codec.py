"""The codec: exact round trips, strict validation, stable error codes."""

from __future__ import annotations

import msgpack
import numpy as np
import pytest

from merg_sdk.protocol import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    ErrorCode,
    Face,
    ProtocolError,
    Say,
    SessionOpen,
    decode,
    encode,
)


def test_round_trip_keeps_every_field() -> None:
    message = Say(sid="s1", text="Hello", emotion="happy", intensity=0.25)
    decoded, seq = decode(encode(message, 7), CLIENT_MESSAGES)
    assert decoded == message and seq == 7


def test_envelope_and_omitted_optionals() -> None:
    wire = msgpack.unpackb(encode(Say(sid="s", text="x"), 3))
    assert wire == {"v": 1, "type": "say", "seq": 3, "sid": "s", "text": "x"}


def test_face_weights_are_little_endian_float32() -> None:
    weights = np.arange(6, dtype=np.float32).reshape(2, 3) / 10
    face = Face(sid="s", turn=1, f0=4, fps=60, count=2, weights=weights.astype("<f4").tobytes())
    decoded, _ = decode(encode(face, 1), SERVER_MESSAGES)
    assert np.array_equal(decoded.matrix, weights)


def test_unknown_fields_are_ignored_and_defaults_apply() -> None:
    payload = msgpack.packb({"v": 1, "type": "session.open", "future_field": [1, 2]})
    decoded, seq = decode(payload, CLIENT_MESSAGES)
    assert decoded == SessionOpen() and seq is None


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"v": 1, "type": "say", "sid": "s", "text": "x", "intensity": "0.5"}, "bad_message"),
        ({"v": 1, "type": "say", "sid": "s", "text": b"bytes"}, "bad_message"),
        ({"v": 1, "type": "say", "sid": "", "text": "x"}, "bad_message"),
        ({"v": 1, "type": "session.open", "fps": 60.0}, "bad_message"),
        ({"v": 1, "type": "session.open", "fps": True}, "bad_message"),
        ({"v": True, "type": "ping"}, "bad_message"),
        ({"v": 2, "type": "ping", "seq": 5}, "unsupported_version"),
        ({"v": 1, "type": "welcome", "seq": 5}, "unsupported"),
    ],
)
def test_strict_validation(fields: dict, code: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(msgpack.packb(fields, use_bin_type=True), CLIENT_MESSAGES)
    assert caught.value.code == ErrorCode(code)


def test_errors_carry_the_offending_seq() -> None:
    payload = msgpack.packb({"v": 1, "type": "say", "seq": 41, "sid": "s"})
    with pytest.raises(ProtocolError) as caught:
        decode(payload, CLIENT_MESSAGES)
    assert caught.value.ref == 41 and caught.value.sid == "s"
    assert "text" in caught.value.message
