"""VMC protocol output: OSC over UDP to VRM apps (VSeeFace, Warudo, EVMC4U in Unity).

Per frame, one OSC bundle, in the order a VMC performer sends it:
`/VMC/Ext/OK 1` (a model is loaded), `/VMC/Ext/T` (seconds since start),
`/VMC/Ext/Bone/Pos` for Head, LeftEye and RightEye, every VRM expression as
`/VMC/Ext/Blend/Val name value`, then `/VMC/Ext/Blend/Apply`, which UniVRM
needs to apply the values accumulated before it. One bundle keeps a frame in
one datagram (about 1 KB), so a receiver never applies half a frame.

Expressions come from the `vrm0` or `vrm1` retargeting table, under the names
the VMC protocol uses (`blendshapes/retarget/vmc/presets.yaml`). Bone rotations
are local rotations from the rest pose in Unity's left-handed axes (X to the
avatar's right, Y up, Z forward), as VMC carries them: the SDK's angles are
right-handed (glTF's axes, X to the avatar's left), so a rotation
(x, y, z, w) there is (x, -y, -z, w) here, and the result equals Unity's
`Quaternion.Euler(pitch, -yaw, -roll)` (degrees; roll, then pitch, then yaw).
"""

from __future__ import annotations

import math
import socket
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, field_validator
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from merg_sdk.data import blendshapes_file
from merg_sdk.motion.retarget import Retarget, load_retarget
from merg_sdk.outputs.pose import FacePose

DEFAULT_PORT = 39539
VrmVersion = Literal["vrm0", "vrm1"]
BONES = ("Head", "LeftEye", "RightEye")


class _Presets(BaseModel):
    model_config = ConfigDict(extra="forbid")
    blend: dict[str, str]


class _PresetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    vrm0: _Presets
    vrm1: _Presets
    bones: dict[str, tuple[float, float, float]]

    @field_validator("bones")
    @classmethod
    def _all_bones(cls, value: dict[str, tuple[float, float, float]]) -> Any:
        if set(value) != set(BONES):
            raise ValueError(f"bones must give exactly {list(BONES)}, got {sorted(value)}")
        if not all(math.isfinite(x) for xyz in value.values() for x in xyz):
            raise ValueError("bone positions must be finite")
        return value


@dataclass(frozen=True, slots=True)
class VmcNames:
    """A validated table: its outputs in order, the VMC name of each, the bone positions."""

    table: Retarget
    names: tuple[str, ...]
    bone_positions: dict[str, tuple[float, float, float]]


@cache
def vmc_names(version: VrmVersion) -> VmcNames:
    """The `version` table with the VMC spelling of every output (checked against it)."""
    raw = yaml.safe_load(blendshapes_file("retarget/vmc/presets.yaml").read_text("utf-8"))
    spec = _PresetsFile.model_validate(raw)
    table = load_retarget(version)
    blend = getattr(spec, version).blend
    if set(blend) != set(table.names):
        missing, extra = set(table.names) - set(blend), set(blend) - set(table.names)
        raise ValueError(
            f"vmc presets for {version} must name every table output: missing "
            f"{sorted(missing)}, unknown {sorted(extra)}"
        )
    if len(set(blend.values())) != len(blend):
        raise ValueError(f"vmc presets for {version} send two outputs under one name")
    return VmcNames(table, tuple(blend[n] for n in table.names), dict(spec.bones))


def unity_rotation(pitch: float, yaw: float, roll: float) -> tuple[float, float, float, float]:
    """The SDK's (pitch + down, yaw + avatar's left, roll + right shoulder, radians) as a
    Unity local rotation (x, y, z, w): `Quaternion.Euler(pitch, -yaw, -roll)` in degrees."""
    x, y, z = pitch, -yaw, -roll
    cx, sx = math.cos(x / 2), math.sin(x / 2)
    cy, sy = math.cos(y / 2), math.sin(y / 2)
    cz, sz = math.cos(z / 2), math.sin(z / 2)
    # q = qy * qx * qz (Unity applies z, then x, then y)
    return (
        cy * sx * cz + sy * cx * sz,
        sy * cx * cz - cy * sx * sz,
        cy * cx * sz - sy * sx * cz,
        cy * cx * cz + sy * sx * sz,
    )


class VmcEncoder:
    """Turns poses into one OSC bundle per frame (bytes)."""

    def __init__(
        self,
        version: VrmVersion = "vrm0",
        *,
        bones: bool = True,
        status: bool = True,
        bone_positions: dict[str, tuple[float, float, float]] | None = None,
    ) -> None:
        if version not in ("vrm0", "vrm1"):
            raise ValueError(f"version must be 'vrm0' or 'vrm1', got {version!r}")
        spec = vmc_names(version)
        self.version = version
        self.table = spec.table
        self.names = spec.names
        self.bones = bones
        self.status = status
        self.bone_positions = {**spec.bone_positions, **(bone_positions or {})}

    def messages(self, pose: FacePose, t: float) -> list[tuple[str, list[Any]]]:
        """The frame's messages as (address, arguments), in sending order."""
        out: list[tuple[str, list[Any]]] = []
        if self.status:
            out += [("/VMC/Ext/OK", [1]), ("/VMC/Ext/T", [float(t)])]
        if self.bones:
            pitch, yaw, roll = (float(a) for a in pose.head)
            lp, ly, rp, ry = (float(a) for a in pose.eyes)
            for bone, angles in (
                ("Head", (pitch, yaw, roll)),
                ("LeftEye", (lp, ly, 0.0)),
                ("RightEye", (rp, ry, 0.0)),
            ):
                position = [float(v) for v in self.bone_positions[bone]]
                out.append(("/VMC/Ext/Bone/Pos", [bone, *position, *unity_rotation(*angles)]))
        values = self.table.apply(pose.weights[None, :])[0]
        pairs = zip(self.names, values, strict=True)
        out += [("/VMC/Ext/Blend/Val", [name, float(value)]) for name, value in pairs]
        out.append(("/VMC/Ext/Blend/Apply", []))
        return out

    def encode(self, pose: FacePose, t: float) -> bytes:
        """The frame as one OSC bundle (timetag: immediately)."""
        bundle = OscBundleBuilder(IMMEDIATELY)
        for address, arguments in self.messages(pose, t):
            bundle.add_content(_message(address, arguments))
        return bundle.build().dgram


class VmcSink:
    """Sends each pose as one VMC bundle to `host:port` (a relay sink)."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, encoder: VmcEncoder | None = None
    ) -> None:
        self.address = (host, port)
        self.encoder = encoder or VmcEncoder()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_DGRAM)

    def send(self, pose: FacePose, tick: int, fps: int, t: float) -> None:
        self._socket.sendto(self.encoder.encode(pose, t), self.address)

    def close(self) -> None:
        self._socket.close()


def _message(address: str, arguments: list[Any]) -> Any:
    builder = OscMessageBuilder(address)
    for value in arguments:
        kind = (
            OscMessageBuilder.ARG_TYPE_STRING
            if isinstance(value, str)
            else OscMessageBuilder.ARG_TYPE_INT
            if isinstance(value, int)
            else OscMessageBuilder.ARG_TYPE_FLOAT
        )
        builder.add_arg(value, kind)
    return builder.build()
