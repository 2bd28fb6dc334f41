"""What the server does with each client message: validate, answer, start or stop turns."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np

from merg_sdk.empathy.chain import EmpathyChain
from merg_sdk.empathy.persona import PersonaError
from merg_sdk.motion import EMOTIONS
from merg_sdk.motion.output import output_rig
from merg_sdk.perception.face import FaceInputError
from merg_sdk.perception.hearing.listener import SUPPORTED_RATES as LISTENER_RATES
from merg_sdk.protocol import (
    CLIENT_MESSAGES,
    SUPPORTED_FPS,
    SUPPORTED_SAMPLE_RATES_HZ,
    Animate,
    ErrorCode,
    Hello,
    Interrupt,
    Message,
    Ping,
    Playback,
    Pong,
    ProtocolError,
    Say,
    SessionClose,
    SessionClosed,
    SessionOpen,
    UserAudio,
    UserFace,
    UserText,
    UserTranscript,
    Welcome,
    decode,
)
from merg_sdk.protocol.codec import read_envelope
from merg_sdk.server.animate import AnimateChunk, AnimateTurn
from merg_sdk.server.conversation import audio_reply_lines, reply_lines
from merg_sdk.server.launcher import TurnLauncher
from merg_sdk.server.listening import AudioIn, SessionEars, Utterance
from merg_sdk.server.seeing import SessionEyes
from merg_sdk.server.sessions import Session, new_session_id, session_opened
from merg_sdk.server.turns import say_lines

if TYPE_CHECKING:
    from merg_sdk.server.app import ClientState, MergServer

log = logging.getLogger("merg.server")

DEFAULT_INTENSITY = 0.5


class Handlers:
    def __init__(self, server: MergServer) -> None:
        self.server = server
        self.turns = TurnLauncher(server)

    async def handle(self, client: ClientState, frames: list[bytes]) -> None:
        limits = self.server.config.limits
        if len(frames) != 1:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "a message is exactly one frame")
        payload = frames[0]
        if len(payload) > limits.max_message_bytes:
            sid, seq = _peek_ids(payload)  # so the client can tell which request failed
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"message of {len(payload)} bytes exceeds {limits.max_message_bytes}",
                sid=sid,
                ref=seq,
            )
        if not client.greeted:
            envelope, kind, seq = read_envelope(payload)
            if kind != Hello.TYPE:
                sid = envelope.get("sid") if isinstance(envelope.get("sid"), str) else None
                raise ProtocolError(
                    ErrorCode.HELLO_REQUIRED, "send 'hello' first", sid=sid, ref=seq
                )
        message, seq = decode(payload, CLIENT_MESSAGES)
        await self._dispatch(client, message, seq)

    async def _dispatch(self, client: ClientState, message: Message, seq: int | None) -> None:
        server = self.server
        match message:
            case Hello():
                client.greeted = True
                server.send(
                    client,
                    Welcome(server=server.server_info(), capabilities=server.capabilities()),
                )
            case Ping(t=t):
                server.send(client, Pong(t=t, server_t=time.time()))
            case SessionOpen():
                await self._open(client, message, seq)
            case SessionClose(sid=sid):
                await server.close_session(self._session(client, sid, seq))
                server.send(client, SessionClosed(sid=sid))
            case Say():
                await self._say(client, message, seq)
            case UserText():
                await self._user_text(client, message, seq)
            case Animate():
                await self._animate(client, message, seq)
            case UserAudio():
                self._user_audio(client, message, seq)
            case UserFace():
                self._user_face(client, message, seq)
            case Interrupt(sid=sid):
                session = self._session(client, sid, seq)
                await server.end_turn(session, "interrupted")
                session.cut_playback()
            case Playback(sid=sid, turn=turn, t=t):
                if not self._session(client, sid, seq).record_heard(turn, t):
                    raise ProtocolError(
                        ErrorCode.BAD_MESSAGE, f"turn {turn} never started", sid=sid, ref=seq
                    )

    def _session(self, client: ClientState, sid: str, seq: int | None) -> Session:
        session = self.server.sessions.get(sid)
        if session is None or session.owner != client.identity:
            raise ProtocolError(ErrorCode.UNKNOWN_SESSION, f"no session {sid!r}", sid=sid, ref=seq)
        return session

    async def _open(self, client: ClientState, request: SessionOpen, seq: int | None) -> None:
        server = self.server
        limits = server.config.limits
        if request.resume is not None:
            await self._resume(client, request.resume, seq)
            return
        if len(server.sessions.owned_by(client.identity)) >= limits.max_sessions_per_client:
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS,
                f"at most {limits.max_sessions_per_client} sessions per client",
                ref=seq,
            )
        if len(server.sessions) >= limits.max_sessions:
            raise ProtocolError(ErrorCode.TOO_MANY_SESSIONS, "the server is full", ref=seq)
        _require(request.fps in SUPPORTED_FPS, f"fps {request.fps} not in {SUPPORTED_FPS}", seq)
        _require(
            request.sample_rate in SUPPORTED_SAMPLE_RATES_HZ,
            f"sample_rate {request.sample_rate} not in {SUPPORTED_SAMPLE_RATES_HZ}",
            seq,
        )
        chain = self._chain(request, seq)
        persona_voice = chain.persona.voice if chain else None
        if persona_voice not in server.tts.voices:
            persona_voice = None
        voice = request.voice or persona_voice or server.tts.default_voice
        _require(voice in server.tts.voices, f"unknown voice {voice!r}", seq)
        try:
            rig = output_rig(request.rig, server.flame)
        except ValueError as exc:
            raise ProtocolError(ErrorCode.UNSUPPORTED, str(exc), ref=seq) from None
        session = Session(
            sid=new_session_id(),
            owner=client.identity,
            rig=rig,
            fps=request.fps,
            sample_rate=request.sample_rate,
            voice=voice,
            chain=chain,
        )
        server.sessions.add(session)
        server.send(client, session_opened(session, resumed=False))

    def _chain(self, request: SessionOpen, seq: int | None) -> EmpathyChain | None:
        """The session's persona and conversation state, when the server has empathy."""
        mind = self.server.mind
        if mind is None:
            return None
        try:
            return mind.chain(request.avatar)
        except PersonaError as exc:
            code = (
                ErrorCode.UNSUPPORTED if isinstance(request.avatar, str) else ErrorCode.BAD_MESSAGE
            )
            raise ProtocolError(code, str(exc), ref=seq) from None

    async def _resume(self, client: ClientState, sid: str, seq: int | None) -> None:
        """Re-attach a session whose client vanished (or went silent: a reconnect from a new
        socket usually arrives before the server notices the old one is gone)."""
        server = self.server
        session = server.sessions.get(sid)
        owner = server.clients.get(session.owner) if session and session.owner else None
        silent_s = time.monotonic() - owner.last_seen if owner else float("inf")
        takeover_s = server.config.limits.resume_takeover_s
        if session is None or (owner is not None and owner is not client and silent_s < takeover_s):
            raise ProtocolError(
                ErrorCode.UNKNOWN_SESSION, f"no session {sid!r} to resume", sid=sid, ref=seq
            )
        limit = server.config.limits.max_sessions_per_client
        if (
            session.owner != client.identity
            and len(server.sessions.owned_by(client.identity)) >= limit
        ):
            raise ProtocolError(
                ErrorCode.TOO_MANY_SESSIONS, f"at most {limit} sessions per client", ref=seq
            )
        if owner is not None and owner is not client:  # its turn ends before it moves
            await server.end_turn(session, "interrupted")
            server.send(owner, SessionClosed(sid=sid, reason="resumed_elsewhere"))
        session.owner = client.identity
        session.detached_at = None
        server.send(client, session_opened(session, resumed=True))

    async def _say(self, client: ClientState, request: Say, seq: int | None) -> None:
        session = self._session(client, request.sid, seq)
        self._check_text(session, request.text, seq)
        emotion = self._emotion(session, request.emotion, seq)
        intensity = DEFAULT_INTENSITY if request.intensity is None else request.intensity
        lines = say_lines(request.text, emotion, intensity)
        await self.turns.start(client, session, "say", seq, lambda emit, outcome: lines)

    async def _user_text(self, client: ClientState, request: UserText, seq: int | None) -> None:
        session = self._session(client, request.sid, seq)
        self._check_text(session, request.text, seq)
        mind = self.server.mind
        if mind is None or session.chain is None:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED,
                "this server runs without the empathy stage (perception and LLM)",
                sid=session.sid,
                ref=seq,
            )
        chain = session.chain
        await self.turns.start(
            client,
            session,
            "user.text",
            seq,
            lambda emit, outcome: reply_lines(
                mind,
                chain,
                session.sid,
                session.turns_started,
                request.text,
                executor=self.server.executor,
                emit=emit,
                outcome=outcome,
                other_readings=[r for r in (_face_reading(session),) if r is not None],
            ),
            after=lambda heard, strategy: chain.heard(heard, strategy),
        )

    async def _animate(self, client: ClientState, request: Animate, seq: int | None) -> None:
        """Feed a chunk to the session's running `animate` turn, or start one."""
        session = self._session(client, request.sid, seq)
        if len(request.pcm) % 2:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "pcm must be whole s16le samples", sid=session.sid, ref=seq
            )
        emotion = self._emotion(session, request.emotion, seq)
        current = session.animating
        running = session.turn
        if current is None or running is None or running.number != current.turn:
            intensity = DEFAULT_INTENSITY if request.intensity is None else request.intensity
            current = AnimateTurn(session, session.turns_started + 1, emotion, intensity)
            session.animating = current
            turn = current
            await self.turns.start(
                client,
                session,
                "animate",
                seq,
                body=lambda emit, stats: turn.run(self.server.executor, emit, stats),
            )
        current.seconds += len(request.pcm) / 2 / request.sample_rate
        limit = self.server.config.limits.max_animate_s
        if current.seconds > limit:
            await self.server.end_turn(session, "error")
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"utterance over {limit:.0f} s", sid=session.sid, ref=seq
            )
        pcm = np.frombuffer(request.pcm, dtype="<i2")
        current.queue.put_nowait(
            AnimateChunk(pcm, request.sample_rate, request.final, request.echo)
        )

    def _user_audio(self, client: ClientState, request: UserAudio, seq: int | None) -> None:
        """Queue a microphone chunk for the session's listener (started on first use)."""
        session = self._session(client, request.sid, seq)
        hearing = self.server.hearing
        if hearing is None:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED,
                "this server runs without voice input (VAD and speech recognition)",
                sid=session.sid,
                ref=seq,
            )
        if len(request.pcm) % 2:
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "pcm must be whole s16le samples", sid=session.sid, ref=seq
            )
        if request.sample_rate not in LISTENER_RATES:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED,
                f"user.audio sample_rate {request.sample_rate} not in {LISTENER_RATES}",
                sid=session.sid,
                ref=seq,
            )
        ears = session.ears
        if ears is None:
            ears = SessionEars(self.server, hearing, session, self._audio_turn)
            session.ears = ears
        chunk = AudioIn(request.pcm, request.sample_rate, request.final)
        backlog = self.server.config.hearing.max_backlog_s
        if ears.queued_s + len(request.pcm) / 2 / request.sample_rate > backlog:
            raise ProtocolError(
                ErrorCode.OVERLOADED,
                f"over {backlog:.0f} s of user.audio not yet heard; chunk dropped",
                sid=session.sid,
                ref=seq,
            )
        ears.put(chunk)

    def _user_face(self, client: ClientState, request: UserFace, seq: int | None) -> None:
        """Add a face frame to the session's window (JPEGs are read in the background)."""
        session = self._session(client, request.sid, seq)
        hearing = self.server.hearing
        if hearing is None or hearing.face is None:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED, "this server does not read faces", sid=session.sid, ref=seq
            )
        if (request.weights is None) == (request.jpeg is None):
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                "user.face carries exactly one of weights and jpeg",
                sid=session.sid,
                ref=seq,
            )
        eyes = session.eyes
        if eyes is None:

            def report(error: FaceInputError) -> None:
                self.server.send_error(
                    client, ErrorCode(error.code), f"user.face: {error}", sid=session.sid
                )

            eyes = session.eyes = SessionEyes(hearing.face, self.server.hearing_executor, report)
        if request.jpeg is not None:
            eyes.add_jpeg(request.t, request.jpeg)
            return
        try:
            eyes.add_weights(request.t, request.weights)
        except FaceInputError as error:
            raise ProtocolError(
                ErrorCode(error.code), f"user.face: {error}", sid=session.sid, ref=seq
            ) from None

    async def _audio_turn(self, session: Session, text: str, utterance: Utterance) -> None:
        """The user finished speaking: reply (with empathy), or just pass the words on."""
        server = self.server
        client = server.clients.get(session.owner) if session.owner else None
        if client is None:
            return
        mind, chain = server.mind, session.chain
        if mind is None or chain is None:  # a recognition-only server
            server.send(client, UserTranscript(session.sid, utterance.number, text, final=True))
            return

        def lines(emit, outcome):
            turn = session.turns_started
            return audio_reply_lines(
                mind, chain, session.sid, turn, text, utterance,
                executor=server.executor, emit=emit, outcome=outcome,
                voice=self._voice_reader(session), face=_face_reading(session),
            )  # fmt: skip

        await self.turns.start(
            client,
            session,
            "user.audio",
            None,
            lines,
            after=lambda heard, strategy: chain.heard(heard, strategy),
        )

    def _emotion(self, session: Session, emotion: str | None, seq: int | None) -> str:
        name = emotion or "neutral"
        if name not in EMOTIONS:
            raise ProtocolError(
                ErrorCode.UNSUPPORTED,
                f"unknown emotion {name!r}; one of {', '.join(EMOTIONS)}",
                sid=session.sid,
                ref=seq,
            )
        return name

    def _check_text(self, session: Session, text: str, seq: int | None) -> None:
        limit = self.server.config.limits.max_text_chars
        if len(text) > limit:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, f"text over {limit} characters", sid=session.sid, ref=seq
            )
        if not any(ch.isalnum() for ch in text):
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE, "nothing to say: text has no words", sid=session.sid, ref=seq
            )

    def _voice_reader(self, session: Session):
        """Reads the utterance's voice against this user's baseline (None: no voice reader)."""
        hearing = self.server.hearing
        reader = hearing.voice if hearing is not None else None
        if reader is None:
            return None
        if session.voice_baseline is None:
            session.voice_baseline = reader.new_baseline()
        baseline = session.voice_baseline

        def read(audio, transcript: str):
            return reader.analyze(audio, 16000, transcript=transcript, baseline=baseline)

        return read


def _face_reading(session: Session):
    return session.eyes.reading() if session.eyes is not None else None


def _require(condition: bool, message: str, seq: int | None) -> None:
    if not condition:
        raise ProtocolError(ErrorCode.UNSUPPORTED, message, ref=seq)


def _peek_ids(payload: bytes) -> tuple[str | None, int | None]:
    """The sid and seq of a message we will not process, if it is readable at all."""
    try:
        envelope, _, seq = read_envelope(payload)
    except ProtocolError as exc:
        return None, exc.ref
    sid = envelope.get("sid")
    return (sid if isinstance(sid, str) else None), seq
