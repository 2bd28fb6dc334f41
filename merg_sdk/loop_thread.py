"""An asyncio service on its own daemon thread: for tests, and beside a blocking program.

The server and the viewer bridge are asyncio code; a game tool or a test wants to
start one, use it from ordinary threads, and stop it. Subclasses say how the
service opens and closes (`_open`, `_close`, both run on the loop); this class
owns the loop, the thread, start-up errors and the hand-over of calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Self


class LoopThread:
    name = "merg"
    start_timeout_s = 120.0

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    async def _open(self) -> None:
        """Start the service (on the loop); an exception fails `start`."""
        raise NotImplementedError

    async def _close(self) -> None:
        """Stop the service (on the loop)."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(self.start_timeout_s):
            raise TimeoutError(f"{self.name} did not start")
        if self._error is not None:
            raise self._error  # the service's own error: a bad model file, a busy port

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` on the service's loop (its state is not shared across threads)."""

        async def invoke() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(10)

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._open())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()
