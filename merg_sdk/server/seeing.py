"""A session's eyes on the user: `user.face` frames in, a face reading for each turn out.

Headset weights cost microseconds and are added at once. Camera JPEGs cost
10-20 ms each in MediaPipe, so they are read in a worker thread one at a time,
and when frames arrive faster than that, only the newest waiting one is kept: the
reading summarises the last two seconds, so a skipped frame loses nothing, while
a queue would fall behind the user's face without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor

from merg_sdk.perception.face import FaceAffect, FaceInputError, FaceTracker
from merg_sdk.perception.types import AffectState

log = logging.getLogger("merg.server")

#: A face not seen for this long is not read into a turn (the camera stopped).
STALE_S = 5.0


class SessionEyes:
    def __init__(
        self,
        reader: FaceAffect,
        executor: Executor,
        report: Callable[[FaceInputError], None],
    ) -> None:
        self.tracker: FaceTracker = reader.new_tracker()
        self._executor = executor
        self._report = report
        self._waiting: tuple[float, bytes] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._seen_at = 0.0

    def add_weights(self, t: float, weights: bytes) -> None:
        """A headset frame; raises FaceInputError (the handler answers the request)."""
        self.tracker.add_weights(t, weights)
        self._seen_at = time.monotonic()

    def add_jpeg(self, t: float, jpeg: bytes) -> None:
        """A camera frame, read in the background (errors are reported, not raised)."""
        self._waiting = (t, jpeg)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._read_jpegs())

    def reading(self) -> AffectState | None:
        """The face over the last seconds, or None when there is no recent face."""
        if time.monotonic() - self._seen_at > STALE_S:
            return None
        return self.tracker.summary()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    async def _read_jpegs(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiting is not None:
            (t, jpeg), self._waiting = self._waiting, None
            try:
                await loop.run_in_executor(self._executor, self.tracker.add_jpeg, t, jpeg)
                self._seen_at = time.monotonic()
            except FaceInputError as error:
                self._report(error)
            except Exception:  # a bug costs one frame, never the session
                log.exception("reading a face frame failed")
