"""The per-turn face animator: phoneme spans in, contiguous frame blocks out.

The server feeds spans clause by clause as speech is synthesised and asks for
frames up to the audio it is about to send, so motion streams with the voice
and every frame has a fixed index on the turn timeline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from merg_sdk.motion.alive import AliveTrack, eye_look_weights
from merg_sdk.motion.blink import BlinkTrack
from merg_sdk.motion.coarticulation import SpanTrack
from merg_sdk.motion.face import load_emotions, viseme_poses
from merg_sdk.motion.phonemes import load_phoneme_map
from merg_sdk.motion.rig import Rig, load_rig
from merg_sdk.speech.types import PhonemeSpan

EASE_S = 0.3  # emotion changes blend over this long: a face never snaps
LIP_GAP = 0.02  # jawOpen may exceed mouthClose by this much while lips are shut
_LIPS_APART = (
    "mouthFunnel", "mouthPucker", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
)  # fmt: skip

EMOTIONS: tuple[str, ...] = load_emotions().names


@dataclass(frozen=True, slots=True)
class FaceBlock:
    """Frames f0 .. f0+count-1 of a turn: float32 weights [count, len(rig.names)] in [0, 1].

    `head` [count, 3] is pitch, yaw, roll and `eyes` [count, 4] is left pitch, left yaw,
    right pitch, right yaw, in radians (conventions in `motion.alive`).
    """

    f0: int
    weights: np.ndarray
    head: np.ndarray | None = None
    eyes: np.ndarray | None = None

    @property
    def count(self) -> int:
        return len(self.weights)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class FaceAnimator:
    """Streaming speech + emotion + blink animation for one turn, on one rig.

    Frame i is at i / fps seconds on the turn timeline. Rigs whose names are
    all visemes get blended visemes; rigs whose names are all arkit52 names
    get the full face (lips, emotion overlay, blinks), columns in rig order.
    """

    def __init__(
        self,
        rig: Rig,
        fps: float = 60.0,
        emotion: str = "neutral",
        intensity: float = 1.0,
        seed: int | None = None,
    ) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"fps must be a positive number, got {fps}")
        self.rig, self.fps = rig, float(fps)
        visemes, arkit = load_rig("visemes"), load_rig("arkit52")
        if set(rig.names) <= set(visemes.names):
            self._cols, self._visemes_only = [visemes.index(n) for n in rig.names], True
        elif set(rig.names) <= set(arkit.names):
            self._cols, self._visemes_only = [arkit.index(n) for n in rig.names], False
        else:
            raise ValueError(f"rig {rig.name!r} is neither viseme nor arkit52 names")
        self._reorder = self._cols != list(range(len(self._cols)))
        self._poses = viseme_poses()
        self._emotions = load_emotions()
        self._yield = self._emotions.speech_yield * self._emotions.articulated
        self._jaw, self._close = arkit.index("jawOpen"), arkit.index("mouthClose")
        self._eyes = [arkit.index("eyeBlinkLeft"), arkit.index("eyeBlinkRight")]
        self._lips_apart = [arkit.index(n) for n in _LIPS_APART]
        self._track = SpanTrack(load_phoneme_map(), self._poses[:, self._jaw])
        arousal = self._emotions.arousal(emotion, intensity)
        self._blinks = BlinkTrack(seed, rate_scale=1.0 + 0.5 * arousal)
        self._alive = AliveTrack(seed, arousal)
        self._eye_look = [(arkit.index(n), n) for n in eye_look_weights(np.zeros((1, 4)))]
        self._next = 0
        self._emo_to = self._emotion_vector(emotion, intensity)
        self._emo_from, self._emo_t0 = self._emo_to, -EASE_S

    @property
    def next_frame(self) -> int:
        """Index of the first frame not rendered yet."""
        return self._next

    def feed(self, spans: Sequence[PhonemeSpan]) -> None:
        """Add phoneme spans (turn seconds, time-ordered, later than earlier feeds)."""
        self._track.feed(spans, keep_from_s=self._next / self.fps)
        self._alive.feed(spans)

    def set_emotion(self, emotion: str, intensity: float = 1.0) -> None:
        """Ease towards a new expression over EASE_S from the next frame on."""
        target = self._emotion_vector(emotion, intensity)
        t0 = self._next / self.fps
        self._emo_from = self._emotion_at(np.array([t0]))[0]
        self._emo_to, self._emo_t0 = target, t0

    def render_until(self, t_s: float) -> FaceBlock:
        """All frames not yet rendered whose time i / fps is before `t_s`."""
        if not math.isfinite(t_s):
            raise ValueError(f"render_until needs a finite time, got {t_s}")
        f0, n = self._next, self._frames_before(t_s)
        if n <= f0:
            empty = np.zeros((0, len(self.rig.names)), np.float32)
            return FaceBlock(f0, empty, np.zeros((0, 3), np.float32), np.zeros((0, 4), np.float32))
        t = np.arange(f0, n) / self.fps
        visemes, closed = self._track.blend(t)
        self._next = n
        head = self._alive.head(t, speaking=1.0 - visemes[:, 0])
        eyes = self._alive.eyes(t, head)
        face = visemes if self._visemes_only else self._face(t, visemes, closed, eyes)
        out = face[:, self._cols] if self._reorder else face
        return FaceBlock(
            f0,
            np.clip(out, 0.0, 1.0).astype(np.float32),
            head.astype(np.float32),
            eyes.astype(np.float32),
        )

    def _frames_before(self, t_s: float) -> int:
        n = max(0, math.ceil(t_s * self.fps))
        while n > 0 and (n - 1) / self.fps >= t_s:
            n -= 1
        while n / self.fps < t_s:
            n += 1
        return n

    def _emotion_vector(self, emotion: str, intensity: float) -> np.ndarray:
        if not 0.0 <= intensity <= 1.0:
            raise ValueError(f"emotion intensity must be in [0, 1], got {intensity}")
        return self._emotions.pose(emotion) * intensity

    def _emotion_at(self, t: np.ndarray) -> np.ndarray:
        if t[0] >= self._emo_t0 + EASE_S:
            return self._emo_to[None, :]
        ease = _smoothstep((t - self._emo_t0) / EASE_S)[:, None]
        return self._emo_from + (self._emo_to - self._emo_from) * ease

    def _face(
        self, t: np.ndarray, visemes: np.ndarray, closed: np.ndarray, eyes: np.ndarray
    ) -> np.ndarray:
        face = visemes @ self._poses
        looks = eye_look_weights(eyes)
        for column, name in self._eye_look:
            face[:, column] += looks[name]
        speaking = 1.0 - visemes[:, :1]  # share of the mouth busy articulating
        face += self._emotion_at(t) * (1.0 - speaking * self._yield)
        np.minimum(face, 1.0, out=face)
        blink = self._blinks.closure(t)
        if blink.any():
            for eye in self._eyes:
                face[:, eye] += (1.0 - face[:, eye]) * blink
        if closed.any():  # lips stay shut on p/b/m whatever the overlay adds
            face[:, self._lips_apart] *= (1.0 - closed)[:, None]
            excess = np.maximum(face[:, self._jaw] - face[:, self._close] - LIP_GAP, 0.0)
            face[:, self._jaw] -= closed * excess
        return face
