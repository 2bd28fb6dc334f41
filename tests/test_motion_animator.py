"""FaceAnimator: the interface the server calls, streaming, and the face it draws."""

import math

import numpy as np
import pytest

from merg_sdk.motion import EMOTIONS, FaceAnimator, FaceBlock, Rig, load_rig
from merg_sdk.speech.types import PhonemeSpan

ARKIT = load_rig("arkit52")
VISEMES = load_rig("visemes")
A = {name: i for i, name in enumerate(ARKIT.names)}
HELLO = [("h", 0.05), ("ə", 0.06), ("l", 0.07), ("o", 0.12), ("ʊ", 0.1), ("ð", 0.05)]
HELLO += [("ɛ", 0.1), ("ɹ", 0.1), ("", 0.2)]
MAYBE = [("m", 0.08), ("e", 0.1), ("ɪ", 0.08), ("b", 0.07), ("i", 0.1), ("b", 0.07)]
MAYBE += [("a", 0.15), ("ɪ", 0.1), ("ɐ", 0.05), ("m", 0.08), ("æ", 0.14), ("p", 0.08), ("", 0.15)]


def spans(seq: list[tuple[str, float]], t: float = 0.0) -> list[PhonemeSpan]:
    out = []
    for phoneme, dur in seq:
        out.append(PhonemeSpan(phoneme, t, t + dur))
        t += dur
    return out


def render(seq: list[PhonemeSpan], rig: str = "arkit52", fps: int = 60, **kw) -> np.ndarray:
    anim = FaceAnimator(rig=load_rig(rig), fps=fps, **kw)
    anim.feed(seq)
    return anim.render_until(seq[-1].end_s).weights


def frames_in(seq: list[PhonemeSpan], phonemes: str, lo: float, hi: float, fps: int) -> list:
    """Frame indices in the [lo, hi] fraction of each span whose phoneme is in `phonemes`."""
    out = []
    for s in seq:
        if s.phoneme and s.phoneme in phonemes.split():
            a, b = s.start_s + lo * s.duration_s, s.start_s + hi * s.duration_s
            out.append([i for i in range(math.ceil(a * fps), math.floor(b * fps) + 1)])
    return out


def test_interface_shapes_and_types() -> None:
    anim = FaceAnimator(rig=load_rig("arkit52"), fps=60, emotion="happy", intensity=0.7, seed=1)
    anim.feed(spans(HELLO))
    block = anim.render_until(0.5)
    assert isinstance(block, FaceBlock) and block.f0 == 0 and block.count == 30
    assert block.weights.dtype == np.float32 and block.weights.shape == (30, 52)
    assert block.weights.min() >= 0 and block.weights.max() <= 1
    assert render(spans(HELLO), rig="visemes").shape[1] == 15


@pytest.mark.parametrize("fps", [24, 30, 60, 90, 120])
def test_render_until_is_contiguous(fps: int) -> None:
    seq = spans(MAYBE * 5)
    anim = FaceAnimator(rig=load_rig("arkit52"), fps=fps, seed=2)
    anim.feed(seq)
    rng = np.random.default_rng(0)
    t, f_next, total = 0.0, 0, 0
    while t < seq[-1].end_s:
        t = min(t + float(rng.choice([0.0, 0.001, 0.0167, 0.02, 0.25])), seq[-1].end_s)
        block = anim.render_until(t)
        assert block.f0 == f_next
        f_next, total = block.f0 + block.count, total + block.count
    assert total == math.ceil(seq[-1].end_s * fps) == anim.next_frame
    assert anim.render_until(1.0).count == 0  # the past is never rendered twice
    assert FaceAnimator(rig=load_rig("visemes"), fps=fps).render_until(0.0).count == 0


def test_streaming_equals_offline() -> None:
    c1 = spans(HELLO[:-1])
    c2 = spans(MAYBE, t=c1[-1].end_s + 0.2)
    for rig in ("arkit52", "visemes"):
        whole = FaceAnimator(rig=load_rig(rig), fps=60, seed=3)
        whole.feed(c1 + c2)
        offline = whole.render_until(c2[-1].end_s).weights
        anim = FaceAnimator(rig=load_rig(rig), fps=60, seed=3)
        anim.feed(c1)
        parts = [anim.render_until(t) for t in np.arange(0.02, c1[-1].end_s, 0.02)]
        anim.feed(c2)
        parts += [anim.render_until(t) for t in np.arange(c1[-1].end_s, c2[-1].end_s, 0.03)]
        parts.append(anim.render_until(c2[-1].end_s))
        np.testing.assert_allclose(np.concatenate([b.weights for b in parts]), offline, atol=1e-6)


@pytest.mark.parametrize("emotion", ["neutral", "happy", "surprised", "afraid", "angry"])
@pytest.mark.parametrize("fps", [30, 60, 120])
def test_lips_close_on_bilabials(emotion: str, fps: int) -> None:
    seq = spans([*MAYBE, ("ʌ", 0.1), ("p", 0.05), ("ɔ", 0.1), ("m", 0.04), ("u", 0.1)])
    w = render(seq, fps=fps, emotion=emotion, seed=4)
    lips = ["mouthFunnel", "mouthPucker", "mouthLowerDownLeft", "mouthLowerDownRight"]
    lips += ["mouthUpperUpLeft", "mouthUpperUpRight"]
    for frames in frames_in(seq, "p b m", 0.22, 0.78, fps):
        f = w[frames]
        assert np.all(f[:, A["jawOpen"]] - f[:, A["mouthClose"]] <= 0.02 + 1e-6)
        assert np.all(f[:, [A[n] for n in lips]] <= 0.02)
    v = render(seq, rig="visemes", fps=fps)
    for frames in frames_in(seq, "p b m", 0.22, 0.78, fps):
        assert np.all(v[frames, VISEMES.index("PP")] >= 0.8)


@pytest.mark.parametrize("vowel", ["a", "ɑ", "æ", "ʌ", "ɔ"])
def test_jaw_opens_on_open_vowels(vowel: str) -> None:
    for context in ("p", "s", "ʊ", ""):
        seq = spans([(context, 0.07), (vowel, 0.065), (context, 0.07), ("", 0.1)])
        for fps in (30, 60, 120):
            w = render(seq, fps=fps, emotion="sad", seed=5)
            centre = round(seq[1].start_s * fps + seq[1].duration_s * fps / 2)
            near = w[centre - 1 : centre + 2, A["jawOpen"]]
            assert near.max() >= 0.35, (vowel, context, fps)


def test_motion_is_smooth_except_onto_bilabials() -> None:
    seq = spans(HELLO + MAYBE + [("w", 0.06), ("ɑ", 0.12), ("t", 0.06), ("ɚ", 0.12), ("", 0.2)])
    fps = 60
    w = render(seq, fps=fps, emotion="happy", seed=6)
    jumps = np.abs(np.diff(w[:, A["jawOpen"]]))
    near_lips = {f for frames in frames_in(seq, "p b m", -0.3, 1.3, fps) for f in frames}
    smooth = [j for i, j in enumerate(jumps) if i not in near_lips and i + 1 not in near_lips]
    assert max(smooth) <= 0.25
    assert np.abs(np.diff(w[:, A["mouthSmileLeft"]])).max() <= 0.25


def test_silence_relaxes_to_neutral() -> None:
    seq = spans(HELLO[:-1]) + spans([("a", 0.2)], t=2.0)
    w = render(seq, seed=7)
    gap = w[int(1.2 * 60) : int(1.8 * 60)]
    assert gap[:, A["jawOpen"]].max() < 0.02
    assert not gap[:, [A["mouthFunnel"], A["mouthPucker"], A["tongueOut"]]].any()
    anim = FaceAnimator(rig=load_rig("visemes"), fps=60)
    anim.feed(spans([("a", 0.2)]))
    assert anim.render_until(1.0).weights[-1, 0] > 0.99  # after the last span: sil


def test_emotion_eases_never_snaps() -> None:
    anim = FaceAnimator(rig=load_rig("arkit52"), fps=60, emotion="happy", intensity=1.0, seed=8)
    before = anim.render_until(0.5).weights
    anim.set_emotion("sad", 0.5)
    after = anim.render_until(1.5).weights
    brow, smile = A["browInnerUp"], A["mouthSmileLeft"]
    w = np.concatenate([before, after])
    assert np.abs(np.diff(w[:, [brow, smile]], axis=0)).max() < 0.06
    assert after[0, smile] > 0.55  # still mostly happy on the first frame after the change
    assert after[int(0.3 * 60), brow] == pytest.approx(0.3, abs=1e-3)  # arrived by ~300 ms
    assert after[-1, smile] == pytest.approx(0.0, abs=1e-6)


def test_unknown_emotion_and_bad_intensity_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown emotion 'glee'"):
        FaceAnimator(rig=load_rig("arkit52"), emotion="glee")
    anim = FaceAnimator(rig=load_rig("arkit52"))
    with pytest.raises(ValueError, match="expected one of"):
        anim.set_emotion("meh")
    with pytest.raises(ValueError, match="intensity"):
        anim.set_emotion("sad", 1.5)
    assert "caring" in EMOTIONS


def test_blinks_both_eyes_plausible_rate_and_seeded() -> None:
    seq = spans(MAYBE * 40)
    w = render(seq, seed=9)
    left, right = w[:, A["eyeBlinkLeft"]], w[:, A["eyeBlinkRight"]]
    assert np.array_equal(left, right)
    shut = left > 0.5
    blinks = int(np.sum(shut[1:] & ~shut[:-1]))
    minutes = seq[-1].end_s / 60
    assert 8 <= blinks / minutes <= 30
    assert np.array_equal(w, render(seq, seed=9))
    assert not np.array_equal(w, render(seq, seed=10))


def test_unknown_phonemes_and_odd_input_never_raise() -> None:
    seq = spans([("ʘ", 0.1), ("ˈa", 0.1), ("", 0.0), ("xyz", 0.05), ("i", 0.1)])
    assert np.isfinite(render(seq)).all()


def test_subset_rigs_follow_rig_order_and_foreign_rigs_are_rejected() -> None:
    rig = Rig("mouth", ("mouthClose", "jawOpen"))
    seq = spans(MAYBE)
    w = render(seq, seed=1)
    anim = FaceAnimator(rig=rig, fps=60, seed=1)
    anim.feed(seq)
    np.testing.assert_array_equal(
        anim.render_until(seq[-1].end_s).weights, w[:, [A["mouthClose"], A["jawOpen"]]]
    )
    with pytest.raises(ValueError, match="neither"):
        FaceAnimator(rig=Rig("vrm", ("aa", "happy")))
