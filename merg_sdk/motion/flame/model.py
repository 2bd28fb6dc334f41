"""Load a FLAME head model from the file the user downloaded from MPI.

FLAME's licence requires registration, so the SDK ships no model: the user
points the server at `generic_model.pkl` (FLAME 2020), `flame2023.pkl`, or an
.npz with the same keys. Loading never needs chumpy or scipy (see
`pickle_compat`), and every defect of a file is reported as one stable
exception type, `FlameModelError`, whose message names the bad key, so the
server can refuse the `flame` rig with a clear reason instead of crashing.

File layout (FLAME's own; V = 5023 vertices in the real model):
`v_template` [V, 3] metres, +Z out of the face, +Y up, +X the head's left;
`shapedirs` [V, 3, S + 100] identity components then 100 expression
components; `posedirs` [V, 3, 36] pose correctives; `J_regressor` [5, V];
`weights` [V, 5] skinning weights; `kintree_table` [2, 5] (parents, ids);
`f` [F, 3] faces. Joints: 0 global, 1 neck, 2 jaw, 3 and 4 the eyeballs.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from merg_sdk.motion.flame.pickle_compat import load_pickle_bytes, plain_value

N_JOINTS = 5
N_EXPRESSION = 100  # FLAME stores its 100 expression components after the identity ones
JOINT_NAMES = ("global", "neck", "jaw", "eye_a", "eye_b")
REQUIRED_KEYS = (
    "v_template",
    "shapedirs",
    "posedirs",
    "J_regressor",
    "weights",
    "kintree_table",
    "f",
)
_ZIP_MAGIC = b"PK\x03\x04"


class FlameModelError(ValueError):
    """A FLAME model file that cannot be used; the message says which key and why."""


@dataclass(frozen=True, slots=True, eq=False)
class FlameModel:
    """FLAME's arrays, validated, as float64 numpy (the forward model is in `lbs`)."""

    v_template: np.ndarray  # [V, 3]
    shapedirs: np.ndarray  # [V, 3, S + 100]
    posedirs: np.ndarray  # [V, 3, 36]
    j_regressor: np.ndarray  # [5, V], dense
    weights: np.ndarray  # [V, 5]
    parents: np.ndarray  # [5] int, -1 for the root
    faces: np.ndarray  # [F, 3] int
    sha256: str = ""  # of the file's bytes: the key of everything derived from it

    @property
    def n_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def n_shape(self) -> int:
        return int(self.shapedirs.shape[2]) - N_EXPRESSION

    def expression_dirs(self, n: int = N_EXPRESSION) -> np.ndarray:
        """The first `n` expression components, [V, 3, n]."""
        if not 1 <= n <= N_EXPRESSION:
            raise ValueError(f"n_expression must be in 1..{N_EXPRESSION}, got {n}")
        return self.shapedirs[:, :, self.n_shape : self.n_shape + n]

    def rest_joints(self) -> np.ndarray:
        """Joint positions of the template, [5, 3] (eye centres, jaw hinge, neck)."""
        return self.j_regressor @ self.v_template


def load_flame_model(path: str | Path) -> FlameModel:
    """Read and validate a FLAME pickle or .npz; FlameModelError on any defect."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FlameModelError(f"cannot read FLAME model file {path}: {exc}") from exc
    return parse_flame_bytes(data, name=str(path))


def parse_flame_bytes(data: bytes, name: str = "<bytes>") -> FlameModel:
    """Parse a model from its file bytes (pickle or npz, told apart by content)."""
    raw = _read_npz(data, name) if data.startswith(_ZIP_MAGIC) else _read_pickle(data, name)
    model = _validate(raw, name)
    return FlameModel(**{**model, "sha256": hashlib.sha256(data).hexdigest()})


def _read_npz(data: bytes, name: str) -> dict[str, Any]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except Exception as exc:  # zipfile, zlib and numpy each raise their own kinds
        raise FlameModelError(f"{name}: not a readable .npz ({exc})") from exc


def _read_pickle(data: bytes, name: str) -> dict[str, Any]:
    try:
        raw = load_pickle_bytes(data)
    except Exception as exc:  # the unpickler runs no foreign code: any failure is a bad file
        detail = str(exc) or type(exc).__name__
        raise FlameModelError(f"{name}: not a FLAME model pickle ({detail})") from exc
    if not isinstance(raw, dict):
        raise FlameModelError(f"{name}: a FLAME pickle holds a dict, found {type(raw).__name__}")
    return raw


def _array(raw: dict[str, Any], key: str, name: str, dtype: type = np.float64) -> np.ndarray:
    if key not in raw:
        raise FlameModelError(f"{name}: missing key {key!r} (a FLAME model needs {REQUIRED_KEYS})")
    try:
        value = np.asarray(plain_value(raw[key]))
        if value.dtype == object:
            raise TypeError("holds Python objects, not numbers")
        value = value.astype(dtype)
    except Exception as exc:  # shims rebuild arrays from file data: any failure is the file's
        raise FlameModelError(f"{name}: key {key!r} is not a numeric array: {exc}") from exc
    if dtype is np.float64 and not np.isfinite(value).all():
        raise FlameModelError(f"{name}: key {key!r} contains NaN or infinite values")
    return value


def _expect(value: np.ndarray, key: str, shape: tuple[int | None, ...], name: str) -> None:
    ok = value.ndim == len(shape) and all(
        want is None or got == want for got, want in zip(value.shape, shape, strict=True)
    )
    if not ok:
        want = "x".join("?" if n is None else str(n) for n in shape)
        raise FlameModelError(f"{name}: key {key!r} has shape {value.shape}, expected {want}")


def _validate(raw: dict[str, Any], name: str) -> dict[str, Any]:
    missing = [key for key in REQUIRED_KEYS if key not in raw]
    if missing:
        raise FlameModelError(f"{name}: missing key {missing[0]!r} (all missing: {missing})")
    v_template = _array(raw, "v_template", name)
    _expect(v_template, "v_template", (None, 3), name)
    n = v_template.shape[0]
    if n < 4:
        raise FlameModelError(f"{name}: key 'v_template' has only {n} vertices")
    shapedirs = _array(raw, "shapedirs", name)
    _expect(shapedirs, "shapedirs", (n, 3, None), name)
    if shapedirs.shape[2] < N_EXPRESSION:
        raise FlameModelError(
            f"{name}: key 'shapedirs' has {shapedirs.shape[2]} components; FLAME stores "
            f"identity components then {N_EXPRESSION} expression components"
        )
    posedirs = _array(raw, "posedirs", name)
    _expect(posedirs, "posedirs", (n, 3, 9 * (N_JOINTS - 1)), name)
    j_regressor = _array(raw, "J_regressor", name)
    _expect(j_regressor, "J_regressor", (N_JOINTS, n), name)
    weights = _array(raw, "weights", name)
    _expect(weights, "weights", (n, N_JOINTS), name)
    kintree = _array(raw, "kintree_table", name, dtype=np.int64)
    _expect(kintree, "kintree_table", (2, N_JOINTS), name)
    parents = _parents(kintree, name)
    faces = _array(raw, "f", name, dtype=np.int64)
    _expect(faces, "f", (None, 3), name)
    if faces.size and (faces.min() < 0 or faces.max() >= n):
        raise FlameModelError(f"{name}: key 'f' indexes vertices outside 0..{n - 1}")
    return dict(
        v_template=v_template, shapedirs=shapedirs, posedirs=posedirs,
        j_regressor=j_regressor, weights=weights, parents=parents, faces=faces,
    )  # fmt: skip


def _parents(kintree: np.ndarray, name: str) -> np.ndarray:
    """Parent of each joint; the root's entry is any out-of-range id (2**32 - 1 in FLAME)."""
    ids = kintree[1]
    if sorted(ids.tolist()) != list(range(N_JOINTS)):
        raise FlameModelError(f"{name}: key 'kintree_table' row 1 must list joints 0..4")
    order = np.argsort(ids)
    parents = kintree[0][order].copy()
    parents[0] = -1
    for joint in range(1, N_JOINTS):
        if not 0 <= parents[joint] < joint:
            raise FlameModelError(
                f"{name}: key 'kintree_table' gives joint {joint} the parent {parents[joint]}; "
                "parents must come before their children"
            )
    return parents
