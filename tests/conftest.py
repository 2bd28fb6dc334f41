"""Shared fixtures: one real Piper voice, real servers on loopback, real clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from merg_sdk.client import MergClient
from merg_sdk.server import Limits, ServerConfig, ServerThread
from merg_sdk.speech.backends.piper import PiperTTS


@pytest.fixture(scope="session")
def tts() -> PiperTTS:
    """Loaded and warmed once: every server in the suite speaks with the same real voice."""
    engine = PiperTTS()
    engine.warm_up()
    return engine


@pytest.fixture(scope="session")
def server(tts: PiperTTS) -> Iterator[ServerThread]:
    with ServerThread(ServerConfig(port=0), tts=tts) as running:
        yield running


@pytest.fixture()
def make_server(tts: PiperTTS) -> Iterator:
    """Start servers with custom configuration; all are stopped after the test."""
    started: list[ServerThread] = []

    def start(**options) -> ServerThread:
        limits = options.pop("limits", {})
        config = ServerConfig(port=0, limits=Limits(**limits), **options)
        running = ServerThread(config, tts=tts)
        running.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture()
def client(server: ServerThread) -> Iterator[MergClient]:
    with MergClient(server.endpoint, timeout_s=30) as connected:
        yield connected
