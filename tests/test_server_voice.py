"""`user.audio` end to end: real VAD, real Whisper, real LLM and voice; barge-in on loopback."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soxr

from merg_sdk.client import (
    AudioChunk,
    MergClient,
    SpeechHeard,
    TranscriptHeard,
    TurnEnded,
    TurnStarted,
    UserAffectRead,
    VoiceTurn,
)
from merg_sdk.speech.base import Prosody
from tests.wire import RawPeer

RATE = 16_000
CHUNK = 320  # 20 ms, as a microphone delivers it


def _speech(tts, text: str, rate: int = RATE) -> np.ndarray:
    clause = tts.synthesize(text, tts.default_voice, Prosody())
    audio = soxr.resample(clause.audio, clause.sample_rate, rate)
    return (np.clip(audio, -1, 1) * 32767).astype("<i2")


def _silence(seconds: float, rate: int = RATE) -> np.ndarray:
    return np.zeros(int(seconds * rate), "<i2")


def _stream(peer: RawPeer, sid: str, pcm: np.ndarray, rate: int = RATE, final=False) -> None:
    step = rate // 50
    for start in range(0, len(pcm), step):
        last = final and start + step >= len(pcm)
        chunk = pcm[start : start + step].tobytes()
        peer.send("user.audio", sid=sid, pcm=chunk, sample_rate=rate, final=last)


def test_the_user_speaks_and_the_avatar_replies(tts, client: MergClient) -> None:
    assert "user.audio" in client.welcome.capabilities["features"]
    session = client.open_session(avatar="supporter", fps=30, sample_rate=24000)
    said = "I failed my driving test again today and I feel awful."
    pcm = np.concatenate([_silence(0.4), _speech(tts, said), _silence(1.0)])
    session.send_audio(pcm, RATE)
    heard = []
    while not heard or not isinstance(heard[-1], VoiceTurn):
        heard.append(session.next_heard(timeout_s=30))
    states = [e.state for e in heard if isinstance(e, SpeechHeard)]
    assert states[:1] == ["started"] and "ended" in states
    events = list(heard[-1].turn)
    assert isinstance(events[0], TurnStarted) and events[0].source == "user.audio"
    final = next(e for e in events if isinstance(e, TranscriptHeard))
    assert final.final and final.turn == events[0].turn
    words = final.text.lower()
    assert "driving test" in words and "awful" in words
    affect = next(e for e in events if isinstance(e, UserAffectRead))
    assert affect.vad[0] < 0 and "text" in affect.by
    assert any(isinstance(e, AudioChunk) for e in events)
    assert isinstance(events[-1], TurnEnded) and events[-1].reason == "done"


def test_speech_interrupts_the_avatar_and_a_cough_does_not(tts, server) -> None:
    long_line = " ".join(["This is a long line that keeps the avatar talking for a while."] * 4)
    speech = _speech(tts, "Wait, stop, I need to say something.")
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)

        # a cough: a burst of voice far shorter than min_speech_ms
        peer.send("say", sid=sid, text=long_line)
        first = peer.recv_until("audio")
        turn = next(m["turn"] for m in first if m["type"] == "turn.start")
        burst = speech[int(0.1 * RATE) : int(0.3 * RATE)]  # "Wait": 0.2 s of voice
        _stream(peer, sid, np.concatenate([burst, _silence(0.6)]))
        seen = peer.recv_until("turn.end", timeout_s=60, turn=turn)
        assert seen[-1]["reason"] == "done"
        states = [m["state"] for m in seen if m["type"] == "user.speech"]
        assert "started" not in states and "false_start" in states

        # real speech: the avatar stops, and nothing of its turn arrives afterwards
        peer.send("say", sid=sid, text=long_line)
        first = peer.recv_until("audio")
        turn = next(m["turn"] for m in first if m["type"] == "turn.start")
        _stream(peer, sid, np.concatenate([speech, _silence(0.3)]))
        seen = peer.recv_until("turn.end", timeout_s=30, turn=turn)
        assert seen[-1]["reason"] == "interrupted"
        started = [i for i, m in enumerate(seen) if m.get("state") == "started"]
        assert started, "the onset was not reported"
        later = []
        deadline = time.monotonic() + 1.5
        while (message := peer.recv(max(0.0, deadline - time.monotonic()))) is not None:
            later.append(message)
        assert not [m for m in later if m.get("turn") == turn and m["type"] in ("audio", "face")]


def test_barge_in_can_be_turned_off(tts, make_server) -> None:
    running = make_server(hearing={"barge_in": False})
    speech = _speech(tts, "Sorry, can I ask something?")
    with RawPeer(running.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)
        peer.send("say", sid=sid, text="I will finish this sentence whatever you say.")
        first = peer.recv_until("audio")
        turn = next(m["turn"] for m in first if m["type"] == "turn.start")
        _stream(peer, sid, speech)
        seen = peer.recv_until("turn.end", timeout_s=60, turn=turn)
        assert seen[-1]["reason"] == "done"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"pcm": b"\x00\x01\x02", "sample_rate": 16000}, "bad_message"),
        ({"pcm": b"\x00\x00" * 160, "sample_rate": 11025}, "unsupported"),
        ({"pcm": b"\x00\x00" * 160, "sample_rate": 1000}, "bad_message"),
    ],
)
def test_bad_audio_gets_a_clear_error_and_the_session_goes_on(server, fields, code) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)
        ref = peer.send("user.audio", sid=sid, **fields)
        error = peer.recv_until("error")[-1]
        assert error["code"] == code and error["ref"] == ref
        peer.send("say", sid=sid, text="Still fine.")
        assert peer.recv_until("turn.end")[-1]["reason"] == "done"


def test_silence_and_noise_start_no_turn(server) -> None:
    rng = np.random.default_rng(3)
    noise = (rng.normal(0, 300, RATE * 2)).astype("<i2")
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)
        _stream(peer, sid, np.concatenate([_silence(1.0), noise]), final=True)
        peer.send("ping", t=0.0)
        seen = peer.recv_until("pong", timeout_s=30)
        time.sleep(1.0)
        while (message := peer.recv(0.2)) is not None:
            seen.append(message)
    assert not [m for m in seen if m["type"] in ("turn.start", "error")]


def _smile() -> np.ndarray:
    from merg_sdk.motion.rig import load_rig

    names = load_rig("arkit52").names
    weights = np.zeros(len(names), "<f4")
    for name, value in {
        "mouthSmileLeft": 0.9, "mouthSmileRight": 0.9, "cheekSquintLeft": 0.6,
        "cheekSquintRight": 0.6, "eyeSquintLeft": 0.3, "eyeSquintRight": 0.3,
    }.items():  # fmt: skip
        weights[names.index(name)] = value
    return weights


def test_voice_and_face_are_read_into_the_users_affect(tts, client: MergClient) -> None:
    assert {"user.face", "voice_affect"} <= set(client.welcome.capabilities["features"])
    session = client.open_session(avatar="supporter")
    for frame in range(30):  # one second of a smiling face from headset tracking
        session.send_face(frame / 30, weights=_smile())
    said = "I finally finished the marathon this morning."
    session.send_audio(np.concatenate([_silence(0.3), _speech(tts, said), _silence(1.0)]), RATE)
    while not isinstance(event := session.next_heard(timeout_s=30), VoiceTurn):
        pass
    events = list(event.turn)
    affect = next(e for e in events if isinstance(e, UserAffectRead))
    assert {"text", "voice", "face"} <= set(affect.by)
    assert affect.by["face"]["emotion"] == "happy" and affect.by["face"]["vad"][0] > 0
    assert 0 <= affect.by["voice"]["confidence"] <= 1
    assert isinstance(events[-1], TurnEnded)


def test_bad_faces_get_clear_errors(server) -> None:
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)
        ref = peer.send("user.face", sid=sid, t=0.0, weights=b"\x00" * 12)
        error = peer.recv_until("error")[-1]
        assert error["code"] == "bad_message" and error["ref"] == ref
        peer.send("user.face", sid=sid, t=0.0)
        assert peer.recv_until("error")[-1]["code"] == "bad_message"
        peer.send("user.face", sid=sid, t=0.1, jpeg=b"\xff\xd8 not a jpeg at all")
        error = peer.recv_until("error")[-1]
        assert error["code"] == "bad_message" and "user.face" in error["message"]
        peer.send("say", sid=sid, text="Still fine.")
        assert peer.recv_until("turn.end")[-1]["reason"] == "done"


def test_speech_cuts_off_a_turn_that_was_sent_but_still_plays(tts, server) -> None:
    """The server sends faster than real time: a turn can be `done` while the user still
    hears it. Speaking then names that turn in `user.speech`, and only what was heard of it
    is kept."""
    speech = _speech(tts, "Hold on, hold on, let me say something.")
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)
        peer.send("say", sid=sid, text="I am going to keep talking for quite a while now. " * 3)
        seen = peer.recv_until("turn.end")
        turn, end = seen[-1]["turn"], seen[-1]
        assert end["reason"] == "done" and end["stats"]["audio_s"] > 5.0
        _stream(peer, sid, speech)
        started = peer.recv_until("user.speech", timeout_s=30, state="started")[-1]
        assert started["interrupts"] == turn
        session = server.call(lambda: server.server.sessions.get(sid))
        assert 0 < session.heard_s[turn] < end["stats"]["audio_s"]


def test_speech_after_the_turn_has_played_cuts_nothing(tts, server) -> None:
    speech = _speech(tts, "Thanks, that was nice.")
    with RawPeer(server.endpoint) as peer:
        peer.greet()
        sid = peer.open_session(rig="arkit52", fps=30, sample_rate=24000)
        peer.send("say", sid=sid, text="Hi.")
        end = peer.recv_until("turn.end")[-1]
        time.sleep(end["stats"]["audio_s"] + 0.3)
        _stream(peer, sid, speech)
        started = peer.recv_until("user.speech", timeout_s=30, state="started")[-1]
        assert started.get("interrupts") is None
