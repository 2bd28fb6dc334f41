"""FLAME forward model: rest pose, jaw and eyes, and LBS against a brute-force reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from merg_sdk.motion.flame import FlameModel, lbs, load_flame_model
from merg_sdk.motion.flame.synthetic import write_synthetic_flame


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> FlameModel:
    return load_flame_model(write_synthetic_flame(tmp_path_factory.mktemp("flame") / "m.pkl"))


def test_zero_parameters_give_the_template(model: FlameModel) -> None:
    np.testing.assert_allclose(lbs.vertices(model)[0], model.v_template, atol=1e-15)
    zeros = lbs.vertices(model, shape=np.zeros((2, 10)), expression=np.zeros((2, 100)))
    np.testing.assert_allclose(zeros, np.stack([model.v_template] * 2), atol=1e-15)


def test_jaw_rotation_drops_the_chin_and_leaves_the_forehead(model: FlameModel) -> None:
    v, w = model.v_template, model.weights
    chin = np.flatnonzero(w[:, 2] > 0.99)
    chin = chin[np.argmin(v[chin, 1] - v[chin, 2])]  # low and in front
    forehead = np.argmax(v[:, 1] + v[:, 2])
    opened = lbs.vertices(model, jaw=[0.3, 0.0, 0.0])[0] - v
    assert opened[chin, 1] < -0.01  # down by more than a centimetre
    assert np.linalg.norm(opened[forehead]) < 1e-9
    shut = lbs.vertices(model, jaw=[-0.3, 0.0, 0.0])[0] - v
    assert shut[chin, 1] > 0.005


def test_eye_pose_turns_only_the_eyeballs(model: FlameModel) -> None:
    moved = lbs.vertices(model, eyes=[0.0, 0.4, 0.0, 0.0, 0.0, 0.0])[0] - model.v_template
    ball = model.weights[:, 3] > 0.99
    assert np.abs(moved[~ball]).max() < 1e-12
    front = np.flatnonzero(ball)[np.argmax(model.v_template[ball, 2])]
    assert moved[front, 0] > 0.002  # + yaw looks towards +X


def _expm_rotation(axis_angle: np.ndarray) -> np.ndarray:
    """exp of the skew matrix by its power series: independent of Rodrigues' formula."""
    x, y, z = axis_angle
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    out, term = np.eye(3), np.eye(3)
    for n in range(1, 40):
        term = term @ k / n
        out = out + term
    return out


def _brute_force_vertex(
    model: FlameModel, i: int, betas: np.ndarray, pose: np.ndarray
) -> np.ndarray:
    """One vertex by the textbook formula, with 4x4 matrices and series rotations."""
    shaped = model.v_template + model.shapedirs @ betas
    joints = model.j_regressor @ shaped
    rots = [_expm_rotation(p) for p in pose.reshape(5, 3)]
    feature = np.concatenate([(r - np.eye(3)).ravel() for r in rots[1:]])
    posed = shaped[i] + model.posedirs[i] @ feature
    world = []
    for j in range(5):
        local = np.eye(4)
        local[:3, :3] = rots[j]
        parent = model.parents[j]
        local[:3, 3] = joints[j] - (joints[parent] if parent >= 0 else 0)
        world.append(local if parent < 0 else world[parent] @ local)
    out = np.zeros(4)
    for j in range(5):
        rest = np.eye(4)
        rest[:3, 3] = joints[j]
        out += model.weights[i, j] * (world[j] @ np.linalg.inv(rest) @ np.append(posed, 1.0))
    return out[:3]


def test_lbs_matches_brute_force(model: FlameModel) -> None:
    rng = np.random.default_rng(0)
    betas = rng.normal(0, 1, model.shapedirs.shape[2])
    pose = rng.normal(0, 0.3, 15)
    got = lbs.skin(model, betas[None], pose[None])[0]
    blended = np.flatnonzero((model.weights > 0.05).sum(axis=1) >= 2)  # vertices on a seam
    for i in (int(blended[0]), int(blended[-1]), int(np.argmax(model.weights[:, 3]))):
        np.testing.assert_allclose(got[i], _brute_force_vertex(model, i, betas, pose), atol=1e-12)


def test_rotation_helpers() -> None:
    rng = np.random.default_rng(1)
    aa = rng.normal(0, 0.8, (20, 3))
    expected = np.stack([_expm_rotation(a) for a in aa])
    np.testing.assert_allclose(lbs.rodrigues(aa), expected, atol=1e-12)
    np.testing.assert_allclose(lbs.axis_angle(lbs.rodrigues(aa)), aa, atol=1e-9)
    np.testing.assert_allclose(lbs.rodrigues(np.zeros(3)), np.eye(3))
    small = np.array([0.05, -0.03, 0.02])  # pitch, yaw, roll: nearly the axis-angle itself
    np.testing.assert_allclose(lbs.euler_to_axis_angle(small), small, atol=2e-3)
    pitch = lbs.euler_to_axis_angle(np.array([0.4, 0.0, 0.0]))
    np.testing.assert_allclose(pitch, [0.4, 0.0, 0.0], atol=1e-12)


def test_bad_parameter_shapes_are_rejected(model: FlameModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        lbs.vertices(model, jaw=np.zeros((2, 4)))
    with pytest.raises(ValueError):
        lbs.vertices(model, expression=np.zeros((2, 101)))
