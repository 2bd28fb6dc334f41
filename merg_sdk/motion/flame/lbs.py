"""FLAME's forward model: parameters -> vertices, by linear blend skinning.

Implemented here in numpy rather than through flame-pytorch: that package
imports `smplx` (not a dependency of the SDK) and needs chumpy to read the
real pickles (chumpy fails to import on numpy >= 1.24), insists on landmark
embedding files this SDK has no use for, fixes the batch size at
construction, and carries MPI's non-commercial licence header in its code.
The model is small (5 joints), nothing on the streaming path runs it (the
per-frame work is a matrix product in `mapping`), and the mapping fit needs
only three nonlinear parameters (`fit`), so numpy is enough and the SDK keeps
torch out of its dependencies.

The maths is FLAME's (as in the SMPL family): shape and expression offsets,
joints regressed from the shaped mesh, pose correctives from the rotation
matrices of the four non-root joints, then rigid transforms along the
kinematic tree blended per vertex by the skinning weights.
"""

from __future__ import annotations

import numpy as np

from merg_sdk.motion.flame.model import N_JOINTS, FlameModel


def rodrigues(axis_angle: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] from axis-angle vectors [..., 3] (radians)."""
    aa = np.asarray(axis_angle, dtype=np.float64)
    angle = np.linalg.norm(aa, axis=-1, keepdims=True)
    axis = aa / np.maximum(angle, 1e-12)
    x, y, z = axis[..., 0], axis[..., 1], axis[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape((*aa.shape[:-1], 3, 3))
    s, c = np.sin(angle)[..., None], np.cos(angle)[..., None]
    return np.eye(3) + s * k + (1.0 - c) * (k @ k)


def axis_angle(rotation: np.ndarray) -> np.ndarray:
    """Axis-angle vectors [..., 3] of rotation matrices [..., 3, 3] (angles below pi)."""
    r = np.asarray(rotation, dtype=np.float64)
    cos = np.clip((np.trace(r, axis1=-2, axis2=-1) - 1.0) / 2.0, -1.0, 1.0)
    angle = np.arccos(cos)
    vee = np.stack([r[..., 2, 1] - r[..., 1, 2], r[..., 0, 2] - r[..., 2, 0],
                    r[..., 1, 0] - r[..., 0, 1]], axis=-1)  # fmt: skip
    sin = np.sin(angle)
    scale = np.where(sin > 1e-8, angle / np.maximum(2.0 * sin, 1e-12), 0.5)
    return vee * scale[..., None]


def euler_to_axis_angle(pitch_yaw_roll: np.ndarray) -> np.ndarray:
    """Head angles [..., 3] (about X, Y, Z; yaw applied last) -> axis-angle [..., 3].

    The motion engine's head track is pitch, yaw, roll in the head's frame
    (`motion.alive`), which is FLAME's frame; FLAME's neck joint wants one
    axis-angle vector.
    """
    a = np.asarray(pitch_yaw_roll, dtype=np.float64)
    basis = np.eye(3)
    rx, ry, rz = (rodrigues(a[..., i : i + 1] * basis[i]) for i in range(3))
    return axis_angle(ry @ rx @ rz)


def _batch(value: np.ndarray | None, width: int, batch: int) -> np.ndarray:
    if value is None:
        return np.zeros((batch, width))
    v = np.asarray(value, dtype=np.float64)
    v = v.reshape(1, -1) if v.ndim == 1 else v
    if v.ndim != 2 or v.shape[1] > width or v.shape[0] not in (1, batch):
        raise ValueError(f"expected [batch, <= {width}] parameters, got {np.shape(value)}")
    out = np.zeros((batch, width))
    out[:, : v.shape[1]] = v
    return out


def vertices(
    model: FlameModel,
    shape: np.ndarray | None = None,
    expression: np.ndarray | None = None,
    global_rot: np.ndarray | None = None,
    neck: np.ndarray | None = None,
    jaw: np.ndarray | None = None,
    eyes: np.ndarray | None = None,
) -> np.ndarray:
    """Posed vertices [B, V, 3] for batched parameters (missing ones are zero).

    `shape` [B, <= S] and `expression` [B, <= 100] are the leading components;
    `global_rot`, `neck`, `jaw` [B, 3] and `eyes` [B, 6] are axis-angle, eyes
    in joint order (3 then 4). A single vector stands for a batch of one.
    """
    given = [p for p in (shape, expression, global_rot, neck, jaw, eyes) if p is not None]
    batch = max([np.atleast_2d(p).shape[0] for p in given], default=1)
    betas = np.concatenate(
        [_batch(shape, model.n_shape, batch), _batch(expression, 100, batch)], axis=1
    )
    pose = np.concatenate(
        [_batch(p, w, batch) for p, w in ((global_rot, 3), (neck, 3), (jaw, 3), (eyes, 6))], axis=1
    )
    return skin(model, betas, pose)


def skin(model: FlameModel, betas: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """LBS core: betas [B, S + 100], full pose [B, 15] -> vertices [B, V, 3]."""
    n, b = model.n_vertices, len(betas)
    # products written as matrix multiplications so that BLAS does the work
    flat_dirs = model.shapedirs.reshape(n * 3, -1)
    v_shaped = model.v_template + (betas @ flat_dirs.T).reshape(b, n, 3)
    joints = model.j_regressor @ v_shaped  # [B, 5, 3]
    rot = rodrigues(pose.reshape(-1, N_JOINTS, 3))  # [B, 5, 3, 3]
    pose_feature = (rot[:, 1:] - np.eye(3)).reshape(b, -1)
    v_posed = v_shaped + (pose_feature @ model.posedirs.reshape(n * 3, -1).T).reshape(b, n, 3)
    transforms = rigid_transforms(rot, joints, model.parents)  # [B, 5, 3, 4]
    stacked = transforms.transpose(1, 0, 2, 3).reshape(N_JOINTS, b * 12)
    per_vertex = (model.weights @ stacked).reshape(n, b, 3, 4).transpose(1, 0, 2, 3)
    return np.einsum("bvij,bvj->bvi", per_vertex[..., :3], v_posed) + per_vertex[..., 3]


def rigid_transforms(rot: np.ndarray, joints: np.ndarray, parents: np.ndarray) -> np.ndarray:
    """World transforms [B, J, 3, 4] that take rest-pose points to posed ones."""
    world_r = np.empty_like(rot)
    world_t = np.empty_like(joints)
    for j in range(rot.shape[1]):
        p = parents[j]
        if p < 0:
            world_r[:, j], world_t[:, j] = rot[:, j], joints[:, j]
        else:
            local_t = joints[:, j] - joints[:, p]
            world_r[:, j] = world_r[:, p] @ rot[:, j]
            world_t[:, j] = np.einsum("bij,bj->bi", world_r[:, p], local_t) + world_t[:, p]
    # remove the rest pose: a rest-pose vertex x maps to R (x - J) + T
    offset = world_t - np.einsum("bjik,bjk->bji", world_r, joints)
    return np.concatenate([world_r, offset[..., None]], axis=-1)
