"""A session's ears on the server: `user.audio` in; speech events, transcripts, barge-in and
the `user.audio` turn out.

Chunks are queued per session and fed, in order, to the session's `Listener` in a
worker thread (VAD every 32 ms; Whisper only while the user holds the floor), so a
slow decode never blocks the event loop or another session. What the listener hears
comes back as events, handled here on the loop: `user.speech` and partial
`user.transcript` go straight to the client; a confirmed speech onset interrupts
the avatar (barge-in) through the same `end_turn` as an `interrupt`; a final
transcript starts the reply turn, whose affect fuses the words, the voice and the
face.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import soxr

from merg_sdk.perception.hearing.base import SAMPLE_RATE
from merg_sdk.perception.hearing.events import (
    AudioWarning,
    FalseStart,
    FinalTranscript,
    HearingEvent,
    PartialTranscript,
    SpeechEnded,
    SpeechStarted,
    TranscriptFailed,
)
from merg_sdk.perception.hearing.listener import HearingInputError, Listener
from merg_sdk.protocol import ErrorCode, UserSpeech, UserTranscript

if TYPE_CHECKING:
    from merg_sdk.server.app import MergServer
    from merg_sdk.server.hearing import Hearing
    from merg_sdk.server.sessions import Session

log = logging.getLogger("merg.server")

#: Turn sources a user's speech may cut off; an `animate` turn is the game's own audio.
BARGEABLE = frozenset(("say", "user.text", "user.audio"))


@dataclass(frozen=True, slots=True)
class AudioIn:
    pcm: bytes
    sample_rate: int
    final: bool


@dataclass(slots=True)
class Utterance:
    """One utterance of the user: its number in the session, where it begins on the
    listener's timeline, and (once it ended) its audio at 16 kHz for the voice reader."""

    number: int
    start_s: float
    audio: np.ndarray | None = None


class Tape:
    """The last stretch of microphone input, so an utterance's audio can be cut out of it
    after the listener has decided where it began and ended."""

    def __init__(self, keep_s: float) -> None:
        self._keep_s = keep_s
        self._chunks: deque[tuple[float, np.ndarray]] = deque()  # (start_s, 16 kHz audio)
        self._end_s = 0.0

    def add(self, pcm: bytes, sample_rate: int) -> None:
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if sample_rate != SAMPLE_RATE:
            audio = soxr.resample(audio, sample_rate, SAMPLE_RATE)
        self._chunks.append((self._end_s, audio))
        self._end_s += len(audio) / SAMPLE_RATE
        while self._chunks and self._chunks[0][0] < self._end_s - self._keep_s:
            self._chunks.popleft()

    def cut(self, start_s: float, end_s: float) -> np.ndarray:
        parts = [
            audio
            for t, audio in self._chunks
            if t < end_s and t + len(audio) / SAMPLE_RATE > start_s
        ]
        if not parts:
            return np.zeros(0, np.float32)
        first = next(t for t, audio in self._chunks if t + len(audio) / SAMPLE_RATE > start_s)
        joined = np.concatenate(parts)
        lo = max(0, round((start_s - first) * SAMPLE_RATE))
        hi = max(lo, round((end_s - first) * SAMPLE_RATE))
        return joined[lo:hi]


StartTurn = Callable[["Session", str, "Utterance"], Awaitable[None]]


class SessionEars:
    """Per session: the listener, its queue and the task that drains it."""

    def __init__(
        self,
        server: MergServer,
        hearing: Hearing,
        session: Session,
        start_turn: StartTurn,
    ) -> None:
        self.server = server
        self.session = session
        config = server.config.hearing
        self.listener = Listener(hearing.vad, hearing.recognizer, config.listener)
        self._start_turn = start_turn
        self._queue: asyncio.Queue[AudioIn] = asyncio.Queue()
        self._queued_s = 0.0
        self._utterances = 0
        self._current: Utterance | None = None
        self._barge_in = config.barge_in
        self._pre_roll_s = config.listener.pre_roll_ms / 1000
        self._tape = Tape(config.listener.endpoint.max_utterance_s + 5.0)
        self._task = asyncio.create_task(self._drain(), name=f"merg-ears-{session.sid}")

    @property
    def queued_s(self) -> float:
        """Seconds of audio received but not yet heard (the backlog)."""
        return self._queued_s

    def put(self, chunk: AudioIn) -> None:
        self._queued_s += _seconds(chunk)
        self._queue.put_nowait(chunk)

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.listener.close()

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        executor = self.server.hearing_executor
        while True:
            chunk = await self._queue.get()
            try:
                events = await loop.run_in_executor(executor, self._hear, chunk)
            except HearingInputError as error:  # checked on arrival; a rate change, say
                self._error(ErrorCode.BAD_MESSAGE, str(error))
                continue
            finally:
                self._queued_s = max(0.0, self._queued_s - _seconds(chunk))
            for event in events:
                try:
                    await self._on(event)
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug costs one event, never the session's ears
                    log.exception("hearing event %r failed in session %s", event, self.session.sid)

    def _hear(self, chunk: AudioIn) -> list[HearingEvent]:
        """Worker thread: feed the listener; keep the input on tape for the voice reader."""
        events = self.listener.feed_pcm(chunk.pcm, chunk.sample_rate) if chunk.pcm else []
        if chunk.pcm:
            self._tape.add(chunk.pcm, chunk.sample_rate)
        if chunk.final:
            events += self.listener.flush()
        return events

    async def _on(self, event: HearingEvent) -> None:
        session = self.session
        match event:
            case SpeechStarted(t_s=t):
                self._utterances += 1
                self._current = Utterance(self._utterances, max(0.0, t - self._pre_roll_s))
                running = session.turn
                cut = None
                if self._barge_in and running is not None and running.source in BARGEABLE:
                    cut = running.number
                elif self._barge_in and running is None:
                    cut = session.cut_playback()  # sent in full, but still playing
                started = UserSpeech(session.sid, self._utterances, "started", round(t, 3))
                self._send(dataclasses.replace(started, interrupts=cut))
                if cut is not None and running is not None:
                    await self.server.end_turn(session, "interrupted")
            case FalseStart(t_s=t):
                self._send(UserSpeech(session.sid, self._utterances + 1, "false_start", t))
            case SpeechEnded(t_s=t):
                if self._current is not None:
                    self._current.audio = self._tape.cut(self._current.start_s, t)
                self._send(UserSpeech(session.sid, self._utterances, "ended", round(t, 3)))
            case PartialTranscript(transcript=transcript):
                self._send(
                    UserTranscript(session.sid, self._utterances, transcript.text, final=False)
                )
            case FinalTranscript(transcript=transcript):
                utterance = self._current or Utterance(self._utterances, event.t_s)
                self._current = None
                text = transcript.text.strip()
                if any(ch.isalnum() for ch in text):
                    await self._start_turn(session, text, utterance)
                else:  # a sound without words: say so, and do not reply to it
                    self._send(UserTranscript(session.sid, utterance.number, "", final=True))
            case TranscriptFailed(detail=detail):
                self._current = None
                self._error(ErrorCode.UPSTREAM_FAILED, f"speech recognition failed: {detail}")
            case AudioWarning(code=code, detail=detail):
                self._send(
                    UserSpeech(session.sid, self._utterances, "warning", event.t_s, code, detail)
                )

    def _send(self, message: Any) -> None:
        owner = self.server.clients.get(self.session.owner) if self.session.owner else None
        if owner is not None:
            self.server.send(owner, message)

    def _error(self, code: ErrorCode, message: str) -> None:
        owner = self.server.clients.get(self.session.owner) if self.session.owner else None
        if owner is not None:
            self.server.send_error(owner, code, message, sid=self.session.sid)


async def close_ears(session: Session) -> None:
    ears, session.ears = session.ears, None
    if ears is not None:
        await ears.close()


def _seconds(chunk: AudioIn) -> float:
    return len(chunk.pcm) / 2 / chunk.sample_rate
