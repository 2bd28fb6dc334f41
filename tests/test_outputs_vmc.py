"""VMC output: every bundle decoded by a real python-osc server on loopback.

The expected preset names are typed out from the VMC protocol's Marionette spec
(VRM 0.x as UniVRM spells BlendShapePreset, VRM 1.0 expression presets).
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import AsyncIOOSCUDPServer

from merg_sdk.client.events import FaceFrames, TurnEnded, TurnStarted
from merg_sdk.motion.rig import load_rig
from merg_sdk.outputs import FacePose, Relay, VmcEncoder, VmcSink, rest_pose
from merg_sdk.outputs.vmc import unity_rotation

log = logging.getLogger(__name__)

ARKIT = tuple(load_rig("arkit52").names)
VRM0_PRESETS = {
    "Neutral", "A", "I", "U", "E", "O", "Blink", "Joy", "Angry", "Sorrow", "Fun",
    "LookUp", "LookDown", "LookLeft", "LookRight", "Blink_L", "Blink_R",
}  # fmt: skip
VRM1_PRESETS = {
    "happy", "angry", "sad", "relaxed", "surprised", "aa", "ih", "ou", "ee", "oh",
    "blink", "blinkLeft", "blinkRight", "lookUp", "lookDown", "lookLeft", "lookRight",
    "neutral",
}  # fmt: skip


class OscReceiver:
    """python-osc's asyncio UDP server on its own loop thread; keeps (address, args) in order."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, tuple]] = []
        dispatcher = Dispatcher()
        dispatcher.set_default_handler(lambda address, *args: self.messages.append((address, args)))
        self.loop = asyncio.new_event_loop()
        server = AsyncIOOSCUDPServer(("127.0.0.1", 0), dispatcher, self.loop)
        self.transport, _ = self.loop.run_until_complete(server.create_serve_endpoint())
        self.port = self.transport.get_extra_info("sockname")[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout_s: float = 3.0) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self) -> None:
        time.sleep(0.05)
        self.loop.call_soon_threadsafe(self.transport.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()

    def frames(self) -> list[list[tuple[str, tuple]]]:
        """Messages grouped per frame: each bundle opens with /VMC/Ext/OK."""
        groups: list[list[tuple[str, tuple]]] = []
        for message in self.messages:
            if message[0] == "/VMC/Ext/OK":
                groups.append([])
            groups[-1].append(message)
        return groups


@pytest.fixture()
def osc() -> Iterator[OscReceiver]:
    receiver = OscReceiver()
    yield receiver
    receiver.close()


def pose_with(**weights: float) -> FacePose:
    w = np.zeros(len(ARKIT), np.float32)
    for name, value in weights.items():
        w[ARKIT.index(name)] = value
    head = np.array([0.2, 0.3, -0.1], np.float32)  # down, to the avatar's left, to its left
    eyes = np.array([0.1, 0.25, 0.1, 0.25], np.float32)
    return FacePose(w, head, eyes, turn=1, frame=0)


def check_frame(frame: list[tuple[str, tuple]], presets: set[str]) -> dict[str, float]:
    addresses = [address for address, _ in frame]
    assert addresses[:2] == ["/VMC/Ext/OK", "/VMC/Ext/T"] and frame[0][1] == (1,)
    bones = [args for address, args in frame if address == "/VMC/Ext/Bone/Pos"]
    assert [b[0] for b in bones] == ["Head", "LeftEye", "RightEye"]
    for bone in bones:
        assert len(bone) == 8
        assert math.isclose(float(np.linalg.norm(bone[4:])), 1.0, abs_tol=1e-5)
    values = {args[0]: args[1] for address, args in frame if address == "/VMC/Ext/Blend/Val"}
    assert set(values) == presets and len(values) == addresses.count("/VMC/Ext/Blend/Val")
    assert addresses[-1] == "/VMC/Ext/Blend/Apply" and addresses.count("/VMC/Ext/Blend/Apply") == 1
    first_val = addresses.index("/VMC/Ext/Blend/Val")
    assert set(addresses[first_val:-1]) == {"/VMC/Ext/Blend/Val"}  # Vals, then Apply
    assert all(0.0 <= v <= 1.0 for v in values.values())
    return values


@pytest.mark.parametrize(("version", "presets"), [("vrm0", VRM0_PRESETS), ("vrm1", VRM1_PRESETS)])
def test_every_message_decodes_with_vrm_preset_names(osc, version, presets) -> None:
    sink = VmcSink("127.0.0.1", osc.port, VmcEncoder(version))
    poses = [pose_with(jawOpen=1.0), pose_with(mouthSmileLeft=1, mouthSmileRight=1), rest_pose()]
    for tick, pose in enumerate(poses):
        datagram = sink.encoder.encode(pose, tick / 60)
        assert len(datagram) < 1400  # one frame, one datagram, under any Ethernet MTU
        sink.send(pose, tick, 60, tick / 60)
    sink.close()
    per_frame = 2 + 3 + len(presets) + 1
    osc.wait_for(3 * per_frame)
    assert len(osc.messages) == 3 * per_frame
    frames = osc.frames()
    assert len(frames) == 3
    values = [check_frame(frame, presets) for frame in frames]
    mouth_open, smile, neutral = (
        ("A", "Joy", "Neutral") if version == "vrm0" else ("aa", "happy", "neutral")
    )
    assert values[0][mouth_open] == pytest.approx(1.0) and values[0][smile] == 0.0
    assert values[1][smile] > 0.5 and values[1][neutral] < 0.6
    assert values[2][neutral] == pytest.approx(1.0)  # rest: neutral, nothing else
    assert sum(v for k, v in values[2].items() if k != neutral) == 0.0
    assert [args[0] for address, args in osc.messages if address == "/VMC/Ext/T"] == pytest.approx(
        [0.0, 1 / 60, 2 / 60]
    )


def test_bone_rotations_are_unity_local_rotations(osc) -> None:
    sink = VmcSink("127.0.0.1", osc.port, VmcEncoder("vrm0", status=False))
    sink.send(pose_with(), 0, 60, 0.0)
    sink.close()
    osc.wait_for(3 + 17 + 1)
    bones = {args[0]: args[1:] for address, args in osc.messages if address == "/VMC/Ext/Bone/Pos"}
    head = np.array(bones["Head"][3:])
    assert head == pytest.approx(unity_rotation(0.2, 0.3, -0.1), abs=1e-6)
    assert np.array(bones["LeftEye"][:3])[0] < 0 < np.array(bones["RightEye"][:3])[0]
    # Unity: X right, Y up, Z forward; the face's forward after the head rotation
    forward = rotate(head, np.array([0.0, 0.0, 1.0]))
    assert forward[1] < 0  # pitch + nods down
    assert forward[0] < 0  # yaw + turns to the avatar's left (Unity's -X)
    right = rotate(head, np.array([1.0, 0.0, 0.0]))
    assert right[1] > 0  # roll -0.1 tilts towards the left shoulder: the right side rises


def test_unity_rotation_matches_euler_zxy() -> None:
    rng = np.random.default_rng(3)
    for pitch, yaw, roll in rng.uniform(-1.2, 1.2, size=(20, 3)):
        q = np.array(unity_rotation(pitch, yaw, roll))
        expected = axis(1, -yaw) @ axis(0, pitch) @ axis(2, -roll)  # Unity: z, then x, then y
        assert matrix(q) == pytest.approx(expected, abs=1e-9)
        assert np.linalg.norm(q) == pytest.approx(1.0)


def test_relay_streams_vmc_bundles_on_loopback(osc) -> None:
    relay = Relay(VmcSink("127.0.0.1", osc.port, VmcEncoder("vrm1")), fps=60)
    weights = np.zeros((30, len(ARKIT)), np.float32)
    weights[:, ARKIT.index("jawOpen")] = np.linspace(0.2, 1.0, 30)
    with relay:
        relay.feed(TurnStarted(1, "say"))
        relay.feed(FaceFrames(1, 0, 60, weights, ARKIT))
        relay.feed(TurnEnded(1, "done"))
        time.sleep(0.8)
    osc.wait_for(relay.sent * 24)
    frames = osc.frames()
    log.warning("vmc relay: %d bundles in %.2f s", relay.sent, relay.elapsed_s)
    assert len(frames) == relay.sent >= 20
    mouth = [check_frame(frame, VRM1_PRESETS)["aa"] for frame in frames]
    assert max(mouth) == pytest.approx(1.0) and mouth[-1] == 0.0


def test_encoder_refuses_unknown_versions() -> None:
    with pytest.raises(ValueError):
        VmcEncoder("vrm2")  # type: ignore[arg-type]


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return matrix(q) @ v


def matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def axis(index: int, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    if index == 0:
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    if index == 1:
        return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
