"""Offscreen face rendering on the CPU: OpenGL through Mesa's llvmpipe, no display, no GPU.

moderngl opens a headless EGL context (Mesa's surfaceless platform picks the
llvmpipe software rasteriser when there is no GPU), so the same code uses a
GPU where there is one. Morph targets are blended on the CPU with numpy (only
the targets with weight this frame), normals are recomputed from the deformed
mesh, and the head rotation is a uniform. Shading is Lambert with a soft
Blinn-Phong highlight under a key, a fill and a rim light.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from merg_sdk.render.head import MorphHead

BACKGROUND = (0.13, 0.14, 0.16)
FIELD_OF_VIEW_DEG = 24.0
FACE_FILL = 0.62
"""Share of the frame's height the face (the part morph targets move) takes up."""

_VERTEX = """
#version 330
uniform mat4 view_projection;
uniform mat3 head_rotation;
uniform vec3 pivot;
in vec3 position;
in vec3 normal;
in vec3 color;
out vec3 v_normal;
out vec3 v_color;
out vec3 v_position;
void main() {
    vec3 world = head_rotation * (position - pivot) + pivot;
    v_normal = head_rotation * normal;
    v_color = color;
    v_position = world;
    gl_Position = view_projection * vec4(world, 1.0);
}
"""

_FRAGMENT = """
#version 330
uniform vec3 eye;
in vec3 v_normal;
in vec3 v_color;
in vec3 v_position;
out vec4 frag;
const vec3 KEY = normalize(vec3(-0.45, 0.55, 0.75));
const vec3 FILL = normalize(vec3(0.6, 0.1, 0.6));
const vec3 RIM = normalize(vec3(0.2, 0.6, -0.8));
void main() {
    vec3 n = normalize(v_normal);
    if (!gl_FrontFacing) n = -n;  // the reference head is double-sided (inside of the mouth)
    vec3 view = normalize(eye - v_position);
    float key = max(dot(n, KEY), 0.0);
    float fill = max(dot(n, FILL), 0.0);
    float rim = pow(1.0 - max(dot(n, view), 0.0), 3.0) * max(dot(n, RIM) + 0.3, 0.0);
    float spec = pow(max(dot(n, normalize(KEY + view)), 0.0), 40.0);
    vec3 light = 0.12 + 0.85 * key * vec3(1.0, 0.97, 0.92) + 0.28 * fill * vec3(0.85, 0.9, 1.0);
    vec3 lit = v_color * light + 0.10 * spec + 0.25 * rim * vec3(0.8, 0.85, 1.0);
    frag = vec4(pow(clamp(lit, 0.0, 1.0), vec3(1.0 / 2.2)), 1.0);
}
"""


def head_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """The protocol's head angles as a matrix in the head's frame (X to the avatar's left,
    Y up, Z out of the face): pitch about +X nods down, yaw about +Y turns to the avatar's
    left, roll about +Z tilts towards its right shoulder; applied yaw, then pitch, then roll
    (Y X Z, the order of a neck)."""
    cp, sp, cy, sy, cr, sr = (math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw),
                              math.cos(roll), math.sin(roll))  # fmt: skip
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, forward)
    view = np.eye(4)
    view[0, :3], view[1, :3], view[2, :3] = right, up, -forward
    view[:3, 3] = -view[:3, :3] @ eye
    return view


def _perspective(fov_deg: float, aspect: float, near: float, far: float) -> np.ndarray:
    f = 1.0 / math.tan(math.radians(fov_deg) / 2)
    return np.array(
        [
            [f / aspect, 0, 0, 0],
            [0, f, 0, 0],
            [0, 0, (far + near) / (near - far), 2 * far * near / (near - far)],
            [0, 0, -1, 0],
        ]
    )


class _Normals:
    """Smooth vertex normals, shared across UV seams (vertices at the same base position)."""

    def __init__(self, positions: np.ndarray, triangles: np.ndarray) -> None:
        _, self.group = np.unique(np.round(positions, 6), axis=0, return_inverse=True)
        self.group = self.group.reshape(-1)
        self.groups = int(self.group.max()) + 1
        self.corners = self.group[triangles]  # [T, 3] welded vertex per corner
        self.triangles = triangles

    def __call__(self, positions: np.ndarray) -> np.ndarray:
        a, b, c = (positions[self.triangles[:, i]] for i in range(3))
        face = np.cross(b - a, c - a)  # area-weighted
        welded = np.empty((self.groups, 3))
        for axis in range(3):
            weights = np.repeat(face[:, axis], 3)
            welded[:, axis] = np.bincount(self.corners.reshape(-1), weights, self.groups)
        normals = welded[self.group]
        length = np.linalg.norm(normals, axis=1, keepdims=True)
        return (normals / np.maximum(length, 1e-12)).astype(np.float32)


class FaceRenderer:
    """Renders a `MorphHead` at `size` x `size` pixels; one per thread, `close()` when done."""

    def __init__(self, head: MorphHead, size: int = 640, *, samples: int = 0) -> None:
        """`samples` is the multisampling (anti-aliasing) count, 0 (off) or 4. Resolving
        4x multisampling costs llvmpipe about as much as drawing the frame, twice over."""
        import moderngl

        self.head = head
        self.size = size
        try:
            self._ctx = moderngl.create_standalone_context(backend="egl")
        except Exception as exc:
            raise RuntimeError(
                "no headless OpenGL: moderngl could not open an EGL context ("
                f"{exc}); on Debian/Ubuntu install libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri"
            ) from exc
        ctx = self._ctx
        self._program = ctx.program(vertex_shader=_VERTEX, fragment_shader=_FRAGMENT)
        self._normals = _Normals(head.positions, head.triangles)
        self._base = head.positions.astype(np.float32)
        self._deltas = head.deltas.reshape(len(head.deltas), -1)
        self._positions = ctx.buffer(reserve=self._base.nbytes, dynamic=True)
        self._normal_buffer = ctx.buffer(reserve=self._base.nbytes, dynamic=True)
        colors = ctx.buffer(np.ascontiguousarray(head.colors, np.float32).tobytes())
        indices = ctx.buffer(np.ascontiguousarray(head.triangles, np.uint32).tobytes())
        self._vao = ctx.vertex_array(
            self._program,
            [
                (self._positions, "3f", "position"),
                (self._normal_buffer, "3f", "normal"),
                (colors, "3f", "color"),
            ],
            index_buffer=indices,
            index_element_size=4,
        )
        samples = min(samples, ctx.max_samples)
        self._target = ctx.simple_framebuffer((size, size), components=4, samples=samples)
        self._resolved = (
            ctx.simple_framebuffer((size, size), components=4) if samples else self._target
        )
        self._frame(head)

    def _frame(self, head: MorphHead) -> None:
        """Camera on +Z looking at the face; rotation pivot at the top of the neck."""
        face = head.positions[head.face_mask] if head.face_mask.any() else head.positions
        low, high = face.min(axis=0), face.max(axis=0)
        center = (low + high) / 2
        height = max(high[1] - low[1], high[0] - low[0], 1e-3)
        distance = height / FACE_FILL / 2 / math.tan(math.radians(FIELD_OF_VIEW_DEG) / 2)
        eye = center + np.array([0.0, 0.0, distance + (high[2] - center[2])])
        view = _look_at(eye, center)
        projection = _perspective(FIELD_OF_VIEW_DEG, 1.0, distance * 0.05, distance * 20)
        flip = np.diag([1.0, -1.0, 1.0, 1.0])  # rows come back top first: no flip on read
        matrix = flip @ projection @ view
        self._program["view_projection"].write(matrix.T.astype("f4").tobytes())
        self._program["eye"].value = tuple(float(v) for v in eye)
        pivot = np.array([center[0], low[1], center[2] - 0.4 * height])
        self._program["pivot"].value = tuple(float(v) for v in pivot)

    def deform(self, target_weights: np.ndarray) -> np.ndarray:
        """Base mesh plus the weighted deltas of the targets that are on this frame."""
        active = np.flatnonzero(np.abs(target_weights) > 1e-4)
        if not len(active):
            return self._base
        moved = target_weights[active].astype(np.float32) @ self._deltas[active]
        return self._base + moved.reshape(-1, 3)

    def render(self, target_weights: np.ndarray, head: np.ndarray | None = None) -> np.ndarray:
        """One frame: uint8 RGB [size, size, 3], top row first. `target_weights` is one
        weight per `head.target_names`; `head` is (pitch, yaw, roll) radians or None."""
        positions = self.deform(target_weights)
        self._positions.write(np.ascontiguousarray(positions, np.float32).tobytes())
        self._normal_buffer.write(self._normals(positions).tobytes())
        rotation = head_rotation(*map(float, head)) if head is not None else np.eye(3)
        self._program["head_rotation"].write(rotation.T.astype("f4").tobytes())
        ctx: Any = self._ctx
        self._target.use()
        ctx.enable(ctx.DEPTH_TEST)
        ctx.front_face = "cw"  # the flipped projection mirrors the winding
        self._target.clear(*BACKGROUND, 1.0)
        self._vao.render()
        if self._resolved is not self._target:
            ctx.copy_framebuffer(self._resolved, self._target)
        pixels = self._resolved.read(components=3, alignment=1)
        return np.frombuffer(pixels, np.uint8).reshape(self.size, self.size, 3)

    def close(self) -> None:
        self._ctx.release()

    def __enter__(self) -> FaceRenderer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
