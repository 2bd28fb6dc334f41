"""A `say` turn wired from the stages: clauses -> speech -> motion -> wire messages.

Each stage streams: a clause's face frames and audio leave as soon as that
clause is synthesized, while the next clause is already being synthesized.
The turn is one asyncio task; cancelling it (interrupt) stops every stage.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from merg_sdk.motion import FaceAnimator, FaceBlock
from merg_sdk.motion.audio_mouth import AudioMouthAnimator
from merg_sdk.protocol import Audio, Face, Flame, Message, Reply
from merg_sdk.server.sessions import Session, TurnStats
from merg_sdk.speech.base import SpeechRequest, TextToSpeech, speak
from merg_sdk.speech.clauses import split_clauses
from merg_sdk.speech.prosody import prosody_for
from merg_sdk.speech.types import SpeechSegment
from merg_sdk.streaming import as_async, prefetch

Emit = Callable[[Message], Awaitable[None]]
Animator = FaceAnimator | AudioMouthAnimator


@dataclass(frozen=True, slots=True)
class Line:
    """A clause the avatar will say, and how it feels saying it.

    `final` is True on the last clause when that is known in advance (a `say`);
    None while an LLM may still write more (the turn then closes with an empty
    final `reply`).
    """

    text: str
    emotion: str
    intensity: float
    strategy: str | None = None
    final: bool | None = None
    source: str | None = None
    """Where the words came from: opener, llm, fallback or safety (None for `say`)."""


@dataclass(frozen=True, slots=True)
class SpokenClause:
    """A clause whose audio was sent, and where it starts on the turn timeline."""

    text: str
    start_s: float
    strategy: str


def say_lines(text: str, emotion: str, intensity: float) -> list[Line]:
    clauses = split_clauses(text)
    return [
        Line(clause, emotion, intensity, final=index == len(clauses) - 1)
        for index, clause in enumerate(clauses)
    ]


async def run_speech_turn(
    session: Session,
    turn: int,
    lines: Iterable[Line] | AsyncIterable[Line],
    *,
    tts: TextToSpeech,
    executor: Executor,
    chunk_samples: int,
    emit: Emit,
    stats: TurnStats,
    spoken: list[SpokenClause] | None = None,
) -> None:
    """Speak and animate clauses as they arrive, emitting wire messages as they exist.

    `spoken` collects the text of each clause whose audio has been sent, for the
    conversation memory. Lines are pulled ahead (an LLM keeps writing while the
    first clause is synthesized).
    """
    queued: deque[Line] = deque()

    async def requests() -> AsyncIterator[SpeechRequest]:
        async for line in prefetch(as_async(lines)):
            queued.append(line)
            yield SpeechRequest(line.text, prosody_for(line.emotion, line.intensity))

    loop = asyncio.get_running_loop()
    animator: Animator | None = None
    last: Line | None = None
    segments = speak(
        tts, requests(), voice=session.voice, sample_rate=session.sample_rate, executor=executor
    )
    async with contextlib.aclosing(segments):
        async for segment in segments:
            line = queued.popleft()
            if animator is None:
                animator = _animator(session, turn, line, segment)
            elif last is not None and (line.emotion, line.intensity) != (
                last.emotion,
                last.intensity,
            ):
                animator.set_emotion(line.emotion, line.intensity)
            stats.clauses += 1
            await emit(_reply(session, turn, line, segment))
            if isinstance(animator, AudioMouthAnimator):
                final = line.final is True  # a `say`: finish now, so frames precede audio
                await loop.run_in_executor(executor, _hear, animator, segment, final)
            else:
                animator.feed(segment.phonemes)
            await _emit_segment(session, turn, segment, animator, chunk_samples, emit, stats)
            if spoken is not None:
                start_s = segment.t0 / session.sample_rate
                spoken.append(SpokenClause(line.text, start_s, line.strategy or ""))
            last = line
    if isinstance(animator, AudioMouthAnimator) and not (last is not None and last.final):
        await loop.run_in_executor(executor, animator.finish)  # the turn's last frames
        await _emit_block(session, turn, animator.render_all(), emit, stats)
    if last is not None and not last.final:
        closing = Line("", last.emotion, last.intensity, last.strategy, final=True)
        await emit(_reply(session, turn, closing, None))


def _animator(session: Session, turn: int, line: Line, segment: SpeechSegment) -> Animator:
    """Phoneme-driven lips when the voice gives timings; otherwise (Riva) the mouth comes
    from the audio-driven model, for the whole turn so its state runs across clauses."""
    seed = zlib.crc32(f"{session.sid}/{turn}".encode())  # same in every process
    if segment.phonemes or not len(segment.pcm):
        return FaceAnimator(
            rig=session.rig.base,
            fps=session.fps,
            emotion=line.emotion,
            intensity=line.intensity,
            seed=seed,
        )
    return AudioMouthAnimator(
        session.rig.base,
        fps=session.fps,
        sample_rate=session.sample_rate,
        emotion=line.emotion,
        intensity=line.intensity,
        seed=seed,
    )


def _hear(animator: AudioMouthAnimator, segment: SpeechSegment, final: bool) -> None:
    animator.push(segment.pcm)
    if final:
        animator.finish()


def _reply(session: Session, turn: int, line: Line, segment: SpeechSegment | None) -> Reply:
    return Reply(
        sid=session.sid,
        turn=turn,
        text=line.text,
        emotion=line.emotion,
        intensity=line.intensity,
        final=bool(line.final),
        strategy=line.strategy,
        source=line.source,
        t0=segment.t0 if segment else None,
        phonemes=[[p.phoneme, round(p.start_s, 5), round(p.end_s, 5)] for p in segment.phonemes]
        if segment
        else None,
    )


async def _emit_segment(
    session: Session,
    turn: int,
    segment: SpeechSegment,
    animator: Animator,
    chunk_samples: int,
    emit: Emit,
    stats: TurnStats,
) -> None:
    """Each audio chunk is preceded by the face frames whose times it covers."""
    rate = session.sample_rate
    for start in range(0, len(segment.pcm), chunk_samples):
        pcm = segment.pcm[start : start + chunk_samples]
        chunk_end = segment.t0 + start + len(pcm)
        await _emit_block(session, turn, animator.render_until(chunk_end / rate), emit, stats)
        await emit(
            Audio(
                sid=session.sid,
                turn=turn,
                t0=segment.t0 + start,
                sample_rate=rate,
                pcm=np.ascontiguousarray(pcm, dtype="<i2").tobytes(),
            )
        )
        stats.samples += len(pcm)
        if stats.first_audio_ms is None:
            stats.first_audio_ms = stats.elapsed_ms()


async def _emit_block(
    session: Session, turn: int, block: FaceBlock, emit: Emit, stats: TurnStats
) -> None:
    count = block.weights.shape[0]
    if count:
        await emit(frames_message(session, turn, block))
        stats.frames += count
        if stats.first_face_ms is None:
            stats.first_face_ms = stats.elapsed_ms()


def frames_message(session: Session, turn: int, block: FaceBlock) -> Face | Flame:
    """`face` with the session's names, or `flame` parameters for a FLAME session."""
    count = block.weights.shape[0]
    if session.rig.flame is not None:
        params = session.rig.flame.apply(block.weights, head=block.head, gaze=block.eyes)
        return Flame(
            sid=session.sid,
            turn=turn,
            f0=block.f0,
            fps=session.fps,
            count=count,
            expression=_float32_bytes(params.expression),
            jaw=_float32_bytes(params.jaw),
            neck=_float32_bytes(params.neck),
            eyes=_float32_bytes(params.eyes),
        )
    return Face(
        sid=session.sid,
        turn=turn,
        f0=block.f0,
        fps=session.fps,
        count=count,
        weights=_float32_bytes(session.rig.weights(block)),
        head=_float32_bytes(block.head),
        eyes=_float32_bytes(block.eyes),
    )


def _float32_bytes(values: np.ndarray | None) -> bytes | None:
    return None if values is None else np.ascontiguousarray(values, dtype="<f4").tobytes()
