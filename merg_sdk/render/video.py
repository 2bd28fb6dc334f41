"""From turns to an MP4: face frames resampled to the video's rate, muxed with the turn's voice.

Video frame j shows the face at j / fps seconds on the turn's timeline,
interpolated between the two face frames around that time, so a 60 fps turn
renders at 30 fps (or 25) with the same timing the audio has. H.264 and AAC
come from PyAV, whose wheels carry FFmpeg with libx264. Several turns render
back to back, each padded with silence to a whole number of video frames so
the sound never drifts from the picture.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from merg_sdk.render.head import MorphHead, bind, load_head
from merg_sdk.render.renderer import FaceRenderer

DEFAULT_SIZE = 640
DEFAULT_FPS = 30
CRF = 20
"""x264 constant quality: visually clean for a flat-shaded face at a few hundred kbit/s."""
PRESET = "veryfast"


class TurnLike(Protocol):
    """What a renderer needs of a turn: a `RecordedTurn` or the client's `TurnResult`."""

    turn: int
    sample_rate: int
    fps: int
    names: tuple[str, ...]
    audio: np.ndarray
    weights: np.ndarray
    head: np.ndarray | None


@dataclass(slots=True)
class RenderStats:
    frames: int = 0
    video_s: float = 0.0
    render_s: float = 0.0
    encode_s: float = 0.0
    wall_s: float = 0.0
    missing: tuple[str, ...] = ()

    @property
    def render_ms(self) -> float:
        return 1000 * self.render_s / max(self.frames, 1)

    @property
    def encode_ms(self) -> float:
        return 1000 * self.encode_s / max(self.frames, 1)

    @property
    def rtf(self) -> float:
        """Wall time over video time: below 1 is faster than real time."""
        return self.wall_s / self.video_s if self.video_s else math.inf


def video_frames(duration_s: float, fps: int) -> int:
    """Frames that cover `duration_s`: the last one shows while the last sample plays."""
    return max(1, math.ceil(duration_s * fps - 1e-9))


def resample(values: np.ndarray, source_fps: int, fps: int, frames: int) -> np.ndarray:
    """Rows of `values` (at `source_fps`) at times j / fps, linearly interpolated."""
    if len(values) == 0:
        return np.zeros((frames, values.shape[1]), np.float32)
    position = np.minimum(np.arange(frames) * (source_fps / fps), len(values) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(values) - 1)
    share = (position - low)[:, None]
    return ((1 - share) * values[low] + share * values[high]).astype(np.float32)


def turn_duration_s(turn: TurnLike) -> float:
    """The audio's length; the face's when the turn has no audio (an animate without echo)."""
    if len(turn.audio) and turn.sample_rate:
        return len(turn.audio) / turn.sample_rate
    return len(turn.weights) / turn.fps if turn.fps else 0.0


class Mp4Writer:
    """H.264 (yuv420p) + AAC mono in an MP4; audio is added as the picture advances."""

    def __init__(
        self, path: str | Path, size: int, fps: int, sample_rate: int, *, crf: int = CRF,
        preset: str = PRESET,
    ) -> None:  # fmt: skip
        import av

        self._av = av
        self.fps = fps
        self.sample_rate = sample_rate
        self._container = av.open(str(path), "w", format="mp4")
        self._video = self._container.add_stream("libx264", rate=fps)
        self._video.width = self._video.height = size
        self._video.pix_fmt = "yuv420p"
        self._video.options = {"crf": str(crf), "preset": preset}
        self._audio = self._container.add_stream("aac", rate=sample_rate, layout="mono")
        self._audio_pts = 0
        self._frame_index = 0

    def add_frame(self, rgb: np.ndarray) -> None:
        frame = self._av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self._frame_index
        frame.time_base = Fraction(1, self.fps)
        self._frame_index += 1
        for packet in self._video.encode(frame):
            self._container.mux(packet)

    def add_audio(self, pcm: np.ndarray) -> None:
        if not len(pcm):
            return
        samples = np.ascontiguousarray(pcm, dtype=np.int16).reshape(1, -1)
        frame = self._av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = self.sample_rate
        frame.pts = self._audio_pts
        frame.time_base = Fraction(1, self.sample_rate)
        self._audio_pts += samples.shape[1]
        for packet in self._audio.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for stream in (self._video, self._audio):
            for packet in stream.encode(None):
                self._container.mux(packet)
        self._container.close()


def _timeline_audio(turn: TurnLike, sample_rate: int, frames: int, fps: int) -> np.ndarray:
    """The turn's voice at `sample_rate`, padded or cut to exactly `frames` video frames."""
    audio = np.asarray(turn.audio, np.int16)
    if len(audio) and turn.sample_rate != sample_rate:
        import soxr

        audio = soxr.resample(audio, turn.sample_rate, sample_rate)
    length = frames * sample_rate // fps
    out = np.zeros(length, np.int16)
    out[: min(length, len(audio))] = audio[:length]
    return out


def render_turns(
    turns: Sequence[TurnLike],
    out: str | Path,
    *,
    head: str | Path | MorphHead | None = None,
    size: int = DEFAULT_SIZE,
    fps: int = DEFAULT_FPS,
    samples: int = 0,
    progress: bool = True,
    crf: int = CRF,
    preset: str = PRESET,
    overlap: bool = True,
) -> RenderStats:
    """Render `turns` back to back into an MP4 at `out`; the reference head by default.

    With `overlap`, frames are encoded on a second thread while the next is rendered
    (x264 and FFmpeg release the GIL), which keeps both cores of a small machine busy.
    Raises `HeadError` when the head has none of the turns' controllers as morph targets,
    and warns (`MissingTargetsWarning`) naming those it lacks.
    """
    if not turns:
        raise ValueError("nothing to render: no turns")
    if size < 16 or size % 2:
        raise ValueError(f"size {size}: an even number of pixels >= 16 (H.264 4:2:0)")
    started = time.perf_counter()
    morph = head if isinstance(head, MorphHead) else load_head(head)
    columns, missing = bind(morph, turns[0].names)
    stats = RenderStats(missing=tuple(missing))
    sample_rate = next((t.sample_rate for t in turns if len(t.audio)), 24000)
    plan = [(turn, video_frames(turn_duration_s(turn), fps)) for turn in turns]
    total = sum(frames for _, frames in plan)
    with FaceRenderer(morph, size, samples=samples) as renderer, _progress(progress) as bar:
        task = bar.add_task(f"rendering {Path(out).name}", total=total) if bar else None
        writer = Mp4Writer(out, size, fps, sample_rate, crf=crf, preset=preset)
        encoder = _Encoder(writer, overlap)
        try:
            for turn, frames in plan:
                if tuple(turn.names) != tuple(turns[0].names):
                    columns, _ = bind(morph, turn.names)
                weights = resample(turn.weights, turn.fps, fps, frames)
                angles = None if turn.head is None else resample(turn.head, turn.fps, fps, frames)
                drive = np.where(columns >= 0, columns, 0)
                targets = np.where(columns >= 0, weights[:, drive], 0.0)
                audio = _timeline_audio(turn, sample_rate, frames, fps)
                for j in range(frames):
                    t0 = time.perf_counter()
                    rgb = renderer.render(targets[j], None if angles is None else angles[j])
                    stats.render_s += time.perf_counter() - t0
                    encoder.put(audio[j * sample_rate // fps : (j + 1) * sample_rate // fps], rgb)
                    if bar is not None and task is not None:
                        bar.advance(task)
                stats.frames += frames
                stats.video_s += frames / fps
        finally:
            stats.encode_s = encoder.close()
    stats.wall_s = time.perf_counter() - started
    return stats


class _Encoder:
    """Feeds an `Mp4Writer`, on a worker thread when `overlap` (a short queue: a few frames
    in flight, so memory stays flat however long the video)."""

    def __init__(self, writer: Mp4Writer, overlap: bool) -> None:
        self._writer = writer
        self.busy_s = 0.0
        self._error: BaseException | None = None
        self._queue: queue.Queue[tuple[np.ndarray, np.ndarray] | None] | None = None
        self._thread: threading.Thread | None = None
        if overlap:
            self._queue = queue.Queue(maxsize=4)
            self._thread = threading.Thread(target=self._work, name="merg-encode", daemon=True)
            self._thread.start()

    def put(self, audio: np.ndarray, rgb: np.ndarray) -> None:
        if self._error is not None:
            raise RuntimeError("encoding failed") from self._error
        if self._queue is None:
            self._encode(audio, rgb)
        else:
            self._queue.put((audio, rgb))

    def _encode(self, audio: np.ndarray, rgb: np.ndarray) -> None:
        start = time.perf_counter()
        self._writer.add_audio(audio)
        self._writer.add_frame(rgb)
        self.busy_s += time.perf_counter() - start

    def _work(self) -> None:
        assert self._queue is not None
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._encode(*item)
                except BaseException as exc:  # handed to the rendering thread
                    self._error = exc

    def close(self) -> float:
        """Drain, flush the encoders, close the file; returns the seconds spent encoding."""
        if self._queue is not None and self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        start = time.perf_counter()
        self._writer.close()
        self.busy_s += time.perf_counter() - start
        if self._error is not None:
            raise RuntimeError("encoding failed") from self._error
        return self.busy_s


def render_frames(
    turn: TurnLike,
    frames: Iterable[int],
    *,
    head: str | Path | MorphHead | None = None,
    size: int = DEFAULT_SIZE,
    fps: int = DEFAULT_FPS,
    samples: int = 4,
) -> list[np.ndarray]:
    """Single video frames of a turn as RGB arrays (stills for docs and tests; smoothed
    with 4x multisampling, since speed does not matter for a few frames)."""
    morph = head if isinstance(head, MorphHead) else load_head(head)
    columns, _ = bind(morph, turn.names)
    count = video_frames(turn_duration_s(turn), fps)
    weights = resample(turn.weights, turn.fps, fps, count)
    angles = None if turn.head is None else resample(turn.head, turn.fps, fps, count)
    drive = np.where(columns >= 0, columns, 0)
    with FaceRenderer(morph, size, samples=samples) as renderer:
        return [
            renderer.render(
                np.where(columns >= 0, weights[j, drive], 0.0),
                None if angles is None else angles[j],
            ).copy()
            for j in frames
        ]


class _NoProgress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: object) -> None:
        return None


def _progress(enabled: bool):  # type: ignore[no-untyped-def]
    if not enabled:
        return _NoProgress()
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    )
