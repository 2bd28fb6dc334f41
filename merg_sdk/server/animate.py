"""`animate` turns: a face for audio the game already has, from the audio-driven model.

Chunks arrive as messages and feed one running turn through a queue; the
audio model (in the thread pool) gives the mouth, the animator gives the
rest of a living face (emotion, blinks, head and eyes) on the same frames.
Frames leave as soon as the model's look-ahead allows, so a renderer can
play recorded voice-over with a face that is at most ~80 ms behind the audio
it has already received.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import soxr

from merg_sdk.motion import FaceAnimator, FaceBlock, load_rig
from merg_sdk.motion.audio2face import AudioFaceStream
from merg_sdk.motion.retarget import load_retarget
from merg_sdk.protocol import Audio, Message
from merg_sdk.server.sessions import Session, TurnStats
from merg_sdk.server.turns import frames_message

MOUTH_OVERLAY_SHARE = 0.4  # the emotion's share of mouth channels while speech moves them


@dataclass(frozen=True, slots=True)
class AnimateChunk:
    pcm: np.ndarray  # int16
    sample_rate: int
    final: bool
    echo: bool


class AnimateTurn:
    """One utterance: chunks in (any rate), frames out on the session's timeline."""

    def __init__(self, session: Session, turn: int, emotion: str, intensity: float) -> None:
        self.session = session
        self.turn = turn
        self.queue: asyncio.Queue[AnimateChunk] = asyncio.Queue()
        self.sample_rate: int | None = None
        self.seconds = 0.0
        """Audio received so far, against `Limits.max_animate_s`."""
        self._stream: AudioFaceStream | None = None
        arkit = load_rig("arkit52")
        self._animator = FaceAnimator(
            rig=arkit, fps=session.fps, emotion=emotion, intensity=intensity, seed=turn
        )
        self._arkit_names = arkit.names
        self._columns: list[int] = []
        self._to_visemes = load_retarget("oculus") if session.rig.base.name == "visemes" else None
        self._echoed = 0

    async def run(
        self,
        executor: Executor,
        emit: Callable[[Message], Awaitable[None]],
        stats: TurnStats,
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            chunk = await self.queue.get()
            stream = self._stream_for(chunk.sample_rate)
            mouth = await loop.run_in_executor(executor, stream.push, chunk.pcm)
            if chunk.final:
                rest = await loop.run_in_executor(executor, stream.finish)
                mouth = np.concatenate([mouth, rest]) if len(mouth) else rest
            if len(mouth):
                block = self._combine(mouth)
                await emit(frames_message(self.session, self.turn, block))
                stats.frames += len(mouth)
                if stats.first_face_ms is None:
                    stats.first_face_ms = stats.elapsed_ms()
            stats.samples += round(len(chunk.pcm) * self.session.sample_rate / chunk.sample_rate)
            if chunk.echo:
                await self._echo(chunk, emit, stats)
            if chunk.final:
                return

    def _stream_for(self, sample_rate: int) -> AudioFaceStream:
        if self._stream is None:
            self.sample_rate = sample_rate
            self._stream = AudioFaceStream(fps=self.session.fps, sample_rate=sample_rate)
            self._columns = [self._arkit_names.index(n) for n in self._stream.names]
        elif sample_rate != self.sample_rate:
            raise ValueError(
                f"sample_rate changed from {self.sample_rate} to {sample_rate} mid-utterance"
            )
        return self._stream

    def _combine(self, mouth: np.ndarray) -> FaceBlock:
        """The animator's living face with the audio model's mouth on the same frames."""
        animator = self._animator
        last = animator.next_frame + len(mouth) - 1
        block = animator.render_until((last + 0.5) / self.session.fps)
        weights = block.weights.copy()
        weights[:, self._columns] = np.clip(
            mouth + MOUTH_OVERLAY_SHARE * weights[:, self._columns], 0.0, 1.0
        )
        if self._to_visemes is not None:  # a visemes session: read visemes off the face
            weights = self._to_visemes.apply(weights)
        return FaceBlock(block.f0, weights.astype(np.float32), block.head, block.eyes)

    async def _echo(
        self, chunk: AnimateChunk, emit: Callable[[Message], Awaitable[None]], stats: TurnStats
    ) -> None:
        rate = self.session.sample_rate
        audio = chunk.pcm.astype(np.float32) / 32768.0
        if chunk.sample_rate != rate:
            audio = soxr.resample(audio, chunk.sample_rate, rate)
        pcm = np.clip(np.round(audio * 32767.0), -32767, 32767).astype("<i2")
        await emit(Audio(self.session.sid, self.turn, self._echoed, rate, pcm.tobytes()))
        self._echoed += len(pcm)
        if stats.first_audio_ms is None:
            stats.first_audio_ms = stats.elapsed_ms()
