"""The shared LLM plumbing: stop strings, idle timeouts, thread hand-over, config, errors."""

from __future__ import annotations

import asyncio
import threading
import time
from contextlib import aclosing

import pytest

from merg_sdk.empathy.llm import (
    GenerationConfig,
    LLMConfig,
    LLMError,
    LLMErrorCode,
    create_language_model,
)
from merg_sdk.empathy.llm.streaming import (
    ActiveRuns,
    StopFilter,
    stream_from_thread,
    with_idle_timeout,
)


def run_filter(stops: tuple[str, ...], pieces: list[str]) -> tuple[str, bool]:
    stop = StopFilter(stops)
    text = "".join(stop.feed(piece) for piece in pieces) + stop.flush()
    return text, stop.stopped


def test_stop_filter_cuts_at_the_first_stop_even_when_split_over_pieces() -> None:
    assert run_filter(("END",), ["Hello E", "N", "D and more"]) == ("Hello ", True)
    assert run_filter(("\n\n", "User:"), ["Hi.", "\n", "\nUser: no"]) == ("Hi.", True)
    assert run_filter(("b", "abc"), ["xab"]) == ("xa", True)  # earliest position wins


def test_stop_filter_releases_held_text_when_no_stop_follows() -> None:
    stop = StopFilter(("END",))
    assert stop.feed("we are EN") == "we are "  # "EN" could begin "END"
    assert stop.feed("ough") == "ENough"
    assert stop.feed(" E") == " "
    assert stop.flush() == "E"
    assert run_filter((), ["a", "b"]) == ("ab", False)


async def _numbers(count: int, pause_s: float):
    for i in range(count):
        await asyncio.sleep(pause_s)
        yield str(i)


def test_idle_timeout_counts_silence_not_total_time() -> None:
    async def main() -> None:
        steady = [d async for d in with_idle_timeout(_numbers(5, 0.05), 0.5, "t")]
        assert steady == ["0", "1", "2", "3", "4"]  # 0.25 s in all, never 0.5 s silent
        got: list[str] = []
        with pytest.raises(LLMError) as failure:
            async for delta in with_idle_timeout(_numbers(5, 0.3), 0.1, "t"):
                got.append(delta)
        assert failure.value.code is LLMErrorCode.TIMEOUT and not got

    asyncio.run(main())


def test_closing_a_thread_stream_tells_the_thread_to_stop_at_once() -> None:
    finished = threading.Event()

    def engine(emit, cancelled: threading.Event) -> None:
        for i in range(10_000):  # 100 s of "generation" unless cancelled
            if cancelled.wait(0.01):
                break
            emit(f"t{i} ")
        finished.set()

    async def main() -> None:
        async with aclosing(stream_from_thread(engine, name="test")) as deltas:
            async for delta in deltas:
                assert delta == "t0 "
                break
        started = time.monotonic()
        assert await asyncio.to_thread(finished.wait, 2.0)
        assert time.monotonic() - started < 0.5

    asyncio.run(main())


def test_a_cancelled_task_stops_the_thread_too() -> None:
    runs = ActiveRuns()
    finished = threading.Event()

    def engine(emit, cancelled: threading.Event) -> None:
        with runs.track(cancelled):
            emit("first")
            cancelled.wait(30)
        finished.set()

    async def consume() -> None:
        async for _ in stream_from_thread(engine, name="test"):
            await asyncio.sleep(30)

    async def main() -> None:
        task = asyncio.create_task(consume())
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(finished.wait, 1.0)
        assert runs.stop_all(timeout_s=0.1)  # nothing left running

    asyncio.run(main())


def test_engine_exceptions_surface_as_model_errors() -> None:
    def engine(emit, cancelled: threading.Event) -> None:
        emit("partial ")
        raise RuntimeError("out of memory")

    async def main() -> list[str]:
        got: list[str] = []
        with pytest.raises(LLMError) as failure:
            async for delta in stream_from_thread(engine, name="test"):
                got.append(delta)
        assert failure.value.code is LLMErrorCode.MODEL_ERROR
        assert "out of memory" in str(failure.value)
        return got

    assert asyncio.run(main()) == ["partial "]


def test_generation_config_and_error_codes_validate() -> None:
    with pytest.raises(ValueError):
        GenerationConfig(max_tokens=0)
    with pytest.raises(ValueError):
        GenerationConfig(timeout_s=0)
    error = LLMError("timeout", "slow")
    assert error.code is LLMErrorCode.TIMEOUT and str(error) == "timeout: slow"
    assert {c.value for c in LLMErrorCode} == {
        "timeout",
        "unavailable",
        "bad_response",
        "model_error",
    }


def test_factory_builds_each_backend_without_loading_it(monkeypatch) -> None:
    assert create_language_model(LLMConfig()).name == "llamacpp"
    monkeypatch.setenv("MERG_TEST_KEY", "sk-test")
    remote = create_language_model(
        LLMConfig(backend="openai", endpoint="http://127.0.0.1:9/v1", api_key_env="MERG_TEST_KEY")
    )
    assert remote.name == "openai"
    with pytest.raises(LLMError) as missing:
        create_language_model(LLMConfig(backend="openai", api_key_env="MERG_TEST_NO_SUCH_KEY"))
    assert missing.value.code is LLMErrorCode.UNAVAILABLE
    with pytest.raises(ValueError):
        LLMConfig(backend="transformers")  # needs a model
    with pytest.raises(ValueError):
        LLMConfig(backend="llamacpp", threads=-1)
    with pytest.raises(LLMError) as no_file:
        create_language_model(LLMConfig(model="/no/such/model.gguf"))
    assert no_file.value.code is LLMErrorCode.UNAVAILABLE
