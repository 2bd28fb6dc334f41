"""Write vectors.msgpack: protocol frames encoded by the Python codec, for the C++ tests.

    .venv/bin/python plugins/cpp/tests/vectors/make_vectors.py [OUT]

The file is one MessagePack map:

- "client": {name: frame}. Client messages encoded with `merg_sdk.protocol.encode`;
  tests/test_codec.cpp encodes the same messages with merg::Encoder and compares bytes.
- "server": {name: frame}. Server messages; the C++ test decodes them, checks fields,
  and re-encodes them with msgpack-c (same bytes).
- "aliases": [[spelling, canonical ARKit name or nil], ...] from `canonical_arkit_name`.
- "livelink": frames converted by the `livelink` retargeting table, for
  merg::ArkitToLiveLink: {"names", "count", "arkit", "head", "eyes", "out"} (float32 LE
  bins).

The values below are mirrored in tests/test_codec.cpp and tests/test_rig.cpp: change
both together. tests/test_plugin_cpp.py checks that the committed file is up to date.
"""

from __future__ import annotations

import sys
from pathlib import Path

import msgpack
import numpy as np

from merg_sdk.motion.retarget import canonical_arkit_name, load_retarget
from merg_sdk.motion.rig import load_rig
from merg_sdk.protocol import (
    Audio,
    Error,
    Face,
    Hello,
    Interrupt,
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

SID = "dfvKTNaGvg7iC9ELU4k8QA"
HERE = Path(__file__).resolve().parent


def client_vectors() -> dict[str, bytes]:
    hello = Hello(client={"name": "merg-cpp", "version": "0.1.0", "engine": "cpp"})
    return {
        "hello": encode(hello, 1),
        "ping": encode(Ping(t=1795315014.51), 7),
        "ping_seq_uint8": encode(Ping(t=0.0), 200),
        "ping_seq_uint16": encode(Ping(t=-2.5), 300),
        "ping_seq_uint32": encode(Ping(t=1e-7), 70000),
        "session_open": encode(SessionOpen(rig="arkit52", fps=60, sample_rate=22050), 2),
        "session_open_full": encode(
            SessionOpen(
                rig="livelink",
                fps=120,
                sample_rate=48000,
                voice="en_US-joe-medium",
                language="en",
                avatar="companion",
            ),
            3,
        ),
        "session_open_resume": encode(SessionOpen(resume=SID), 4),
        "session_close": encode(SessionClose(sid=SID), 9),
        "say": encode(
            Say(
                sid=SID,
                text="Hello there, my friend. Maybe we should buy a map!",
                emotion="happy",
                intensity=0.8,
            ),
            3,
        ),
        "say_plain": encode(Say(sid=SID, text="Hi."), 5),
        "say_unicode": encode(Say(sid=SID, text="Grüße — ça va? 😀", intensity=0.0), 11),
        "say_long": encode(Say(sid=SID, text="la " * 100, emotion="calm"), 12),
        "user_text": encode(UserText(sid=SID, text="I had a rough day at work today."), 6),
        "interrupt": encode(Interrupt(sid=SID), 8),
        "playback": encode(Playback(sid=SID, turn=1, t=0.5), 10),
    }


def server_vectors() -> dict[str, bytes]:
    names = list(load_rig("arkit52").names)
    frames = 2
    weights = (np.arange(frames * len(names), dtype="<f4") / 100.0).astype("<f4")
    head = np.array([0.1, -0.2, 0.05, 0.11, -0.21, 0.06], dtype="<f4")
    eyes = np.array([0.01, 0.02, 0.03, 0.04, -0.01, -0.02, -0.03, -0.04], dtype="<f4")
    pcm = np.array([0, 1, -1, 32767, -32768, 1234, -4321, 7, 8, 9], dtype="<i2")
    capabilities = {
        "rigs": ["arkit52", "visemes", "livelink"],
        "voices": ["en_US-joe-medium"],
        "fps": [30, 60, 120],
        "sample_rates": [16000, 22050, 24000, 44100, 48000],
        "emotions": ["neutral", "happy"],
        "features": ["say", "interrupt", "ping", "resume", "head", "eyes"],
    }
    stats = {
        "first_audio_ms": 487.75,
        "first_face_ms": None,
        "audio_s": 3.0534,
        "samples": 67328,
        "frames": 184,
        "clauses": 2,
        "total_ms": 812.08,
    }
    return {
        "welcome": encode(
            Welcome(
                server={"name": "merg-sdk", "version": "0.1.0", "tts": "piper"},
                capabilities=capabilities,
            ),
            1,
        ),
        "pong": encode(Pong(t=1795315014.51, server_t=1795315014.8177), 3),
        "session_opened": encode(
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
        "session_closed": encode(SessionClosed(sid=SID, reason="resumed_elsewhere"), 44),
        "turn_start": encode(TurnStart(sid=SID, turn=1, source="say", ref=3), 5),
        "user_affect": encode(
            UserAffect(
                sid=SID,
                turn=2,
                emotion="sad",
                vad=[-0.5, 0.25, -0.125],
                confidence=0.75,
                by={"text": {"emotion": "sad", "vad": [-0.5, 0.25, -0.125], "confidence": 0.75}},
                fine_emotion="disappointed",
                cause="work",
            ),
            6,
        ),
        "reasoning": encode(
            Reasoning(sid=SID, turn=2, chain={"need": "comfort", "strategy": "Question"}), 7
        ),
        "safety": encode(
            Safety(sid=SID, turn=2, category="self_harm", severity="high", matched="hurt myself"),
            8,
        ),
        "reply": encode(
            Reply(
                sid=SID,
                turn=1,
                text="Hello there, my friend.",
                emotion="happy",
                intensity=0.8,
                final=False,
                t0=0,
                phonemes=[["", 0.0, 0.04644], ["h", 0.04644, 0.08127]],
            ),
            6,
        ),
        "audio": encode(Audio(sid=SID, turn=1, t0=4410, sample_rate=22050, pcm=pcm.tobytes()), 8),
        "face": encode(
            Face(
                sid=SID,
                turn=1,
                f0=12,
                fps=60,
                count=frames,
                weights=weights.tobytes(),
                head=head.tobytes(),
                eyes=eyes.tobytes(),
            ),
            7,
        ),
        "turn_end": encode(TurnEnd(sid=SID, turn=1, reason="done", stats=stats), 40),
        "error": encode(
            Error(code="unknown_session", message=f"no session {SID!r}", ref=10, sid=SID), 45
        ),
        "error_bare": encode(Error(code="internal", message="boom"), 46),
    }


ALIAS_SPELLINGS = [
    "eyeBlinkLeft",
    "EyeBlinkLeft",
    "eyeBlink_L",
    "eyeBlink.L",
    "eyeBlink-l",
    "eyeLookUp R",
    "blendShape1.eyeBlinkLeft",
    "Face:jawOpen",
    "a|b|cheekPuff",
    "JAW_OPEN",
    "jaw_open",
    "  tongueOut  ",
    "browDown_R",
    "mouthSmile_L",
    "mouthLeft",
    "MouthRight",
    "HeadYaw",
    "customMorph",
    "",
    "_L",
]


def alias_vectors() -> list[list[str | None]]:
    return [[spelling, canonical_arkit_name(spelling)] for spelling in ALIAS_SPELLINGS]


def livelink_vectors() -> dict[str, object]:
    rng = np.random.default_rng(7)
    count = 5
    arkit = rng.uniform(-0.1, 1.1, size=(count, 52)).astype("<f4")
    head = rng.uniform(-0.3, 0.3, size=(count, 3)).astype("<f4")
    eyes = rng.uniform(-0.3, 0.3, size=(count, 4)).astype("<f4")
    table = load_retarget("livelink")
    out = table.apply(arkit, head, eyes).astype("<f4")
    return {
        "names": list(table.names),
        "count": count,
        "arkit": arkit.tobytes(),
        "head": head.tobytes(),
        "eyes": eyes.tobytes(),
        "out": out.tobytes(),
    }


def build() -> bytes:
    vectors = {
        "client": client_vectors(),
        "server": server_vectors(),
        "aliases": alias_vectors(),
        "livelink": livelink_vectors(),
    }
    return msgpack.packb(vectors, use_bin_type=True)


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "vectors.msgpack"
    out.write_bytes(build())
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
