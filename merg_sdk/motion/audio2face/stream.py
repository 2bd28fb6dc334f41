"""Streaming lip-sync from audio: int16 chunks of any size in, face frames at `fps` out.

The network runs at 100 Hz; frame i of the turn (at i / fps seconds) is the
linear interpolation of the two network frames around it, so any frame
rate lands on the same turn timeline as the audio. A frame leaves as soon
as the audio it needs has arrived: `lookahead_ms` past its own time.
After `finish()`, a stream that received N samples at rate R has produced
exactly ceil(N * fps / R) frames, whatever the chunking, and the values are
those of the whole clip fed at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from merg_sdk.motion.audio2face.features import (
    FEATURE_LOOKAHEAD_MS,
    FRAME_RATE_HZ,
    FeatureStream,
)
from merg_sdk.motion.audio2face.model import AudioFaceModel, default_model

MIN_RATE_HZ, MAX_RATE_HZ = 8000, 192000
MAX_FPS = 1000


@dataclass
class StreamState:
    """Everything one stream carries between chunks (the weights live in the model)."""

    features: FeatureStream
    net: list[np.ndarray]
    samples_in: int = 0  # input samples received, at the stream's rate
    steps: int = 0  # network steps run (feature frames consumed)
    base: int = 0  # network frame index of outputs[0]
    outputs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    frames_out: int = 0
    finished: bool = False


class AudioFaceStream:
    """Mono int16 PCM at `sample_rate` -> float32 frames [count, len(names)] in [0, 1].

    `names` are arkit52 names (jaw, lips, tongue: what speech moves). One
    stream per voice per session; `reset()` starts a new turn; the model
    (weights) is shared and is the shipped one unless another is given.
    """

    def __init__(
        self, fps: int = 60, sample_rate: int = 16000, model: AudioFaceModel | None = None
    ) -> None:
        if isinstance(fps, float) and fps.is_integer():
            fps = int(fps)
        if isinstance(fps, bool) or not isinstance(fps, int | np.integer) or not 0 < fps <= MAX_FPS:
            raise ValueError(
                f"fps must be a whole number of frames per second in 1..{MAX_FPS}, got {fps!r}"
            )
        if (
            isinstance(sample_rate, bool)
            or not isinstance(sample_rate, int | np.integer)
            or not (MIN_RATE_HZ <= sample_rate <= MAX_RATE_HZ)
        ):
            limits = f"{MIN_RATE_HZ}..{MAX_RATE_HZ}"
            raise ValueError(f"sample_rate must be an integer in {limits} Hz, got {sample_rate!r}")
        self.fps, self.sample_rate = int(fps), int(sample_rate)
        self.model = model if model is not None else default_model()
        self.names: tuple[str, ...] = self.model.names
        self._k = self.model.lookahead_frames
        self.reset()

    @property
    def lookahead_ms(self) -> float:
        """How far past a frame's time the audio must reach before the frame can leave."""
        worst_gap = (self.fps - math.gcd(FRAME_RATE_HZ, self.fps)) / self.fps  # in 10 ms steps
        return 1000.0 * (self._k + worst_gap) / FRAME_RATE_HZ + FEATURE_LOOKAHEAD_MS

    @property
    def frames_out(self) -> int:
        """Frames produced so far: the next frame's index on the turn timeline."""
        return self._state.frames_out

    def reset(self) -> None:
        """Forget everything heard: the next push starts a new turn at frame 0."""
        self._state = StreamState(FeatureStream(self.sample_rate), self.model.initial_state())
        self._state.outputs = self._nothing()

    def push(self, pcm: np.ndarray | bytes) -> np.ndarray:
        """Add audio; return every frame that is now complete (possibly none)."""
        state = self._state
        if state.finished:
            raise RuntimeError("this stream is finished; call reset() to start a new turn")
        samples = _as_int16(pcm)
        state.samples_in += len(samples)
        if len(samples):
            self._run(state.features.push(samples * np.float32(1.0 / 32768.0)))
        return self._emit(None)

    def finish(self) -> np.ndarray:
        """End of the turn's audio: the remaining frames, up to ceil(N * fps / R) in all."""
        state = self._state
        if state.finished:
            raise RuntimeError("this stream is finished; call reset() to start a new turn")
        state.finished = True
        total = -(-state.samples_in * self.fps // self.sample_rate)
        needed = self._network_frame(total - 1, ceil=True) + self._k + 1 if total else 0
        self._run(state.features.finish(min_frames=needed))
        return self._emit(total)

    def _network_frame(self, frame: int, ceil: bool) -> int:
        scaled = frame * FRAME_RATE_HZ
        return -(-scaled // self.fps) if ceil else scaled // self.fps

    def _run(self, mel: np.ndarray) -> None:
        if not len(mel):
            return
        state = self._state
        weights, state.net = self.model.run(mel, state.net)
        skip = max(0, self._k - state.steps)  # the first K outputs belong before time 0
        state.steps += len(mel)
        state.outputs = (
            np.concatenate([state.outputs, weights[skip:]])
            if len(state.outputs)
            else weights[skip:]
        )

    def _nothing(self) -> np.ndarray:
        return np.zeros((0, len(self.names)), np.float32)

    def _emit(self, total: int | None) -> np.ndarray:
        state = self._state
        ready = state.base + len(state.outputs)  # network frames 0 .. ready-1 exist
        # frame i needs network frame ceil(i * 100 / fps) < ready
        end = total if total is not None else ((ready - 1) * self.fps // FRAME_RATE_HZ + 1)
        if end <= state.frames_out:
            return self._nothing()
        scaled = np.arange(state.frames_out * FRAME_RATE_HZ, end * FRAME_RATE_HZ, FRAME_RATE_HZ)
        lo = scaled // self.fps
        frac = (scaled - lo * self.fps).astype(np.float32)[:, None] * np.float32(1.0 / self.fps)
        rows = lo - state.base
        outputs = state.outputs
        out = outputs[rows]
        # a frame on the 100 Hz grid (frac 0) may be the last one ready: never read past it
        out += (outputs[np.minimum(rows + 1, len(outputs) - 1)] - out) * frac
        state.frames_out = end
        keep_from = min(end * FRAME_RATE_HZ // self.fps - state.base, len(outputs))
        state.outputs, state.base = outputs[keep_from:], state.base + keep_from
        return out  # convex blends of sigmoid outputs: already in [0, 1]


def _as_int16(pcm: np.ndarray | bytes) -> np.ndarray:
    """Mono int16 samples from an int16 array ([n] or [n, 1]) or little-endian bytes."""
    if isinstance(pcm, bytes | bytearray | memoryview):
        data = bytes(pcm)
        if len(data) % 2:
            raise ValueError(f"PCM bytes must hold whole int16 samples; got {len(data)} bytes")
        return np.frombuffer(data, dtype="<i2")
    if not isinstance(pcm, np.ndarray):
        raise ValueError(f"expected a numpy int16 array or bytes, got {type(pcm).__name__}")
    if pcm.dtype != np.int16:
        raise ValueError(
            f"expected int16 PCM, got dtype {pcm.dtype}; convert float audio in [-1, 1] with "
            "np.clip(x * 32767, -32768, 32767).astype(np.int16)"
        )
    if pcm.ndim == 2 and pcm.shape[1] == 1:
        return pcm[:, 0]
    if pcm.ndim != 1:
        raise ValueError(f"expected mono PCM of shape [n] or [n, 1], got shape {pcm.shape}")
    return pcm
