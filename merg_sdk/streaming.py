"""Small helpers every stage uses to pass typed messages along as they are produced."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


async def as_async(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    """Either kind of iterable, consumed as an async one."""
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item


async def prefetch(source: AsyncIterable[T], maxsize: int = 4) -> AsyncIterator[T]:
    """Let `source` run ahead of its consumer (e.g. the LLM keeps writing while the first
    clause is synthesized). Closing or cancelling the consumer cancels the producer."""
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize)

    async def produce() -> None:
        try:
            async for item in source:
                await queue.put(item)
            await queue.put(_DONE)
        except Exception as exc:  # handed to the consumer, raised there
            await queue.put(exc)

    producer = asyncio.create_task(produce())
    try:
        while True:
            item = await queue.get()
            if item is _DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
    finally:
        producer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await producer
