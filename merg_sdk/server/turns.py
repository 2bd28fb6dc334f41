"""A `say` turn wired from the stages: clauses -> speech -> motion -> wire messages.

Each stage streams: a clause's face frames and audio leave as soon as that
clause is synthesized, while the next clause is already being synthesized.
The turn is one asyncio task; cancelling it (interrupt) stops every stage.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np

from merg_sdk.motion import FaceAnimator
from merg_sdk.protocol import Audio, Face, Message, Reply
from merg_sdk.server.sessions import Session, TurnStats
from merg_sdk.speech.base import TextToSpeech, speak
from merg_sdk.speech.clauses import split_clauses
from merg_sdk.speech.prosody import prosody_for
from merg_sdk.speech.types import SpeechSegment

Emit = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class SayRequest:
    text: str
    emotion: str
    intensity: float


async def run_say_turn(
    session: Session,
    turn: int,
    request: SayRequest,
    *,
    tts: TextToSpeech,
    executor: Executor,
    chunk_samples: int,
    emit: Emit,
    stats: TurnStats,
) -> None:
    """Speak and animate one scripted line, emitting wire messages as they exist."""
    clauses = split_clauses(request.text)
    animator = FaceAnimator(
        rig=session.rig,
        fps=session.fps,
        emotion=request.emotion,
        intensity=request.intensity,
        seed=zlib.crc32(f"{session.sid}/{turn}".encode()),  # same in every process
    )
    segments = speak(
        tts,
        clauses,
        voice=session.voice,
        sample_rate=session.sample_rate,
        executor=executor,
        prosody=prosody_for(request.emotion, request.intensity),
    )
    try:
        async for segment in segments:
            stats.clauses += 1
            final = stats.clauses == len(clauses)
            await emit(
                Reply(
                    sid=session.sid,
                    turn=turn,
                    text=segment.text,
                    emotion=request.emotion,
                    intensity=request.intensity,
                    final=final,
                    t0=segment.t0,
                    phonemes=[
                        [p.phoneme, round(p.start_s, 5), round(p.end_s, 5)]
                        for p in segment.phonemes
                    ],
                )
            )
            animator.feed(segment.phonemes)
            await _emit_segment(session, turn, segment, animator, chunk_samples, emit, stats)
    finally:
        await segments.aclose()


async def _emit_segment(
    session: Session,
    turn: int,
    segment: SpeechSegment,
    animator: FaceAnimator,
    chunk_samples: int,
    emit: Emit,
    stats: TurnStats,
) -> None:
    """Each audio chunk is preceded by the face frames whose times it covers."""
    rate = session.sample_rate
    for start in range(0, len(segment.pcm), chunk_samples):
        pcm = segment.pcm[start : start + chunk_samples]
        chunk_end = segment.t0 + start + len(pcm)
        block = animator.render_until(chunk_end / rate)
        count = block.weights.shape[0]
        if count:
            await emit(
                Face(
                    sid=session.sid,
                    turn=turn,
                    f0=block.f0,
                    fps=session.fps,
                    count=count,
                    weights=_float32_bytes(block.weights),
                    head=_float32_bytes(block.head),
                    eyes=_float32_bytes(block.eyes),
                )
            )
            stats.frames += count
            if stats.first_face_ms is None:
                stats.first_face_ms = stats.elapsed_ms()
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


def _float32_bytes(values: np.ndarray | None) -> bytes | None:
    return None if values is None else np.ascontiguousarray(values, dtype="<f4").tobytes()
