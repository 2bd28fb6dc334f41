"""Any Hugging Face causal LM through transformers: the GPU alternative.

On a GPU this runs models far larger than the embedded default; on CPU it
works but is slower than llama.cpp. Generation runs in a thread of its own;
a streamer hands each finalised piece of text to the event loop, and a
stopping criterion checked at every token ends `generate` as soon as the
stream is closed or a stop string appears, so an interrupt frees the model
within one token. Stop strings are cut by `StopFilter` (transformers would
stop on them but keep them in the text).

Prompt cache: the KV of the last prompt and reply is kept, and the next
call reuses it up to the first token where the prompts differ, as llama.cpp
does: a static system prefix (and the chat history) is computed once.

GGUF files load too (`gguf_file=`, needs the `gguf` and `accelerate`
packages): transformers de-quantises them to full precision. Nothing is
downloaded unless `allow_download` is set.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextStreamer,
)

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
    StopFilter,
    stream_from_thread,
    with_idle_timeout,
)


class _Streamer(TextStreamer):
    """Hands decoded text to a callback instead of printing it."""

    def __init__(self, tokenizer: Any, emit: Emit) -> None:
        super().__init__(tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._emit = emit

    def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
        self._emit(text)


class _Until(StoppingCriteria):
    """Ends `generate` after the current token once `done()` is true."""

    def __init__(self, done: Callable[[], bool]) -> None:
        self._done = done

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> Any:
        return torch.full(
            (input_ids.shape[0],), self._done(), dtype=torch.bool, device=input_ids.device
        )


class TransformersLLM:
    """A causal LM on CUDA when there is one, else on CPU; one generation at a time."""

    name = "transformers"

    def __init__(
        self,
        model: str | Path,
        *,
        gguf_file: str | None = None,
        device: str | None = None,
        threads: int = 0,
        allow_download: bool = False,
        trust_remote_code: bool = False,
    ) -> None:
        self.model = str(model)
        self._gguf_file = gguf_file
        self._device = device
        self._threads = threads
        self._allow_download = allow_download
        self._trust_remote_code = trust_remote_code
        self._loaded: tuple[Any, Any] | None = None
        self._kv: tuple[torch.Tensor, Any] | None = None  # token ids and their KV cache
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._runs = ActiveRuns()

    @property
    def device(self) -> str:
        return self._device or ("cuda" if torch.cuda.is_available() else "cpu")

    def warm_up(self, prefix: Sequence[ChatMessage] = ()) -> None:
        """Load the model and generate one token (the first call pays for kernels)."""
        messages = [*prefix, ChatMessage("user", "Hello.")]
        self._generate(messages, GenerationConfig(max_tokens=1, temperature=0), lambda _: None)

    def stream(
        self, messages: Sequence[ChatMessage], config: GenerationConfig | None = None
    ) -> AsyncIterator[str]:
        """Stream the reply; closing the stream ends `generate` after its current token."""
        config = config or GenerationConfig()

        def run(emit: Emit, cancelled: threading.Event) -> None:
            with self._runs.track(cancelled):
                self._generate(messages, config, emit, cancelled)

        return with_idle_timeout(
            stream_from_thread(run, name=self.name), config.timeout_s, self.name
        )

    async def aclose(self) -> None:
        """Stop running generations and drop the model."""
        await asyncio.to_thread(self._runs.stop_all)
        with self._load_lock:
            self._loaded = None
            self._kv = None

    def _generate(
        self,
        messages: Sequence[ChatMessage],
        config: GenerationConfig,
        emit: Emit,
        cancelled: threading.Event | None = None,
    ) -> None:
        cancelled = cancelled if cancelled is not None else threading.Event()
        tokenizer, model = self._model()
        with self._generate_lock:  # one `generate` at a time: they would only share the cores
            if cancelled.is_set():
                return
            inputs = tokenizer.apply_chat_template(
                as_dicts(messages),
                add_generation_prompt=True,
                return_tensors="pt",
                return_dict=True,
            ).to(model.device)
            stops = StopFilter(config.stop)
            if config.temperature > 0:
                sampling: dict[str, Any] = {
                    "do_sample": True,
                    "temperature": config.temperature,
                    "top_p": config.top_p,
                }
            else:
                sampling = {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
            if config.seed is not None:
                torch.manual_seed(config.seed)
            past = self._reusable_cache(inputs["input_ids"])
            with torch.inference_mode():
                out = model.generate(
                    **inputs,
                    past_key_values=past,
                    return_dict_in_generate=True,
                    max_new_tokens=config.max_tokens,
                    streamer=_Streamer(tokenizer, lambda text: emit(stops.feed(text))),
                    stopping_criteria=StoppingCriteriaList(
                        [_Until(lambda: cancelled.is_set() or stops.stopped)]
                    ),
                    pad_token_id=_pad_token(tokenizer),
                    **sampling,
                )
            cache = out.past_key_values
            if cache is not None and hasattr(cache, "crop"):
                self._kv = (out.sequences[:, : cache.get_seq_length()], cache)
            emit(stops.flush())

    def _reusable_cache(self, ids: torch.Tensor) -> Any:
        """The previous call's cache, cut back to the prefix this prompt shares with it.

        At least the prompt's last token is left to compute: `generate` needs its logits.
        """
        if self._kv is None or ids.shape[0] != 1:
            return None
        cached_ids, cache = self._kv
        self._kv = None  # `generate` extends it in place: never reused twice
        limit = min(cached_ids.shape[-1], ids.shape[-1] - 1)
        equal = (cached_ids[0, :limit] == ids[0, :limit]).to(torch.int32)
        shared = int(equal.cumprod(0).sum())
        if shared == 0:
            return None
        extra = cache.get_seq_length() - shared
        if extra > 0:
            cache.crop(-extra)  # negative: remove that many (every transformers version)
        return cache

    def _model(self) -> tuple[Any, Any]:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> tuple[Any, Any]:
        if self._threads:
            torch.set_num_threads(self._threads)
        device = self.device
        if device.startswith("cuda"):
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        else:
            dtype = torch.float32
        options: dict[str, Any] = {
            "local_files_only": not self._allow_download,
            "trust_remote_code": self._trust_remote_code,
        }
        if self._gguf_file:
            options["gguf_file"] = self._gguf_file
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model, **options)
            model = AutoModelForCausalLM.from_pretrained(self.model, dtype=dtype, **options)
        except (OSError, ValueError, ImportError) as error:
            where = f"{self.model}/{self._gguf_file}" if self._gguf_file else self.model
            raise LLMError(LLMErrorCode.UNAVAILABLE, f"cannot load {where}: {error}") from error
        return tokenizer, model.to(device).eval()


def _pad_token(tokenizer: Any) -> int | None:
    """Models without a pad token (most chat models) pad with end-of-sequence."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
