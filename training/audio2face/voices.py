"""Speech with per-phoneme timings from three engines, as IPA spans the teacher can read.

- Piper (the joe voice): exact per-phoneme sample counts from its duration tensor.
- espeak-ng: phoneme events from its C library (ctypes), sample-exact; its events
  mark unvoiced stops at the burst, so the silent closure before the burst (in the
  audio) is moved into the stop, as Piper and flite count it.
- flite: `-psdur` prints each segment's end time; CMU phones are mapped to IPA.

Multi-symbol phonemes (diphthongs, affricates, r-coloured vowels) are split into
their symbols with equal shares of the time, as Piper times them.
"""

from __future__ import annotations

import ctypes
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io.wavfile

from merg_sdk.speech.types import PhonemeSpan

UNVOICED_STOPS = frozenset({"p", "t", "k", "tʃ", "c"})
CLOSURE_MAX_S = 0.15  # longest silent closure credited to a stop
CLOSURE_DBFS = -50.0  # 2.5 ms RMS below this is the closure (espeak speaks near -10 dBFS)
CLOSURE_STEP_S = 0.0025
_MARKS = frozenset("ˈˌ")
_LENGTH = frozenset("ːˑ")

FLITE_IPA = {
    "aa": "ɑ", "ae": "æ", "ah": "ʌ", "ao": "ɔ", "aw": "aʊ", "ax": "ə", "axr": "ɚ", "ay": "aɪ",
    "eh": "ɛ", "er": "ɝ", "ey": "eɪ", "ih": "ɪ", "iy": "i", "ow": "oʊ", "oy": "ɔɪ", "uh": "ʊ",
    "uw": "u", "b": "b", "ch": "tʃ", "d": "d", "dh": "ð", "f": "f", "g": "ɡ", "hh": "h",
    "jh": "dʒ", "k": "k", "l": "l", "m": "m", "n": "n", "ng": "ŋ", "p": "p", "r": "ɹ", "s": "s",
    "sh": "ʃ", "t": "t", "th": "θ", "v": "v", "w": "w", "y": "j", "z": "z", "zh": "ʒ", "pau": "",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Utterance:
    """Float audio in [-1, 1] at `sample_rate`, with phoneme spans in seconds."""

    audio: np.ndarray
    sample_rate: int
    spans: tuple[PhonemeSpan, ...]


def split_symbols(phoneme: str, start: float, end: float) -> list[PhonemeSpan]:
    """One engine phoneme -> one span per base symbol (marks fold into the symbol before)."""
    units: list[str] = []
    for ch in phoneme:
        if ch in _MARKS:
            continue
        if units and (ch in _LENGTH or unicodedata.combining(ch)):
            units[-1] += ch
        else:
            units.append(ch)
    if not units:
        return [PhonemeSpan("", start, end)]
    step = (end - start) / len(units)
    return [PhonemeSpan(u, start + i * step, start + (i + 1) * step) for i, u in enumerate(units)]


def to_spans(events: list[tuple[str, float]], duration_s: float) -> tuple[PhonemeSpan, ...]:
    """(phoneme, start) events -> contiguous spans covering [0, duration], pauses as ""."""
    spans: list[PhonemeSpan] = []
    events = [(p, min(max(t, 0.0), duration_s)) for p, t in events]
    if not events or events[0][1] > 0:
        events.insert(0, ("", 0.0))
    for i, (phoneme, start) in enumerate(events):
        end = events[i + 1][1] if i + 1 < len(events) else duration_s
        if end > start:
            spans.extend(split_symbols(phoneme, start, end))
    return tuple(spans)


class Espeak:
    """espeak-ng through its C library: audio plus sample-exact IPA phoneme events."""

    PHONEME_EVENT, RATE, PITCH, RANGE = 7, 1, 3, 4

    class _Event(ctypes.Structure):
        _fields_ = [
            ("type", ctypes.c_int), ("uid", ctypes.c_uint), ("text_position", ctypes.c_int),
            ("length", ctypes.c_int), ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
            ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8),
        ]  # fmt: skip

    def __init__(self) -> None:
        self._lib = ctypes.CDLL("libespeak-ng.so.1")
        # AUDIO_OUTPUT_SYNCHRONOUS; phoneme events with IPA names
        self.sample_rate = self._lib.espeak_Initialize(2, 0, None, 0x0001 | 0x0002 | 0x8000)
        callback = ctypes.CFUNCTYPE(
            ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(self._Event)
        )
        self._callback = callback(self._on_audio)  # kept alive as long as self
        self._lib.espeak_SetSynthCallback(self._callback)
        self._audio: list[np.ndarray] = []
        self._events: list[tuple[str, int]] = []

    def _on_audio(self, wav, count, events) -> int:
        if count > 0:
            self._audio.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        i = 0
        while events[i].type != 0:
            if events[i].type == self.PHONEME_EVENT:
                name = bytes(events[i].id).split(b"\0")[0].decode("utf-8", "replace")
                self._events.append((name, events[i].sample))
            i += 1
        return 0

    def synthesize(
        self, text: str, voice: str, wpm: int, pitch: int, pitch_range: int
    ) -> Utterance:
        if self._lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"espeak-ng has no voice {voice!r}")
        for param, value in ((self.RATE, wpm), (self.PITCH, pitch), (self.RANGE, pitch_range)):
            self._lib.espeak_SetParameter(param, value, 0)
        self._audio, self._events = [], []
        data = text.encode("utf-8")
        self._lib.espeak_Synth(data, len(data) + 1, 0, 1, 0, 1, None, None)
        self._lib.espeak_Synchronize()
        pcm = np.concatenate(self._audio) if self._audio else np.zeros(0, np.int16)
        audio = pcm.astype(np.float32) / 32768.0
        rate = self.sample_rate
        starts = _closures_before_bursts(audio, self._events, rate)
        events = [(name, s / rate) for (name, _), s in zip(self._events, starts, strict=True)]
        return Utterance(audio, rate, to_spans(events, len(audio) / rate))


def _closures_before_bursts(audio: np.ndarray, events: list, rate: int) -> list[int]:
    """Start samples, with each unvoiced stop moved back over the silence before its burst."""
    starts = [s for _, s in events]
    step = max(1, int(CLOSURE_STEP_S * rate))
    limit = 10 ** (CLOSURE_DBFS / 10) * step
    for i, (name, sample) in enumerate(events):
        if name not in UNVOICED_STOPS or i == 0:
            continue
        lo = max(starts[i - 1] + step, sample - int(CLOSURE_MAX_S * rate))
        j = min(sample, len(audio))
        while j - step >= lo and float(np.sum(audio[j - step : j] ** 2)) < limit:
            j -= step
        starts[i] = j
    return starts


def flite(text: str, voice: str) -> Utterance:
    """flite voice (kal16, awb, rms, slt, kal): audio and phones from `-psdur` end times."""
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "out.wav"
        out = subprocess.run(
            ["flite", "-voice", voice, "-psdur", "-t", text, "-o", str(wav)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        rate, pcm = scipy.io.wavfile.read(wav)
    audio = pcm.astype(np.float32) / 32768.0
    events: list[tuple[str, float]] = []
    start = 0.0
    for item in out.split():
        phone, _, end = item.rpartition(":")
        events.append((FLITE_IPA[phone], start))
        start = float(end)
    return Utterance(audio, int(rate), to_spans(events, len(audio) / rate))


class Piper:
    """The joe Piper voice with its exact per-phoneme sample counts (the speech stage's own)."""

    def __init__(self, threads: int = 1) -> None:
        from merg_sdk.speech.backends.piper import PiperTTS, bundled_voices

        self._tts = PiperTTS(bundled_voices(), threads=threads)
        self.voice = self._tts.default_voice

    def synthesize(self, text: str, length: float, noise: float, noise_w: float) -> Utterance:
        from piper.config import SynthesisConfig

        from merg_sdk.speech.alignment import fold_alignments

        engine = self._tts._voice(self.voice)
        config = SynthesisConfig(
            length_scale=length, noise_scale=noise, noise_w_scale=noise_w, normalize_audio=False
        )
        parts, symbols = [], []
        for chunk in engine.synthesize(text, syn_config=config, include_alignments=True):
            parts.append(chunk.audio_float_array)
            if chunk.phoneme_alignments:
                symbols.extend((a.phoneme, a.num_samples) for a in chunk.phoneme_alignments)
            else:
                symbols.append(("", len(chunk.audio_float_array)))
        audio = np.concatenate(parts).astype(np.float32)
        audio *= 0.9 / max(float(np.abs(audio).max()), 1e-3)
        rate = engine.config.sample_rate
        spans = tuple(
            PhonemeSpan(p.phoneme, p.start / rate, p.end / rate, p.stressed)
            for p in fold_alignments(symbols)
        )
        return Utterance(audio, rate, spans)
