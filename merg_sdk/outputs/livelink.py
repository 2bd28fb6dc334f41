"""Live Link Face output: the UDP packets Epic's Live Link Face iOS app sends to Unreal.

Unreal's Apple ARKit Face Support plugin listens for these on UDP 11111 and
publishes each subject to Live Link, so a MetaHuman (or any face blueprint
reading the ARKit curves) follows the avatar with no plugin of ours. The byte
layout, version 6, network byte order (big-endian) throughout, as Unreal's
`FNboSerializeToBuffer` writes it (docs/integrations/livelink-face.md gives the
sources):

    uint8    packet version (6)
    int32    byte length, then UTF-8 bytes: device id (no terminator)
    int32    byte length, then UTF-8 bytes: subject name
    int32    frame number    \
    float32  subframe         | FQualifiedFrameTime
    int32    rate numerator   |
    int32    rate denominator/
    uint8    value count (61)
    float32  x 61 values, in the order of Unreal's EARFaceBlendShape enum:
             the 52 ARKit shapes in Apple's order (PascalCase), then HeadYaw,
             HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll,
             RightEyeYaw, RightEyePitch, RightEyeRoll

Values come from the `livelink` retargeting table (its signs and units are
documented there); the table lists them in the app's CSV column order, so the
packet order is derived by name from the `arkit52` rig, never by position.
"""

from __future__ import annotations

import math
import socket
import struct
import uuid
from functools import cache
from typing import Literal

import numpy as np

from merg_sdk.motion.retarget import Retarget, load_retarget
from merg_sdk.outputs.pose import FacePose, arkit_names

PACKET_VERSION = 6
DEFAULT_PORT = 11111
VALUE_COUNT = 61
MAX_NAME_BYTES = 255
"""Unreal's receive buffer holds 256 characters per name; longer names lose the packet."""

RotationUnit = Literal["radian", "normalized"]
"""`radian`: the table's radians (the app's unit, see the doc). `normalized`: radians / pi,
i.e. degrees / 180 in [-1, 1], the scale of Epic's older in-engine ARKit source."""


@cache
def packet_order() -> tuple[str, ...]:
    """The 61 names in packet order: ARKit's 52 (PascalCase), then the 9 rotations."""
    table = load_retarget("livelink")
    shapes = tuple(name[0].upper() + name[1:] for name in arkit_names())
    rotations = tuple(n for n in table.names if table.units[table.index(n)] == "radian")
    order = shapes + rotations
    if len(order) != VALUE_COUNT or sorted(order) != sorted(table.names):
        raise ValueError(
            f"the livelink table does not hold the {VALUE_COUNT} Live Link Face values "
            f"(ARKit shapes + rotations): got {len(order)}"
        )
    return order


class LiveLinkFaceEncoder:
    """Turns poses into Live Link Face packets for one subject."""

    def __init__(
        self,
        subject: str = "MERG",
        device_id: str | None = None,
        rotation_unit: RotationUnit = "radian",
    ) -> None:
        self.subject = _name(subject, "subject")
        self.device_id = _name(device_id or str(uuid.uuid4()).upper(), "device id")
        if rotation_unit not in ("radian", "normalized"):
            raise ValueError(f"rotation_unit must be 'radian' or 'normalized': {rotation_unit}")
        self.table: Retarget = load_retarget("livelink")
        order = packet_order()
        self._columns = np.array([self.table.index(n) for n in order], dtype=np.intp)
        self._scale = np.ones(VALUE_COUNT, np.float32)
        if rotation_unit == "normalized":
            rotation = [self.table.units[c] == "radian" for c in self._columns]
            self._scale[np.array(rotation)] = 1.0 / math.pi
        self._header = (
            struct.pack(">B", PACKET_VERSION) + _string(self.device_id) + _string(self.subject)
        )

    def values(self, pose: FacePose) -> np.ndarray:
        """The 61 float32 values of `pose`, in packet order."""
        row = self.table.apply(pose.weights[None, :], pose.head[None, :], pose.eyes[None, :])[0]
        return (row[self._columns] * self._scale).astype(np.float32)

    def encode(self, pose: FacePose, frame_number: int, fps: int, subframe: float = 0.0) -> bytes:
        """One packet: `frame_number` at `fps` frames per second (rate fps/1)."""
        time = struct.pack(">ifii", frame_number & 0x7FFFFFFF, subframe, fps, 1)
        body = struct.pack(">B", VALUE_COUNT) + self.values(pose).astype(">f4").tobytes()
        return self._header + time + body


class LiveLinkSink:
    """Sends each pose as one Live Link Face packet to `host:port` (a relay sink)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        encoder: LiveLinkFaceEncoder | None = None,
    ) -> None:
        self.address = (host, port)
        self.encoder = encoder or LiveLinkFaceEncoder()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)

    def send(self, pose: FacePose, tick: int, fps: int, t: float) -> None:
        self._socket.sendto(self.encoder.encode(pose, tick, fps), self.address)

    def close(self) -> None:
        self._socket.close()


def _name(value: str, what: str) -> str:
    if not value or len(value.encode()) > MAX_NAME_BYTES:
        raise ValueError(f"the {what} must be 1 to {MAX_NAME_BYTES} UTF-8 bytes: {value!r}")
    return value


def _string(value: str) -> bytes:
    data = value.encode()
    return struct.pack(">i", len(data)) + data
