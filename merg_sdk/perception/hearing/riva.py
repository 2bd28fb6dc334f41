"""NVIDIA Riva streaming speech recognition over gRPC (`nvidia-riva-client`).

One utterance is one `StreamingRecognize` call. `feed` puts 16-bit PCM on a
queue that the call's request generator drains (gRPC sends it from its own
thread); a reader thread collects Riva's interim results, which `feed`
returns as partial transcripts, and its final results, which `finish` joins
once the request stream is closed. Nothing here blocks for longer than the
configured timeouts: a down server fails `open_stream` in milliseconds, a
silent one fails `finish` after `finish_timeout_s`.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from merg_sdk.perception.hearing.base import SAMPLE_RATE, RecognitionError, Transcript
from merg_sdk.speech.riva_config import (
    RivaConnection,
    RivaError,
    RivaErrorCode,
    error_from_rpc,
    open_channel,
    wait_ready,
)

_END = None  # closes the request stream
IDLE_CHECK_S = 0.25  # how often a waiting request stream checks that its call still lives


class RivaRecognitionError(RivaError, RecognitionError):
    """A Riva recognition failure: a `RecognitionError` that also carries Riva's `code`."""


class RivaASRSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    connection: RivaConnection = RivaConnection()
    language_code: str = "en-US"
    model: str = ""
    """A deployed ASR model's name; empty lets the server choose for the language."""
    automatic_punctuation: bool = True
    profanity_filter: bool = False
    interim_results: bool = True
    """Ask for partial transcripts while the user speaks."""
    finish_timeout_s: float = Field(10.0, gt=0)
    """The longest wait, after the utterance's last audio, for the final transcript."""
    max_utterance_s: float = Field(300.0, gt=0)
    """The call's deadline: a stream left open longer is ended by gRPC."""


class RivaRecognizer:
    """`SpeechRecognizer` over one Riva server; one channel shared by every stream."""

    name = "riva"

    def __init__(self, settings: RivaASRSettings | None = None) -> None:
        from riva.client.proto import riva_asr_pb2_grpc

        self.settings = settings or RivaASRSettings()
        self._channel = open_channel(self.settings.connection)
        self._stub = riva_asr_pb2_grpc.RivaSpeechRecognitionStub(self._channel)

    def open_stream(self) -> RivaStream:
        try:
            wait_ready(self._channel, self.settings.connection)
        except RivaError as exc:
            raise RivaRecognitionError(exc.code, exc.message) from None
        return RivaStream(self._stub, self.settings)

    def warm_up(self) -> None:
        """Connect and recognise half a second of silence: a wrong endpoint, key or
        certificate fails the server's start, not the user's first sentence."""
        stream = self.open_stream()
        try:
            stream.feed(np.zeros(SAMPLE_RATE // 2, np.float32))
            stream.finish()
        finally:
            stream.close()

    def close(self) -> None:
        self._channel.close()


class RivaStream:
    """One utterance on one `StreamingRecognize` call."""

    def __init__(self, stub: object, settings: RivaASRSettings) -> None:
        self._settings = settings
        self._audio: queue.Queue[bytes | None] = queue.Queue()
        self._lock = threading.Lock()
        self._partials: list[Transcript] = []
        self._finals: list[tuple[str, float | None]] = []
        self._error: RivaRecognitionError | None = None
        self._samples = 0
        self._heard_s = 0.0  # audio Riva says it has processed
        self._ended = False  # no more audio will be fed
        self._closed = False
        self._call = stub.StreamingRecognize(  # type: ignore[attr-defined]
            self._requests(),
            timeout=settings.max_utterance_s,
            metadata=settings.connection.call_metadata(),
        )
        self._reader = threading.Thread(target=self._read, name="riva-asr", daemon=True)
        self._reader.start()

    def feed(self, audio: np.ndarray) -> list[Transcript]:
        samples = np.asarray(audio, np.float32).reshape(-1)
        pcm = np.clip(np.round(samples * 32767.0), -32768, 32767).astype("<i2").tobytes()
        with self._lock:
            self._check_usable()
            if self._ended:
                raise RecognitionError("the recognition stream is finished")
            self._samples += len(samples)
            new, self._partials = self._partials, []
        if pcm:
            self._audio.put(pcm)
        return new

    def finish(self) -> Transcript:
        with self._lock:
            self._check_usable()
            if self._ended:
                raise RecognitionError("the recognition stream is finished")
            self._ended = True
        self._audio.put(_END)
        self._reader.join(self._settings.finish_timeout_s)
        if self._reader.is_alive():
            self.close()
            raise RivaRecognitionError(
                RivaErrorCode.TIMEOUT,
                f"no final transcript within {self._settings.finish_timeout_s:g} s",
            )
        with self._lock:
            self._check_usable()
            texts = [text for text, _ in self._finals if text]
            confidences = [c for text, c in self._finals if text and c is not None]
        confidence = float(np.mean(confidences)) if confidences else None
        return Transcript(" ".join(texts), True, confidence, self._samples / SAMPLE_RATE)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._audio.put(_END)
        self._call.cancel()

    def _check_usable(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise RecognitionError("the recognition stream is closed")

    def _requests(self) -> Iterator[object]:
        """Run by gRPC on its own thread: the configuration, then audio until the end."""
        from riva.client.proto import riva_asr_pb2, riva_audio_pb2

        s = self._settings
        config = riva_asr_pb2.RecognitionConfig(
            encoding=riva_audio_pb2.AudioEncoding.LINEAR_PCM,
            sample_rate_hertz=SAMPLE_RATE,
            language_code=s.language_code,
            max_alternatives=1,
            audio_channel_count=1,
            enable_automatic_punctuation=s.automatic_punctuation,
            profanity_filter=s.profanity_filter,
            model=s.model,
        )
        yield riva_asr_pb2.StreamingRecognizeRequest(
            streaming_config=riva_asr_pb2.StreamingRecognitionConfig(
                config=config, interim_results=s.interim_results
            )
        )
        while True:
            try:
                chunk = self._audio.get(timeout=IDLE_CHECK_S)
            except queue.Empty:
                if self._closed or self._error is not None:  # never outlive a dead call
                    return
                continue
            if chunk is _END:
                return
            yield riva_asr_pb2.StreamingRecognizeRequest(audio_content=chunk)

    def _read(self) -> None:
        import grpc

        try:
            for response in self._call:
                for result in response.results:
                    self._take(result)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED or not self._closed:
                failure = error_from_rpc(exc, "Riva recognition")
                with self._lock:
                    self._error = RivaRecognitionError(failure.code, failure.message)

    def _take(self, result: object) -> None:
        alternatives = result.alternatives  # type: ignore[attr-defined]
        if not alternatives:
            return
        best = alternatives[0]
        text = best.transcript.strip()
        heard_s = float(result.audio_processed)  # type: ignore[attr-defined]
        with self._lock:
            self._heard_s = max(self._heard_s, heard_s)
            if result.is_final:  # type: ignore[attr-defined]
                self._finals.append((text, float(best.confidence) if best.confidence else None))
            elif text:
                so_far = " ".join([t for t, _ in self._finals if t] + [text])
                self._partials.append(Transcript(so_far, False, None, self._heard_s))
