"""The speech stage's contract: a blocking engine per clause, streamed by `speak`.

Engines synthesize one clause at a time, blocking (they are CPU-bound and run
in a worker thread); `speak` turns them into an async stream of
`SpeechSegment`s on the turn timeline, resampled to the session's rate, with
the next clause synthesized while the current one is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from merg_sdk.speech.resample import Resampler
from merg_sdk.speech.types import PhonemeSpan, SpeechSegment
from merg_sdk.streaming import as_async


@dataclass(frozen=True, slots=True)
class TimedPhoneme:
    """A phoneme in an engine's own clause audio, in samples at the engine's rate."""

    phoneme: str
    start: int
    end: int
    stressed: bool = False


@dataclass(frozen=True, slots=True)
class ClauseAudio:
    """What an engine returns for one clause: float audio in [-1, 1] and its phonemes."""

    audio: np.ndarray
    sample_rate: int
    phonemes: tuple[TimedPhoneme, ...]


@dataclass(frozen=True, slots=True)
class Prosody:
    """Delivery for a clause: rate (1 = the voice's own pace), loudness and pitch.

    `pitch` is a shift in units of the voice's own pitch variation (0 = its usual
    level; +1 one deviation higher), the unit Riva's SSML takes; engines that cannot
    shift pitch (Piper) ignore it.
    """

    rate: float = 1.0
    volume: float = 1.0
    pitch: float = 0.0


@dataclass(frozen=True, slots=True)
class SpeechRequest:
    """One clause to speak, and how."""

    text: str
    prosody: Prosody = Prosody()


class TextToSpeech(Protocol):
    """A speech engine. `synthesize` is blocking and must be safe to call from threads."""

    name: str

    @property
    def voices(self) -> tuple[str, ...]: ...

    @property
    def default_voice(self) -> str: ...

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> ClauseAudio: ...


async def speak(
    tts: TextToSpeech,
    requests: Iterable[SpeechRequest] | AsyncIterable[SpeechRequest],
    *,
    voice: str,
    sample_rate: int,
    executor: Executor,
    start_sample: int = 0,
) -> AsyncIterator[SpeechSegment]:
    """Synthesize clauses in order, yielding each as soon as it exists.

    Clauses may arrive while earlier ones are spoken (from an LLM, say); each
    is synthesized in a worker thread and resampled there, then placed on the
    turn timeline right after the previous one. Cancelling the consumer drops
    a synthesis in flight: an interrupt leaves nothing behind.
    """
    loop = asyncio.get_running_loop()
    resampler = Resampler(sample_rate)
    position = start_sample

    def synthesize(request: SpeechRequest, t0: int) -> SpeechSegment:
        clause = tts.synthesize(request.text, voice, request.prosody)
        return place_on_timeline(request.text, clause, resampler, t0)

    async for request in as_async(requests):
        future = loop.run_in_executor(executor, synthesize, request, position)
        try:
            segment = await future
        finally:
            future.cancel()
        position = segment.end
        yield segment


def place_on_timeline(
    text: str, clause: ClauseAudio, resampler: Resampler, t0: int
) -> SpeechSegment:
    """Resample a clause to the session rate and move its phonemes onto the turn timeline."""
    pcm = resampler.to_int16(clause.audio, clause.sample_rate)
    scale = len(pcm) / max(len(clause.audio), 1)
    out_rate = resampler.sample_rate
    spans = tuple(
        PhonemeSpan(
            phoneme=p.phoneme,
            start_s=(t0 + p.start * scale) / out_rate,
            end_s=(t0 + p.end * scale) / out_rate,
            stressed=p.stressed,
        )
        for p in clause.phonemes
    )
    return SpeechSegment(text=text, t0=t0, sample_rate=out_rate, pcm=pcm, phonemes=spans)
