"""The bridge on its own thread and event loop: for tests, and beside a blocking program."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from merg_sdk.viewer.bridge import ViewerBridge, ViewerConfig

START_TIMEOUT_S = 30.0


class ViewerThread:
    """`with ViewerThread(ViewerConfig(server=...)) as viewer: open viewer.url`."""

    def __init__(self, config: ViewerConfig) -> None:
        self.bridge = ViewerBridge(config)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="merg-viewer", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.url = ""

    def __enter__(self) -> ViewerThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise TimeoutError("the viewer bridge did not start")
        if self._error is not None:
            raise self._error

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` on the bridge's loop (its state is not shared across threads)."""

        async def invoke() -> Any:
            return function(*args)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(10)

    def stop(self) -> None:
        if self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self.bridge.close(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.url = self._loop.run_until_complete(self.bridge.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()
