"""A small synthetic head in FLAME's file format, for tests and benchmarks.

The real model cannot be shipped (registration licence), yet the loader, the
forward model and the ARKit fit must be exercised on something with FLAME's
semantics: an ellipsoid head (metres, +Z out of the face, +Y up, +X the
head's left) with a nose, lips split by a mouth line, eye sockets and two
eyeballs; FLAME's 5 joints and kinematic tree; the jaw skinning the lower
lip, chin and jaw line; 10 identity components, 100 expression components
and pose correctives. The expression basis is a seeded random mixture of
smooth bumps at anatomical spots (sharp only across the lip line and lid
line, as a real face is), so ARKit-like motions are mostly in its span, as
they are in FLAME's; fit numbers on this model are therefore optimistic.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

RADII_M = np.array([0.078, 0.105, 0.095])
EYE_X_M, EYE_Y_M, EYEBALL_R_M = 0.0315, 0.025, 0.0115
MOUTH_Y_M = -0.044
N_SHAPE = 10
_BUMPS = (  # x, y, sigma x, sigma y, height along the normal (metres)
    (0.0, -0.010, 0.008, 0.014, 0.020), (0.0, -0.016, 0.006, 0.006, 0.006),
    (EYE_X_M, EYE_Y_M, 0.011, 0.008, -0.006), (-EYE_X_M, EYE_Y_M, 0.011, 0.008, -0.006),
    (0.03, 0.042, 0.02, 0.006, 0.003), (-0.03, 0.042, 0.02, 0.006, 0.003),
    (0.0, MOUTH_Y_M + 0.006, 0.018, 0.004, 0.004), (0.0, MOUTH_Y_M - 0.007, 0.017, 0.005, 0.004),
    (0.0, -0.088, 0.012, 0.010, 0.006), (0.04, -0.01, 0.015, 0.015, 0.004),
    (-0.04, -0.01, 0.015, 0.015, 0.004),
)  # fmt: skip
_ATOMS = (  # expression bumps: x (mirrored when > 0), y, mask
    (0.025, MOUTH_Y_M, ""), (0.0, MOUTH_Y_M + 0.006, "upper"), (0.012, MOUTH_Y_M + 0.005, "upper"),
    (0.0, MOUTH_Y_M - 0.008, "lower"), (0.012, MOUTH_Y_M - 0.007, "lower"), (0.0, -0.085, ""),
    (0.0, MOUTH_Y_M - 0.022, "lower"), (0.05, -0.07, ""), (0.038, 0.0, ""), (0.045, -0.03, ""),
    (0.025, -0.028, ""), (0.013, -0.018, ""), (0.0, 0.015, ""), (EYE_X_M, 0.032, "lid_up"),
    (EYE_X_M, 0.017, "lid_low"), (0.013, 0.045, ""), (0.048, 0.042, ""), (0.03, 0.05, ""),
    (0.0, 0.06, ""), (0.06, 0.03, ""),
)  # fmt: skip


def _spaced(n: int, lo: float, hi: float, centre: float, width: float, gain: float) -> np.ndarray:
    """n values in (lo, hi), denser near `centre` (inverse CDF of a bumped density)."""
    grid = np.linspace(lo, hi, 2001)
    density = 1.0 + gain * np.exp(-(((grid - centre) / width) ** 2))
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
    return np.interp((np.arange(n) + 0.5) / n * cdf[-1], cdf, grid)


def _sphere(n_lat: int, n_lon: int, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, list]:
    """Unit-sphere grid points plus two poles, and its triangles."""
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    pts = np.stack([np.cos(la) * np.sin(lo), np.sin(la), np.cos(la) * np.cos(lo)], -1)
    pts = np.concatenate([pts.reshape(-1, 3), [[0, -1, 0], [0, 1, 0]]])
    faces, idx = [], lambda i, j: i * n_lon + j % n_lon
    for i in range(n_lat - 1):
        for j in range(n_lon):
            a, b, c, d = idx(i, j), idx(i, j + 1), idx(i + 1, j), idx(i + 1, j + 1)
            faces += [(a, c, b), (b, c, d)]
    south, north = n_lat * n_lon, n_lat * n_lon + 1
    for j in range(n_lon):
        faces += [
            (south, idx(0, j), idx(0, j + 1)),
            (north, idx(n_lat - 1, j + 1), idx(n_lat - 1, j)),
        ]
    return pts, faces


def _sig(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _head(n_lat: int, n_lon: int) -> tuple[np.ndarray, list, float]:
    lat = _spaced(n_lat, -np.pi / 2, np.pi / 2, -0.25, 0.45, 2.5)
    lon = _spaced(n_lon, -np.pi, np.pi, 0.0, 0.55, 3.0)
    unit, faces = _sphere(n_lat, n_lon, lat, lon)
    base = unit * RADII_M
    rows_y = RADII_M[1] * np.sin(lat)  # put the mouth line between two rows of vertices
    k = int(np.searchsorted(rows_y, MOUTH_Y_M))
    mouth_y = float((rows_y[k - 1] + rows_y[k]) / 2)
    normal = base / RADII_M**2
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    front = np.clip(base[:, 2] / RADII_M[2], 0, 1) ** 2
    height = np.zeros(len(base))
    for x, y, sx, sy, h in _BUMPS:
        y = y - MOUTH_Y_M + mouth_y if abs(y - MOUTH_Y_M) < 0.01 else y
        height += h * np.exp(-0.5 * (((base[:, 0] - x) / sx) ** 2 + ((base[:, 1] - y) / sy) ** 2))
    return base + normal * (height * front)[:, None], faces, mouth_y


def _affine_regressor(verts: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices and affine weights (sum 1) whose combination is exactly `target`."""
    rel = verts - target
    rel /= np.linalg.norm(rel, axis=1, keepdims=True)
    picks = np.unique([int(np.argmax(rel @ d)) for d in np.vstack([np.eye(3), -np.eye(3)])])
    system = np.vstack([verts[picks].T, np.ones(len(picks))])
    return picks, np.linalg.lstsq(system, np.append(target, 1.0), rcond=None)[0]


def synthetic_flame_arrays(seed: int = 0, n_lat: int = 38, n_lon: int = 48) -> dict[str, Any]:
    """The model's arrays as FLAME stores them (J_regressor dense here)."""
    rng = np.random.default_rng(seed)
    skin, faces, mouth_y = _head(n_lat, n_lon)
    n_skin = len(skin)
    ball_unit, ball_faces = _sphere(
        6, 8, np.linspace(-1.2, 1.2, 6), np.linspace(0, 2 * np.pi, 9)[:-1]
    )
    verts, joints_at = [skin], {}
    for joint, x in ((3, EYE_X_M), (4, -EYE_X_M)):
        z = RADII_M[2] * np.sqrt(1 - (x / RADII_M[0]) ** 2 - (EYE_Y_M / RADII_M[1]) ** 2)
        centre = np.array([x, EYE_Y_M, z - 0.006 - EYEBALL_R_M - 0.002])
        offset = sum(len(v) for v in verts)
        faces += [tuple(i + offset for i in f) for f in ball_faces]
        verts.append(centre + EYEBALL_R_M * ball_unit)
        joints_at[joint] = (np.arange(offset, offset + len(ball_unit)), centre)
    v = np.concatenate(verts)
    n = len(v)
    x, y, z = skin.T
    w = np.zeros((n, 5))
    w[:n_skin, 0] = _sig((-0.097 - y) / 0.004)
    w[:n_skin, 2] = _sig((mouth_y - y) / 0.0015) * _sig((z - 0.035) / 0.008) * (1 - w[:n_skin, 0])
    w[:n_skin, 1] = 1.0 - w[:n_skin, 0] - w[:n_skin, 2]
    regressor = np.zeros((5, n))
    for joint, target in enumerate(((0, -0.095, -0.01), (0, -0.06, -0.02), (0, -0.02, 0.0))):
        picks, coef = _affine_regressor(skin, np.array(target))
        regressor[joint, picks] = coef
    for joint, (ball, _) in joints_at.items():
        w[ball, joint] = 1.0
        regressor[joint, ball] = 1.0 / len(ball)
    q = v / RADII_M  # smooth monomials of normalised position, for identity and pose fields
    mono = np.stack(
        [np.ones(n), *q.T, *(q[:, i] * q[:, j] for i in range(3) for j in range(i, 3))], 1
    )
    shape = np.einsum("vm,mck->vck", mono, rng.normal(0, 0.004 / 3, (10, 3, N_SHAPE)))
    expr = _expression_dirs(v, n_skin, mouth_y, rng)
    pose = np.einsum("vm,mcp->vcp", mono, rng.normal(0, 0.002 / 3, (10, 3, 36)))
    for j in range(1, 5):
        pose[:, :, 9 * (j - 1) : 9 * j] *= w[:, j, None, None] * (j < 3)
    return {
        "v_template": v, "shapedirs": np.concatenate([shape, expr], axis=2), "posedirs": pose,
        "J_regressor": regressor, "weights": w, "f": np.asarray(faces, dtype=np.uint32),
        "kintree_table": np.array([[2**32 - 1, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64),
        "J": regressor @ v, "bs_style": "lbs", "bs_type": "lrotmin",
    }  # fmt: skip


def _expression_dirs(
    v: np.ndarray, n_skin: int, mouth_y: float, rng: np.random.Generator
) -> np.ndarray:
    """100 components: random orthonormal mixtures of masked bumps, decaying like PCA."""
    atoms = []
    for x, y, mask in _ATOMS:
        y = y - MOUTH_Y_M + mouth_y if mask in ("upper", "lower") or y == MOUTH_Y_M else y
        for side in (1.0, -1.0) if x > 0 else (1.0,):
            d2 = (v[:, 0] - side * x) ** 2 + (v[:, 1] - y) ** 2
            g = np.exp(-d2 / (2 * 0.011**2)) * (v[:, 2] > 0.02)
            g[n_skin:] = 0.0
            g *= {"upper": v[:, 1] >= mouth_y, "lower": v[:, 1] < mouth_y, "": 1.0,
                  "lid_up": v[:, 1] >= EYE_Y_M, "lid_low": v[:, 1] < EYE_Y_M}[mask]  # fmt: skip
            atoms.extend(g[:, None] * np.eye(3)[c] for c in range(3))
    atoms_m = np.stack(atoms, axis=-1)  # [V, 3, A]
    mix, _ = np.linalg.qr(rng.normal(size=(atoms_m.shape[2], atoms_m.shape[2])))
    dirs = np.einsum("vca,ak->vck", atoms_m, mix[:, :100])
    peak = np.linalg.norm(dirs, axis=1).max(axis=0)
    return dirs * (0.003 / (1.0 + np.arange(100) / 30.0) / peak)


def write_synthetic_flame(
    path: str | Path, seed: int = 0, fmt: str = "pkl", n_lat: int = 38, n_lon: int = 48
) -> Path:
    """Write the model as FLAME's pickle (protocol 2, sparse regressor if scipy is
    installed) or as .npz.

    The default grid gives about 1,900 vertices; n_lat=64, n_lon=76 gives
    FLAME's size (about 5,000) for timing.
    """
    path = Path(path)
    arrays = synthetic_flame_arrays(seed, n_lat, n_lon)
    if fmt == "npz":
        np.savez(path, **{k: np.asarray(a) for k, a in arrays.items()})
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    if fmt != "pkl":
        raise ValueError(f"fmt must be 'pkl' or 'npz', got {fmt!r}")
    try:  # FLAME's files hold a scipy CSC matrix; without scipy a dense one (also valid)
        import scipy.sparse

        arrays["J_regressor"] = scipy.sparse.csc_matrix(arrays["J_regressor"])
    except ImportError:
        pass
    path.write_bytes(pickle.dumps(arrays, protocol=2))
    return path
