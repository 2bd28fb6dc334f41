"""The bridge on its own thread and event loop: for tests, and beside a blocking program."""

from __future__ import annotations

from merg_sdk.loop_thread import LoopThread
from merg_sdk.viewer.bridge import ViewerBridge, ViewerConfig


class ViewerThread(LoopThread):
    """`with ViewerThread(ViewerConfig(server=...)) as viewer: open viewer.url`."""

    name = "merg-viewer"
    start_timeout_s = 30.0

    def __init__(self, config: ViewerConfig) -> None:
        super().__init__()
        self.bridge = ViewerBridge(config)
        self.url = ""

    async def _open(self) -> None:
        self.url = await self.bridge.start()

    async def _close(self) -> None:
        await self.bridge.close()
