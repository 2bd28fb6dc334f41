"""The LLM stage's contract: one async generator of text deltas per chat.

The empathy stage verbalises a reply plan clause by clause while TTS speaks
the first clause, so a backend must hand over text as it is produced, and an
interrupt must free the engine at once: the next turn cannot wait for a reply
nobody will hear. Every vendor (embedded llama.cpp, transformers, any
OpenAI-compatible server) implements the same `LanguageModel` protocol, and
every failure surfaces as an `LLMError` with a stable code the server can log
and answer with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

from merg_sdk.upstream import UpstreamError

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a chat; the backend applies the model's own chat template."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationConfig:
    """How much to generate and how; the same meaning for every backend.

    `timeout_s` is the longest silence tolerated: before the first delta and
    between two deltas. A total deadline would cut off long but healthy replies;
    a stalled engine or server is what the avatar cannot afford.
    """

    max_tokens: int = 128
    temperature: float = 0.7
    top_p: float = 0.95
    stop: tuple[str, ...] = ()
    seed: int | None = None
    timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s}")


class LLMErrorCode(StrEnum):
    """Stable codes: the server maps them to protocol errors and retry decisions."""

    TIMEOUT = "timeout"
    """No delta arrived within `GenerationConfig.timeout_s`."""
    UNAVAILABLE = "unavailable"
    """The engine or server cannot be reached, refused us, or is overloaded."""
    BAD_RESPONSE = "bad_response"
    """The server answered something that is not the protocol (e.g. malformed SSE)."""
    MODEL_ERROR = "model_error"
    """The engine rejected or failed the request (context too long, load failure...)."""


class LLMError(UpstreamError):
    """A failed generation, with a stable `code` and a message for people."""

    def __init__(self, code: LLMErrorCode | str, message: str = "") -> None:
        self.code = LLMErrorCode(code)
        self.message = message
        super().__init__(f"{self.code.value}: {message}" if message else self.code.value)


class LanguageModel(Protocol):
    """A chat model that streams its reply.

    `stream` is an async generator function (declared here with `def`, as it
    is called, not awaited). Closing the generator (`aclose`, leaving an
    `async with contextlib.aclosing(...)` block) or cancelling the task that
    iterates it stops the generation promptly; the engine is then free for
    the next request.
    """

    name: str

    def stream(
        self, messages: Sequence[ChatMessage], config: GenerationConfig | None = None
    ) -> AsyncIterator[str]:
        """Yield the reply's text deltas as the engine produces them."""
        ...

    def warm_up(self, prefix: Sequence[ChatMessage] = ()) -> None:
        """Load the model and generate once, blocking, before the server serves.

        Pass the static part of every prompt (persona, instructions) as `prefix`
        so that engines with a prompt cache hold it before the first turn.
        """
        ...

    async def aclose(self) -> None:
        """Release the engine, threads and connections."""
        ...


def as_dicts(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    """Messages in the OpenAI / chat-template shape every engine accepts."""
    return [{"role": m.role, "content": m.content} for m in messages]
