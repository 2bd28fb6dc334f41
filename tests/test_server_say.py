"""A `say` turn end to end: real voice, real sockets, the face checked against the voice."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from merg_sdk.client import AudioChunk, FaceFrames, MergClient, ReplyText, TurnEnded, TurnStarted
from merg_sdk.data import blendshapes_file

BILABIALS = {"p", "b", "m"}


def apple_names() -> list[str]:
    return yaml.safe_load(blendshapes_file("rigs/arkit52.yaml").read_text())["names"]


def test_handshake_lists_capabilities(client: MergClient) -> None:
    capabilities = client.welcome.capabilities
    assert {"arkit52", "visemes"} <= set(capabilities["rigs"])
    assert capabilities["fps"] == [30, 60, 120]
    assert capabilities["sample_rates"] == [16000, 22050, 24000, 44100, 48000]
    assert "en_US-joe-medium" in capabilities["voices"]
    assert client.welcome.server["name"] == "merg-sdk"


def test_session_reports_apple_names_in_order(client: MergClient) -> None:
    session = client.open_session(rig="arkit52", fps=60, sample_rate=22050)
    assert list(session.names) == apple_names()
    assert len(session.names) == 52
    assert session.names[0] == "eyeBlinkLeft" and session.names[-1] == "tongueOut"


@pytest.mark.parametrize(("fps", "rate"), [(30, 16000), (60, 22050), (120, 48000)])
def test_say_turn_is_contiguous_and_complete(client: MergClient, fps: int, rate: int) -> None:
    session = client.open_session(rig="arkit52", fps=fps, sample_rate=rate)
    turn = session.say("Hello there, my friend. Maybe we should buy a map!", emotion="happy")
    events = list(turn)

    assert isinstance(events[0], TurnStarted) and events[0].source == "say"
    assert isinstance(events[-1], TurnEnded) and events[-1].reason == "done"
    audio = [e for e in events if isinstance(e, AudioChunk)]
    faces = [e for e in events if isinstance(e, FaceFrames)]
    replies = [e for e in events if isinstance(e, ReplyText)]
    assert [r.final for r in replies] == [False] * (len(replies) - 1) + [True]

    position = 0
    for chunk in audio:
        assert chunk.t0 == position and chunk.sample_rate == rate
        position += len(chunk.pcm)
    frame = 0
    for block in faces:
        assert block.f0 == frame and block.fps == fps
        frame += len(block.weights)
    assert frame == math.ceil(position * fps / rate)  # frames = ceil(audio_s * fps)
    assert events[-1].stats["frames"] == frame and events[-1].stats["samples"] == position

    weights = np.concatenate([b.weights for b in faces])
    assert weights.shape == (frame, 52) and weights.dtype == np.float32
    assert np.all(weights >= 0.0) and np.all(weights <= 1.0)


def test_every_face_frame_arrives_before_the_audio_that_covers_it(client: MergClient) -> None:
    session = client.open_session(rig="arkit52", fps=60, sample_rate=24000)
    frames_sent = 0
    for event in session.say("Frames never lag behind the voice that carries them."):
        if isinstance(event, FaceFrames):
            frames_sent = event.f0 + len(event.weights)
        elif isinstance(event, AudioChunk):
            chunk_end_s = (event.t0 + len(event.pcm)) / event.sample_rate
            assert frames_sent >= math.ceil(chunk_end_s * 60)


def _timeline(client: MergClient, text: str, rig: str = "arkit52"):
    session = client.open_session(rig=rig, fps=60, sample_rate=22050)
    result = session.say(text).collect()
    assert result.reason == "done"
    phonemes = [p for reply in result.replies for p in reply.phonemes]
    return result, phonemes


def test_lips_close_on_bilabials(client: MergClient) -> None:
    result, phonemes = _timeline(client, "Maybe Bob might buy a big map, mom.")
    centres = [(s + e) / 2 for p, s, e in phonemes if p in BILABIALS and e - s > 0.03]
    assert len(centres) >= 6
    jaw, close = result.column("jawOpen"), result.column("mouthClose")
    for centre in centres:
        index = round(centre * result.fps)
        aperture = jaw[index] - close[index]
        assert aperture <= 0.05, f"lips open ({aperture:.2f}) at a bilabial at {centre:.2f}s"


def test_visemes_rig_shows_pp_on_bilabials(client: MergClient) -> None:
    result, phonemes = _timeline(client, "Bob bought a map.", rig="visemes")
    assert result.names[:2] == ("sil", "PP") and len(result.names) == 15
    pp = result.column("PP")
    for phoneme, start, end in phonemes:
        if phoneme in BILABIALS and end - start > 0.03:
            assert pp[round((start + end) / 2 * result.fps)] >= 0.8


def test_jaw_opens_on_open_vowels_and_follows_the_voice(client: MergClient) -> None:
    result, phonemes = _timeline(client, "Father saw a large dog, and I thought I had lost it.")
    jaw = result.column("jawOpen")
    open_vowels = [(s, e) for p, s, e in phonemes if p in {"ɑ", "a", "æ", "ɔ"} and e - s > 0.06]
    assert open_vowels
    for start, end in open_vowels:
        assert jaw[round((start + end) / 2 * result.fps)] >= 0.3

    # mouth opening tracks loudness: per-frame RMS of the voice vs jawOpen
    hop = result.sample_rate / result.fps
    audio = result.audio.astype(np.float32) / 32768.0
    rms = np.array(
        [
            np.sqrt(np.mean(audio[int(i * hop) : int((i + 1) * hop)] ** 2) + 1e-12)
            for i in range(len(jaw))
        ]
    )
    correlation = np.corrcoef(rms, jaw)[0, 1]
    assert correlation > 0.4, f"jawOpen and loudness correlate only {correlation:.2f}"
    silent = rms < 0.01
    assert jaw[silent].mean() < jaw[~silent].mean()


def test_emotion_shows_on_the_face(client: MergClient) -> None:
    session = client.open_session(rig="arkit52", fps=30, sample_rate=16000)
    line = "I have something to tell you about the harvest."
    happy = session.say(line, emotion="happy", intensity=1.0).collect()
    sad = session.say(line, emotion="sad", intensity=1.0).collect()
    smile = lambda r: r.column("mouthSmileLeft").mean() + r.column("mouthSmileRight").mean()  # noqa: E731
    assert smile(happy) > smile(sad) + 0.1
    assert sad.column("browInnerUp").mean() > happy.column("browInnerUp").mean()


def test_face_messages_carry_head_and_eye_rotation(client: MergClient) -> None:
    session = client.open_session(rig="visemes", fps=60, sample_rate=22050)
    result = session.say("I nod when I stress a word, and my eyes move.").collect()
    frames = len(result.weights)
    assert result.head.shape == (frames, 3) and result.eyes.shape == (frames, 4)
    assert np.isfinite(result.head).all() and np.abs(result.head).max() < 0.3
    assert np.ptp(result.head[:, 0]) > 0.01  # the head moves
    assert np.abs(result.eyes).max() < 0.6


@pytest.mark.parametrize(
    ("rig", "count", "first"),
    [("livelink", 61, "EyeBlinkLeft"), ("facecap", 52, None), ("vrm1", 18, None),
     ("vrm0", 17, None), ("oculus", 15, "sil")],
)  # fmt: skip
def test_sessions_stream_any_name_set(client: MergClient, rig: str, count: int, first) -> None:
    assert rig in client.welcome.capabilities["rigs"]
    session = client.open_session(rig=rig, fps=30, sample_rate=16000)
    assert session.rig == rig and len(session.names) == count
    if first:
        assert session.names[0] == first
    result = session.say("Open wide and say aah.").collect()
    assert result.weights.shape == (len(result.weights), count) and len(result.weights) > 10
    assert np.isfinite(result.weights).all()
    if rig == "livelink":
        jaw = result.column("JawOpen")
        assert jaw.max() > 0.3 and result.column("HeadPitch").std() > 0.001
    if rig in ("vrm1", "vrm0"):
        mouth = result.column("aa" if rig == "vrm1" else "a")
        assert mouth.max() > 0.3
