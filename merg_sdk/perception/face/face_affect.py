"""Face affect: how the user seems to feel, read from their face over the last seconds.

ARKit-52 weights (from a headset, or from MediaPipe on a camera frame) are
turned into facial actions after FACS (smile, brow lowerer, nose wrinkle,
...), and actions into motion emotions after the EMFACS prototypes; both
tables are data (data/face_actions.yaml). One frame is a glance; a turn is
read from a window of frames (`FaceTracker`, ~2 s), averaging the actions
and counting how often a face was seen at all.

    reader = FaceAffect.load()           # tables; the landmarker loads on first JPEG
    tracker = reader.new_tracker()       # one per session
    tracker.add_jpeg(t, jpeg)            # or tracker.add_weights(t, weights)
    state = tracker.summary()            # AffectState(by=face) for the turn

All methods are thread-safe: tables are immutable, the tracker and the
landmarker lock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from merg_sdk.perception.face.landmarker import (
    ARKIT,
    FaceInputError,
    FaceLandmarker,
    check_weights,
    decode_jpeg,
)
from merg_sdk.perception.types import MOTION_EMOTIONS, AffectState, Cue, CueKind, Modality
from merg_sdk.perception.voice.vad_space import emotion_points

DATA = Path(__file__).resolve().parent / "data" / "face_actions.yaml"
HISTORY_S = 10.0  # frames older than this (behind the newest) are forgotten


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: dict[str, float]
    floor: float = Field(ge=0.0, lt=1.0)


class FaceTable(BaseModel):
    """The validated action and emotion tables."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    actions: dict[str, _Action]
    emotions: dict[str, dict[str, float]]
    neutral_evidence: float = Field(ge=0.0, le=1.0)
    temperature: float = Field(gt=0.0)
    max_confidence: float = Field(ge=0.0, le=1.0)
    neutral_confidence_factor: float = Field(ge=0.0, le=1.0)
    cue_threshold: float = Field(ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _names(self) -> FaceTable:
        for name, action in self.actions.items():
            unknown = set(action.weights) - set(ARKIT)
            if unknown:
                raise ValueError(f"action {name!r}: {sorted(unknown)} are not arkit52 names")
        for emotion, weights in self.emotions.items():
            if emotion not in MOTION_EMOTIONS or emotion == "neutral":
                raise ValueError(f"emotion {emotion!r} is not a (non-neutral) motion emotion")
            unknown = set(weights) - set(self.actions)
            if unknown:
                raise ValueError(f"emotion {emotion!r}: unknown actions {sorted(unknown)}")
            if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
                raise ValueError(f"emotion {emotion!r}: weights must be >= 0 with a positive sum")
        return self


def load_table(path: Path | None = None) -> FaceTable:
    """Load and validate a face action file (the shipped one by default)."""
    return FaceTable.model_validate(yaml.safe_load((path or DATA).read_text(encoding="utf-8")))


@dataclass(frozen=True, slots=True)
class FaceFrame:
    """One frame's facial actions (activations in [0, 1]), or `face=False` when none was seen."""

    t: float
    face: bool
    actions: np.ndarray


class FaceAffect:
    """Reads facial actions and an `AffectState` (by=face). Share one per process."""

    def __init__(self, table: FaceTable, landmarker: FaceLandmarker | None = None) -> None:
        self.table = table
        self.action_names = tuple(table.actions)
        self._action_weights = np.zeros((len(table.actions), len(ARKIT)))
        for row, action in enumerate(table.actions.values()):
            for name, weight in action.weights.items():
                self._action_weights[row, ARKIT.index(name)] = weight
        self._floors = np.array([a.floor for a in table.actions.values()])
        self.emotion_names = ("neutral", *table.emotions)
        self._emotion_weights = np.array(
            [[table.emotions[e].get(a, 0.0) for a in self.action_names] for e in table.emotions]
        )
        self._emotion_weights /= self._emotion_weights.sum(axis=1, keepdims=True)
        points = emotion_points()
        self._vad = np.array([points[e] for e in self.emotion_names])
        self._landmarker = landmarker
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, table_path: Path | None = None, landmarker: FaceLandmarker | None = None
    ) -> FaceAffect:
        """The tables now; MediaPipe only when the first camera frame needs it (or `warm_up`)."""
        return cls(load_table(table_path), landmarker)

    def warm_up(self) -> None:
        """Load the landmarker and run it once, so the first camera frame is not slow."""
        self.landmarker().blendshapes(np.full((256, 256, 3), 128, dtype=np.uint8))

    def landmarker(self) -> FaceLandmarker:
        with self._lock:
            if self._landmarker is None:
                self._landmarker = FaceLandmarker()
            return self._landmarker

    def close(self) -> None:
        """Stop MediaPipe while the interpreter is whole (its finaliser fails at exit)."""
        with self._lock:
            landmarker, self._landmarker = self._landmarker, None
        if landmarker is not None:
            landmarker.close()

    def new_tracker(self, window_s: float = 2.0) -> FaceTracker:
        """A per-session accumulator of frames; its `summary` reads the last `window_s` seconds."""
        return FaceTracker(self, window_s)

    def actions(self, weights: object) -> np.ndarray:
        """ARKit-52 weights (validated) -> action activations in `action_names` order."""
        raw = self._action_weights @ check_weights(weights).astype(np.float64)
        return np.clip((raw - self._floors) / (1.0 - self._floors), 0.0, 1.0)

    def frame_from_jpeg(self, t: float, jpeg: object) -> FaceFrame:
        """Decode and read one camera frame; no face seen is a frame with `face=False`."""
        weights = self.landmarker().blendshapes(decode_jpeg(jpeg))
        if weights is None:
            return FaceFrame(t, False, np.zeros(len(self.action_names)))
        return FaceFrame(t, True, self.actions(weights))

    def read_weights(self, weights: object) -> AffectState:
        """One frame of ARKit weights, read on its own."""
        return self.classify(self.actions(weights))

    def read_jpeg(self, jpeg: object) -> AffectState:
        """One camera frame, read on its own (confidence 0 and a cue when no face is seen)."""
        frame = self.frame_from_jpeg(0.0, jpeg)
        return self.classify(frame.actions, face_fraction=1.0 if frame.face else 0.0)

    def classify(self, actions: np.ndarray, face_fraction: float = 1.0) -> AffectState:
        """Action activations -> emotion distribution, VAD and confidence."""
        t = self.table
        if face_fraction <= 0.0:
            cue = Cue(CueKind.QUALITY, "no face")
            return AffectState(by=Modality.FACE, cues=(cue,), distribution=(("neutral", 1.0),))
        evidence = np.concatenate([[t.neutral_evidence], self._emotion_weights @ actions])
        # expm1, not exp: an emotion with no evidence at all gets no probability, so a
        # relaxed face reads (0, 0, 0) rather than a blur of every emotion's VAD
        probs = np.expm1(evidence / t.temperature)
        probs /= probs.sum()
        top = int(probs.argmax())
        emotion = self.emotion_names[top]
        vad = probs @ self._vad
        confidence = t.max_confidence * float(probs[top]) * face_fraction
        if emotion == "neutral":
            confidence *= t.neutral_confidence_factor
        cues = tuple(
            Cue(CueKind.FACIAL_ACTION, f"{name} {value:.2f}", name)
            for name, value in zip(self.action_names, actions, strict=True)
            if value >= t.cue_threshold
        )
        if face_fraction < 1.0:
            cues += (Cue(CueKind.QUALITY, f"face seen in {100 * face_fraction:.0f}% of frames"),)
        ranked = sorted(
            ((n, round(float(p), 4)) for n, p in zip(self.emotion_names, probs, strict=True)),
            key=lambda kv: -kv[1],
        )
        return AffectState(
            emotion=emotion,
            fine_emotion=emotion,
            vad=(round(float(vad[0]), 4), round(float(vad[1]), 4), round(float(vad[2]), 4)),
            confidence=round(confidence, 4),
            cues=cues,
            by=Modality.FACE,
            distribution=tuple((n, p) for n, p in ranked if p > 1e-4),
        )


class FaceTracker:
    """A session's recent face frames; `summary` reads a turn from the last `window_s` seconds.

    Frames arrive as `user.face` messages at the engine's rate with their own
    time `t` (seconds, the client's clock). Time going backwards means the
    client restarted its clock: the history is cleared rather than mixed.
    """

    def __init__(self, reader: FaceAffect, window_s: float = 2.0) -> None:
        if not window_s > 0.0:
            raise ValueError("window_s must be positive")
        self.reader = reader
        self.window_s = window_s
        self._frames: deque[FaceFrame] = deque(maxlen=1024)
        self._lock = threading.Lock()

    def add_weights(self, t: float, weights: object) -> FaceFrame:
        """A headset frame; raises FaceInputError for a bad time or bad weights."""
        frame = FaceFrame(_check_time(t), True, self.reader.actions(weights))
        self._add(frame)
        return frame

    def add_jpeg(self, t: float, jpeg: object) -> FaceFrame:
        """A camera frame (decoded and read now: ~10-20 ms); FaceInputError for a bad image."""
        frame = self.reader.frame_from_jpeg(_check_time(t), jpeg)
        self._add(frame)
        return frame

    def summary(self, now: float | None = None) -> AffectState:
        """The face over [now - window_s, now] (now = newest frame); confidence 0 when empty."""
        with self._lock:
            frames = list(self._frames)
        if now is None and frames:
            now = frames[-1].t
        recent = [f for f in frames if now is not None and now - self.window_s <= f.t <= now]
        if not recent:
            cue = Cue(CueKind.QUALITY, "no face frames")
            return AffectState(by=Modality.FACE, cues=(cue,), distribution=(("neutral", 1.0),))
        seen = [f.actions for f in recent if f.face]
        actions = np.mean(seen, axis=0) if seen else np.zeros(len(self.reader.action_names))
        return self.reader.classify(actions, face_fraction=len(seen) / len(recent))

    def reset(self) -> None:
        with self._lock:
            self._frames.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._frames)

    def _add(self, frame: FaceFrame) -> None:
        with self._lock:
            if self._frames and frame.t < self._frames[-1].t:
                self._frames.clear()
            self._frames.append(frame)
            while self._frames and self._frames[0].t < frame.t - HISTORY_S:
                self._frames.popleft()


def _check_time(t: object) -> float:
    if isinstance(t, bool) or not isinstance(t, int | float) or not np.isfinite(t):
        raise FaceInputError(f"face frame time t must be a finite number, got {t!r}")
    return float(t)
