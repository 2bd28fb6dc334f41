"""Shared MessagePack test vectors for the C# core: bytes made by the Python codec.

Every message goes through `merg_sdk.protocol.encode`, the server's own codec, so the
bytes carry the Python `to_wire` key order. The C# tests (Tests/VectorTests.cs) decode
each file, re-encode it and require identical bytes; they build every client message with
the C# encoder and require the same bytes as here. One extra vector, made with plain
`msgpack.packb`, covers integer, string, binary, array and map widths inside an unknown
message type.

    python plugins/unity/Tests/vectors/make_vectors.py           # (re)write the vectors
    python plugins/unity/Tests/vectors/make_vectors.py --check   # fail if they are stale

The values below are mirrored in VectorTests.cs: change both together.
"""

from __future__ import annotations

import argparse
import math
import struct
import sys
from pathlib import Path

import msgpack
import yaml

from merg_sdk.data import blendshapes_file
from merg_sdk.protocol import (
    Audio,
    Error,
    Face,
    Flame,
    Hello,
    Interrupt,
    Message,
    Ping,
    Playback,
    Pong,
    Reasoning,
    Reply,
    Safety,
    Say,
    SessionClose,
    SessionClosed,
    SessionOpen,
    SessionOpened,
    TurnEnd,
    TurnStart,
    UserAffect,
    UserText,
    Welcome,
    encode,
)

HERE = Path(__file__).resolve().parent
SID = "dfvKTNaGvg7iC9ELU4k8QA"
LONG_TEXT = "Ünïcödé — " + "a long line that needs a str16 header. " * 8  # 322 bytes


def floats(values: list[float]) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def pcm(count: int) -> bytes:
    """A 220 Hz tone at 22050 Hz, s16le: deterministic and not all zeros."""
    return struct.pack(
        f"<{count}h", *(int(12000 * math.sin(2 * math.pi * 220 * k / 22050)) for k in range(count))
    )


def arkit_names() -> list[str]:
    return yaml.safe_load(blendshapes_file("rigs/arkit52.yaml").read_text())["names"]


def weights(frames: int, columns: int) -> bytes:
    return floats(
        [((f * columns + c) % 100) / 100.0 for f in range(frames) for c in range(columns)]
    )


def client_vectors() -> list[tuple[str, Message, int]]:
    return [
        (
            "client_hello",
            Hello(client={"name": "merg-unity", "version": "0.1.0", "engine": "unity"}),
            1,
        ),
        ("client_ping", Ping(t=1795315014.51), 7),
        (
            "client_session_open",
            SessionOpen(
                rig="arkit52",
                fps=60,
                sample_rate=48000,
                voice="en_US-joe-medium",
                avatar="companion",
            ),
            2,
        ),
        (
            "client_session_open_inline_avatar",
            SessionOpen(
                rig="vrm1",
                fps=30,
                sample_rate=22050,
                language="en",
                avatar={"name": "Ava", "style": "warm"},
            ),
            3,
        ),
        ("client_session_resume", SessionOpen(resume=SID), 300),
        ("client_session_close", SessionClose(sid=SID), 9),
        (
            "client_say",
            Say(
                sid=SID,
                text="Hello there, my friend. Maybe we should buy a map!",
                emotion="happy",
                intensity=0.8,
            ),
            3,
        ),
        ("client_say_plain", Say(sid=SID, text=LONG_TEXT), 70000),
        ("client_user_text", UserText(sid=SID, text="I had a rough day at work today."), 4),
        ("client_interrupt", Interrupt(sid=SID), 5),
        ("client_playback", Playback(sid=SID, turn=1, t=0.5), 6),
    ]


def server_vectors() -> list[tuple[str, Message, int]]:
    names = arkit_names()
    return [
        (
            "server_welcome",
            Welcome(
                server={"name": "merg-sdk", "version": "0.1.0", "tts": "piper"},
                capabilities={
                    "rigs": ["arkit52", "visemes", "facecap", "livelink", "oculus", "vrm0", "vrm1"],
                    "voices": ["en_US-joe-medium"],
                    "fps": [30, 60, 120],
                    "sample_rates": [16000, 22050, 24000, 44100, 48000],
                    "emotions": ["neutral", "happy", "sad"],
                    "features": ["say", "interrupt", "ping", "playback", "resume", "user.text"],
                },
            ),
            1,
        ),
        ("server_pong", Pong(t=1795315014.51, server_t=1795315014.8177), 3),
        (
            "server_session_opened",
            SessionOpened(
                sid=SID,
                rig={"name": "arkit52", "names": names},
                fps=60,
                sample_rate=22050,
                voice="en_US-joe-medium",
                resumed=False,
            ),
            2,
        ),
        ("server_session_closed", SessionClosed(sid=SID, reason="resumed_elsewhere"), 44),
        ("server_turn_start", TurnStart(sid=SID, turn=1, source="say", ref=3), 5),
        (
            "server_user_affect",
            UserAffect(
                sid=SID,
                turn=2,
                emotion="sad",
                vad=[-0.5, -0.25, 0.125],
                confidence=0.75,
                by={"text": {"emotion": "sad", "confidence": 0.75}},
                fine_emotion="disappointed",
                cause="work",
            ),
            6,
        ),
        (
            "server_reasoning",
            Reasoning(
                sid=SID,
                turn=2,
                chain={
                    "user_emotion": "sad",
                    "cause": None,
                    "strategy": "Question",
                    "strategy_scores": {"Question": 0.6, "Others": 0.15},
                    "avatar_vad": [0.433, -0.11, 0.102],
                    "safety": None,
                },
            ),
            7,
        ),
        (
            "server_safety",
            Safety(sid=SID, turn=2, category="self_harm", severity="high", matched="hurt myself"),
            8,
        ),
        (
            "server_reply",
            Reply(
                sid=SID,
                turn=1,
                text="Maybe we should buy a map!",
                emotion="happy",
                intensity=0.8,
                final=True,
                strategy="Question",
                t0=35584,
                phonemes=[["", 1.61379, 1.65], ["m", 1.65, 1.70123], ["eɪ", 1.70123, 1.8]],
            ),
            20,
        ),
        (
            "server_audio",
            Audio(sid=SID, turn=1, t0=4410, sample_rate=22050, pcm=pcm(4410)),
            8,
        ),
        (
            "server_audio_small",
            Audio(sid=SID, turn=1, t0=70000, sample_rate=22050, pcm=pcm(50)),
            9,
        ),
        (
            "server_face",
            Face(
                sid=SID,
                turn=1,
                f0=12,
                fps=60,
                count=2,
                weights=weights(2, len(names)),
                head=floats([0.01, -0.02, 0.03, 0.04, -0.05, 0.06]),
                eyes=floats([0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.4, -0.4]),
            ),
            7,
        ),
        (
            "server_face_no_angles",
            Face(sid=SID, turn=3, f0=0, fps=30, count=1, weights=weights(1, 15)),
            10,
        ),
        (
            "server_flame",
            Flame(
                sid=SID,
                turn=1,
                f0=0,
                fps=30,
                count=1,
                expression=floats([0.5, -0.5, 0.25]),
                jaw=floats([0.1, 0.0, 0.0]),
                neck=floats([0.0, 0.2, 0.0]),
            ),
            11,
        ),
        (
            "server_turn_end",
            TurnEnd(
                sid=SID,
                turn=1,
                reason="interrupted",
                stats={
                    "first_audio_ms": None,
                    "first_face_ms": 487.73,
                    "audio_s": 3.0534,
                    "samples": 67328,
                    "frames": 184,
                    "clauses": 2,
                    "total_ms": 812.08,
                },
            ),
            40,
        ),
        (
            "server_error",
            Error(code="unknown_session", message=f"no session {SID!r}", ref=10, sid=SID),
            45,
        ),
        ("server_error_minimal", Error(code="internal", message="boom"), 46),
    ]


def widths_vector() -> bytes:
    """An unknown message type carrying every integer width and 8/16-bit containers."""
    return msgpack.packb(
        {
            "v": 1,
            "type": "future.widths",
            "seq": 65536,
            "ints": [
                0,
                1,
                127,
                128,
                255,
                256,
                65535,
                65536,
                4294967295,
                4294967296,
                2**63 - 1,
                2**64 - 1,
                -1,
                -32,
                -33,
                -128,
                -129,
                -32768,
                -32769,
                -(2**31),
                -(2**31) - 1,
                -(2**63),
            ],
            "floats": [0.0, -0.0, 1.5, -2.25, 1e300, float("inf")],
            "bools": [True, False, None],
            "str8": "x" * 40,
            "str16": "y" * 300,
            "bin8": bytes(range(200)),
            "bin16": bytes(k % 256 for k in range(300)),
            "array16": list(range(20)),
            "map16": {f"k{k:02d}": k for k in range(20)},
            "nested": [{"a": [1, [2, [3, {"b": None}]]]}],
        },
        use_bin_type=True,
    )


def all_vectors() -> dict[str, bytes]:
    vectors = {
        name: encode(message, seq) for name, message, seq in client_vectors() + server_vectors()
    }
    vectors["server_unknown_widths"] = widths_vector()
    return vectors


def manifest(vectors: dict[str, bytes]) -> str:
    lines = [f"{name}.msgpack {len(data)}" for name, data in vectors.items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    vectors = all_vectors()
    expected = {f"{name}.msgpack": data for name, data in vectors.items()}
    expected["vectors.txt"] = manifest(vectors).encode()
    if args.check:
        stale = [
            name
            for name, data in expected.items()
            if not (HERE / name).is_file() or (HERE / name).read_bytes() != data
        ]
        extra = sorted(
            p.name
            for p in HERE.glob("*.msgpack")
            if p.name not in expected and not p.name.endswith(".meta")
        )
        if stale or extra:
            print(f"stale vectors: {stale}; unexpected files: {extra}", file=sys.stderr)
            print("regenerate with: python plugins/unity/Tests/vectors/make_vectors.py")
            return 1
        print(f"{len(vectors)} vectors up to date")
        return 0
    for name, data in expected.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(vectors)} vectors to {HERE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
