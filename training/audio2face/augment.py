"""Augmentations that change how speech sounds but not when the mouth moves.

Each returns new audio and, where time changes, the spans moved to match:
vocal-tract/speed warp (resampling: formants, pitch and tempo together),
silence padding, synthetic room reverb, band
limits (phone lines, cheap microphones), noise at a random SNR, and level
(including clipping). All randomness comes from the `rng` passed in.
"""

from __future__ import annotations

import numpy as np
import scipy.signal
import soxr

from merg_sdk.speech.types import PhonemeSpan


def shift_spans(spans, offset_s: float = 0.0, scale: float = 1.0) -> tuple[PhonemeSpan, ...]:
    return tuple(
        PhonemeSpan(s.phoneme, s.start_s * scale + offset_s, s.end_s * scale + offset_s, s.stressed)
        for s in spans
    )


def warp(audio: np.ndarray, rate: int, factor: float, spans) -> tuple[np.ndarray, tuple]:
    """Play `factor` times faster: formants and pitch up by `factor`, durations down."""
    out = soxr.resample(audio, round(rate * factor), rate, quality="HQ").astype(np.float32)
    return out, shift_spans(spans, scale=len(out) / max(len(audio), 1))


def pad_silence(audio: np.ndarray, rate: int, lead_s: float, tail_s: float, spans):
    lead, tail = int(lead_s * rate), int(tail_s * rate)
    out = np.concatenate([np.zeros(lead, np.float32), audio, np.zeros(tail, np.float32)])
    duration = len(out) / rate
    moved = shift_spans(spans, lead / rate)
    head = (PhonemeSpan("", 0.0, moved[0].start_s),) if lead else ()
    end = (PhonemeSpan("", moved[-1].end_s, duration),) if tail else ()
    return out, head + moved + end


def room_impulse(rate: int, rng: np.random.Generator) -> np.ndarray:
    """Exponentially decaying noise (RT60 0.15-0.9 s) after a direct path and early echoes."""
    rt60 = rng.uniform(0.15, 0.9)
    n = int(rate * min(rt60 * 1.2, 1.0))
    t = np.arange(n) / rate
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir *= 10 ** (rng.uniform(-18, -3) / 20) / np.sqrt(np.sum(ir**2) + 1e-12)  # reverberant level
    ir[: int(0.003 * rate)] = 0.0
    for _ in range(rng.integers(2, 6)):  # early reflections
        ir[int(rng.uniform(0.003, 0.03) * rate)] += rng.uniform(0.1, 0.5) * rng.choice([-1, 1])
    ir[0] = 1.0
    return ir.astype(np.float32)


def reverb(audio: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    wet = scipy.signal.fftconvolve(audio, room_impulse(rate, rng))[: len(audio)]
    return (wet * np.max(np.abs(audio)) / max(np.max(np.abs(wet)), 1e-6)).astype(np.float32)


def band_limit(audio: np.ndarray, rate: int, rng: np.random.Generator) -> np.ndarray:
    low = rng.uniform(2800, min(7500, rate / 2 - 200))
    sos = scipy.signal.butter(rng.integers(2, 7), low, "lowpass", fs=rate, output="sos")
    out = scipy.signal.sosfilt(sos, audio)
    if rng.random() < 0.5:
        high = rng.uniform(80, 400)
        out = scipy.signal.sosfilt(
            scipy.signal.butter(2, high, "highpass", fs=rate, output="sos"), out
        )
    return out.astype(np.float32)


def noise(audio: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
    """White, pink, brown, mains hum or reversed-speech babble at `snr_db` below the speech."""
    n = len(audio)
    kind = rng.choice(["white", "pink", "brown", "hum", "babble"])
    if kind == "babble":
        shift = rng.integers(0, max(n, 1))
        sound = np.roll(audio[::-1], shift) + np.roll(audio, shift // 2 + n // 3) * 0.7
    elif kind == "hum":
        t = np.arange(n) / 16000.0
        base = rng.choice([50.0, 60.0])
        sound = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
        sound = sound + 0.1 * rng.standard_normal(n)
    else:
        spectrum = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.arange(len(spectrum)), 1.0)
        spectrum *= {"white": 1.0, "pink": f**-0.5, "brown": f**-1.0}[kind]
        sound = np.fft.irfft(spectrum, n)
    speech = audio[np.abs(audio) > 0.01 * np.max(np.abs(audio)) + 1e-9]
    power = np.mean(speech**2) if len(speech) else 1e-6
    sound *= np.sqrt(power / (np.mean(sound**2) + 1e-12) * 10 ** (-snr_db / 10))
    return (audio + sound).astype(np.float32)


def level(audio: np.ndarray, rng: np.random.Generator, clip: bool) -> np.ndarray:
    peak = max(float(np.max(np.abs(audio))), 1e-6)
    gain_db = rng.uniform(3, 15) if clip else rng.uniform(-32, 0)
    return np.clip(audio / peak * 10 ** (gain_db / 20), -1.0, 1.0).astype(np.float32)


def augment(audio: np.ndarray, rate: int, spans, rng: np.random.Generator, heavy: bool):
    """One random augmentation chain; `heavy` makes noise, reverb and band limits likelier."""
    p = 0.6 if heavy else 0.15
    if rng.random() < 0.6:
        audio, spans = warp(audio, rate, rng.uniform(0.85, 1.22), spans)
    audio, spans = pad_silence(audio, rate, rng.uniform(0, 0.4), rng.uniform(0.05, 0.5), spans)
    if rng.random() < p * 0.7:
        audio = reverb(audio, rate, rng)
    if rng.random() < p * 0.5:
        audio = band_limit(audio, rate, rng)
    if rng.random() < p:
        audio = noise(audio, rng, rng.uniform(3, 30) if heavy else rng.uniform(15, 40))
    audio = level(audio, rng, clip=rng.random() < 0.05)
    return audio, spans
