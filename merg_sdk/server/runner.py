"""Run a server on its own thread and event loop: for embedding in an app, and for tests."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import threading

from merg_sdk.server.app import MergServer
from merg_sdk.server.config import ServerConfig
from merg_sdk.server.conversation import Mind
from merg_sdk.server.hearing import Hearing
from merg_sdk.speech.base import TextToSpeech

START_TIMEOUT_S = 120.0


class ServerThread:
    """`with ServerThread(config) as server: connect to server.endpoint`."""

    def __init__(
        self,
        config: ServerConfig | None = None,
        tts: TextToSpeech | None = None,
        mind: Mind | None = None,
        hearing: Hearing | None = None,
    ):
        self.config = config or ServerConfig(port=0)
        self._tts = tts
        self._mind = mind
        self._hearing = hearing
        self.server: MergServer | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="merg-server", daemon=True)
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def endpoint(self) -> str:
        assert self.server is not None and self.server.endpoint is not None
        return self.server.endpoint

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S):
            raise TimeoutError("the server did not start")
        if self._error is not None:
            raise RuntimeError("the server failed to start") from self._error

    def call(self, function, *args):
        """Run `function(*args)` on the server's loop and return its result (for inspection)."""

        async def invoke():
            return function(*args)

        return asyncio.run_coroutine_threadsafe(invoke(), self._loop).result(10)

    def stop(self) -> None:
        if self.server is not None and self._loop.is_running():
            asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self.server = MergServer(self.config, self._tts, self._mind, self._hearing)
            self._loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        self._loop.close()


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
