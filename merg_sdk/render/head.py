"""A glTF head with morph targets, flattened into one mesh the renderer can deform.

Any glTF 2.0 file (.glb or .gltf) whose meshes carry morph targets named as
ARKit names them: every primitive of every mesh in the default scene is placed
by its node's world transform and merged, and targets with the same name in
different primitives (a face, teeth and eyes that all follow `jawOpen`) become
one target. Names come from `mesh.extras.targetNames`, the convention Blender,
three.js and most exporters write. Colour is per vertex: `COLOR_0`, else the
material's base-colour texture sampled at each vertex, else its base-colour
factor, else a neutral skin tone.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from merg_sdk.data import blendshapes_file

SKIN_LINEAR = np.array([0.62, 0.40, 0.31], np.float32)
"""A neutral skin tone (linear RGB) for meshes without colour of their own."""

_COMPONENTS = {5120: np.int8, 5121: np.uint8, 5122: np.int16, 5123: np.uint16, 5125: np.uint32,
               5126: np.float32}  # fmt: skip
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


class HeadError(ValueError):
    """The head file cannot drive a face (no morph targets, none with ARKit names, ...)."""


class MissingTargetsWarning(UserWarning):
    """Some of the recording's controllers have no morph target in the head."""


def reference_head_path() -> Path:
    """MERG's reference head: MediaPipe's canonical face with the 52 ARKit targets."""
    return blendshapes_file("head/reference_head.glb")


@dataclass(frozen=True, slots=True)
class MorphHead:
    """One merged mesh: base positions, per-target deltas, colours and triangles."""

    path: Path
    positions: np.ndarray  # float32 [V, 3], metres, +Y up, +Z out of the face
    colors: np.ndarray  # float32 [V, 3], linear RGB
    triangles: np.ndarray  # uint32 [T, 3]
    target_names: tuple[str, ...]
    deltas: np.ndarray  # float32 [K, V, 3]

    @property
    def face_mask(self) -> np.ndarray:
        """Vertices any target moves: the face, which the camera frames."""
        return np.abs(self.deltas).max(axis=(0, 2)) > 1e-6 if len(self.deltas) else np.zeros(0)


def normalise(name: str) -> str:
    """Loose key for matching: `Face.JawOpen`, `jaw_open` and `jawOpen` all read `jawopen`."""
    return re.sub(r"[^a-z0-9]", "", re.split(r"[.:|]", name)[-1].lower())


def load_head(path: str | Path | None = None) -> MorphHead:
    """Read a glTF head; the reference head when `path` is None."""
    import pygltflib

    path = Path(path) if path is not None else reference_head_path()
    if not path.is_file():
        raise HeadError(f"no head file at {path}")
    try:
        gltf = pygltflib.GLTF2().load(str(path))
    except Exception as exc:
        raise HeadError(f"{path} is not a readable glTF file ({exc})") from exc
    if gltf is None:
        raise HeadError(f"{path} is not a readable glTF file")
    reader = _Reader(gltf, path)
    parts = [part for node, matrix in _mesh_nodes(gltf) for part in reader.primitives(node, matrix)]
    if not parts:
        raise HeadError(f"{path} has no triangle meshes")
    names: list[str] = []
    for part in parts:
        names += [n for n in part.targets if n not in names]
    if not names:
        unnamed = any(part.unnamed_targets for part in parts)
        why = "its morph targets have no names (mesh.extras.targetNames)" if unnamed else (
            "it has no morph targets")  # fmt: skip
        raise HeadError(f"{path} cannot show a face: {why}; MERG drives ARKit-named morph targets")
    positions, colors, triangles = [], [], []
    deltas = np.zeros((len(names), sum(len(p.positions) for p in parts), 3), np.float32)
    offset = 0
    for part in parts:
        count = len(part.positions)
        positions.append(part.positions)
        colors.append(part.colors)
        triangles.append(part.triangles + offset)
        for name, delta in part.targets.items():
            deltas[names.index(name), offset : offset + count] = delta
        offset += count
    return MorphHead(
        path=path,
        positions=np.concatenate(positions).astype(np.float32),
        colors=np.concatenate(colors).astype(np.float32),
        triangles=np.concatenate(triangles).astype(np.uint32),
        target_names=tuple(names),
        deltas=deltas,
    )


def bind(head: MorphHead, names: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Which column of a face frame drives each of the head's targets.

    Returns (column index per head target, -1 for targets nothing drives; the names the
    head lacks). No matching target at all is a `HeadError`; some missing is a warning
    naming them, and the rest are driven.
    """
    exact = {name: i for i, name in enumerate(names)}
    loose = {normalise(name): i for i, name in enumerate(names)}
    columns = np.array(
        [exact.get(t, loose.get(normalise(t), -1)) for t in head.target_names], np.int64
    )
    driven = {int(c) for c in columns if c >= 0}
    missing = [name for i, name in enumerate(names) if i not in driven]
    if not driven:
        raise HeadError(
            f"{head.path.name} has none of the recording's {len(names)} controllers "
            f"({', '.join(list(names)[:4])}, ...) as morph targets; its targets are "
            f"{', '.join(head.target_names[:6])}{', ...' if len(head.target_names) > 6 else ''}"
        )
    if missing:
        warnings.warn(
            f"{head.path.name} lacks {len(missing)} of {len(names)} morph targets, which stay "
            f"still: {', '.join(missing)}",
            MissingTargetsWarning,
            stacklevel=2,
        )
    return columns, missing


@dataclass(slots=True)
class _Primitive:
    positions: np.ndarray
    colors: np.ndarray
    triangles: np.ndarray
    targets: dict[str, np.ndarray]
    unnamed_targets: int


def _mesh_nodes(gltf: Any) -> list[tuple[Any, np.ndarray]]:
    """Every node with a mesh in the default scene (all nodes if no scene), world matrix."""
    found: list[tuple[Any, np.ndarray]] = []

    def visit(index: int, parent: np.ndarray) -> None:
        node = gltf.nodes[index]
        world = parent @ _local_matrix(node)
        if node.mesh is not None:
            found.append((node, world))
        for child in node.children or []:
            visit(child, world)

    if gltf.scenes:
        scene = gltf.scenes[gltf.scene or 0]
        roots = scene.nodes or []
    else:
        children = {c for n in gltf.nodes for c in (n.children or [])}
        roots = [i for i in range(len(gltf.nodes)) if i not in children]
    for root in roots:
        visit(root, np.eye(4))
    return found


def _local_matrix(node: Any) -> np.ndarray:
    if node.matrix:
        return np.array(node.matrix, np.float64).reshape(4, 4).T  # glTF is column-major
    t = np.eye(4)
    if node.translation:
        t[:3, 3] = node.translation
    r = np.eye(4)
    if node.rotation:
        x, y, z, w = node.rotation
        r[:3, :3] = [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    s = np.eye(4)
    if node.scale:
        s[0, 0], s[1, 1], s[2, 2] = node.scale
    return t @ r @ s


class _Reader:
    def __init__(self, gltf: Any, path: Path) -> None:
        self.gltf = gltf
        self.path = path
        self._buffers: dict[int, bytes] = {}

    def buffer(self, index: int) -> bytes:
        if index not in self._buffers:
            buffer = self.gltf.buffers[index]
            if buffer.uri is None:
                self._buffers[index] = self.gltf.binary_blob() or b""
            elif buffer.uri.startswith("data:"):
                import base64

                self._buffers[index] = base64.b64decode(buffer.uri.split(",", 1)[1])
            else:
                self._buffers[index] = (self.path.parent / buffer.uri).read_bytes()
        return self._buffers[index]

    def view(self, index: int) -> tuple[bytes, int, int | None]:
        view = self.gltf.bufferViews[index]
        return self.buffer(view.buffer), view.byteOffset or 0, view.byteStride

    def accessor(self, index: int) -> np.ndarray:
        """An accessor as float64 [count, width] (normalised integers scaled to [0, 1])."""
        accessor = self.gltf.accessors[index]
        dtype = np.dtype(_COMPONENTS[accessor.componentType]).newbyteorder("<")
        width = _WIDTH[accessor.type]
        if accessor.bufferView is None:
            data = np.zeros((accessor.count, width))
        else:
            blob, start, stride = self.view(accessor.bufferView)
            start += accessor.byteOffset or 0
            item = dtype.itemsize * width
            stride = stride or item
            raw = np.frombuffer(blob, np.uint8, count=stride * (accessor.count - 1) + item,
                                offset=start)  # fmt: skip
            rows = np.lib.stride_tricks.as_strided(raw, (accessor.count, item), (stride, 1))
            data = np.ascontiguousarray(rows).view(dtype).reshape(accessor.count, width)
            data = data.astype(np.float64)
        if accessor.sparse is not None:
            sparse = accessor.sparse
            blob, start, _ = self.view(sparse.indices.bufferView)
            kind = np.dtype(_COMPONENTS[sparse.indices.componentType]).newbyteorder("<")
            start += sparse.indices.byteOffset or 0
            where = np.frombuffer(blob, kind, sparse.count, start)
            blob, start, _ = self.view(sparse.values.bufferView)
            values = np.frombuffer(
                blob, dtype, sparse.count * width, start + (sparse.values.byteOffset or 0)
            )
            data = data.copy()
            data[where.astype(np.int64)] = values.reshape(sparse.count, width)
        if accessor.normalized and dtype.kind in "iu":
            data = data / np.iinfo(dtype).max
        return data

    def primitives(self, node: Any, world: np.ndarray) -> list[_Primitive]:
        mesh = self.gltf.meshes[node.mesh]
        extras = mesh.extras if isinstance(mesh.extras, dict) else {}
        mesh_names = extras.get("targetNames")
        linear = world[:3, :3]
        found = []
        for primitive in mesh.primitives:
            if primitive.mode not in (None, 4) or primitive.attributes.POSITION is None:
                continue  # points, lines and strips carry no face
            positions = self.accessor(primitive.attributes.POSITION)
            if primitive.indices is not None:
                triangles = self.accessor(primitive.indices).astype(np.int64).reshape(-1, 3)
            else:
                triangles = np.arange(len(positions)).reshape(-1, 3)
            extras = primitive.extras if isinstance(primitive.extras, dict) else {}
            names = extras.get("targetNames") or mesh_names or []
            targets: dict[str, np.ndarray] = {}
            unnamed = 0
            for index, target in enumerate(primitive.targets or []):
                if index >= len(names) or "POSITION" not in target:
                    unnamed += 1
                    continue
                targets[str(names[index])] = (self.accessor(target["POSITION"]) @ linear.T).astype(
                    np.float32
                )
            placed = positions @ linear.T + world[:3, 3]
            found.append(
                _Primitive(placed, self.colors(primitive, positions), triangles, targets, unnamed)
            )
        return found

    def colors(self, primitive: Any, positions: np.ndarray) -> np.ndarray:
        count = len(positions)
        if primitive.attributes.COLOR_0 is not None:
            return self.accessor(primitive.attributes.COLOR_0)[:, :3]
        pbr = None
        if primitive.material is not None:
            pbr = self.gltf.materials[primitive.material].pbrMetallicRoughness
        factor = np.array((pbr.baseColorFactor if pbr else None) or [1, 1, 1, 1])[:3]
        texture = self.texture_colors(pbr, primitive)
        if texture is not None:
            return texture * factor
        if pbr is None or np.allclose(factor, 1.0):
            return np.tile(SKIN_LINEAR, (count, 1))
        return np.tile(factor, (count, 1))

    def texture_colors(self, pbr: Any, primitive: Any) -> np.ndarray | None:
        """The base-colour texture sampled at each vertex: coarse, but the user's own skin."""
        info = pbr.baseColorTexture if pbr is not None else None
        coord = getattr(primitive.attributes, f"TEXCOORD_{(info.texCoord or 0) if info else 0}")
        if info is None or coord is None:
            return None
        try:
            from PIL import Image

            image = self.gltf.images[self.gltf.textures[info.index].source]
            if image.bufferView is not None:
                blob, start, _ = self.view(image.bufferView)
                length = self.gltf.bufferViews[image.bufferView].byteLength
                data = blob[start : start + length]
            elif image.uri and image.uri.startswith("data:"):
                import base64

                data = base64.b64decode(image.uri.split(",", 1)[1])
            else:
                data = (self.path.parent / str(image.uri)).read_bytes()
            pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64) / 255
        except Exception as exc:  # a texture we cannot read costs colour, not the render
            warnings.warn(f"{self.path.name}: base-colour texture unreadable ({exc})", stacklevel=3)
            return None
        uv = self.accessor(coord) % 1.0
        h, w = pixels.shape[:2]
        srgb = pixels[(uv[:, 1] * (h - 1)).astype(int), (uv[:, 0] * (w - 1)).astype(int)]
        return srgb**2.2  # to linear
