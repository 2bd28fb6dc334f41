"""Measuring the hearing stage: word error rate and noisy test audio, seeded.

Shared by the tests and `bench/hearing_bench.py`, and usable on a user's own
recordings. WER is counted on normalised words (lower case, no punctuation,
a few spelling variants folded) so Whisper is not charged for writing "OK"
where the reference says "okay".
"""

from __future__ import annotations

import re
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from merg_sdk.perception.hearing.base import SAMPLE_RATE

_SPELLINGS = {"ok": "okay", "alright": "all right", "gonna": "going to", "wanna": "want to"}


def normalize_words(text: str) -> list[str]:
    text = text.lower().replace("’", "'").replace("-", " ")
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)*", text)
    return " ".join(_SPELLINGS.get(word, word) for word in words).split()


@dataclass(frozen=True, slots=True)
class WordErrors:
    errors: int  # substitutions + deletions + insertions
    words: int  # reference words

    @property
    def rate(self) -> float:
        return self.errors / self.words if self.words else float(self.errors > 0)

    def __add__(self, other: WordErrors) -> WordErrors:
        return WordErrors(self.errors + other.errors, self.words + other.words)


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Levenshtein distance over normalised words."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
            )
        previous = current
    return WordErrors(previous[-1], len(ref))


def total_errors(pairs: Sequence[tuple[str, str]]) -> WordErrors:
    """Corpus WER: errors over all reference words (not a mean of per-clip rates)."""
    return sum((word_errors(ref, hyp) for ref, hyp in pairs), WordErrors(0, 0))


def read_wav(path: Path | str) -> np.ndarray:
    """A 16-bit mono WAV as float32 at 16 kHz."""
    with wave.open(str(path), "rb") as reader:
        if reader.getsampwidth() != 2 or reader.getnchannels() != 1:
            raise ValueError(f"{path}: expected 16-bit mono PCM")
        rate = reader.getframerate()
        pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    audio = pcm.astype(np.float32) / 32768.0
    return soxr.resample(audio, rate, SAMPLE_RATE) if rate != SAMPLE_RATE else audio


def write_wav(path: Path | str, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    pcm = np.clip(np.round(np.asarray(audio) * 32767.0), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())


def active_power(audio: np.ndarray, frame: int = 320) -> float:
    """Mean power of the frames within 30 dB of the loudest, so the silence around a
    clip does not make its speech look quieter than it is."""
    frames = audio[: len(audio) // frame * frame].reshape(-1, frame)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    loud = power[power >= power.max() * 1e-3]
    return float(loud.mean()) if len(loud) else 0.0


def white_noise(samples: int, rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(samples).astype(np.float32)


def pink_noise(samples: int, rng: np.random.Generator) -> np.ndarray:
    """1/f power: white noise shaped in the frequency domain."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
    return np.fft.irfft(spectrum, samples).astype(np.float32)


def babble_noise(
    samples: int, talkers: Sequence[np.ndarray], rng: np.random.Generator
) -> np.ndarray:
    """Several other voices at once, each looped from a random offset: the hardest noise
    for a recogniser because it is speech."""
    mix = np.zeros(samples, np.float32)
    for voice in talkers:
        voice = voice / max(np.sqrt(active_power(voice)), 1e-6)
        looped = np.tile(voice, samples // len(voice) + 2)
        offset = int(rng.integers(0, len(voice)))
        mix += looped[offset : offset + samples]
    return mix


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """Speech plus noise, scaled so the speech's active power over the noise's power is
    `snr_db`; silence around the speech gets the noise too. Lowered if it would clip."""
    noise = noise[: len(speech)].astype(np.float64)
    wanted = active_power(speech) / 10 ** (snr_db / 10)
    mixed = speech + noise * np.sqrt(wanted / max(float(np.mean(noise**2)), 1e-20))
    peak = float(np.max(np.abs(mixed)))
    return (mixed / peak * 0.95 if peak > 0.95 else mixed).astype(np.float32)


@dataclass(frozen=True, slots=True)
class LabelledClip:
    name: str
    voice: str
    text: str
    audio: np.ndarray  # 16 kHz float32


def read_clips(folder: Path | str) -> list[LabelledClip]:
    """Clips listed in `clips.tsv` (name, voice, text; written by make_speech_clips.py)."""
    folder = Path(folder)
    clips = []
    for line in (folder / "clips.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, voice, text = line.split("\t")
            clips.append(LabelledClip(name, voice, text, read_wav(folder / f"{name}.wav")))
    return clips
