"""A turn's face frames played on the turn's own clock, as a renderer would show them.

The server sends a turn faster than real time (the protocol's timing model:
frame i shows at i / fps seconds after the turn starts, and every frame arrives
before its audio). Outputs that have no audio clock of their own (a UDP stream
to Unreal or a VRM app) need the frames paced: this keeps the current turn's
frames and answers "what does the face show now?".

The turn's clock starts when its first frames arrive, the moment a client that
plays the turn's audio would start playing it (the first `audio` follows its
frames at once); `delay_s` shifts it later to line up with an audio player's
buffer. A relay that joins mid-turn starts the clock so that the first frames it
receives show now. A new `turn.start` drops the turn before it; `turn.end`
`interrupted` drops the turn at once (the server stopped it, the user heard no
more of it); any other `turn.end` lets the frames already sent play out.
Thread-safe: the network thread feeds, the output thread samples.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable

import numpy as np

from merg_sdk.client.events import FaceFrames, TurnEnded, TurnEvent, TurnStarted
from merg_sdk.outputs.pose import ArkitColumns, FacePose, rest_pose


class TurnTimeline:
    """The current turn's frames (ARKit order) and its clock; `pose_at(now)` samples it."""

    def __init__(self, delay_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.delay_s = delay_s
        self._clock = clock
        self._lock = threading.Lock()
        self._columns: ArkitColumns | None = None
        self._rest = rest_pose()
        self._turn: int | None = None
        self._fps = 0
        self._start: float | None = None  # clock time at which frame 0 shows
        self._f0s: list[int] = []  # first frame index of each chunk, ascending
        self._chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._frames = 0  # frames held: the next expected f0
        self._ended = False
        self._closed = -1  # the latest turn that ended here: its stragglers are not a new turn
        self.turns_dropped = 0

    def feed(self, event: TurnEvent, now: float | None = None) -> None:
        """Take a client event (`TurnStarted`, `FaceFrames`, `TurnEnded`); others are ignored."""
        now = self._clock() if now is None else now
        with self._lock:
            match event:
                case TurnStarted(turn=turn):
                    self._reset(turn)
                case FaceFrames():
                    self._add(event, now)
                case TurnEnded(turn=turn, reason=reason) if turn == self._turn:
                    if reason == "interrupted":
                        self._closed = max(self._closed, turn)
                        self._reset(None)
                        self.turns_dropped += 1
                    else:
                        self._ended = True

    def pose_at(self, now: float | None = None) -> FacePose:
        """The frame on show at `now`: the latest frame whose time has come, else rest."""
        now = self._clock() if now is None else now
        with self._lock:
            if self._start is None or not self._chunks or now < self._start:
                return self._rest
            index = int((now - self._start) * self._fps + 1e-6)  # a frame due now shows now
            if index >= self._frames:
                if self._ended:  # played out: the face goes back to rest until the next turn
                    self._closed = max(self._closed, self._turn or 0)
                    self._reset(None)
                    return self._rest
                index = self._frames - 1  # the server is behind: hold the last frame
            chunk = bisect.bisect_right(self._f0s, index) - 1
            if chunk < 0:  # joined mid-turn, before the first frame we hold
                return self._rest
            weights, head, eyes = self._chunks[chunk]
            row = min(index - self._f0s[chunk], len(weights) - 1)
            return FacePose(weights[row], head[row], eyes[row], self._turn, index)

    @property
    def playing(self) -> int | None:
        """The turn whose frames are held, or None at rest."""
        with self._lock:
            return self._turn if self._chunks else None

    def _reset(self, turn: int | None) -> None:
        self._turn = turn
        self._start = None
        self._f0s, self._chunks = [], []
        self._frames = 0
        self._ended = False

    def _add(self, frames: FaceFrames, now: float) -> None:
        if self._turn is None and not self._chunks and frames.turn > self._closed:
            self._turn = frames.turn  # joined mid-turn: no turn.start seen
        if frames.turn != self._turn or len(frames.weights) == 0:
            return
        if self._columns is None or self._columns.names != frames.names:
            self._columns = ArkitColumns(frames.names)
        count = len(frames.weights)
        weights = self._columns(frames.weights)
        head = _angles(frames.head, count, 3)
        eyes = _angles(frames.eyes, count, 4)
        if self._start is None:
            self._fps = frames.fps
            self._start = now + self.delay_s - frames.f0 / frames.fps
        if self._f0s and frames.f0 < self._f0s[-1]:
            return  # out of order: the protocol's frames are contiguous, never rewound
        self._f0s.append(frames.f0)
        self._chunks.append((weights, head, eyes))
        self._frames = frames.f0 + count


def _angles(values: np.ndarray | None, count: int, width: int) -> np.ndarray:
    if values is None or values.shape != (count, width):
        return np.zeros((count, width), np.float32)
    return np.asarray(values, dtype=np.float32)
