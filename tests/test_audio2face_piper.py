"""On real Piper speech, the audio-only face follows the phoneme-driven teacher."""

from __future__ import annotations

import numpy as np
import pytest

from merg_sdk.motion import FaceAnimator, load_rig
from merg_sdk.motion.audio2face import AudioFaceStream
from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody, place_on_timeline
from merg_sdk.speech.resample import Resampler

LINES = [
    "Maybe we should buy a map before the boat leaves the harbour.",
    "I understand how you feel, and we can work through this together.",
    "Would you open the window? It is warm in the kitchen this morning!",
]


@pytest.fixture(scope="module")
def spoken(tts: PiperTTS) -> list:
    resampler, segments, t0 = Resampler(48000), [], 0
    for line in LINES:
        clause = tts.synthesize(line, tts.default_voice, Prosody())
        segment = place_on_timeline(line, clause, resampler, t0)
        segments.append(segment)
        t0 = segment.end
    return segments


def test_jaw_follows_the_phoneme_teacher(spoken: list) -> None:
    rate, fps = 48000, 60
    pcm = np.concatenate([s.pcm for s in spoken])
    stream = AudioFaceStream(fps, rate)
    step = rate // 50  # 20 ms chunks, as a live stream sends them
    frames = [stream.push(pcm[i : i + step]) for i in range(0, len(pcm), step)]
    face = np.concatenate([*frames, stream.finish()])

    arkit = load_rig("arkit52")
    teacher = FaceAnimator(arkit, fps=fps, seed=0)
    teacher.feed([p for s in spoken for p in s.phonemes])
    target = teacher.render_until(len(pcm) / rate).weights
    assert face.shape == (len(target), len(stream.names))

    jaw = face[:, stream.names.index("jawOpen")]
    r = np.corrcoef(jaw, target[:, arkit.index("jawOpen")])[0, 1]
    assert r > 0.6, f"jawOpen correlation with the teacher is only {r:.2f}"
    for name in ("mouthPucker", "mouthFunnel", "mouthClose", "mouthPressLeft", "tongueOut"):
        got = face[:, stream.names.index(name)]
        assert np.corrcoef(got, target[:, arkit.index(name)])[0, 1] > 0.4, name


def test_lips_meet_on_p_b_m(spoken: list) -> None:
    rate, fps = 48000, 60
    pcm = np.concatenate([s.pcm for s in spoken])
    stream = AudioFaceStream(fps, rate)
    face = np.concatenate([stream.push(pcm), stream.finish()])
    middles = [round((p.start_s + p.end_s) / 2 * fps) for s in spoken for p in s.phonemes
               if p.phoneme in ("p", "b", "m")]  # fmt: skip
    gap = face[:, stream.names.index("jawOpen")] - face[:, stream.names.index("mouthClose")]
    shut = np.mean(gap[middles] <= 0.05)  # the teacher shuts all of them (gap <= 0.02)
    assert len(middles) >= 8 and shut >= 0.5, f"lips shut at only {shut:.0%} of p/b/m"
