"""The output clock: sample the turn timeline at a fixed rate and hand each pose to a sink.

Tools such as Unreal's Live Link or a VMC receiver expect a steady stream, as
a phone or a mocap app sends, not the server's bursts; so the relay ticks at
its own rate on its own thread, whatever the session's fps, and keeps sending
the rest pose between turns (a receiver shows a live subject, not a stale one).
Tick k is due at k / fps seconds after the start; a late tick is sent late, not
skipped, so packet numbers stay contiguous; after a long stall (the process
was suspended) the clock restarts instead of bursting to catch up.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from merg_sdk.client.events import TurnEvent
from merg_sdk.outputs.pose import FacePose
from merg_sdk.outputs.timeline import TurnTimeline

log = logging.getLogger("merg.outputs")

RESYNC_S = 0.25
"""A tick this late means the process stalled: restart the clock rather than burst."""


class Sink(Protocol):
    """Where poses go (a UDP encoder): `send` is called from the relay's thread only."""

    def send(self, pose: FacePose, tick: int, fps: int, t: float) -> None:
        """Send one pose; `tick` counts the relay's ticks from 0, `t` is seconds since start."""
        ...

    def close(self) -> None: ...


class Relay:
    """Feeds turns in (`feed`, from any thread), sends poses out at `fps` on its own thread.

    `feed` is the callback to attach to a client's turn events or to the
    observer source. `idle=False` sends only while a turn plays, plus one rest
    pose after it, for receivers that should not be woken between turns.
    """

    def __init__(
        self,
        sink: Sink,
        fps: int = 60,
        *,
        timeline: TurnTimeline | None = None,
        idle: bool = True,
    ) -> None:
        if not 1 <= fps <= 240:
            raise ValueError(f"fps must be 1..240, got {fps}")
        self.sink = sink
        self.fps = fps
        self.timeline = timeline or TurnTimeline()
        self.idle = idle
        self.sent = 0
        self.errors = 0
        self.resyncs = 0
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def feed(self, event: TurnEvent) -> None:
        self.timeline.feed(event)

    def start(self) -> Relay:
        self._thread = threading.Thread(target=self._run, name="merg-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.started_at is not None and self.stopped_at is None:
            self.stopped_at = time.monotonic()
        self.sink.close()

    def __enter__(self) -> Relay:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def elapsed_s(self) -> float:
        """Seconds the relay has run (until `stop`)."""
        if self.started_at is None:
            return 0.0
        return (self.stopped_at or time.monotonic()) - self.started_at

    def _run(self) -> None:
        period = 1.0 / self.fps
        self.started_at = base = time.monotonic()
        tick = 0  # ticks since the start: the packets' frame numbers
        due = 0  # ticks since the clock last (re)started
        was_rest = False
        while not self._stop.is_set():
            wait = base + due * period - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            now = time.monotonic()
            if now - (base + due * period) > RESYNC_S:
                self.resyncs += 1
                log.warning("relay stalled %.0f ms; clock restarted", (now - base) * 1e3)
                base, due = now, 0
            pose = self.timeline.pose_at(now)
            if self.idle or not (pose.at_rest and was_rest):
                self._send(pose, tick, now - self.started_at)
            was_rest = pose.at_rest
            tick += 1
            due += 1

    def _send(self, pose: FacePose, tick: int, t: float) -> None:
        try:
            self.sink.send(pose, tick, self.fps, t)
            self.sent += 1
        except OSError as exc:  # a receiver that is not up yet: keep the stream going
            self.errors += 1
            if self.errors in (1, 10, 100) or self.errors % 1000 == 0:
                log.warning("send failed (%d so far): %s", self.errors, exc)
