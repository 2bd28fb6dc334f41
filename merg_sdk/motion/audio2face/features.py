"""Log-mel features, streamed: audio at any rate in, one frame per 10 ms out.

This one class computes the features for training and for streaming, so the
network never sees a feature the runtime would compute differently. Audio is
resampled to 16 kHz with soxr's streaming resampler (its output does not
depend on how the input is chunked), then cut into 20 ms Hann windows every
10 ms. Frame j is centred on 16 kHz sample j * 160, i.e. at j * 10 ms on the
turn timeline, so it needs audio up to j * 10 ms + FEATURE_LOOKAHEAD_MS.
The mel bands stop at 7 kHz, below soxr's pass-band edge, so the features
do not depend on whether the input needed resampling.
"""

from __future__ import annotations

from functools import cache, lru_cache

import numpy as np
import soxr

SAMPLE_RATE_HZ = 16000
HOP_SAMPLES = 160  # 10 ms: the network's frame rate is 100 Hz
FRAME_RATE_HZ = SAMPLE_RATE_HZ // HOP_SAMPLES
WINDOW_SAMPLES = 320  # 20 ms, centred on the frame's time
FFT_SIZE = 512
N_MELS = 40
FMIN_HZ, FMAX_HZ = 50.0, 7000.0
LOG_FLOOR = 1e-10  # power floor (-100 dB): features are ln(power / floor), silence is 0
FEATURE_LOOKAHEAD_MS = 1000 * WINDOW_SAMPLES // 2 // SAMPLE_RATE_HZ
RESAMPLE_QUALITY = "HQ"


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


@cache
def mel_filterbank() -> np.ndarray:
    """Triangular HTK-mel filters [FFT_SIZE // 2 + 1, N_MELS], each with unit area."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(FMIN_HZ), _hz_to_mel(FMAX_HZ), N_MELS + 2))
    bins = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE_HZ)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    tri = np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))
    tri /= np.maximum(tri.sum(axis=1, keepdims=True), 1e-12)
    return np.ascontiguousarray(tri.T, dtype=np.float32)


@cache
def _window() -> np.ndarray:
    # periodic Hann, scaled so a full-scale sine peaks near 0 dB in its band
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(WINDOW_SAMPLES) / WINDOW_SAMPLES)
    return (window * 2.0 / window.sum()).astype(np.float32)


@cache
def _scaled_filterbank() -> np.ndarray:
    return mel_filterbank() * np.float32(1.0 / LOG_FLOOR)


def log_mel_frames(frames: np.ndarray) -> np.ndarray:
    """Log-mel of raw 16 kHz frames [n, WINDOW_SAMPLES] -> [n, N_MELS] float32, >= 0.

    Each value is ln(band power / LOG_FLOOR), clamped at 0: digital silence is
    exactly 0 in every band, so a zero state is the same as silence heard.
    """
    magnitude = np.abs(np.fft.rfft(frames * _window(), n=FFT_SIZE, axis=1))
    bands = (magnitude * magnitude).astype(np.float32, copy=False) @ _scaled_filterbank()
    np.maximum(bands, 1.0, out=bands)
    return np.log(bands, out=bands)


@lru_cache(maxsize=64)
def _frame_index(count: int) -> np.ndarray:
    """Sample indices of `count` consecutive windows, one row per frame."""
    return np.arange(count)[:, None] * HOP_SAMPLES + np.arange(WINDOW_SAMPLES)


class FeatureStream:
    """Float audio in [-1, 1] at `sample_rate` -> log-mel frames at 100 Hz, chunk-invariant.

    `frames` counts the frames produced so far; `finish(min_frames)` flushes the
    resampler and pads with silence until at least `min_frames` exist.
    """

    def __init__(self, sample_rate: int) -> None:
        if not isinstance(sample_rate, int | np.integer) or not 1000 <= sample_rate <= 384000:
            raise ValueError(
                f"sample_rate must be an integer in [1000, 384000] Hz, got {sample_rate}"
            )
        self.sample_rate = int(sample_rate)
        self._resampler = (
            None
            if self.sample_rate == SAMPLE_RATE_HZ
            else soxr.ResampleStream(
                self.sample_rate, SAMPLE_RATE_HZ, 1, dtype="float32", quality=RESAMPLE_QUALITY
            )
        )
        # frame 0 is centred on sample 0: the window's first half is silence before the audio
        self._buffer = np.zeros(WINDOW_SAMPLES // 2, np.float32)
        self.frames = 0
        self.finished = False

    def push(self, audio: np.ndarray) -> np.ndarray:
        """Append float32 audio; return the frames it completes [n, N_MELS]."""
        if self.finished:
            raise RuntimeError("this feature stream is finished; make a new one")
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        if self._resampler is not None:
            audio = self._resampler.resample_chunk(audio)
        return self._frames(audio)

    def finish(self, min_frames: int = 0) -> np.ndarray:
        """Flush the resampler; pad with silence until `min_frames` frames exist in total."""
        if self.finished:
            raise RuntimeError("this feature stream is finished; make a new one")
        tail = np.zeros(0, np.float32)
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(tail, last=True)
        self.finished = True
        buffered = len(self._buffer) + len(tail)
        total = self.frames + self._count(buffered)
        pad = 0
        if min_frames > total:  # silence until the last wanted frame's window is complete
            needed = WINDOW_SAMPLES + (min_frames - self.frames - 1) * HOP_SAMPLES
            pad = needed - buffered
        return self._frames(np.concatenate([tail, np.zeros(pad, np.float32)]))

    @staticmethod
    def _count(buffered: int) -> int:
        return 0 if buffered < WINDOW_SAMPLES else (buffered - WINDOW_SAMPLES) // HOP_SAMPLES + 1

    def _frames(self, audio16k: np.ndarray) -> np.ndarray:
        buffer = np.concatenate([self._buffer, audio16k]) if len(audio16k) else self._buffer
        count = self._count(len(buffer))
        if count == 0:
            self._buffer = buffer
            return np.zeros((0, N_MELS), np.float32)
        out = log_mel_frames(buffer[_frame_index(count)])
        self._buffer = buffer[count * HOP_SAMPLES :]
        self.frames += count
        return out


def log_mel(audio: np.ndarray, sample_rate: int, min_frames: int = 0) -> np.ndarray:
    """Whole-clip features: exactly what streaming the clip through FeatureStream gives."""
    stream = FeatureStream(sample_rate)
    head = stream.push(audio)
    return np.concatenate([head, stream.finish(min_frames)])
