"""A reference ARKit head built on the user's own FLAME template.

To fit ARKit -> FLAME against the user's model we need to know what each
ARKit shape looks like in 3D on *that* head. We have no ARKit head of the
same person, so each shape is described once as displacement bumps
at facial landmarks, and the landmarks are found on the FLAME template from
what the model itself knows: the eyeball joints (eye centres, and the
interocular distance `d` that scales everything), the jaw's skinning weights
(the mouth line is where the lower lip starts following the jaw), and the
front-most surface (+Z) for the nose tip and for snapping points onto the
skin. Eyeball vertices (skinned to the eye joints) are never displaced: gaze
is eye pose, not expression. The shapes themselves are data, in
`arkit_reference`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from merg_sdk.motion.flame.arkit_reference import JAW_OPEN_RAD, LANDMARKS, SHAPES
from merg_sdk.motion.flame.lbs import rodrigues
from merg_sdk.motion.flame.model import FlameModel, FlameModelError


@dataclass(frozen=True, slots=True)
class FaceLandmarks:
    """Where the face is on a FLAME template (all positions in model metres)."""

    d: float  # interocular distance: the unit of every offset in this module
    eyes: dict[str, np.ndarray]  # "L"/"R" -> eye centre
    left_eye_joint: int  # 3 or 4: which eyeball joint is the head's left (+X) eye
    mouth_y: float
    nose_tip: np.ndarray
    skin: np.ndarray  # bool [V]: not an eyeball
    face: np.ndarray  # bool [V]: skin on the front of the face
    points: dict[str, np.ndarray]  # landmark name ("corner_L", "chin") -> position


def face_landmarks(model: FlameModel) -> FaceLandmarks:
    """Locate the face on the template from the model's joints, weights and surface."""
    v, w = model.v_template, model.weights
    joints = model.rest_joints()
    left = 3 if joints[3, 0] >= joints[4, 0] else 4
    eyes = {"L": joints[left], "R": joints[7 - left]}
    d = float(np.linalg.norm(eyes["L"] - eyes["R"]))
    if d < 1e-4:
        raise FlameModelError(
            "the two eyeball joints coincide; cannot place the face on this model"
        )
    mid = (eyes["L"] + eyes["R"]) / 2
    rel = (v - mid) / d
    skin = w[:, 3] + w[:, 4] < 0.5
    face = (
        skin
        & (np.abs(rel[:, 0]) < 1.4)
        & (rel[:, 1] > -2.6)
        & (rel[:, 1] < 1.5)
        & (rel[:, 2] > -0.8)
    )
    if face.sum() < 10:
        raise FlameModelError("found no face vertices in front of the eyes on this model")
    band = face & (np.abs(rel[:, 0]) < 0.3) & (rel[:, 1] > -1.0) & (rel[:, 1] < -0.2)
    band = band if band.any() else face
    nose = int(np.flatnonzero(band)[np.argmax(rel[band, 2])])  # the front-most point
    nose_y = rel[nose, 1]
    mouth_y = _mouth_line(rel, w[:, 2], face, nose_y)
    points = {}
    for name, (x, y) in LANDMARKS.items():
        sides = (("L", 1.0), ("R", -1.0)) if name.endswith("*") else (("", 1.0),)
        for side, sign in sides:
            key = f"{name[:-1]}_{side}" if side else name
            if x is None:  # lids: above or below that eye's centre
                eye = (eyes[side] - mid) / d
                target = (eye[0], eye[1] + float(y))
            else:
                target = (sign * x, _resolve(y, mouth_y=mouth_y, nose_y=nose_y))
            points[key] = v[_snap(rel, face, target)]
    return FaceLandmarks(d, eyes, left, mid[1] + mouth_y * d, v[nose], skin, face, points)


def _resolve(y: float | str, **refs: float) -> float:
    if isinstance(y, str):
        for ref, value in refs.items():
            if y.startswith(ref):
                return value + float(y[len(ref) :] or 0)
    return float(y)


def _snap(rel: np.ndarray, face: np.ndarray, target: tuple[float, float]) -> int:
    """The outer-surface face vertex nearest (x, y) (`d` units from the eyes' midpoint)."""
    dist = np.hypot(rel[:, 0] - target[0], rel[:, 1] - target[1])
    near = face & (dist < 0.1)
    if not near.any():
        return int(np.flatnonzero(face)[np.argmin(dist[face])])
    outer = near & (rel[:, 2] > rel[near, 2].max() - 0.1)  # skip lips' insides, lids' backs
    return int(np.flatnonzero(outer)[np.argmin(dist[outer])])


def _mouth_line(rel: np.ndarray, jaw_w: np.ndarray, face: np.ndarray, nose_y: float) -> float:
    """y where, going down the front midline from the nose, the jaw takes over the skin."""
    mid = face & (np.abs(rel[:, 0]) < 0.08) & (rel[:, 1] < nose_y - 0.1) & (rel[:, 1] > -2.2)
    bins: dict[int, int] = {}
    for i in np.flatnonzero(mid):
        b = int(np.floor(rel[i, 1] / 0.03))
        if b not in bins or rel[i, 2] > rel[bins[b], 2]:
            bins[b] = i
    prev = None
    for b in sorted(bins, reverse=True):
        i = bins[b]
        if jaw_w[i] >= 0.5 and prev is not None:
            return float((rel[i, 1] + rel[prev, 1]) / 2)
        prev = i
    return -1.1  # no jaw boundary on the midline: the typical adult proportion


def reference_displacements(
    model: FlameModel, lm: FaceLandmarks, names: tuple[str, ...]
) -> np.ndarray:
    """Displacement field [len(names), V, 3] (metres) of each ARKit shape at weight 1."""
    v, out = model.v_template, np.zeros((len(names), model.n_vertices, 3))
    regions = _regions(model, lm)
    for k, name in enumerate(names):
        if name == "jawOpen":
            hinge = model.rest_joints()[2]
            moved = (v - hinge) @ rodrigues(np.array([JAW_OPEN_RAD, 0, 0])).T + hinge
            out[k] = model.weights[:, 2, None] * (moved - v) * lm.skin[:, None]
            continue
        base, side = _split_side(name)
        for anchor, region, offset, radius in SHAPES[base]:
            for s in ((side,) if side else ("L", "R")) if anchor.endswith("*") else ("",):
                out[k] += _term(v, lm, regions[region], anchor, s, np.array(offset), radius)
    return out


def _split_side(name: str) -> tuple[str, str]:
    for suffix, side in (("Left", "L"), ("Right", "R")):
        if name.endswith(suffix) and name[: -len(suffix)] in SHAPES:
            return name[: -len(suffix)], side
    if name not in SHAPES:
        raise KeyError(f"no reference shape for ARKit name {name!r}")
    return name, ""


def _term(
    v: np.ndarray,
    lm: FaceLandmarks,
    mask: np.ndarray,
    anchor: str,
    side: str,
    offset: np.ndarray,
    radius: float,
) -> np.ndarray:
    """One bump: `offset` (in `d`) at `anchor`, Gaussian falloff of `radius`, within `mask`."""
    delta = offset * lm.d
    if side == "R":
        delta[0] = -delta[0]  # outward on the right is -X
    if not anchor:  # a whole region moves (the jaw)
        return mask[:, None] * delta
    centre = lm.points[f"{anchor[:-1]}_{side}" if side else anchor]
    fall = np.exp(-np.sum((v - centre) ** 2, axis=1) / (2 * (radius * lm.d) ** 2))
    return (mask * fall)[:, None] * delta


def _regions(model: FlameModel, lm: FaceLandmarks) -> dict[str, np.ndarray]:
    y, face = model.v_template[:, 1], lm.face.astype(float)
    eye_y = (lm.eyes["L"][1] + lm.eyes["R"][1]) / 2
    near_eye = np.minimum(*(np.linalg.norm(model.v_template - e, axis=1) for e in lm.eyes.values()))
    lids = face * (near_eye < 0.45 * lm.d)
    return {
        "face": face, "upper": face * (y >= lm.mouth_y), "lower": face * (y < lm.mouth_y),
        "lid_up": lids * (y >= eye_y), "lid_low": lids * (y < eye_y),
        "brow": face * (y > eye_y + 0.2 * lm.d), "jaw": model.weights[:, 2] * lm.skin,
    }  # fmt: skip
