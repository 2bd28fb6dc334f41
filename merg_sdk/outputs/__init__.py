"""Outputs: the avatar's face streamed to tools that already exist, with no plugin.

A `Relay` paces a session's face frames on the turn timeline and sends them at a
steady rate through a sink: `LiveLinkSink` (Unreal's Live Link Face UDP packets,
for MetaHumans) or `VmcSink` (the VMC protocol over OSC, for VRM apps such as
VSeeFace, Warudo and EVMC4U). Frames come from a session watched on the
server's observer stream (`ObserverSource`) or from a client's own turns
(`forward(turn, relay.feed)`). `merg relay livelink|vmc` wires it all up.

Names load on first use, so mounting the CLI costs `merg --help` nothing.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from merg_sdk.outputs.livelink import LiveLinkFaceEncoder, LiveLinkSink
    from merg_sdk.outputs.pose import FacePose, rest_pose
    from merg_sdk.outputs.relay import Relay, Sink
    from merg_sdk.outputs.source import ObserverSource, aforward, forward, observer_endpoint
    from merg_sdk.outputs.timeline import TurnTimeline
    from merg_sdk.outputs.vmc import VmcEncoder, VmcSink

_HOME = {
    "LiveLinkFaceEncoder": "livelink",
    "LiveLinkSink": "livelink",
    "FacePose": "pose",
    "rest_pose": "pose",
    "Relay": "relay",
    "Sink": "relay",
    "ObserverSource": "source",
    "aforward": "source",
    "forward": "source",
    "observer_endpoint": "source",
    "TurnTimeline": "timeline",
    "VmcEncoder": "vmc",
    "VmcSink": "vmc",
}

__all__ = [
    "FacePose",
    "LiveLinkFaceEncoder",
    "LiveLinkSink",
    "ObserverSource",
    "Relay",
    "Sink",
    "TurnTimeline",
    "VmcEncoder",
    "VmcSink",
    "aforward",
    "forward",
    "observer_endpoint",
    "rest_pose",
]


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"merg_sdk.outputs.{_HOME[name]}"), name)
