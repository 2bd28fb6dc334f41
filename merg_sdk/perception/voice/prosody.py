"""Prosody: how an utterance was spoken, as a handful of numbers.

The features are the ones the speech-emotion literature keeps finding
useful for arousal (Juslin & Laukka 2003; the eGeMAPS set, Eyben et al.
2016): pitch level and range, loudness and its variability, speaking rate,
and voice quality (jitter, shimmer, spectral tilt, harmonicity). Each is a
cheap approximation computed from one pitch track (librosa's YIN, with a
periodicity check for voicing) and one energy envelope, so a few seconds of
speech cost about 20 ms on one core (well under 0.01 x real time).

`SpeakerBaseline` is the per-session memory that makes the numbers mean
something: a voice is aroused relative to itself, so features are read as
z-scores against that speaker's running mean once there is enough of them,
and against population norms (data/voice_affect.yaml) before that.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, fields

import numpy as np

SAMPLE_RATE_HZ = 16_000
HOP = 160  # 10 ms
FRAME = 640  # 40 ms: two periods of a 50 Hz voice
PITCH_FLOOR_HZ = 60.0
PITCH_CEILING_HZ = 500.0
SILENCE_DBFS = -55.0  # frames quieter than this are never speech
DYNAMIC_RANGE_DB = 35.0  # ...nor those this far below the utterance's loudest
CLIP_LEVEL = 0.99
OCTAVE_GUARD_ST = 9.0
VOICING_R = 0.6  # periodicity at the pitch period above which a loud frame counts as voiced
NUCLEUS_R = 0.5  # a loudness peak this periodic is a vowel (laxer: vowel edges are less clean)
MAX_UTTERANCE_S = 60.0  # longer input is read from its first minute (bounds latency)

#: Feature names in the order the mapping table and the baseline use.
FEATURES: tuple[str, ...] = (
    "pitch_st",
    "pitch_range_st",
    "energy_db",
    "energy_var_db",
    "rate_syl_s",
    "jitter",
    "shimmer_db",
    "alpha_ratio_db",
    "hnr_db",
)


class VoiceInputError(ValueError):
    """Audio that cannot be read at all (wrong shape, NaNs, bad rate); `code` is the wire code."""

    def __init__(self, message: str, code: str = "bad_message") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class ProsodyFeatures:
    """One utterance's prosody. NaN marks a feature the audio could not give (no voicing).

    Units are in the names: semitones re 100 Hz, dB (dBFS for level),
    syllables per second; jitter is relative (0.01 = 1 %).
    """

    pitch_st: float
    pitch_range_st: float
    energy_db: float
    energy_var_db: float
    rate_syl_s: float
    jitter: float
    shimmer_db: float
    alpha_ratio_db: float
    hnr_db: float
    speech_s: float
    voiced_s: float
    duration_s: float
    clipped_fraction: float

    def values(self) -> np.ndarray:
        """The FEATURES as a float64 vector (NaN where unknown)."""
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        return {f.name: round(float(getattr(self, f.name)), 4) for f in fields(self)}


def as_utterance(audio: object, sample_rate: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Validate and convert input to float32 mono at 16 kHz; raise VoiceInputError if unusable.

    int16 PCM (the wire's s16le) is scaled to [-1, 1]; other rates are
    resampled, because every threshold here is in 16 kHz samples.
    """
    if not isinstance(sample_rate, int) or not 4_000 <= sample_rate <= 192_000:
        raise VoiceInputError(f"sample_rate must be an int in 4000..192000, got {sample_rate!r}")
    try:
        array = np.asarray(audio)
    except (TypeError, ValueError) as error:
        raise VoiceInputError(f"audio is not an array: {error}") from error
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        raise VoiceInputError(f"audio must be mono (1-D), got shape {array.shape}")
    if array.dtype == np.int16:
        array = array.astype(np.float32) / 32768.0
    elif not np.issubdtype(array.dtype, np.floating):
        raise VoiceInputError(f"audio must be float or int16 samples, got {array.dtype}")
    array = array[: int(MAX_UTTERANCE_S * sample_rate)].astype(np.float32, copy=False)
    if not np.isfinite(array).all():
        raise VoiceInputError("audio contains NaN or infinite samples")
    if sample_rate != SAMPLE_RATE_HZ and len(array):
        import librosa

        array = librosa.resample(array, orig_sr=sample_rate, target_sr=SAMPLE_RATE_HZ)
    return np.clip(array, -1.0, 1.0).astype(np.float32, copy=False)


def extract(
    audio: object, sample_rate: int = SAMPLE_RATE_HZ, transcript: str | None = None
) -> ProsodyFeatures:
    """Measure one utterance. Silence and empty input give NaN features and speech_s 0.

    `transcript`, when given (the recogniser's words), replaces the
    syllable-nucleus count with the text's syllables, which is steadier.
    """
    y = as_utterance(audio, sample_rate)
    duration = len(y) / SAMPLE_RATE_HZ
    clipped = float(np.mean(np.abs(y) >= CLIP_LEVEL)) if len(y) else 0.0
    nan = math.nan
    if len(y) < FRAME:
        return ProsodyFeatures(*[nan] * 9, 0.0, 0.0, duration, clipped)
    import librosa

    rms = librosa.feature.rms(y=y, frame_length=FRAME, hop_length=HOP, center=True)[0]
    db = 20.0 * np.log10(np.maximum(rms, 1e-6))
    active = db > max(SILENCE_DBFS, float(db.max()) - DYNAMIC_RANGE_DB)
    speech_s = float(active.sum()) * HOP / SAMPLE_RATE_HZ
    if active.sum() < 5:
        return ProsodyFeatures(*[nan] * 9, speech_s, 0.0, duration, clipped)
    f0 = librosa.yin(
        y,
        fmin=PITCH_FLOOR_HZ,
        fmax=PITCH_CEILING_HZ,
        sr=SAMPLE_RATE_HZ,
        frame_length=FRAME,
        hop_length=HOP,
        center=True,
    )
    n = min(len(f0), len(db))
    f0, db, active = f0[:n], db[:n], active[:n]
    periodicity = _periodicity(y, f0)
    voiced = active & (periodicity >= VOICING_R)
    pitch, span = _pitch_stats(f0[voiced])
    jitter, shimmer = _perturbation(f0, db, voiced)
    nuclei = active & (periodicity >= NUCLEUS_R)
    syllables = _text_syllables(transcript) if transcript else _nuclei(db, active, nuclei)
    return ProsodyFeatures(
        pitch_st=pitch,
        pitch_range_st=span,
        energy_db=float(db[active].mean()),
        energy_var_db=float(db[active].std()),
        rate_syl_s=syllables / speech_s if syllables else nan,
        jitter=jitter,
        shimmer_db=shimmer,
        alpha_ratio_db=_alpha_ratio(y, active),
        hnr_db=_harmonicity(periodicity[voiced]),
        speech_s=speech_s,
        voiced_s=float(voiced.sum()) * HOP / SAMPLE_RATE_HZ,
        duration_s=duration,
        clipped_fraction=clipped,
    )


def _pitch_stats(f0: np.ndarray) -> tuple[float, float]:
    """Median pitch and 10-90 % range in semitones re 100 Hz, octave errors removed.

    YIN's mistakes are mostly whole octaves; frames more than 9 semitones from
    the median are dropped before the range is taken, or one halved frame
    would read as a wildly expressive voice.
    """
    if len(f0) < 3:
        return math.nan, math.nan
    semitones = 12.0 * np.log2(f0 / 100.0)
    semitones = semitones[np.abs(semitones - np.median(semitones)) <= OCTAVE_GUARD_ST]
    low, mid, high = np.percentile(semitones, [10, 50, 90])
    return float(mid), float(high - low)


def _perturbation(f0: np.ndarray, db: np.ndarray, voiced: np.ndarray) -> tuple[float, float]:
    """Frame-level jitter and shimmer: period and level changes between adjacent voiced frames.

    Praat measures these cycle by cycle; at 10 ms frames they are coarser
    but move the same way (tense or creaky voice up), which is what a
    per-speaker z-score needs.
    """
    pairs = voiced[1:] & voiced[:-1]
    if pairs.sum() < 3:
        return math.nan, math.nan
    period = 1.0 / f0
    jitter = np.abs(np.diff(period))[pairs].mean() / period[voiced].mean()
    shimmer = np.abs(np.diff(db))[pairs].mean()
    return float(jitter), float(shimmer)


def _nuclei(db: np.ndarray, active: np.ndarray, voiced: np.ndarray) -> int:
    """Syllable nuclei: voiced loudness peaks that stand out from their dips (De Jong & Wempe 2009).

    A peak counts when it is voiced, at least 1.5 dB above the dips around
    it, and 60 ms from the previous one. It undercounts fast speech by a
    tenth or so (merged syllables); a transcript, when there is one, is better.
    """
    from scipy.signal import find_peaks

    envelope = np.convolve(np.where(active, db, db[active].min()), np.hanning(5) / 2.0, "same")
    peaks, _ = find_peaks(envelope, prominence=1.5, distance=6)
    return int(np.sum(voiced[peaks]))


_VOWELS = re.compile(r"[aeiouy]+")


def _text_syllables(text: str) -> int:
    """Syllables in English text by vowel groups, with a silent final e; within ~10 %."""
    count = 0
    for word in re.findall(r"[a-z']+", text.lower()):
        groups = len(_VOWELS.findall(word))
        if word.endswith("e") and not word.endswith(("le", "ee")) and groups > 1:
            groups -= 1
        count += max(1, groups)
    for number in re.findall(r"\d+", text):  # digits are spoken: about a syllable each
        count += len(number)
    return count


def _alpha_ratio(y: np.ndarray, active: np.ndarray) -> float:
    """Energy 1-5 kHz over 50 Hz-1 kHz in dB (eGeMAPS' alpha ratio): flatter tilt = more effort."""
    import librosa

    power = np.abs(librosa.stft(y, n_fft=512, hop_length=HOP, center=True)) ** 2
    power = power[:, : len(active)][:, active[: power.shape[1]]]
    freqs = librosa.fft_frequencies(sr=SAMPLE_RATE_HZ, n_fft=512)
    low = power[(freqs >= 50) & (freqs < 1000)].sum()
    high = power[(freqs >= 1000) & (freqs < 5000)].sum()
    return float(10.0 * np.log10(max(high, 1e-12) / max(low, 1e-12)))


def _periodicity(y: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of each frame at YIN's period: ~1 for a clean vowel, ~0 for noise.

    YIN alone has no voicing decision (pYIN's is slower and, on the project's
    Piper voice, marked three quarters of the vowels unvoiced); this one
    number gives both the voicing decision and the harmonicity.
    """
    import librosa

    frames = librosa.util.frame(np.pad(y, FRAME // 2), frame_length=FRAME, hop_length=HOP)
    out = np.zeros(len(f0))
    for index in range(min(len(f0), frames.shape[1])):
        lag = int(SAMPLE_RATE_HZ / f0[index] + 0.5)
        x = frames[:, index] - frames[:, index].mean()
        a, b = x[:-lag], x[lag:]
        norm = math.sqrt(float(a @ a) * float(b @ b))
        out[index] = float(a @ b) / norm if norm > 1e-12 else 0.0
    return out


def _harmonicity(periodicity: np.ndarray) -> float:
    """HNR-like: r / (1 - r) in dB at the pitch period (Boersma 1993's idea), median of voiced."""
    if len(periodicity) == 0:
        return math.nan
    r = np.clip(periodicity, 0.01, 0.999)
    return float(np.median(10.0 * np.log10(r / (1.0 - r))))


@dataclass(frozen=True, slots=True)
class Norm:
    """Where a feature sits across speakers, and how much it moves within one speaker."""

    mean: float
    population_sd: float
    speaker_sd: float


class SpeakerBaseline:
    """A speaker's usual voice, learnt over a session; hold one per session, `reset` on a new user.

    Means start at the population norm and move to the speaker's own as
    speech accumulates (`prior_s` seconds of speech count as much as the
    norm); spreads move from the wide between-speaker spread to the narrow
    within-speaker one, so early readings are cautious rather than wild.
    Older speech fades with a half-life of `half_life_s` seconds of speech,
    so a baseline follows a voice that warms up. Thread-safe.
    """

    def __init__(
        self, norms: dict[str, Norm], prior_s: float = 2.0, half_life_s: float = 180.0
    ) -> None:
        missing = set(FEATURES) - set(norms)
        if missing:
            raise ValueError(f"norms lack features: {sorted(missing)}")
        self._mean0 = np.array([norms[f].mean for f in FEATURES])
        self._pop_var = np.array([norms[f].population_sd for f in FEATURES]) ** 2
        self._spk_var0 = np.array([norms[f].speaker_sd for f in FEATURES]) ** 2
        self.prior_s = prior_s
        self.half_life_s = half_life_s
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._weight = np.zeros(len(FEATURES))
            self._sum = np.zeros(len(FEATURES))
            self._sum_sq = np.zeros(len(FEATURES))

    @property
    def speech_s(self) -> float:
        """Seconds of (voiced) speech learnt so far, after fading."""
        with self._lock:
            return float(self._weight.max())

    @property
    def maturity(self) -> float:
        """0 with no speech learnt, towards 1 as the baseline outweighs the population norm."""
        learnt = self.speech_s
        return learnt / (learnt + self.prior_s)

    def update(self, features: ProsodyFeatures) -> None:
        """Learn an utterance (weighted by its speech seconds); NaN features are skipped."""
        x = features.values()
        w = float(features.speech_s)
        if w <= 0.0:
            return
        known = np.isfinite(x)
        with self._lock:
            fade = 0.5 ** (w / self.half_life_s)
            self._weight *= fade
            self._sum *= fade
            self._sum_sq *= fade
            self._weight[known] += w
            self._sum[known] += w * x[known]
            self._sum_sq[known] += w * x[known] ** 2

    def zscores(self, features: ProsodyFeatures) -> np.ndarray:
        """Each feature in this speaker's standard deviations from their usual (NaN stays NaN)."""
        with self._lock:
            weight, total, squares = self._weight.copy(), self._sum.copy(), self._sum_sq.copy()
        k = self.prior_s
        mean = (k * self._mean0 + total) / (k + weight)
        safe = np.maximum(weight, 1e-9)
        own = np.where(weight > 0, squares / safe - (total / safe) ** 2, 0.0)
        # the speaker's own spread is trusted as far as there is speech to estimate it, and
        # never below half the prior: one very steady voice must not make every change extreme
        spk_var = (k * self._spk_var0 + weight * np.maximum(own, 0.0)) / (k + weight)
        spk_var = np.maximum(spk_var, 0.25 * self._spk_var0)
        share = weight / (weight + k)
        var = (1.0 - share) * self._pop_var + share * spk_var
        return (features.values() - mean) / np.sqrt(var)
