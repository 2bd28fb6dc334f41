"""NVIDIA Riva text-to-speech over gRPC (`nvidia-riva-client`), for GPU voices on a server.

Each clause is one `SynthesizeOnline` call: SSML carries the clause's delivery
(rate, loudness and pitch from the emotion, plus a voice-wide pitch), audio streams back
as 16-bit PCM at the rate asked for. Riva gives no phoneme timings, so
`ClauseAudio.phonemes` is empty and the face comes from the audio-driven
lip-sync model. Voices are listed from the server (`GetRivaSynthesisConfig`)
when it can say, else taken from the settings. Failures raise `RivaError`
with a stable code, after at most the configured timeouts.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterator
from xml.sax.saxutils import escape

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from merg_sdk.speech.base import ClauseAudio, Prosody
from merg_sdk.speech.riva_config import (
    RivaConnection,
    RivaError,
    RivaErrorCode,
    error_from_rpc,
    open_channel,
    wait_ready,
)

SERVER_VOICE = "riva-default"
"""The voice name used when neither the server nor the settings name one: the request
then carries no voice name and Riva picks its first voice for the language."""
RATE_PERCENT = (25, 250)
PITCH_RANGE = (-3.0, 3.0)
VOLUME_DB = (-13.0, 8.0)
"""What Riva's SSML accepts; values outside are clamped, since Riva answers them with
an error and no audio."""
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class RivaTTSSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connection: RivaConnection = RivaConnection()
    language_code: str = "en-US"
    voices: tuple[str, ...] = ()
    """Voice names to offer when the server cannot list its own (older Riva, NVCF)."""
    default_voice: str | None = None
    """The voice sessions get unless they ask; None = the first listed."""
    list_voices: bool = True
    """Ask the server for its voices (`GetRivaSynthesisConfig`)."""
    sample_rate_hz: int = Field(22050, ge=8000, le=48000)
    """The rate asked of Riva; the server resamples to each session's rate."""
    ssml: bool = True
    """Send prosody as SSML; off for models without SSML support (text is then plain)."""
    pitch: float = Field(0.0, ge=PITCH_RANGE[0], le=PITCH_RANGE[1])
    """A voice-wide pitch shift in Riva's units (the voice's pitch deviations), added
    to each clause's emotional pitch before clamping to Riva's range."""
    first_audio_timeout_s: float = Field(5.0, gt=0)
    """The longest wait for a clause's first audio before `timeout`."""
    clause_timeout_s: float = Field(30.0, gt=0)
    """The longest a whole clause may take."""


def to_ssml(text: str, prosody: Prosody, pitch: float = 0.0) -> str:
    """`<speak>` with the text escaped, wrapped in `<prosody>` when delivery is not neutral."""
    body = escape(_NOT_XML.sub(" ", text))
    attributes = []
    rate = round(min(max(prosody.rate * 100, RATE_PERCENT[0]), RATE_PERCENT[1]))
    if rate != 100:
        attributes.append(f'rate="{rate}%"')
    pitch = min(max(pitch, PITCH_RANGE[0]), PITCH_RANGE[1])
    if abs(pitch) >= 0.005:
        attributes.append(f'pitch="{pitch:+.2f}"')
    volume_db = 20.0 * math.log10(max(prosody.volume, 1e-3))
    volume_db = min(max(volume_db, VOLUME_DB[0]), VOLUME_DB[1])
    if abs(volume_db) >= 0.05:
        attributes.append(f'volume="{volume_db:+.1f}dB"')
    if attributes:
        body = f"<prosody {' '.join(attributes)}>{body}</prosody>"
    return f"<speak>{body}</speak>"


def voices_from_config(response: object, language_code: str | None = None) -> tuple[str, ...]:
    """Voice names from a `RivaSynthesisConfigResponse`: `<voice_name>.<subvoice>` per
    subvoice, as Riva's own clients name them, for models of the language."""
    names: list[str] = []
    for model in getattr(response, "model_config", ()):
        parameters = model.parameters
        language = parameters.get("language_code", "")
        if language_code and language and language.lower() != language_code.lower():
            continue
        base = parameters.get("voice_name", "") or model.model_name
        subvoices = [s.split(":")[0].strip() for s in parameters.get("subvoices", "").split(",")]
        subvoices = [s for s in subvoices if s]
        for name in [f"{base}.{s}" for s in subvoices] if subvoices else [base]:
            if name and name not in names:
                names.append(name)
    return tuple(names)


class RivaTTS:
    """`TextToSpeech` over one Riva server; thread-safe (one channel, calls in parallel)."""

    name = "riva"

    def __init__(self, settings: RivaTTSSettings | None = None) -> None:
        from riva.client.proto import riva_tts_pb2_grpc

        self.settings = settings or RivaTTSSettings()
        self._channel = open_channel(self.settings.connection)
        self._stub = riva_tts_pb2_grpc.RivaSpeechSynthesisStub(self._channel)
        self._voices: tuple[str, ...] | None = None
        self._lock = threading.Lock()

    @property
    def voices(self) -> tuple[str, ...]:
        """The server's voices, asked once (bounded by connect_timeout_s); the settings'
        voices when the server cannot say."""
        with self._lock:
            if self._voices is None:
                self._voices = self._list_voices()
            return self._voices

    @property
    def default_voice(self) -> str:
        configured = self.settings.default_voice
        return configured if configured is not None else self.voices[0]

    def refresh_voices(self) -> tuple[str, ...]:
        with self._lock:
            self._voices = self._list_voices()
            return self._voices

    def warm_up(self) -> None:
        """Connect, list the voices and speak once: a wrong endpoint, key or certificate
        fails the server's start instead of its first turn."""
        wait_ready(self._channel, self.settings.connection)
        self.refresh_voices()
        self.synthesize("Hello.", self.default_voice, Prosody())

    def close(self) -> None:
        self._channel.close()

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> ClauseAudio:
        parts = list(self.synthesize_stream(text, voice, prosody))
        audio = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        return ClauseAudio(audio, self.settings.sample_rate_hz, ())

    def synthesize_stream(self, text: str, voice: str, prosody: Prosody) -> Iterator[np.ndarray]:
        """The clause's audio (float32 in [-1, 1]) chunk by chunk, as Riva sends it."""
        import grpc

        s = self.settings
        # no readiness wait: gRPC fails a call at once on a refused connection, and the
        # channel limits each connection attempt to connect_timeout_s
        call = self._stub.SynthesizeOnline(
            iter([self._request(text, voice, prosody)]),
            timeout=s.clause_timeout_s,
            metadata=s.connection.call_metadata(),
        )
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            call.cancel()

        watchdog = threading.Timer(s.first_audio_timeout_s, expire)
        watchdog.daemon = True
        watchdog.start()
        first = True
        leftover = b""
        try:
            for response in call:
                data = leftover + response.audio
                whole = len(data) - len(data) % 2
                leftover = data[whole:]
                if not whole:
                    continue
                if first:
                    watchdog.cancel()
                    first = False
                yield np.frombuffer(data[:whole], "<i2").astype(np.float32) / 32768.0
        except grpc.RpcError as exc:
            if expired.is_set():
                raise RivaError(
                    RivaErrorCode.TIMEOUT,
                    f"no audio from {s.connection.uri} within {s.first_audio_timeout_s:g} s",
                ) from None
            raise error_from_rpc(exc, "Riva synthesis") from None
        finally:
            watchdog.cancel()
            call.cancel()  # a consumer that stopped early (interrupt) frees the server
        if leftover:
            raise RivaError(RivaErrorCode.BAD_RESPONSE, "Riva sent an odd number of PCM bytes")

    def _request(self, text: str, voice: str, prosody: Prosody):  # -> SynthesizeSpeechRequest
        from riva.client.proto import riva_audio_pb2, riva_tts_pb2

        s = self.settings
        request = riva_tts_pb2.SynthesizeSpeechRequest(
            text=to_ssml(text, prosody, s.pitch + prosody.pitch) if s.ssml else text,
            language_code=s.language_code,
            encoding=riva_audio_pb2.AudioEncoding.LINEAR_PCM,
            sample_rate_hz=s.sample_rate_hz,
        )
        if voice and voice != SERVER_VOICE:
            request.voice_name = voice
        return request

    def _list_voices(self) -> tuple[str, ...]:
        import grpc
        from riva.client.proto import riva_tts_pb2

        s = self.settings
        listed: tuple[str, ...] = ()
        if s.list_voices:
            try:
                response = self._stub.GetRivaSynthesisConfig(
                    riva_tts_pb2.RivaSynthesisConfigRequest(),
                    timeout=s.connection.connect_timeout_s,
                    metadata=s.connection.call_metadata(),
                )
                listed = voices_from_config(response, s.language_code)
            except (RivaError, grpc.RpcError):
                listed = ()  # the settings' voices stand in; a dead server fails at synthesis
        voices = listed or s.voices or (SERVER_VOICE,)
        if s.default_voice is not None and s.default_voice not in voices:
            voices = (s.default_voice, *voices)
        return voices
