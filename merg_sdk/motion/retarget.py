"""Retargeting: the motion stage's channels -> another rig's names, as data.

A table under `blendshapes/retarget/` maps every output name (Live Link
curves, VRM presets, Oculus visemes ...) to a linear combination of source
channels: the weight columns of the rigs it reads (`arkit52`, `visemes`) and,
for rigs that carry them, the head and eye angles the face messages send
(radians, conventions in `merg_sdk.motion.alive`). Loading validates every
name, so a typo in a table fails at load time instead of driving nothing;
`Retarget.apply` is then one matrix multiply per block of frames.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from merg_sdk.data import blendshapes_dir, blendshapes_file
from merg_sdk.motion.rig import available_rigs, load_rig

HEAD_CHANNELS: tuple[str, ...] = ("head_pitch", "head_yaw", "head_roll")
EYE_CHANNELS: tuple[str, ...] = (
    "left_eye_pitch", "left_eye_yaw", "right_eye_pitch", "right_eye_yaw",
)  # fmt: skip
# Sources that are angles, not rigs: the head [count, 3] and eyes [count, 4] arrays.
ANGLE_SOURCES: dict[str, tuple[str, ...]] = {"head": HEAD_CHANNELS, "eyes": EYE_CHANNELS}
_LONG_FORM_KEYS = {"weights", "offset", "clamp", "unit"}


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; a table must say each output once."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ValueError(f"duplicate key {key!r} (line {key_node.start_mark.line + 1})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class _Output(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weights: dict[str, float] = {}
    offset: float = 0.0
    clamp: tuple[float, float] | None = None
    unit: Literal["weight", "radian"] = "weight"

    @model_validator(mode="after")
    def _finite(self) -> _Output:
        numbers = [*self.weights.values(), self.offset, *(self.clamp or ())]
        if not all(math.isfinite(x) for x in numbers):
            raise ValueError("coefficients, offset and clamp must be finite numbers")
        if self.clamp is not None and self.clamp[0] >= self.clamp[1]:
            raise ValueError(f"clamp must be increasing, got {self.clamp}")
        return self


class _RetargetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    sources: list[str]
    names: list[str]
    map: dict[str, _Output]

    @field_validator("map", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        # `Out: {src: 1.0}` is shorthand for `Out: {weights: {src: 1.0}}`
        if not isinstance(value, dict):
            return value
        return {
            key: spec
            if isinstance(spec, dict) and set(spec) & _LONG_FORM_KEYS
            else {"weights": spec or {}}
            for key, spec in value.items()
        }

    @model_validator(mode="after")
    def _consistent(self) -> _RetargetFile:
        known = set(available_rigs()) | set(ANGLE_SOURCES)
        if not self.sources or len(set(self.sources)) != len(self.sources):
            raise ValueError(f"sources must be a non-empty list without repeats: {self.sources}")
        if unknown := [s for s in self.sources if s not in known]:
            raise ValueError(f"unknown sources {unknown}; known: {sorted(known)}")
        if not self.names or any(not n for n in self.names):
            raise ValueError("names must list at least one non-empty output name")
        if dupes := sorted({n for n in self.names if self.names.count(n) > 1}):
            raise ValueError(f"outputs listed more than once: {dupes}")
        if missing := [n for n in self.names if n not in self.map]:
            raise ValueError(f"outputs without a map entry: {missing}")
        if extra := sorted(set(self.map) - set(self.names)):
            raise ValueError(f"map entries not in names: {extra}")
        channels = set(_channels(self.sources))
        angles = {c for s in self.sources if s in ANGLE_SOURCES for c in ANGLE_SOURCES[s]}
        for out, spec in self.map.items():
            if unknown := sorted(set(spec.weights) - channels):
                raise ValueError(f"{out}: unknown source names {unknown} for {self.sources}")
            if spec.unit == "radian" and set(spec.weights) - angles:
                raise ValueError(f"{out}: a radian output may only read head/eye angles")
        return self


def _channels(sources: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Input columns: rig names first (the `weights` array), then head, then eyes."""
    rigs = [name for s in sources if s not in ANGLE_SOURCES for name in load_rig(s).names]
    angles = [c for s in ("head", "eyes") if s in sources for c in ANGLE_SOURCES[s]]
    return (*rigs, *angles)


@dataclass(frozen=True, eq=False)
class Retarget:
    """A validated table: `apply` turns source frames into this rig's frames.

    `source_names` are the columns `apply` expects in `weights`; `inputs` are
    the rows of `matrix` (source_names, then head and eye channels when the
    table reads them). `units[i]` is "weight" (clipped, by default to [0, 1])
    or "radian" (not clipped unless the table says so).
    """

    name: str
    description: str
    sources: tuple[str, ...]
    source_names: tuple[str, ...]
    inputs: tuple[str, ...]
    names: tuple[str, ...]
    units: tuple[str, ...]
    matrix: np.ndarray  # [len(inputs), len(names)]
    offset: np.ndarray  # [len(names)]
    low: np.ndarray  # [len(names)], -inf where unclamped
    high: np.ndarray  # [len(names)], +inf where unclamped

    def apply(
        self,
        weights: np.ndarray,
        head: np.ndarray | None = None,
        eyes: np.ndarray | None = None,
    ) -> np.ndarray:
        """Frames [count, len(source_names)] (+ head [count, 3], eyes [count, 4]) ->
        float32 [count, len(names)].

        Missing head or eyes count as zero (looking straight ahead); arrays the
        table does not read are ignored, so callers can always pass what a face
        message carries.
        """
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != len(self.source_names):
            raise ValueError(
                f"{self.name}: weights must be [count, {len(self.source_names)}] "
                f"({' + '.join(s for s in self.sources if s not in ANGLE_SOURCES)}), "
                f"got {w.shape}"
            )
        columns = [w]
        for source, values in (("head", head), ("eyes", eyes)):
            if source not in self.sources:
                continue
            width = len(ANGLE_SOURCES[source])
            if values is None:
                columns.append(np.zeros((len(w), width)))
                continue
            v = np.asarray(values, dtype=np.float64)
            if v.shape != (len(w), width):
                raise ValueError(
                    f"{self.name}: {source} must be [{len(w)}, {width}], got {v.shape}"
                )
            columns.append(v)
        out = np.concatenate(columns, axis=1) @ self.matrix + self.offset
        return np.clip(out, self.low, self.high).astype(np.float32)

    def index(self, name: str) -> int:
        """Column of output `name`, with a clear error for names this table lacks."""
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(f"{name!r} is not a {self.name} output") from None


def available_retargets() -> tuple[str, ...]:
    """Names of the tables shipped under `blendshapes/retarget/`."""
    folder = blendshapes_dir() / "retarget"
    return tuple(sorted(p.stem for p in folder.glob("*.yaml")))


def load_retarget_file(path: Path) -> Retarget:
    """Load and validate one table (any path; tests use temp files)."""
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    spec = _RetargetFile.model_validate(raw)
    inputs = _channels(spec.sources)
    row = {name: i for i, name in enumerate(inputs)}
    matrix = np.zeros((len(inputs), len(spec.names)))
    offset, low, high = (np.zeros(len(spec.names)) for _ in range(3))
    for col, out in enumerate(spec.names):
        entry = spec.map[out]
        for source, coefficient in entry.weights.items():
            matrix[row[source], col] = coefficient
        offset[col] = entry.offset
        default = (0.0, 1.0) if entry.unit == "weight" else (-math.inf, math.inf)
        low[col], high[col] = entry.clamp or default
    for array in (matrix, offset, low, high):
        array.flags.writeable = False
    n_weights = len(inputs) - sum(len(ANGLE_SOURCES[s]) for s in spec.sources if s in ANGLE_SOURCES)
    return Retarget(
        name=spec.name,
        description=spec.description.strip(),
        sources=tuple(spec.sources),
        source_names=inputs[:n_weights],
        inputs=inputs,
        names=tuple(spec.names),
        units=tuple(spec.map[n].unit for n in spec.names),
        matrix=matrix,
        offset=offset,
        low=low,
        high=high,
    )


@cache
def load_retarget(name: str) -> Retarget:
    """A shipped table by name ("livelink", "vrm1", ...); cached, tables are immutable."""
    if name not in available_retargets():
        raise ValueError(
            f"unknown retarget {name!r}; available: {', '.join(available_retargets())}"
        )
    return load_retarget_file(blendshapes_file(f"retarget/{name}.yaml"))


def _alias_key(name: str) -> str:
    """Spelling-free key: namespace dropped, `_L`/`.R` suffixes spelt out, letters only."""
    text = name.strip()
    side = re.search(r"[_.\-\s]([LlRr])$", text)
    if side:
        text = text[: side.start()] + ("Left" if side.group(1) in "Ll" else "Right")
    text = re.split(r"[.:|]", text)[-1]  # "blendShape1.eyeBlinkLeft", "Face:jawOpen"
    return re.sub(r"[^a-z]", "", text.lower())


@cache
def _arkit_aliases() -> dict[str, str]:
    return {_alias_key(name): name for name in load_rig("arkit52").names}


def canonical_arkit_name(name: str) -> str | None:
    """Apple's spelling of an ARKit blendshape name written any common way, else None.

    Accepts Apple's camelCase, Live Link / Unreal PascalCase (EyeBlinkLeft),
    Face Cap suffixes (eyeBlink_L, mouthSmile_R, Blender's .L/.R), any case,
    snake_case, and a namespace prefix (blendShape1.jawOpen). Plugins use it
    to bind a mesh's morph targets by name; names that are no ARKit shape
    (HeadYaw, a custom morph) give None.
    """
    return _arkit_aliases().get(_alias_key(name))
