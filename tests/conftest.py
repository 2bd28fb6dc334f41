"""Shared fixtures: one real Piper voice, real servers on loopback, real clients."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from merg_sdk.client import MergClient
from merg_sdk.perception.hearing.evaluation import LabelledClip, read_clips
from merg_sdk.perception.hearing.vad import SileroVad
from merg_sdk.perception.hearing.whisper import WhisperRecognizer, WhisperSettings
from merg_sdk.server import Limits, ServerConfig, ServerThread
from merg_sdk.server.config import EmpathyConfig
from merg_sdk.server.conversation import Mind, load_mind
from merg_sdk.server.hearing import Hearing, HearingConfig, load_hearing
from merg_sdk.speech.backends.piper import PiperTTS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="session")
def tts() -> PiperTTS:
    """Loaded and warmed once: every server in the suite speaks with the same real voice."""
    engine = PiperTTS()
    engine.warm_up()
    return engine


@pytest.fixture(scope="session")
def mind() -> Mind:
    """Text perception, the embedded LLM and the personas, loaded once for the suite."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_mind(EmpathyConfig(persona_dirs=(EXAMPLES / "personas",)))


@pytest.fixture(scope="session")
def hearing() -> Iterator[Hearing]:
    """Silero VAD, Whisper tiny.en (with partial transcripts, which the server leaves off
    by default), the voice and face readers, loaded once for the suite."""
    loaded = load_hearing(HearingConfig(whisper=WhisperSettings()))
    yield loaded
    loaded.close()


@pytest.fixture(scope="session")
def vad(hearing: Hearing) -> SileroVad:
    return hearing.vad


@pytest.fixture(scope="session")
def whisper(hearing: Hearing) -> WhisperRecognizer:
    assert isinstance(hearing.recognizer, WhisperRecognizer)
    return hearing.recognizer


@pytest.fixture(scope="session")
def clips() -> list[LabelledClip]:
    """The committed speech clips: voices MERG does not speak with (tests/data/hearing)."""
    return read_clips(Path(__file__).parent / "data" / "hearing")


@pytest.fixture(scope="session")
def server(tts: PiperTTS, mind: Mind, hearing: Hearing) -> Iterator[ServerThread]:
    with ServerThread(ServerConfig(port=0), tts=tts, mind=mind, hearing=hearing) as running:
        yield running


@pytest.fixture()
def make_server(tts: PiperTTS, mind: Mind, hearing: Hearing) -> Iterator:
    """Start servers with custom configuration; all are stopped after the test."""
    started: list[ServerThread] = []

    def start(**options) -> ServerThread:
        limits = options.pop("limits", {})
        config = ServerConfig(port=0, limits=Limits(**limits), **options)
        running = ServerThread(config, tts=tts, mind=mind, hearing=hearing)
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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`@pytest.mark.slow("why")` tests (retraining a shipped model) run only with
    MERG_SLOW_TESTS=1: CI has no time for them, a maintainer retraining does. When they
    run, the suite's 300 s per-test timeout is lifted to an hour: retraining on one core
    takes minutes, more when the machine is busy."""
    if os.environ.get("MERG_SLOW_TESTS") == "1":
        for item in items:
            if item.get_closest_marker("slow") is not None:
                item.add_marker(pytest.mark.timeout(3600))
        return
    for item in items:
        marker = item.get_closest_marker("slow")
        if marker is not None:
            why = marker.args[0] if marker.args else "slow"
            item.add_marker(pytest.mark.skip(reason=f"{why}; set MERG_SLOW_TESTS=1"))
