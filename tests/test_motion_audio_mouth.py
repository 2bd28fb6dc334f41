"""The audio-driven speaking face: streaming equals whole, frames wait for the look-ahead."""

from __future__ import annotations

import math

import numpy as np
import pytest

from merg_sdk.motion import FaceAnimator, Rig, load_rig
from merg_sdk.motion.audio_mouth import AudioMouthAnimator
from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody
from merg_sdk.speech.resample import Resampler

RATE, FPS = 22050, 60


@pytest.fixture(scope="module")
def clauses(tts: PiperTTS) -> list[np.ndarray]:
    resampler = Resampler(RATE)
    texts = ("Hello there, my friend.", "Maybe we should buy a map!")
    out = []
    for text in texts:
        clause = tts.synthesize(text, tts.default_voice, Prosody())
        out.append(resampler.to_int16(clause.audio, clause.sample_rate))
    return out


def _whole(clauses: list[np.ndarray], rig: str = "arkit52") -> np.ndarray:
    face = AudioMouthAnimator(load_rig(rig), FPS, RATE, seed=7)
    face.push(np.concatenate(clauses))
    face.finish()
    return face.render_all().weights


def test_clause_by_clause_equals_the_whole_turn(clauses: list[np.ndarray]) -> None:
    face = AudioMouthAnimator(load_rig("arkit52"), FPS, RATE, seed=7)
    blocks, sent = [], 0
    for pcm in clauses:
        face.push(pcm)
        for start in range(0, len(pcm), 4410):  # render as the server does, per audio chunk
            end = sent + min(start + 4410, len(pcm))
            blocks.append(face.render_until(end / RATE))
        sent += len(pcm)
    face.finish()
    blocks.append(face.render_all())
    f0 = 0
    for block in blocks:
        assert block.f0 == f0 and len(block.head) == block.count
        f0 += block.count
    streamed = np.concatenate([b.weights for b in blocks])
    assert len(streamed) == math.ceil(sent * FPS / RATE)
    np.testing.assert_allclose(streamed, _whole(clauses), atol=1e-4)


def test_frames_wait_for_the_models_lookahead(clauses: list[np.ndarray]) -> None:
    face = AudioMouthAnimator(load_rig("arkit52"), FPS, RATE)
    face.push(clauses[0])
    heard_s = len(clauses[0]) / RATE
    block = face.render_until(heard_s)
    assert 0 < block.count < math.ceil(heard_s * FPS)
    assert (block.count - 1) / FPS <= heard_s - 0.07  # 70 ms of audio past every frame
    assert face.render_until(heard_s).count == 0  # nothing more until more audio arrives


def test_the_mouth_moves_with_the_voice_and_the_rest_is_alive(clauses: list[np.ndarray]) -> None:
    weights = _whole(clauses)
    names = load_rig("arkit52").names
    jaw = weights[:, names.index("jawOpen")]
    assert jaw.max() > 0.2 and jaw[:3].max() < 0.1  # opens while speaking, closed at rest
    assert weights[:, names.index("eyeBlinkLeft")].max() > 0.5  # blinks come from the animator
    phonemeless = FaceAnimator(load_rig("arkit52"), FPS, seed=7).render_until(1.0)
    assert phonemeless.weights[:, names.index("jawOpen")].max() < 0.05


def test_visemes_sessions_get_visemes(clauses: list[np.ndarray]) -> None:
    weights = _whole(clauses, rig="visemes")
    assert weights.shape[1] == len(load_rig("visemes").names)
    assert weights[:, 1:].max() > 0.2  # some viseme other than silence
    with pytest.raises(ValueError, match="arkit52 or visemes"):
        AudioMouthAnimator(Rig("x", ("jawOpen",)), FPS, RATE)
