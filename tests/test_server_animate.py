"""`animate`: a face for audio the game already has (recorded voice-over, another TTS)."""

from __future__ import annotations

import numpy as np
import pytest

from merg_sdk.client import AudioChunk, FaceFrames, MergClient
from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody
from tests.wire import RawPeer


@pytest.fixture(scope="module")
def voice_over(tts: PiperTTS) -> tuple[np.ndarray, int]:
    clause = tts.synthesize("Papa bought a big map for the old boat.", tts.default_voice, Prosody())
    return (clause.audio * 32767).astype(np.int16), clause.sample_rate


@pytest.mark.parametrize(("fps", "rig"), [(30, "arkit52"), (60, "visemes"), (60, "livelink")])
def test_recorded_audio_gets_a_full_face(client: MergClient, voice_over, fps, rig) -> None:
    pcm, rate = voice_over
    session = client.open_session(rig=rig, fps=fps, sample_rate=24000)
    events = list(session.animate(pcm, rate, chunk_ms=40, emotion="happy"))
    assert events[0].source == "animate" and events[-1].reason == "done"
    faces = [e for e in events if isinstance(e, FaceFrames)]
    assert not any(isinstance(e, AudioChunk) for e in events)  # no audio unless asked
    frame = 0
    for block in faces:
        assert block.f0 == frame
        frame += len(block.weights)
    assert frame == -(-len(pcm) * fps // rate)  # frames = ceil(audio_s * fps)
    weights = np.concatenate([b.weights for b in faces])
    assert np.isfinite(weights).all() and len(weights[0]) == len(session.names)
    if rig == "arkit52":
        jaw = weights[:, session.names.index("jawOpen")]
        assert jaw.max() > 0.3 and jaw[0] < 0.1  # closed before the voice starts
        smile = weights[:, session.names.index("mouthSmileLeft")]
        assert smile.mean() > 0.1  # the emotion shows around the speaking mouth


def test_echo_returns_the_audio_on_the_session_rate(client: MergClient, voice_over) -> None:
    pcm, rate = voice_over
    session = client.open_session(fps=30, sample_rate=48000)
    result = session.animate(pcm, rate, echo=True).collect()
    assert abs(len(result.audio) - len(pcm) * 48000 / rate) < 50
    assert len(result.weights) == -(-len(pcm) * 30 // rate)


def test_silence_keeps_the_mouth_closed(client: MergClient) -> None:
    session = client.open_session(fps=30)
    result = session.animate(np.zeros(16000 * 2, np.int16), 16000).collect()
    assert result.reason == "done" and len(result.weights) == 60
    assert result.column("jawOpen").max() < 0.1


def test_bad_animate_input_gets_errors(server) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session()
        for fields, code in [
            ({"pcm": b"\x00\x01\x02", "sample_rate": 16000}, "bad_message"),
            ({"pcm": b"\x00\x00", "sample_rate": 1234}, "bad_message"),
            ({"pcm": b"\x00\x00", "sample_rate": 16000, "emotion": "smug"}, "unsupported"),
        ]:
            seq = peer.send("animate", sid=sid, **fields)
            error = peer.recv_until("error")[-1]
            assert (error["code"], error["ref"]) == (code, seq)
        # a rate change mid-utterance ends that turn with a clear error, the session lives
        peer.send("animate", sid=sid, pcm=b"\x00\x00" * 1600, sample_rate=16000)
        peer.send("animate", sid=sid, pcm=b"\x00\x00" * 1600, sample_rate=22050)
        tail = peer.recv_until("turn.end", sid=sid)
        assert any(m["type"] == "error" and "sample_rate" in m["message"] for m in tail)
        peer.send("ping", t=3.0)
        assert peer.recv_until("pong")[-1]["t"] == 3.0


def test_a_say_interrupts_a_running_animate(server, voice_over) -> None:
    pcm, rate = voice_over
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session()
        peer.send("animate", sid=sid, pcm=pcm[: rate // 2].tobytes(), sample_rate=rate)
        peer.recv_until("face", sid=sid)  # never final: the rest never comes
        peer.send("say", sid=sid, text="Actually, let me tell you.")
        first_end = peer.recv_until("turn.end", sid=sid)[-1]
        assert first_end["turn"] == 1 and first_end["reason"] == "interrupted"
        second_end = peer.recv_until("turn.end", sid=sid, turn=2)[-1]
        assert second_end["reason"] == "done"
