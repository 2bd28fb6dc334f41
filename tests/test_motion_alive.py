"""A living face: nods on stress, breath in pauses, gaze with saccades, blinks with arousal."""

from __future__ import annotations

import numpy as np

from merg_sdk.motion import FaceAnimator, load_rig
from merg_sdk.motion.alive import AliveTrack, eye_look_weights
from merg_sdk.motion.blink import BlinkTrack
from merg_sdk.speech.types import PhonemeSpan


def spans(items: list[tuple[str, float, bool]], start: float = 0.0) -> list[PhonemeSpan]:
    out, t = [], start
    for phoneme, duration, stressed in items:
        out.append(PhonemeSpan(phoneme, t, t + duration, stressed))
        t += duration
    return out


SENTENCE = spans(
    [("", 0.2, False), ("h", 0.06, False), ("ə", 0.05, False), ("l", 0.06, False),
     ("o", 0.15, True), ("ʊ", 0.1, False), ("", 0.5, False), ("m", 0.08, False),
     ("æ", 0.18, True), ("p", 0.1, False), ("", 0.6, False)]
)  # fmt: skip


def render(chunks: list[float], feed_split: int | None = None) -> tuple[np.ndarray, ...]:
    animator = FaceAnimator(load_rig("arkit52"), fps=60, emotion="happy", seed=5)
    if feed_split is None:
        animator.feed(SENTENCE)
    blocks = []
    for index, until in enumerate(chunks):
        if feed_split is not None and index == 0:
            animator.feed(SENTENCE[:feed_split])
        if feed_split is not None and index == 1:
            animator.feed(SENTENCE[feed_split:])
        blocks.append(animator.render_until(until))
    return tuple(
        np.concatenate([getattr(b, k) for b in blocks]) for k in ("weights", "head", "eyes")
    )


def test_streaming_equals_offline_for_head_and_eyes() -> None:
    offline = render([2.0])
    streamed = render([0.5, 0.93, 1.4, 2.0], feed_split=6)
    for whole, pieces in zip(offline, streamed, strict=True):
        np.testing.assert_allclose(whole, pieces, atol=1e-6)


def test_stressed_syllables_nod_the_head() -> None:
    _, head, _ = render([2.0])
    pitch = head[:, 0]
    stressed_peak = pitch[round((0.52 + 0.06) * 60) : round((0.52 + 0.25) * 60)].max()
    quiet = np.median(pitch[: round(0.2 * 60)])
    assert stressed_peak > quiet + 0.015
    assert np.abs(head).max() < 0.2  # alive, not bobbling


def test_breathing_moves_the_head_in_silence() -> None:
    track = AliveTrack(seed=1)
    t = np.arange(0, 8, 1 / 30)
    silent = track.head(t, speaking=np.zeros_like(t))
    track_b = AliveTrack(seed=1)
    speaking = track_b.head(t, speaking=np.ones_like(t))
    # sway is 0.6 as strong in silence as in speech; what is left over is the breath
    breath = silent[:, 0] - 0.6 * speaking[:, 0]
    assert np.ptp(breath) > 0.005
    spectrum = np.abs(np.fft.rfft(breath))
    freqs = np.fft.rfftfreq(len(t), 1 / 30)
    assert abs(freqs[spectrum[1:].argmax() + 1] - 0.25) < 0.1


def test_gaze_mostly_holds_the_listener_and_saccades_are_fast() -> None:
    track = AliveTrack(seed=3)
    t = np.arange(0, 60, 1 / 60)
    head = track.head(t, speaking=np.zeros_like(t))
    eyes = track.eyes(t, head)
    gaze = eyes[:, :2] + 0.6 * head[:, :2]  # undo the counter-rotation
    on_listener = np.hypot(gaze[:, 0], gaze[:, 1]) < 0.03
    assert 0.5 < on_listener.mean() < 0.95
    speed = np.abs(np.diff(gaze, axis=0)).max(axis=1) * 60
    assert speed.max() > 1.0  # saccades: over a radian a second
    np.testing.assert_array_equal(eyes[:, :2], eyes[:, 2:])  # both eyes look together


def test_eye_look_weights_follow_the_gaze() -> None:
    looks = eye_look_weights(np.array([[0.2, 0.3, 0.2, 0.3]]))  # down and to her left
    assert looks["eyeLookDownLeft"][0] > 0.3 and looks["eyeLookUpLeft"][0] == 0
    assert looks["eyeLookOutLeft"][0] > 0.3 and looks["eyeLookInRight"][0] > 0.3
    assert looks["eyeLookInLeft"][0] == 0 and looks["eyeLookOutRight"][0] == 0


def test_blink_rate_rises_with_arousal() -> None:
    calm = len(BlinkTrack(seed=2, rate_scale=0.7).blinks_until(600.0))
    excited = len(BlinkTrack(seed=2, rate_scale=1.4).blinks_until(600.0))
    assert 8 * 10 < calm < excited < 35 * 10
