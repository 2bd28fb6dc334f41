"""Any OpenAI-compatible chat server (vLLM, llama.cpp server, TGI, hosted APIs).

One streaming `POST {endpoint}/chat/completions` per reply, read as
server-sent events. Closing the stream closes the HTTP connection, which is
how these servers learn to stop generating (llama.cpp and vLLM abort the
request when the client goes away). Every failure maps to an `LLMError`
code, so the server can tell a slow model from a dead one from a broken one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from merg_sdk.empathy.llm.base import (
    ChatMessage,
    GenerationConfig,
    LLMError,
    LLMErrorCode,
    as_dicts,
)
from merg_sdk.empathy.llm.streaming import with_idle_timeout


class OpenAICompatibleLLM:
    """A client of `/v1/chat/completions` with `stream: true`.

    `endpoint` is the API base, as OpenAI clients spell it
    (`http://127.0.0.1:8000/v1`). The API key is optional: local servers
    usually need none.
    """

    name = "openai"

    def __init__(
        self,
        endpoint: str = "http://127.0.0.1:8080/v1",
        *,
        model: str = "default",
        api_key: str | None = None,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.model = model
        self._headers = {"Accept": "text/event-stream"}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._connect_timeout_s = connect_timeout_s
        self._http: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"{self.endpoint}/chat/completions"

    def warm_up(self, prefix: Sequence[ChatMessage] = ()) -> None:
        """Check the server answers; servers with a prompt cache then hold `prefix`."""
        body = self._body([*prefix, ChatMessage("user", "Hello.")], GenerationConfig(max_tokens=1))
        body["stream"] = False
        try:
            response = httpx.post(
                self.url, json=body, headers=self._headers, timeout=self._timeout(60.0)
            )
        except httpx.HTTPError as error:
            raise _transport_error(error, self.url) from error
        if response.status_code != httpx.codes.OK:
            raise _status_error(response.status_code, response.text)

    def stream(
        self, messages: Sequence[ChatMessage], config: GenerationConfig | None = None
    ) -> AsyncIterator[str]:
        """Stream the reply's content deltas; closing the stream drops the connection."""
        config = config or GenerationConfig()
        deltas = self._stream(self._body(messages, config), config.timeout_s)
        return with_idle_timeout(deltas, config.timeout_s, f"{self.name} {self.endpoint}")

    async def aclose(self) -> None:
        if self._http is not None and self._http_loop is asyncio.get_running_loop():
            await self._http.aclose()
        self._http = self._http_loop = None

    def _body(self, messages: Sequence[ChatMessage], config: GenerationConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": as_dicts(messages),
            "max_tokens": config.max_tokens,
            "temperature": config.temperature,
            "top_p": config.top_p,
            "stream": True,
        }
        if config.stop:
            body["stop"] = list(config.stop)
        if config.seed is not None:
            body["seed"] = config.seed
        return body

    def _timeout(self, timeout_s: float) -> httpx.Timeout:
        return httpx.Timeout(timeout_s, connect=min(self._connect_timeout_s, timeout_s))

    def _client(self) -> httpx.AsyncClient:
        """One pooled client per event loop (connections cannot cross loops)."""
        loop = asyncio.get_running_loop()
        if self._http is None or self._http_loop is not loop:
            self._http, self._http_loop = httpx.AsyncClient(), loop
        return self._http

    async def _stream(self, body: dict[str, Any], timeout_s: float) -> AsyncIterator[str]:
        try:
            async with self._client().stream(
                "POST", self.url, json=body, headers=self._headers, timeout=self._timeout(timeout_s)
            ) as response:
                if response.status_code != httpx.codes.OK:
                    detail = (await response.aread()).decode("utf-8", "replace")
                    raise _status_error(response.status_code, detail)
                kind = response.headers.get("content-type", "")
                if not kind.startswith("text/event-stream"):
                    raise LLMError(
                        LLMErrorCode.BAD_RESPONSE, f"expected server-sent events, got {kind!r}"
                    )
                finished = False
                async for payload in _sse_data(response.aiter_lines()):
                    if payload.strip() == "[DONE]":
                        return
                    for content, finish in _parse_chunk(payload):
                        finished = finished or finish
                        if content:
                            yield content
                if not finished:
                    raise LLMError(LLMErrorCode.BAD_RESPONSE, "stream ended before [DONE]")
        except httpx.HTTPError as error:
            raise _transport_error(error, self.url) from error


async def _sse_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The data of each server-sent event (multi-line data joined with newlines)."""
    data: list[str] = []
    async for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
        # comments (":..."), `event:`, `id:` and `retry:` carry no text
    if data:
        yield "\n".join(data)


def _parse_chunk(payload: str) -> list[tuple[str, bool]]:
    """(content, finished) per choice of one `chat.completion.chunk`."""
    try:
        chunk = json.loads(payload)
    except json.JSONDecodeError:
        raise LLMError(
            LLMErrorCode.BAD_RESPONSE, f"event data is not JSON: {payload[:200]!r}"
        ) from None
    if not isinstance(chunk, dict):
        raise LLMError(LLMErrorCode.BAD_RESPONSE, f"event data is not an object: {payload[:200]!r}")
    if "error" in chunk:
        error = chunk["error"]
        message = error.get("message", error) if isinstance(error, dict) else error
        raise LLMError(LLMErrorCode.MODEL_ERROR, str(message))
    choices = chunk.get("choices")
    if not isinstance(choices, list):
        raise LLMError(LLMErrorCode.BAD_RESPONSE, f"chunk without choices: {payload[:200]!r}")
    parsed = []
    for choice in choices:
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if not isinstance(delta, dict):
            raise LLMError(LLMErrorCode.BAD_RESPONSE, f"choice without delta: {payload[:200]!r}")
        content = delta.get("content") or ""
        if not isinstance(content, str):
            raise LLMError(LLMErrorCode.BAD_RESPONSE, f"non-text content: {payload[:200]!r}")
        parsed.append((content, choice.get("finish_reason") is not None))
    return parsed


def _status_error(status: int, detail: str) -> LLMError:
    """408/504: too slow; auth, missing model, overload and 5xx: unavailable; else the request."""
    if status in (408, 504):
        code = LLMErrorCode.TIMEOUT
    elif status in (401, 403, 404, 429) or status >= 500:
        code = LLMErrorCode.UNAVAILABLE
    else:
        code = LLMErrorCode.MODEL_ERROR
    return LLMError(code, f"HTTP {status}: {detail[:300]}")


def _transport_error(error: httpx.HTTPError, url: str) -> LLMError:
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return LLMError(LLMErrorCode.UNAVAILABLE, f"cannot connect to {url}: {error}")
    if isinstance(error, httpx.TimeoutException):
        return LLMError(LLMErrorCode.TIMEOUT, f"{url}: {type(error).__name__}")
    return LLMError(LLMErrorCode.UNAVAILABLE, f"{url}: {type(error).__name__}: {error}")
