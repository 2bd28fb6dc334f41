"""Run a server on its own thread and event loop: for embedding in an app, and for tests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

from merg_sdk.loop_thread import LoopThread
from merg_sdk.server.app import MergServer
from merg_sdk.server.config import ServerConfig
from merg_sdk.server.conversation import Mind
from merg_sdk.server.hearing import Hearing
from merg_sdk.speech.base import TextToSpeech


class ServerThread(LoopThread):
    """`with ServerThread(config) as server: connect to server.endpoint`."""

    name = "merg-server"

    def __init__(
        self,
        config: ServerConfig | None = None,
        tts: TextToSpeech | None = None,
        mind: Mind | None = None,
        hearing: Hearing | None = None,
    ):
        super().__init__()
        self.config = config or ServerConfig(port=0)
        self._parts = (tts, mind, hearing)
        self.server: MergServer | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None and self.server.endpoint is not None
        return self.server.endpoint

    async def _open(self) -> None:
        self.server = MergServer(self.config, *self._parts)
        await self.server.start()

    async def _close(self) -> None:
        if self.server is not None:
            await self.server.stop()


class ServerProcess:
    """`merg serve` as its own process on a free loopback port, as a game would run it."""

    def __init__(self, *extra_args: str) -> None:
        self.port = free_port()
        self.endpoint = f"tcp://127.0.0.1:{self.port}"
        self._args = extra_args
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> ServerProcess:
        command = [sys.executable, "-m", "merg_sdk.cli", "serve", "--port", str(self.port)]
        self._process = subprocess.Popen(
            [*command, *self._args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> str:
        """Stop the server; returns what it wrote to stderr if it failed."""
        if self._process is None:
            return ""
        self._process.terminate()
        try:
            _, errors = self._process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            _, errors = self._process.communicate()
        failed = self._process.returncode not in (0, -signal.SIGTERM)
        self._process = None
        return errors.decode(errors="replace") if failed else ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
