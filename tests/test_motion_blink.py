"""Blinks: plausible rate and duration, seeded, chunk-independent."""

import numpy as np

from merg_sdk.motion.blink import BlinkTrack


def test_rate_and_durations_are_plausible() -> None:
    counts = []
    for seed in range(30):
        blinks = BlinkTrack(seed).blinks_until(60.0)
        counts.append(len(blinks))
        assert all(0.1 <= d <= 0.15 for _, d in blinks)
        starts = [s for s, _ in blinks]
        assert min(np.diff(starts)) >= 0.6
    assert 15 <= np.mean(counts) <= 20
    assert min(counts) >= 8 and max(counts) <= 30


def test_closure_shape() -> None:
    tr = BlinkTrack(7)
    t = np.arange(0, 10, 0.001)
    shut = tr.closure(t)
    assert shut.min() == 0.0 and 0.99 <= shut.max() <= 1.0
    inside = np.zeros(len(t), dtype=bool)
    for start, dur in tr.blinks_until(10.0):
        blink = (t >= start) & (t <= start + dur)
        inside |= blink
        assert t[blink][shut[blink].argmax()] - start < dur / 2  # closes faster than it opens
    assert np.all(shut[~inside] == 0.0)


def test_seeded_and_chunk_independent() -> None:
    t = np.arange(0, 20, 1 / 60)
    whole = BlinkTrack(5).closure(t)
    chunked = BlinkTrack(5)
    parts = np.concatenate([chunked.closure(c) for c in np.array_split(t, 37)])
    assert np.array_equal(whole, parts)
    assert not np.array_equal(whole, BlinkTrack(6).closure(t))
