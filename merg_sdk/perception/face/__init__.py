"""Face affect: facial actions and emotion from ARKit-52 weights or camera JPEGs.

`FaceAffect` reads frames (headset weights, or JPEGs through MediaPipe's
FaceLandmarker); a per-session `FaceTracker` summarises the last seconds of
frames into an `AffectState` for the turn. See docs/affect-voice-face.md.
"""

from __future__ import annotations

from merg_sdk.perception.face.face_affect import (
    FaceAffect,
    FaceFrame,
    FaceTable,
    FaceTracker,
    load_table,
)
from merg_sdk.perception.face.landmarker import (
    FaceInputError,
    FaceLandmarker,
    check_weights,
    decode_jpeg,
    face_landmarker_task,
)

__all__ = [
    "FaceAffect",
    "FaceFrame",
    "FaceInputError",
    "FaceLandmarker",
    "FaceTable",
    "FaceTracker",
    "check_weights",
    "decode_jpeg",
    "face_landmarker_task",
    "load_table",
]
