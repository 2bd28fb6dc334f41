"""The rig a session streams: a native rig, or one reached through a retargeting table.

The animator always drives a native rig (arkit52 or visemes); a session that
asked for Live Link, Face Cap, VRM or Oculus names gets each block converted
by its table, so every name set is one file under blendshapes/retarget/.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from merg_sdk.motion.animator import FaceBlock
from merg_sdk.motion.flame.mapping import FlameMapper
from merg_sdk.motion.retarget import ANGLE_SOURCES, Retarget, available_retargets, load_retarget
from merg_sdk.motion.rig import Rig, available_rigs, load_rig


@dataclass(frozen=True, slots=True)
class OutputRig:
    name: str
    names: tuple[str, ...]
    base: Rig
    """What the animator renders before conversion."""
    retarget: Retarget | None = None
    flame: FlameMapper | None = None
    """Set for `flame` sessions: blocks become FLAME parameters instead of weights."""

    def weights(self, block: FaceBlock) -> np.ndarray:
        if self.retarget is None:
            return block.weights
        return self.retarget.apply(block.weights, block.head, block.eyes)


def output_rigs(flame: FlameMapper | None = None) -> tuple[str, ...]:
    return (*available_rigs(), *available_retargets(), *(("flame",) if flame else ()))


def output_rig(name: str, flame: FlameMapper | None = None) -> OutputRig:
    """A native rig by name, a retargeting table by name, or `flame` when the server has a
    FLAME model; ValueError lists the choices."""
    if name == "flame" and flame is not None:
        names = tuple(f"expression{i}" for i in range(flame.n_expression))
        return OutputRig(name, names, load_rig("arkit52"), flame=flame)
    if name in available_rigs():
        rig = load_rig(name)
        return OutputRig(name, rig.names, rig)
    if name in available_retargets():
        table = load_retarget(name)
        base = next(s for s in table.sources if s not in ANGLE_SOURCES)
        return OutputRig(name, table.names, load_rig(base), table)
    raise ValueError(f"unknown rig {name!r}; available: {', '.join(output_rigs(flame))}")
