"""Live Link Face output: packets decoded by an independent reader, paced turns, a real relay.

The reader below is written from the documented layout (docs/integrations/
livelink-face.md), not from the encoder, and the 61 names are typed out in the
order of Unreal's EARFaceBlendShape enum.
"""

from __future__ import annotations

import logging
import math
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest

from merg_sdk.client.events import FaceFrames, TurnEnded, TurnStarted
from merg_sdk.motion.rig import load_rig
from merg_sdk.outputs import (
    FacePose,
    LiveLinkFaceEncoder,
    LiveLinkSink,
    ObserverSource,
    Relay,
    TurnTimeline,
    observer_endpoint,
)
from merg_sdk.protocol import Face, SessionOpened, TurnEnd, TurnStart, encode

log = logging.getLogger(__name__)

UNREAL_ORDER = (
    "EyeBlinkLeft EyeLookDownLeft EyeLookInLeft EyeLookOutLeft EyeLookUpLeft EyeSquintLeft "
    "EyeWideLeft EyeBlinkRight EyeLookDownRight EyeLookInRight EyeLookOutRight EyeLookUpRight "
    "EyeSquintRight EyeWideRight JawForward JawLeft JawRight JawOpen MouthClose MouthFunnel "
    "MouthPucker MouthLeft MouthRight MouthSmileLeft MouthSmileRight MouthFrownLeft "
    "MouthFrownRight MouthDimpleLeft MouthDimpleRight MouthStretchLeft MouthStretchRight "
    "MouthRollLower MouthRollUpper MouthShrugLower MouthShrugUpper MouthPressLeft "
    "MouthPressRight MouthLowerDownLeft MouthLowerDownRight MouthUpperUpLeft MouthUpperUpRight "
    "BrowDownLeft BrowDownRight BrowInnerUp BrowOuterUpLeft BrowOuterUpRight CheekPuff "
    "CheekSquintLeft CheekSquintRight NoseSneerLeft NoseSneerRight TongueOut HeadYaw HeadPitch "
    "HeadRoll LeftEyeYaw LeftEyePitch LeftEyeRoll RightEyeYaw RightEyePitch RightEyeRoll"
).split()
ARKIT = tuple(load_rig("arkit52").names)


@dataclass
class Packet:
    version: int
    device_id: str
    subject: str
    frame: int
    subframe: float
    rate: tuple[int, int]
    values: dict[str, float]


def read_packet(data: bytes) -> Packet:
    """Big-endian: u8 version, i32-prefixed device id and subject, i32 frame, f32 subframe,
    i32/i32 rate, u8 count, count x f32."""
    offset = 0

    def take(fmt: str) -> tuple:
        nonlocal offset
        values = struct.unpack_from(fmt, data, offset)
        offset += struct.calcsize(fmt)
        return values

    def text() -> str:
        nonlocal offset
        (length,) = take(">i")
        value = data[offset : offset + length].decode()
        offset += length
        return value

    (version,) = take(">B")
    device_id, subject = text(), text()
    frame, subframe, numerator, denominator = take(">ifii")
    (count,) = take(">B")
    values = take(f">{count}f")
    assert offset == len(data), "trailing bytes"
    return Packet(
        version,
        device_id,
        subject,
        frame,
        subframe,
        (numerator, denominator),
        dict(zip(UNREAL_ORDER, values, strict=True)),
    )


def distinct_pose() -> FacePose:
    weights = np.arange(1, 53, dtype=np.float32) / 100  # shape i -> (i + 1) / 100
    head = np.array([0.1, 0.2, 0.3], np.float32)  # pitch, yaw, roll
    eyes = np.array([0.05, -0.15, 0.06, -0.16], np.float32)
    return FacePose(weights, head, eyes, turn=1, frame=0)


class UdpReceiver:
    """A loopback UDP socket that keeps every datagram, read on its own thread."""

    def __init__(self) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.socket.bind(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.datagrams: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.datagrams.append(self.socket.recv(65536))
            except TimeoutError:
                continue

    def close(self) -> None:
        time.sleep(0.05)  # the last datagrams in flight
        self._stop.set()
        self._thread.join()
        self.socket.close()


@pytest.fixture()
def receiver() -> Iterator[UdpReceiver]:
    udp = UdpReceiver()
    yield udp
    udp.close()


# --- the packet ---------------------------------------------------------------------------


def test_packet_round_trip_on_loopback(receiver: UdpReceiver) -> None:
    encoder = LiveLinkFaceEncoder(subject="Avatar", device_id="1234-ABCD")
    sink = LiveLinkSink("127.0.0.1", receiver.port, encoder)
    pose = distinct_pose()
    for tick in range(3):
        sink.send(pose, tick, 60, tick / 60)
    sink.close()
    deadline = time.monotonic() + 2
    while len(receiver.datagrams) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    packets = [read_packet(d) for d in receiver.datagrams]
    assert [p.frame for p in packets] == [0, 1, 2]
    first = packets[0]
    assert (first.version, first.device_id, first.subject) == (6, "1234-ABCD", "Avatar")
    assert first.rate == (60, 1) and first.subframe == 0.0
    # the 52 shapes in Unreal's order: Apple's, so shape i carries (i + 1) / 100
    for i, name in enumerate(ARKIT):
        unreal = UNREAL_ORDER[i]
        assert unreal.lower() == name.lower()
        assert first.values[unreal] == pytest.approx((i + 1) / 100, abs=1e-6)
    assert first.values["JawLeft"] == pytest.approx((ARKIT.index("jawLeft") + 1) / 100)
    assert first.values["MouthRight"] == pytest.approx((ARKIT.index("mouthRight") + 1) / 100)
    # rotations in radians; yaw is negated (the SDK's yaw is + to the avatar's left)
    expected = {
        "HeadYaw": -0.2, "HeadPitch": 0.1, "HeadRoll": 0.3,
        "LeftEyeYaw": 0.15, "LeftEyePitch": 0.05, "LeftEyeRoll": 0.0,
        "RightEyeYaw": 0.16, "RightEyePitch": 0.06, "RightEyeRoll": 0.0,
    }  # fmt: skip
    for name, value in expected.items():
        assert first.values[name] == pytest.approx(value, abs=1e-6), name


def test_normalized_rotations_and_names() -> None:
    pose = distinct_pose()
    packet = read_packet(LiveLinkFaceEncoder(rotation_unit="normalized").encode(pose, 7, 30))
    assert packet.frame == 7 and packet.rate == (30, 1)
    assert packet.values["HeadPitch"] == pytest.approx(0.1 / math.pi, abs=1e-6)
    assert packet.values["JawOpen"] == pytest.approx((ARKIT.index("jawOpen") + 1) / 100)
    assert len(packet.device_id) == 36  # a UUID, as the app sends
    with pytest.raises(ValueError):
        LiveLinkFaceEncoder(subject="")
    with pytest.raises(ValueError):
        LiveLinkFaceEncoder(rotation_unit="degrees")  # type: ignore[arg-type]


# --- pacing on the turn timeline ----------------------------------------------------------


def frames(turn: int, f0: int, count: int, fps: int = 60, names=ARKIT) -> FaceFrames:
    """Frame f carries jawOpen = f / 1000, so a sample tells which frame is on show."""
    weights = np.zeros((count, len(names)), np.float32)
    column = [n.lower() for n in names].index("jawopen")
    weights[:, column] = np.arange(f0, f0 + count) / 1000
    return FaceFrames(turn, f0, fps, weights, tuple(names))


def jaw(pose: FacePose) -> float:
    return round(float(pose.weights[ARKIT.index("jawOpen")]) * 1000)


def test_timeline_shows_frame_i_at_i_over_fps() -> None:
    timeline = TurnTimeline()
    timeline.feed(TurnStarted(1, "say"), now=10.0)
    assert timeline.pose_at(10.0).at_rest  # nothing received yet
    timeline.feed(frames(1, 0, 30), now=10.5)  # the clock starts with the first frames
    timeline.feed(frames(1, 30, 30), now=10.51)  # faster than real time
    assert jaw(timeline.pose_at(10.5)) == 0
    assert jaw(timeline.pose_at(10.5 + 10.5 / 60)) == 10
    assert jaw(timeline.pose_at(10.5 + 45.2 / 60)) == 45
    assert timeline.pose_at(10.5 + 45.2 / 60).frame == 45
    assert jaw(timeline.pose_at(10.5 + 80 / 60)) == 59  # the server is behind: hold
    timeline.feed(TurnEnded(1, "done"), now=11.0)
    assert timeline.pose_at(10.5 + 80 / 60).at_rest  # played out
    assert timeline.playing is None


def test_timeline_resets_on_turn_start_and_drops_interrupted_turns() -> None:
    timeline = TurnTimeline(delay_s=0.1)
    timeline.feed(TurnStarted(1, "say"), now=0.0)
    timeline.feed(frames(1, 0, 120), now=0.0)
    assert timeline.pose_at(0.05).at_rest  # the delay holds the turn back
    assert jaw(timeline.pose_at(0.1 + 20 / 60)) == 20
    timeline.feed(TurnStarted(2, "say"), now=1.0)  # the next turn replaces it
    timeline.feed(frames(1, 120, 10), now=1.0)  # late frames of the old turn: ignored
    assert timeline.pose_at(1.0).at_rest
    timeline.feed(frames(2, 0, 120), now=1.0)
    assert jaw(timeline.pose_at(1.1 + 5 / 60)) == 5 and timeline.playing == 2
    timeline.feed(TurnEnded(2, "interrupted"), now=1.2)
    assert timeline.pose_at(1.2).at_rest and timeline.turns_dropped == 1
    timeline.feed(frames(2, 120, 10), now=1.2)  # in flight before the interrupt
    assert timeline.pose_at(1.3).at_rest


def test_timeline_joins_mid_turn_and_reads_other_spellings() -> None:
    livelink_names = tuple(n[0].upper() + n[1:] for n in reversed(ARKIT))
    timeline = TurnTimeline()
    timeline.feed(frames(4, 300, 60, names=livelink_names), now=5.0)  # no turn.start seen
    pose = timeline.pose_at(5.0 + 10 / 60)
    assert (pose.turn, pose.frame, jaw(pose)) == (4, 310, 310)


# --- the relay on loopback ----------------------------------------------------------------


def test_relay_sends_60_fps_on_loopback_without_loss(receiver: UdpReceiver) -> None:
    relay = Relay(LiveLinkSink("127.0.0.1", receiver.port), fps=60)
    with relay:
        relay.feed(TurnStarted(1, "say"))
        relay.feed(frames(1, 0, 60))
        relay.feed(frames(1, 60, 30))
        relay.feed(TurnEnded(1, "done"))
        time.sleep(2.0)
    receiver.close()
    packets = [read_packet(d) for d in receiver.datagrams]
    rate = relay.sent / relay.elapsed_s
    log.warning(
        "relay: %d packets in %.3f s = %.1f packets/s (60 asked), %d resyncs",
        relay.sent, relay.elapsed_s, rate, relay.resyncs,
    )  # fmt: skip
    assert len(packets) == relay.sent >= 60  # nothing lost on loopback
    assert [p.frame for p in packets] == list(range(len(packets)))  # contiguous
    jaws = [round(p.values["JawOpen"] * 1000) for p in packets]
    shown = [j for j in jaws if j > 0]
    assert shown == sorted(shown) and max(shown) >= 85  # the turn, in order, at its pace
    assert len(shown) >= 60  # 1.5 s of frames shown over about 1.5 s of packets
    assert jaws[-1] == 0  # back to rest after it


# --- the observer source ------------------------------------------------------------------


def test_observer_source_reads_rig_names_from_session_opened() -> None:
    got: list = []
    source = ObserverSource("tcp://127.0.0.1:9", "s1", got.append)
    try:
        names = tuple(reversed(ARKIT))
        rig = {"name": "custom", "names": list(names)}
        source.handle(encode(SessionOpened("s1", rig, 60, 22050, "v"), 0))
        source.handle(encode(TurnStart(sid="s1", turn=3, source="say"), 1))
        face = frames(3, 0, 2, names=names)
        source.handle(encode(Face("s1", 3, 0, 60, 2, face.weights.tobytes()), 2))
        source.handle(encode(TurnEnd(sid="s1", turn=3, reason="done", stats={}), 3))
        source.handle(b"\x93garbage")
    finally:
        source.stop()
    assert [type(e).__name__ for e in got] == ["TurnStarted", "FaceFrames", "TurnEnded"]
    assert got[1].names == names and got[1].column("jawOpen").tolist() == pytest.approx(
        [0.0, 0.001]
    )


# --- end to end: a server with its observer stream, a `say` turn, a relay -----------------


@pytest.fixture(scope="module")
def observed_server(tts):
    from merg_sdk.server import ServerConfig, ServerThread
    from merg_sdk.server.config import EmpathyConfig

    config = ServerConfig(port=0, observer=True, empathy=EmpathyConfig(enabled=False))
    with ServerThread(config, tts=tts) as running:
        yield running


def test_relay_follows_a_spoken_turn_end_to_end(observed_server, receiver) -> None:
    from merg_sdk.client import MergClient

    endpoint = observer_endpoint(observed_server.endpoint)
    with MergClient(observed_server.endpoint, timeout_s=30) as client:
        session = client.open_session(rig="arkit52", fps=60)
        relay = Relay(LiveLinkSink("127.0.0.1", receiver.port), fps=60)
        source = ObserverSource(endpoint, session.sid, relay.feed).start()
        try:
            with relay:
                deadline = time.monotonic() + 10
                while source.opened is None and time.monotonic() < deadline:
                    time.sleep(0.01)  # the server describes the session to a new watcher
                assert source.opened is not None and source.opened.sid == session.sid
                result = session.say("Open wide and say ah.").collect()
                time.sleep(result.audio_s + 0.3)  # the relay plays the turn in real time
        finally:
            source.stop()
    jaws = np.array([read_packet(d).values["JawOpen"] for d in receiver.datagrams])
    log.warning(
        "end to end: %d packets, turn %.2f s, jawOpen peak %.2f", len(jaws), result.audio_s,
        jaws.max(),
    )  # fmt: skip
    assert result.reason == "done"
    assert len(jaws) == relay.sent
    assert jaws.max() > 0.2 and np.count_nonzero(jaws > 0.05) >= 0.3 * result.audio_s * 60
    assert np.abs(np.diff(jaws)).max() > 0.01  # a moving jaw, not a held frame


def test_cli_relays_a_watched_session(observed_server, receiver) -> None:
    from typer.testing import CliRunner

    from merg_sdk.client import MergClient
    from merg_sdk.outputs.cli import relay_app

    with MergClient(observed_server.endpoint, timeout_s=30) as client:
        sid = client.open_session(rig="arkit52", fps=60).sid
        arguments = ["livelink", "--session", sid, "--server", observed_server.endpoint]
        arguments += ["--to", f"127.0.0.1:{receiver.port}", "--fps", "30", "--seconds", "1"]
        arguments += ["--subject", "Cli"]
        result = CliRunner().invoke(relay_app, arguments)
    assert result.exit_code == 0, result.output
    assert "relaying session" in result.output and "packets" in result.output
    packets = [read_packet(d) for d in receiver.datagrams]
    assert 15 <= len(packets) <= 40 and {p.subject for p in packets} == {"Cli"}
    assert {p.rate for p in packets} == {(30, 1)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10.0.0.2:7000", ("10.0.0.2", 7000)), ("studio", ("studio", 11111)), ("[::1]:9", ("::1", 9))],
)
def test_cli_addresses(text: str, expected: tuple[str, int]) -> None:
    from merg_sdk.outputs.cli import parse_address

    assert parse_address(text, 11111) == expected
