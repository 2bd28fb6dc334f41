"""What every backend needs between a blocking engine and the async pipeline.

Engines (llama.cpp, torch) block while they compute, so they run in a thread
of their own and hand text over to the event loop; an interrupt must reach
that thread, or it keeps a CPU core busy with a reply nobody will hear.
Stop strings are cut here for engines that do not cut them themselves, so
every backend streams the same text for the same stop list.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Sequence
from contextlib import contextmanager

from merg_sdk.empathy.llm.base import LLMError, LLMErrorCode

Emit = Callable[[str], None]
"""Called by an engine thread with each new piece of text."""


def as_llm_error(error: BaseException) -> LLMError:
    """Keep an `LLMError` as it is; anything else the engine raised is a model error."""
    if isinstance(error, LLMError):
        return error
    wrapped = LLMError(LLMErrorCode.MODEL_ERROR, f"{type(error).__name__}: {error}")
    wrapped.__cause__ = error
    return wrapped


async def stream_from_thread(
    run: Callable[[Emit, threading.Event], None], *, name: str
) -> AsyncIterator[str]:
    """Run the blocking `run(emit, cancelled)` in a thread and yield what it emits.

    `cancelled` is set as soon as the consumer closes the stream or its task
    is cancelled; `run` must check it at every token and return. The thread
    is not joined here: an interrupt must not wait for the engine to notice
    (`ActiveRuns.stop_all` waits, when a backend closes).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
    cancelled = threading.Event()

    def post(kind: str, value: object) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))
        except RuntimeError:  # the loop is closed: nobody is listening any more
            cancelled.set()

    def emit(text: str) -> None:
        if text and not cancelled.is_set():
            post("delta", text)

    def work() -> None:
        try:
            run(emit, cancelled)
        except BaseException as error:
            post("error", error)
        else:
            post("end", None)

    # not a daemon: at exit, Python must wait for the engine to notice `cancelled`,
    # not kill a thread that is inside C++ code (llama.cpp aborts the process then)
    threading.Thread(target=work, name=f"llm-{name}").start()
    try:
        while True:
            kind, value = await queue.get()
            if kind == "delta":
                yield str(value)
            elif kind == "end":
                return
            else:
                raise as_llm_error(value)  # type: ignore[arg-type]
    finally:
        cancelled.set()


async def with_idle_timeout(
    deltas: AsyncGenerator[str, None], timeout_s: float, what: str
) -> AsyncIterator[str]:
    """Pass deltas through; fail with `timeout` when none arrives for `timeout_s`.

    The inner stream is always closed on the way out, so a timeout, an error
    or the consumer leaving all stop the engine the same way.
    """
    try:
        while True:
            try:
                async with asyncio.timeout(timeout_s):
                    delta = await anext(deltas)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise LLMError(
                    LLMErrorCode.TIMEOUT, f"{what}: no text for {timeout_s:g} s"
                ) from None
            yield delta
    finally:
        await deltas.aclose()


class ActiveRuns:
    """The engine threads in flight, so that closing a backend stops them and waits.

    Releasing an engine while a thread still computes in it would crash the
    process; so would interpreter exit with a thread inside C++ code.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._runs: set[threading.Event] = set()

    @contextmanager
    def track(self, cancelled: threading.Event) -> Iterator[None]:
        """Mark one engine call as running for the duration of the block."""
        with self._changed:
            self._runs.add(cancelled)
        try:
            yield
        finally:
            with self._changed:
                self._runs.discard(cancelled)
                self._changed.notify_all()

    def stop_all(self, timeout_s: float = 10.0) -> bool:
        """Cancel every run and wait for them to return; False if some did not in time."""
        with self._changed:
            for cancelled in self._runs:
                cancelled.set()
            return self._changed.wait_for(lambda: not self._runs, timeout_s)


class StopFilter:
    """Cuts text at the first stop string, holding back what may begin one.

    Text is released only when it can no longer turn into a stop string, so a
    stop that arrives split over two tokens never leaks its first half.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Add generated text; return the part that is safe to emit now."""
        if self.stopped:
            return ""
        buffer = self._held + text
        hits = [i for i in (buffer.find(s) for s in self._stops) if i >= 0]
        if hits:
            self.stopped = True
            self._held = ""
            return buffer[: min(hits)]
        keep = max((_overlap(buffer, s) for s in self._stops), default=0)
        self._held = buffer[len(buffer) - keep :]
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """The text held back when generation ended without a stop string."""
        held, self._held = self._held, ""
        return "" if self.stopped else held


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of `text` that is a proper beginning of `stop`."""
    for size in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:size]):
            return size
    return 0
