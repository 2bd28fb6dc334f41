"""Stochastic blinks: a seeded schedule, so a replayed turn blinks the same.

People blink 15-20 times a minute, each blink 100-150 ms, closing faster
than they open; intervals vary widely but are rarely under half a second.
"""

from __future__ import annotations

import numpy as np

MEAN_INTERVAL_S = 60.0 / 17.0  # ~17 blinks a minute
MIN_INTERVAL_S = 0.6  # refractory gap between blinks
INTERVAL_SHAPE = 3.0  # gamma shape: irregular but not bursty
DURATION_S = (0.10, 0.15)
CLOSE_FRACTION = 0.4  # share of a blink spent closing


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


class BlinkTrack:
    """Blink closure (0 open .. 1 shut) for any time, schedule drawn lazily from a seed."""

    def __init__(self, seed: int | None = None, rate_scale: float = 1.0) -> None:
        """`rate_scale` > 1 blinks more often (aroused), < 1 less (calm, focused)."""
        self._rng = np.random.default_rng(seed)
        self._mean_interval_s = MIN_INTERVAL_S + (MEAN_INTERVAL_S - MIN_INTERVAL_S) / max(
            rate_scale, 0.1
        )
        self._starts: list[float] = []
        self._durations: list[float] = []
        self._first = 0  # blinks before this index ended before the last frame asked for
        self._next_s = float(self._rng.uniform(0.3, MEAN_INTERVAL_S))

    def _schedule_until(self, t_s: float) -> None:
        scale = (self._mean_interval_s - MIN_INTERVAL_S) / INTERVAL_SHAPE
        while self._next_s <= t_s:
            self._starts.append(self._next_s)
            self._durations.append(float(self._rng.uniform(*DURATION_S)))
            self._next_s += MIN_INTERVAL_S + float(self._rng.gamma(INTERVAL_SHAPE, scale))

    def blinks_until(self, t_s: float) -> list[tuple[float, float]]:
        """(start_s, duration_s) of every blink starting before `t_s`."""
        self._schedule_until(t_s)
        return list(zip(self._starts, self._durations, strict=True))

    def closure(self, t: np.ndarray) -> np.ndarray:
        """Eyelid closure at sorted times `t` (seconds)."""
        out = np.zeros(len(t))
        if not len(t):
            return out
        self._schedule_until(float(t[-1]))
        n = len(self._starts)
        while self._first < n and self._starts[self._first] + self._durations[self._first] < t[0]:
            self._first += 1
        for i in range(self._first, n):
            start, dur = self._starts[i], self._durations[i]
            if start > t[-1]:
                break
            u = (t - start) / dur
            shut = np.where(
                u < CLOSE_FRACTION,
                _smoothstep(u / CLOSE_FRACTION),
                1.0 - _smoothstep((u - CLOSE_FRACTION) / (1.0 - CLOSE_FRACTION)),
            )
            out = np.maximum(out, np.where((u >= 0) & (u <= 1), shut, 0.0))
        return out
