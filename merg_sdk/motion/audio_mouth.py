"""A speaking face for voices that come without phoneme timings (Riva, recorded lines).

The audio-driven model (`audio2face`) gives the mouth; a `FaceAnimator` on
the same frames gives everything else (emotion, blinks, head, eyes), as in
`animate` turns. One instance lives for one turn: clauses are pushed in
order and the model's streaming state carries across them, so a clause
boundary is not a reset. A frame exists once the model has heard
`lookahead_ms` of audio past it; the last frames of a turn come with
`finish()`.
"""

from __future__ import annotations

import math

import numpy as np

from merg_sdk.motion.animator import FaceAnimator, FaceBlock
from merg_sdk.motion.audio2face import AudioFaceStream
from merg_sdk.motion.retarget import load_retarget
from merg_sdk.motion.rig import Rig, load_rig

MOUTH_OVERLAY_SHARE = 0.4
"""The emotion's share of the mouth channels while the audio moves them (as in `animate`)."""


class AudioMouthAnimator:
    """Int16 speech in, `FaceBlock`s on `rig` out, frame i at i / fps on the turn timeline.

    `rig` is the session's native rig (arkit52 or visemes): the face is built on
    arkit52 and read off as visemes for a visemes rig. Not thread-safe; the
    server calls it from one turn at a time.
    """

    def __init__(
        self,
        rig: Rig,
        fps: int,
        sample_rate: int,
        emotion: str = "neutral",
        intensity: float = 1.0,
        seed: int | None = None,
    ) -> None:
        arkit = load_rig("arkit52")
        self.rig, self.fps = rig, int(fps)
        self._animator = FaceAnimator(arkit, fps, emotion, intensity, seed)
        self._stream = AudioFaceStream(fps=self.fps, sample_rate=sample_rate)
        self._mouth_columns = [arkit.index(name) for name in self._stream.names]
        self._to_visemes = load_retarget("oculus") if rig.name == "visemes" else None
        if self._to_visemes is None and rig.names != arkit.names:
            raise ValueError(f"audio-driven faces need an arkit52 or visemes rig, not {rig.name!r}")
        self._mouth = np.zeros((0, len(self._stream.names)), np.float32)
        self._f0 = 0  # turn frame index of self._mouth[0]

    @property
    def next_frame(self) -> int:
        return self._f0

    def set_emotion(self, emotion: str, intensity: float = 1.0) -> None:
        self._animator.set_emotion(emotion, intensity)

    def push(self, pcm: np.ndarray) -> None:
        """Add the next audio of the turn (mono int16 at `sample_rate`); blocking, cheap."""
        self._keep(self._stream.push(pcm))

    def finish(self) -> None:
        """No more audio: every remaining frame of the turn becomes available."""
        self._keep(self._stream.finish())

    def render_until(self, t_s: float) -> FaceBlock:
        """Frames before `t_s` whose mouth is known (fewer when the audio has not reached
        `lookahead_ms` past them yet)."""
        end = min(self._f0 + len(self._mouth), _frames_before(t_s, self.fps))
        return self._render(max(end - self._f0, 0))

    def render_all(self) -> FaceBlock:
        """Every frame whose mouth is known."""
        return self._render(len(self._mouth))

    def _keep(self, frames: np.ndarray) -> None:
        if len(frames):
            self._mouth = np.concatenate([self._mouth, frames]) if len(self._mouth) else frames

    def _render(self, count: int) -> FaceBlock:
        mouth, self._mouth = self._mouth[:count], self._mouth[count:]
        f0 = self._f0
        self._f0 += count
        block = self._animator.render_until((f0 + count - 0.5) / self.fps if count else 0.0)
        if not count:
            names = len(self.rig.names)
            return FaceBlock(f0, np.zeros((0, names), np.float32), block.head, block.eyes)
        weights = block.weights.copy()
        columns = self._mouth_columns
        weights[:, columns] = np.clip(mouth + MOUTH_OVERLAY_SHARE * weights[:, columns], 0, 1)
        if self._to_visemes is not None:
            weights = self._to_visemes.apply(weights)
        return FaceBlock(f0, weights.astype(np.float32), block.head, block.eyes)


def _frames_before(t_s: float, fps: int) -> int:
    """How many frames i have i / fps < t_s (the animator's rule)."""
    n = max(0, math.ceil(t_s * fps))
    while n > 0 and (n - 1) / fps >= t_s:
        n -= 1
    while n / fps < t_s:
        n += 1
    return n
