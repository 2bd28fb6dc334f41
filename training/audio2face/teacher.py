"""The teacher: the phoneme-driven FaceAnimator (neutral emotion) on a clip's phoneme spans.

Only the mouth channels are learned, so blinks, gaze and head motion are
irrelevant. The animator's lip-closure depth (1 in the core of p/b/m, where
it forces the lips shut) is learned too, from the same coarticulation track
the animator uses. Also here: p/b/m midpoints and the lips-closed test.
"""

from __future__ import annotations

import math

import numpy as np

from merg_sdk.motion import FaceAnimator, load_rig
from merg_sdk.motion.coarticulation import SpanTrack
from merg_sdk.motion.face import viseme_poses
from merg_sdk.motion.phonemes import load_phoneme_map
from training.audio2face.net import OUTPUT_NAMES, TEACHER_NAMES

BILABIALS = frozenset("pbm")
LIP_GAP_CLOSED = 0.05  # lips count as closed when jawOpen - mouthClose is at most this


def teacher_frames(spans, duration_s: float, fps: float, names=TEACHER_NAMES) -> np.ndarray:
    """Frames i / fps for i < ceil(duration * fps), columns `names`, float32."""
    rig = load_rig("arkit52")
    animator = FaceAnimator(rig, fps=fps, emotion="neutral", seed=0)
    animator.feed(spans)
    weights = animator.render_until(duration_s).weights
    expected = math.ceil(duration_s * fps - 1e-9)
    if abs(len(weights) - expected) > 1:
        raise RuntimeError(f"teacher gave {len(weights)} frames for {expected}")
    return weights[:, [rig.index(n) for n in names]].astype(np.float32)


def teacher_closure(spans, frames: int, fps: float) -> np.ndarray:
    """The animator's lip-closure depth (0..1) at frames i / fps, i < `frames`."""
    jaw = load_rig("arkit52").index("jawOpen")
    track = SpanTrack(load_phoneme_map(), viseme_poses()[:, jaw])
    track.feed(spans, keep_from_s=0.0)
    if frames == 0:
        return np.zeros(0, np.float32)
    return track.blend(np.arange(frames) / fps)[1].astype(np.float32)


def bilabial_midpoints(spans) -> np.ndarray:
    """Times (s) of the centres of p, b and m spans."""
    return np.array([(s.start_s + s.end_s) / 2 for s in spans if s.phoneme in BILABIALS])


def lips_closed(weights: np.ndarray, names=OUTPUT_NAMES) -> np.ndarray:
    """Per frame: are the lips shut (jawOpen exceeds mouthClose by at most LIP_GAP_CLOSED)?"""
    gap = weights[:, names.index("jawOpen")] - weights[:, names.index("mouthClose")]
    return gap <= LIP_GAP_CLOSED
