"""Rigs (ordered controller names) and the named weight tables keyed by them.

Every number the motion stage emits is a column of some rig, so names are
data under `blendshapes/rigs/`, validated once here: a typo in a pose table
would otherwise silently drive nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from merg_sdk.data import blendshapes_dir, blendshapes_file


class _RigFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    range: tuple[float, float] = (0.0, 1.0)
    names: list[str]

    @field_validator("names")
    @classmethod
    def _unique_non_empty(cls, names: list[str]) -> list[str]:
        if not names:
            raise ValueError("a rig needs at least one name")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate rig names: {dupes}")
        if any(not n for n in names):
            raise ValueError("rig names must be non-empty strings")
        return names

    @model_validator(mode="after")
    def _range_ordered(self) -> _RigFile:
        if self.range[0] >= self.range[1]:
            raise ValueError(f"rig range must be increasing, got {self.range}")
        return self


@dataclass(frozen=True, slots=True)
class Rig:
    """An ordered set of controller names: the columns of every face frame."""

    name: str
    names: tuple[str, ...]
    description: str = ""
    value_range: tuple[float, float] = (0.0, 1.0)

    def index(self, name: str) -> int:
        """Column of `name`, with a clear error for names this rig lacks."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{name!r} is not a {self.name} name") from None


def available_rigs() -> tuple[str, ...]:
    """Names of the rigs shipped under `blendshapes/rigs/`."""
    return tuple(sorted(p.stem for p in (blendshapes_dir() / "rigs").glob("*.yaml")))


def load_rig_file(path: Path) -> Rig:
    """Load and validate one rig file (any path; tests use temp files)."""
    spec = _RigFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    return Rig(spec.name, tuple(spec.names), spec.description.strip(), spec.range)


@cache
def load_rig(name: str) -> Rig:
    """A shipped rig by name ("arkit52", "visemes"); cached, rigs are immutable."""
    if name not in available_rigs():
        raise ValueError(f"unknown rig {name!r}; available: {', '.join(available_rigs())}")
    return load_rig_file(blendshapes_file(f"rigs/{name}.yaml"))


def weight_table(
    poses: dict[str, dict[str, float]], rig: Rig
) -> tuple[tuple[str, ...], np.ndarray]:
    """Named sparse poses -> (row names, dense float64 matrix [rows, len(rig.names)]).

    Unknown controller names and weights outside the rig's range are errors,
    so a misspelt `mouthSmileLeft` fails at load time, not silently on screen.
    """
    lo, hi = rig.value_range
    table = np.zeros((len(poses), len(rig.names)))
    for row, (key, pose) in enumerate(poses.items()):
        for name, value in (pose or {}).items():
            if name not in rig.names:
                raise ValueError(f"pose {key!r}: {name!r} is not a {rig.name} name")
            if not lo <= value <= hi:
                raise ValueError(f"pose {key!r}: {name}={value} is outside [{lo}, {hi}]")
            table[row, rig.index(name)] = value
    return tuple(poses), table
