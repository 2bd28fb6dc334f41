"""ARKit-52 -> FLAME: what the fitted map does on the synthetic head, caching, apply()."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from merg_sdk.motion.flame import FlameMapper, FlameModelError, default_cache_dir, lbs, mapping
from merg_sdk.motion.flame.regions import face_landmarks
from merg_sdk.motion.flame.synthetic import write_synthetic_flame


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_flame(tmp_path_factory.mktemp("flame") / "generic_model.pkl")


@pytest.fixture(scope="module")
def mapper(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> FlameMapper:
    return FlameMapper(model_path, n_expression=50, cache_dir=tmp_path_factory.mktemp("cache"))


def _pose(mapper: FlameMapper, name: str) -> tuple[np.ndarray, dict[str, int]]:
    """Vertex displacements [V, 3] for one ARKit shape at weight 1, and landmark vertices."""
    weights = np.zeros((1, 52), dtype=np.float32)
    weights[0, mapper.names.index(name)] = 1.0
    frames = mapper.apply(weights)
    model = mapper.model
    moved = lbs.vertices(model, expression=frames.expression, jaw=frames.jaw, eyes=frames.eyes)
    lm = face_landmarks(model)
    at = {
        k: int(np.argmin(np.linalg.norm(model.v_template - p, axis=1)))
        for k, p in lm.points.items()
    }
    return moved[0] - model.v_template, at


def test_jaw_open_is_a_jaw_pitch(mapper: FlameMapper) -> None:
    row = mapper.fit.jaw[mapper.names.index("jawOpen")]
    assert 0.2 < row[0] < 0.5 and abs(row[1]) < 0.02 and abs(row[2]) < 0.02
    moved, at = _pose(mapper, "jawOpen")
    assert moved[at["chin"], 1] < -0.01  # the chin drops more than a centimetre
    assert abs(moved[at["brow_inner_L"]]).max() < 0.001
    assert np.abs(mapper.fit.jaw[mapper.names.index("mouthSmileLeft")]).max() == 0.0


def test_smile_lifts_and_widens_the_mouth_corner(mapper: FlameMapper) -> None:
    left, at = _pose(mapper, "mouthSmileLeft")
    assert left[at["corner_L"], 1] > 0.003 and left[at["corner_L"], 0] > 0.002  # up, outward (+X)
    assert np.linalg.norm(left[at["corner_R"]]) < 0.3 * np.linalg.norm(left[at["corner_L"]])
    right, at = _pose(mapper, "mouthSmileRight")
    assert right[at["corner_R"], 1] > 0.003 and right[at["corner_R"], 0] < -0.002


def test_other_shapes_move_their_own_landmarks(mapper: FlameMapper) -> None:
    blink, at = _pose(mapper, "eyeBlinkLeft")
    assert blink[at["lid_up_L"], 1] < -0.003 and abs(blink[at["lid_up_R"], 1]) < 0.001
    brows, at = _pose(mapper, "browInnerUp")
    assert brows[at["brow_inner_L"], 1] > 0.003 and brows[at["brow_inner_R"], 1] > 0.003
    frown, at = _pose(mapper, "mouthFrownRight")
    assert frown[at["corner_R"], 1] < -0.003


def test_gaze_turns_the_eyeballs(mapper: FlameMapper) -> None:
    model = mapper.model
    moved, _ = _pose(mapper, "eyeLookUpLeft")
    left_ball = model.weights[:, 3] > 0.99  # joint 3 is the left eye in the synthetic model
    front = np.flatnonzero(left_ball)[np.argmax(model.v_template[left_ball, 2])]
    assert moved[front, 1] > 0.002
    assert np.abs(moved[model.weights[:, 4] > 0.99]).max() < 1e-9


def test_fit_quality_on_the_synthetic_head(mapper: FlameMapper) -> None:
    residual = dict(zip(mapper.names, mapper.fit.residual, strict=True))
    assert residual["jawOpen"] < 0.05
    assert residual["tongueOut"] == 0.0  # FLAME has no tongue: an all-zero row
    assert np.median([r for r in residual.values() if r > 0]) < 0.6


def test_apply_shapes_and_dtypes(mapper: FlameMapper) -> None:
    weights = np.random.default_rng(0).uniform(0, 1, (7, 52))
    frames = mapper.apply(weights)
    assert frames.count == 7
    assert frames.expression.shape == (7, 50) and frames.expression.dtype == np.float32
    assert frames.jaw.shape == (7, 3) and frames.jaw.dtype == np.float32
    assert frames.eyes is not None and frames.eyes.shape == (7, 6)
    assert frames.eyes.dtype == np.float32 and frames.neck is None
    np.testing.assert_allclose(
        frames.expression, weights @ mapper.fit.expression, rtol=1e-4, atol=1e-5
    )
    empty = mapper.apply(np.zeros((0, 52)))
    assert empty.expression.shape == (0, 50) and empty.jaw.shape == (0, 3)
    with pytest.raises(ValueError):
        mapper.apply(np.zeros((3, 51)))


def test_head_and_gaze_tracks(mapper: FlameMapper) -> None:
    head = np.array([[0.1, 0.0, 0.0], [0.0, -0.2, 0.05]])
    gaze = np.array([[0.2, 0.1, 0.2, 0.1], [0.0, 0.0, 0.0, 0.0]])
    frames = mapper.apply(np.zeros((2, 52)), head=head, gaze=gaze)
    assert frames.neck is not None and frames.neck.dtype == np.float32
    np.testing.assert_allclose(frames.neck[0], [0.1, 0, 0], atol=1e-6)
    assert frames.eyes is not None
    np.testing.assert_allclose(frames.eyes[1], 0.0)
    np.testing.assert_allclose(frames.eyes[0, :3], frames.eyes[0, 3:])  # parallel gaze
    with pytest.raises(ValueError):
        mapper.apply(np.zeros((2, 52)), head=np.zeros((3, 3)))


def test_second_construction_reads_the_cache(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = FlameMapper(model_path, n_expression=8, cache_dir=tmp_path)
    assert not first.cache_hit and first.cache_path.is_file()
    stamp = first.cache_path.stat().st_mtime_ns

    def no_fitting(*args: object) -> None:
        raise AssertionError("the cached map should have been used")

    monkeypatch.setattr(mapping, "fit_mapping", no_fitting)
    second = FlameMapper(model_path, n_expression=8, cache_dir=tmp_path)
    assert second.cache_hit and second.cache_path == first.cache_path
    assert first.cache_path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(second.fit.expression, first.fit.expression)
    weights = np.random.default_rng(1).uniform(0, 1, (4, 52))
    np.testing.assert_array_equal(second.apply(weights).jaw, first.apply(weights).jaw)


def test_cache_follows_the_model_bytes(model_path: Path, tmp_path: Path) -> None:
    first = FlameMapper(model_path, n_expression=8, cache_dir=tmp_path / "c")
    raw = pickle.loads(model_path.read_bytes())
    raw["shapedirs"] = raw["shapedirs"] * 2.0  # an edited model: same name, other bytes
    edited = tmp_path / model_path.name
    edited.write_bytes(pickle.dumps(raw, protocol=2))
    second = FlameMapper(edited, n_expression=8, cache_dir=tmp_path / "c")
    assert not second.cache_hit and second.cache_path != first.cache_path
    np.testing.assert_allclose(second.fit.expression, first.fit.expression / 2.0, atol=1e-6)
    other_size = FlameMapper(model_path, n_expression=9, cache_dir=tmp_path / "c")
    assert not other_size.cache_hit and other_size.fit.expression.shape == (52, 9)


def test_a_corrupt_cache_is_refitted(model_path: Path, tmp_path: Path) -> None:
    first = FlameMapper(model_path, n_expression=8, cache_dir=tmp_path)
    first.cache_path.write_bytes(b"PK\x03\x04 not really a zip")
    again = FlameMapper(model_path, n_expression=8, cache_dir=tmp_path)
    assert not again.cache_hit
    np.testing.assert_allclose(again.fit.expression, first.fit.expression)
    assert FlameMapper(model_path, n_expression=8, cache_dir=tmp_path).cache_hit


def test_bad_model_and_arguments(tmp_path: Path, model_path: Path) -> None:
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a model")
    with pytest.raises(FlameModelError):
        FlameMapper(bad, cache_dir=tmp_path)
    with pytest.raises(FlameModelError):
        FlameMapper(tmp_path / "missing.pkl", cache_dir=tmp_path)
    with pytest.raises(ValueError):
        FlameMapper(model_path, n_expression=101, cache_dir=tmp_path)


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "merg-sdk" / "flame"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path(os.path.expanduser("~")) / ".cache" / "merg-sdk" / "flame"


def test_streaming_in_chunks_equals_whole_turn(mapper: FlameMapper) -> None:
    rng = np.random.default_rng(2)
    weights, head = rng.uniform(0, 1, (30, 52)), rng.normal(0, 0.1, (30, 3))
    whole = mapper.apply(weights, head=head)
    parts = [mapper.apply(weights[a:b], head=head[a:b]) for a, b in ((0, 7), (7, 8), (8, 30))]
    for field in ("expression", "jaw", "eyes", "neck"):
        joined = np.concatenate([getattr(p, field) for p in parts])
        # equal up to float32 rounding: BLAS may sum a 1-row chunk in another order
        np.testing.assert_allclose(joined, getattr(whole, field), rtol=1e-5, atol=1e-6)
