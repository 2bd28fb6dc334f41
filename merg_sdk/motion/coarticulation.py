"""Coarticulation: phoneme spans -> blended viseme weights per frame.

A Cohen–Massaro dominance model: each span pulls the mouth towards its
viseme with D(t) = strength * exp(-rate * (|t - centre| / half) ** exponent),
and a frame is the dominance-weighted mean of the targets around it. Widths
scale with the span's duration, so fast speech blurs and slow speech holds.
Two guarantees are then imposed, because viewers notice their failure at
once: lips shut in the core of p/b/m, and the jaw opens on open vowels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from merg_sdk.motion.phonemes import PhonemeInfo, PhonemeMap
from merg_sdk.speech.types import PhonemeSpan

REACH = 3.0  # influence ends this many half-durations from a centre (silence: edge widths)
MIN_HALF_S = 0.03  # very short spans (flaps) still get a visible width
MAX_HALF_S = 0.15  # very long spans do not spread over a whole phrase
SILENCE_EDGE_S = 0.05  # how fast silence lets go at its edges
REST = 1e-4  # a faint pull to neutral, so an empty window is silence
CLOSURE_CORE = 0.55  # central fraction of a p/b/m span with the lips fully shut
OPEN_CORE = 0.5  # central fraction of an open vowel held at the jaw floor
OPEN_MIN_S = 0.06  # open vowels shorter than this may stay half open
OPEN_JAW = 0.4  # jawOpen floor at an open vowel's centre
_GAP_S = 1e-4  # shorter gaps between spans are rounding, not pauses
_COLUMNS = (
    "start", "end", "centre", "half", "scale", "silence", "reach_lo", "reach_hi", "rate",
    "strength", "cutoff", "viseme", "closure", "open",
)  # fmt: skip
_LO, _HI = _COLUMNS.index("reach_lo"), _COLUMNS.index("reach_hi")


class SpanTrack:
    """The spans of one turn that can still influence frames, as numpy columns.

    Spans arrive clause by clause; gaps between them and the time after the
    last span are silence. Spans whose influence has passed are dropped, so a
    long turn costs no more per frame than a short one.
    """

    def __init__(self, phonemes: PhonemeMap, jaw_by_viseme: np.ndarray) -> None:
        self._map = phonemes
        self._jaw = jaw_by_viseme
        self._eye = np.eye(len(jaw_by_viseme))
        self._rows: list[tuple[float, float, PhonemeInfo]] = []
        self._last_end = -math.inf
        self._build()

    def feed(self, spans: Sequence[PhonemeSpan], keep_from_s: float) -> None:
        """Append spans (time-ordered); drop spans that cannot reach `keep_from_s`."""
        for span in spans:
            info = self._map.lookup(span.phoneme)
            start, end = span.start_s, max(span.end_s, span.start_s)
            if start > self._last_end + _GAP_S:
                self._add(self._last_end, start, self._map.silence)
            self._add(start, end, info)
            self._last_end = max(self._last_end, end)
        self._build(keep_from_s)

    def _add(self, start: float, end: float, info: PhonemeInfo) -> None:
        rows = self._rows
        if info.silence and rows and rows[-1][2].silence and rows[-1][1] >= start - _GAP_S:
            rows[-1] = (rows[-1][0], max(end, rows[-1][1]), rows[-1][2])
        else:
            rows.append((start, end, info))

    def _build(self, keep_from_s: float = -math.inf) -> None:
        rows = [*self._rows, (self._last_end, math.inf, self._map.silence)]
        silence = np.array([r[2].silence for r in rows])
        start = np.array([r[0] for r in rows])
        end = np.array([r[1] for r in rows])
        finite_start, finite_end = np.where(silence, 0.0, start), np.where(silence, 0.0, end)
        half, centre = (finite_end - finite_start) / 2, (finite_start + finite_end) / 2
        scale = np.where(silence, SILENCE_EDGE_S, np.clip(half, MIN_HALF_S, MAX_HALF_S))
        reach_lo = np.where(silence, start, centre) - REACH * scale
        reach_hi = np.where(silence, end, centre) + REACH * scale
        keep = reach_hi >= keep_from_s
        keep[-1] = False  # the tail is rebuilt every time, never stored
        self._rows = [r for r, k in zip(self._rows, keep[:-1], strict=True) if k]
        keep[-1] = True
        rate = np.array([r[2].rate for r in rows])
        cols = {
            "start": start, "end": end, "centre": centre, "half": half, "scale": scale,
            "silence": silence, "reach_lo": reach_lo, "reach_hi": reach_hi, "rate": rate,
            "strength": np.array([r[2].strength for r in rows]),
            "cutoff": np.exp(-rate * REACH**self._map.exponent),
            "viseme": np.array([r[2].viseme for r in rows]),
            "closure": np.array([r[2].closure for r in rows]),
            "open": np.array([r[2].open_jaw for r in rows]) & (end - start > OPEN_MIN_S),
        }  # fmt: skip
        # One float matrix, one row per column: a block selects its spans in one indexing op.
        self._cols = np.stack([cols[name] for name in _COLUMNS]).astype(float)[:, keep]

    def blend(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Viseme weights [F, n_visemes] at times `t` (sorted), and the lip-closure mask [F]."""
        c = self._cols
        k = c[:, (c[_HI] >= t[0]) & (c[_LO] <= t[-1])]
        start, end, centre, half, scale, silence, _, _, rate, strength, cutoff, viseme = k[:12]
        viseme = viseme.astype(int)
        tt = t[:, None]
        dist = np.abs(tt - centre)
        if silence.any():
            edge = np.maximum(np.maximum(start - tt, tt - end), 0.0)
            dist = np.where(silence > 0, edge, dist)
        x = (dist / scale) ** self._map.exponent
        dom = strength * np.maximum(np.exp(-rate * x) - cutoff, 0.0)
        weights = dom @ self._eye[viseme]
        weights[:, 0] += REST
        weights /= (dom.sum(axis=1) + REST)[:, None]
        closure, open_jaw = k[_COLUMNS.index("closure")] > 0, k[_COLUMNS.index("open")] > 0
        if open_jaw.any():
            self._open_jaw(weights, tt, centre[open_jaw], half[open_jaw], viseme[open_jaw])
        if not closure.any():
            return weights, np.zeros(len(t))
        closed = self._close_lips(weights, tt, centre[closure], half[closure], viseme[closure])
        return weights, closed

    @staticmethod
    def _core(tt: np.ndarray, centre: np.ndarray, half: np.ndarray, viseme: np.ndarray,
              core: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
        """Per frame: the viseme of the nearest span and how deep into its core (0..1)."""
        depth = np.clip((1.0 - np.abs(tt - centre) / np.maximum(half, 1e-6)) / (1.0 - core), 0, 1)
        best = depth.argmax(axis=1)
        return viseme[best], depth[np.arange(len(tt)), best]

    def _open_jaw(self, weights: np.ndarray, tt: np.ndarray, *spans: np.ndarray) -> None:
        viseme, depth = self._core(tt, *spans, OPEN_CORE)
        jaw, target = weights @ self._jaw, self._jaw[viseme]
        need = OPEN_JAW * depth - jaw
        mix = np.where(need > 0, need / np.maximum(target - jaw, 1e-6), 0.0).clip(0.0, 1.0)
        weights *= 1.0 - mix[:, None]
        weights[np.arange(len(tt)), viseme] += mix

    def _close_lips(self, weights: np.ndarray, tt: np.ndarray, *spans: np.ndarray) -> np.ndarray:
        viseme, depth = self._core(tt, *spans, CLOSURE_CORE)
        weights *= 1.0 - depth[:, None]
        weights[np.arange(len(tt)), viseme] += depth
        return depth
