"""Fit the linear map ARKit-52 weights -> FLAME expression, jaw and eye pose.

For each ARKit shape, `regions` gives the displacement it makes on the
user's FLAME template; here we find the FLAME parameters that reproduce it
best, by least squares over all skin vertices (so the rest of the head is
asked to stay still). Most shapes use expression only: with every joint at
rest FLAME is exactly linear in expression, so all of them are one ridge
solve. The jaw shapes (jawOpen, jawLeft, jawRight) also get a jaw rotation:
for a fixed rotation FLAME is still affine in expression (joints are linear
in the shaped mesh, skinning is linear in the joints), so the expression is
solved in closed form inside a small Levenberg-Marquardt loop over the three
jaw angles (variable projection). Gaze is eye pose, mapped directly with the
motion engine's own angle ranges, not fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from merg_sdk.motion.flame import lbs
from merg_sdk.motion.flame.model import FlameModel
from merg_sdk.motion.flame.regions import FaceLandmarks, face_landmarks, reference_displacements

JAW_SHAPES = ("jawOpen", "jawLeft", "jawRight")  # the rest of the face goes to expression
EYE_RANGE_RAD = (0.44, 0.52)  # pitch, yaw at which eyeLook* reaches 1 (as `motion.alive`)
RIDGE = 1e-3  # relative Tikhonov weight: keeps coefficients in FLAME's usual range
_FD_STEP_RAD = 1e-5
_TOL_RAD = 1e-5  # a thousandth of a degree: far below anything visible


@dataclass(frozen=True, slots=True)
class FlameFit:
    """Rows are ARKit names; `residual` is |fitted - reference| / |reference| per shape."""

    names: tuple[str, ...]
    expression: np.ndarray  # [K, E]
    jaw: np.ndarray  # [K, 3] axis-angle
    eyes: np.ndarray  # [K, 6] axis-angle, eyeball joints 3 then 4
    residual: np.ndarray  # [K], 0 for shapes FLAME cannot show (tongueOut, pure gaze)


def fit_mapping(model: FlameModel, names: tuple[str, ...], n_expression: int) -> FlameFit:
    """Fit every ARKit shape in `names` against `model` with its first `n_expression` components."""
    lm = face_landmarks(model)
    targets = reference_displacements(model, lm, names)[:, lm.skin].reshape(len(names), -1)
    basis = model.expression_dirs(n_expression)[lm.skin].reshape(-1, n_expression)
    gram = basis.T @ basis
    ridge = RIDGE * np.trace(gram) / n_expression * np.eye(n_expression)
    expression = np.linalg.solve(gram + ridge, basis.T @ targets.T).T
    jaw = np.zeros((len(names), 3))
    fitted = expression @ basis.T
    for k, name in enumerate(names):
        if name in JAW_SHAPES:
            expression[k], jaw[k], fitted[k] = _fit_with_jaw(
                model, lm, targets[k], n_expression, ridge
            )
    size = np.linalg.norm(targets, axis=1)
    residual = np.where(
        size > 0, np.linalg.norm(fitted - targets, axis=1) / np.maximum(size, 1e-12), 0
    )
    return FlameFit(names, expression, jaw, eye_map(names, lm), residual)


def _affine_in_expression(
    model: FlameModel, lm: FaceLandmarks, n: int, theta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Skin displacement at jaw `theta` as offset [3V'] + matrix [3V', n] times expression."""
    expressions = np.vstack([np.zeros(n), np.eye(n)])
    verts = lbs.vertices(model, expression=expressions, jaw=np.tile(theta, (n + 1, 1)))
    moved = verts[:, lm.skin] - model.v_template[lm.skin]
    offset = moved[0].ravel()
    return offset, (moved[1:].reshape(n, -1) - offset).T


def _fit_with_jaw(
    model: FlameModel, lm: FaceLandmarks, target: np.ndarray, n: int, ridge: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expression, jaw rotation and fitted displacement for one jaw-driven shape."""

    def solve(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        offset, matrix = _affine_in_expression(model, lm, n, theta)
        e = np.linalg.solve(matrix.T @ matrix + ridge, matrix.T @ (target - offset))
        fitted = offset + matrix @ e
        # the ridge term belongs to the objective, so the angles see the same cost
        return e, fitted, np.concatenate([fitted - target, np.sqrt(np.diag(ridge)) * e])

    theta, damping = np.zeros(3), 1e-3
    e, fitted, r = solve(theta)
    for _ in range(40):
        jac = np.stack(
            [(solve(theta + _FD_STEP_RAD * axis)[2] - r) / _FD_STEP_RAD for axis in np.eye(3)], 1
        )
        normal = jac.T @ jac
        step = -np.linalg.solve(normal + damping * np.diag(np.diag(normal) + 1e-12), jac.T @ r)
        trial = solve(theta + step)
        cost, new_cost = r @ r, trial[2] @ trial[2]
        if new_cost < cost:
            theta, (e, fitted, r), damping = theta + step, trial, damping / 3
            if np.abs(step).max() < _TOL_RAD or cost - new_cost < 1e-9 * cost:
                break
        else:
            damping *= 4
            if damping > 1e6:
                break
    return e, theta, fitted


def eye_map(names: tuple[str, ...], lm: FaceLandmarks) -> np.ndarray:
    """eyeLook* -> eyeball axis-angle [K, 6]; + pitch looks down, + yaw to the head's left."""
    pitch, yaw = EYE_RANGE_RAD
    block = {"Left": 0 if lm.left_eye_joint == 3 else 3}
    block["Right"] = 3 - block["Left"]
    out = np.zeros((len(names), 6))
    for side, outward in (("Left", 1.0), ("Right", -1.0)):
        b = block[side]
        moves = (("Down", 0, pitch), ("Up", 0, -pitch), ("Out", 1, outward * yaw))
        for look, axis, value in (*moves, ("In", 1, -outward * yaw)):
            name = f"eyeLook{look}{side}"
            if name in names:
                out[names.index(name), b + axis] = value
    return out
