"""The face's vocabulary on arkit52: one pose per viseme, one overlay per emotion.

Both tables are data (`viseme_arkit.yaml`, `emotions.yaml`) checked against
the arkit52 rig when loaded, so retuning a face never means editing code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field

from merg_sdk.data import blendshapes_file
from merg_sdk.motion.rig import load_rig, weight_table


class _PoseFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rig: str = "arkit52"
    poses: dict[str, dict[str, float] | None]


Unit = Annotated[float, Field(ge=-1.0, le=1.0)]


class _EmotionFile(_PoseFile):
    speech_yield: float = Field(default=0.6, ge=0.0, le=1.0)
    articulated: list[str] = []
    vad: dict[str, tuple[Unit, Unit, Unit]] = {}


def _read(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def viseme_poses(path: Path | None = None) -> np.ndarray:
    """The viseme -> arkit52 matrix [15, 52], rows in the visemes rig's order."""
    spec = _PoseFile.model_validate(_read(path or blendshapes_file("viseme_arkit.yaml")))
    visemes = load_rig("visemes").names
    missing = set(visemes) ^ set(spec.poses)
    if missing:
        raise ValueError(f"viseme poses must list exactly the 15 visemes; differs in {missing}")
    poses = {v: spec.poses[v] or {} for v in visemes}
    return weight_table(poses, load_rig(spec.rig))[1]


@dataclass(frozen=True, slots=True)
class EmotionTable:
    """Emotion overlays [n, 52] plus which channels yield to speech, and by how much."""

    names: tuple[str, ...]
    poses: np.ndarray
    articulated: np.ndarray  # bool [52]: mouth channels that yield while speaking
    speech_yield: float
    vad: dict[str, tuple[float, float, float]]

    def arousal(self, name: str, intensity: float = 1.0) -> float:
        """How activated the emotion is, scaled by intensity (0 for unlisted emotions)."""
        return self.vad.get(name, (0.0, 0.0, 0.0))[1] * intensity

    def pose(self, name: str) -> np.ndarray:
        """The overlay for `name` at intensity 1; ValueError names the valid choices."""
        if name not in self.names:
            raise ValueError(f"unknown emotion {name!r}; expected one of: {', '.join(self.names)}")
        return self.poses[self.names.index(name)]


@cache
def load_emotions(path: Path | None = None) -> EmotionTable:
    """Load and validate an emotions file (the shipped one by default)."""
    spec = _EmotionFile.model_validate(_read(path or blendshapes_file("emotions.yaml")))
    rig = load_rig(spec.rig)
    if "neutral" not in spec.poses:
        raise ValueError("emotions must include 'neutral'")
    names, table = weight_table({k: v or {} for k, v in spec.poses.items()}, rig)
    articulated = np.zeros(len(rig.names), dtype=bool)
    for name in spec.articulated:
        if name not in rig.names:
            raise ValueError(f"articulated: {name!r} is not a {rig.name} name")
        articulated[rig.index(name)] = True
    unknown = set(spec.vad) - set(names)
    if unknown:
        raise ValueError(f"vad lists emotions with no pose: {sorted(unknown)}")
    return EmotionTable(names, table, articulated, spec.speech_yield, dict(spec.vad))
