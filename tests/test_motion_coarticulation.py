"""The dominance model in viseme space: blending, silence, the two guarantees."""

import numpy as np

from merg_sdk.motion import load_rig
from merg_sdk.motion.coarticulation import SpanTrack
from merg_sdk.motion.face import viseme_poses
from merg_sdk.motion.phonemes import load_phoneme_map
from merg_sdk.speech.types import PhonemeSpan

VIS = load_rig("visemes").names
JAW = viseme_poses()[:, load_rig("arkit52").index("jawOpen")]


def spans(seq: list[tuple[str, float]], t: float = 0.0) -> list[PhonemeSpan]:
    out = []
    for phoneme, dur in seq:
        out.append(PhonemeSpan(phoneme, t, t + dur))
        t += dur
    return out


def track(seq: list[PhonemeSpan]) -> SpanTrack:
    tr = SpanTrack(load_phoneme_map(), JAW)
    tr.feed(seq, keep_from_s=0.0)
    return tr


def at(tr: SpanTrack, t: float) -> np.ndarray:
    return tr.blend(np.array([t]))[0][0]


def test_weights_are_a_convex_blend() -> None:
    sp = spans([("h", 0.05), ("ə", 0.06), ("l", 0.07), ("o", 0.12), ("ʊ", 0.1)])
    w, _ = track(sp).blend(np.linspace(0, 0.6, 200))
    assert w.shape == (200, 15)
    assert np.all(w >= 0) and np.all(w <= 1 + 1e-9)
    assert np.allclose(w.sum(axis=1), 1.0)


def test_empty_track_and_gaps_are_silence() -> None:
    assert at(track([]), 1.0)[VIS.index("sil")] == 1.0
    sp = spans([("a", 0.2)]) + spans([("i", 0.2)], t=1.0)
    tr = track(sp)
    assert at(tr, 0.6)[VIS.index("sil")] > 0.99  # gap between clauses
    assert at(tr, 3.0)[VIS.index("sil")] > 0.99  # after the last span
    assert at(tr, 0.1)[VIS.index("aa")] > 0.8


def test_lips_close_in_core_of_bilabials() -> None:
    sp = spans([("a", 0.12), ("p", 0.06), ("u", 0.12), ("m", 0.05), ("æ", 0.12), ("b", 0.04)])
    tr = track(sp)
    for s in sp:
        if s.phoneme in ("p", "b", "m"):
            core = np.linspace(s.start_s + 0.25 * s.duration_s, s.end_s - 0.25 * s.duration_s, 7)
            w, closed = tr.blend(core)
            assert np.all(w[:, VIS.index("PP")] >= 0.8), s
            assert np.all(closed > 0.99)


def test_rounding_spreads_onto_preceding_consonant() -> None:
    before_u = at(track(spans([("s", 0.08), ("u", 0.15)])), 0.04)[VIS.index("ou")]
    before_i = at(track(spans([("s", 0.08), ("i", 0.15)])), 0.04)[VIS.index("ou")]
    assert before_u > 0.1 and before_i < 0.01


def test_weak_phonemes_take_neighbours_shape() -> None:
    w = at(track(spans([("u", 0.12), ("h", 0.05), ("u", 0.12)])), 0.145)
    assert w[VIS.index("ou")] > 0.6


def test_open_vowels_reach_the_jaw_floor() -> None:
    for vowel in ("a", "ɑ", "æ", "ʌ", "ɔ"):
        sp = spans([("p", 0.07), (vowel, 0.07), ("m", 0.07)])
        jaw = at(track(sp), sp[1].start_s + 0.035) @ JAW
        assert jaw >= 0.35, vowel


def test_spent_spans_are_dropped() -> None:
    tr = SpanTrack(load_phoneme_map(), JAW)
    for clause in range(200):
        t0 = clause * 1.0
        tr.feed(spans([("h", 0.05), ("a", 0.2), ("i", 0.2)], t=t0), keep_from_s=t0)
    assert len(tr._rows) < 20
