"""`user.text` turns end to end: real perception, the real embedded LLM, real voice."""

from __future__ import annotations

import pytest

from merg_sdk.client import (
    AudioChunk,
    FaceFrames,
    MergClient,
    MergError,
    ReasoningChain,
    ReplyText,
    SafetyAlert,
    TurnEnded,
    UserAffectRead,
)
from merg_sdk.server import ServerThread

STRATEGIES = {
    "Question", "Restatement or Paraphrasing", "Reflection of feelings", "Self-disclosure",
    "Affirmation and Reassurance", "Providing Suggestions", "Information", "Others",
}  # fmt: skip


def test_a_user_text_turn_reads_plans_and_replies(client: MergClient) -> None:
    assert "user.text" in client.welcome.capabilities["features"]
    session = client.open_session(avatar="supporter", fps=30, sample_rate=16000)
    events = list(session.send_text("My dog died yesterday and I can't stop crying."))
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "TurnStarted" and kinds[-1] == "TurnEnded"
    # read -> reasoning -> words -> face and voice, in that order of first appearance
    assert kinds.index("UserAffectRead") < kinds.index("ReasoningChain") < kinds.index("ReplyText")
    assert kinds.index("ReplyText") < kinds.index("FaceFrames") < kinds.index("AudioChunk")

    affect = next(e for e in events if isinstance(e, UserAffectRead))
    assert affect.emotion == "sad" and affect.vad[0] < 0 and "text" in affect.by
    chain = next(e for e in events if isinstance(e, ReasoningChain)).chain
    assert chain["strategy"] in STRATEGIES and chain["need"] == "comfort"
    assert chain["avatar_emotion"] in ("neutral", "happy", "sad", "surprised", "calm", "caring")

    replies = [e for e in events if isinstance(e, ReplyText)]
    spoken = [r for r in replies if r.text]
    assert spoken and all(r.strategy == chain["strategy"] for r in spoken)
    assert all(r.emotion == chain["avatar_emotion"] for r in replies)
    assert replies[-1].final
    audio = [e for e in events if isinstance(e, AudioChunk)]
    faces = [e for e in events if isinstance(e, FaceFrames)]
    samples = sum(len(a.pcm) for a in audio)
    assert samples > 16000 and sum(len(f.weights) for f in faces) == -(-samples * 30 // 16000)
    assert events[-1].reason == "done"


def test_crisis_language_is_answered_with_care_and_reported(client: MergClient) -> None:
    session = client.open_session()
    events = list(session.send_text("I don't want to live anymore. I want to end it all."))
    alert = next(e for e in events if isinstance(e, SafetyAlert))
    assert alert.category == "suicide" and alert.severity == "high"
    words = " ".join(e.text for e in events if isinstance(e, ReplyText))
    assert "988" in words and "emergency" in words
    assert next(e for e in events if isinstance(e, TurnEnded)).reason == "done"


def test_the_conversation_remembers_and_varies_its_strategy(client: MergClient) -> None:
    session = client.open_session(avatar="healer")
    lines = [
        "I lost my job today and I'm scared about money.",
        "My wife says it will be fine but I can't sleep.",
        "What should I do first?",
    ]
    strategies = []
    for line in lines:
        events = list(session.send_text(line))
        strategies.append(next(e for e in events if isinstance(e, ReasoningChain)).chain)
        assert events[-1].reason in ("done", "error")
    assert len({s["strategy"] for s in strategies}) >= 2
    assert strategies[-1]["need"] == "practical_help" and strategies[-1]["stage"] == "act"


def test_bad_personas_are_refused(client: MergClient) -> None:
    with pytest.raises(MergError) as caught:
        client.open_session(avatar="dragon")
    assert caught.value.code == "unsupported"
    with pytest.raises(MergError) as caught:
        client.open_session(avatar={"id": "x", "name": "X", "personality": {"openness": 7}})
    assert caught.value.code == "bad_message" and "openness" in caught.value.message
    inline = {"id": "guard", "name": "Brakk", "role": "a gate guard", "emotions": ["angry", "calm"]}
    assert client.open_session(avatar=inline).sid


def test_a_server_without_empathy_says_so(tts) -> None:
    from merg_sdk.server import ServerConfig
    from merg_sdk.server.config import EmpathyConfig

    config = ServerConfig(port=0, empathy=EmpathyConfig(enabled=False))
    with ServerThread(config, tts=tts) as running, MergClient(running.endpoint) as client:
        session = client.open_session()
        with pytest.raises(MergError) as caught:
            list(session.send_text("Hello?"))
        assert caught.value.code == "unsupported"


def test_an_llm_that_is_down_gets_a_spoken_fallback_and_an_error(tts, mind) -> None:
    import dataclasses

    from merg_sdk.empathy.llm.openai_compatible import OpenAICompatibleLLM
    from merg_sdk.server import ServerConfig
    from merg_sdk.server.runner import free_port

    dead = OpenAICompatibleLLM(f"http://127.0.0.1:{free_port()}/v1", connect_timeout_s=1.0)
    broken_mind = dataclasses.replace(mind, llm=dead)
    server = ServerThread(ServerConfig(port=0), tts=tts, mind=broken_mind)
    with server as running, MergClient(running.endpoint) as client:
        session = client.open_session()
        events = list(session.send_text("I had a really rough day at work."))
        words = " ".join(e.text for e in events if isinstance(e, ReplyText) and e.text)
        assert len(words.split()) >= 4  # the avatar still answers, in persona
        assert any(isinstance(e, AudioChunk) for e in events)
        ended = events[-1]
        assert isinstance(ended, TurnEnded) and ended.reason == "error"
        assert ended.stats.get("fallback") is True
        error = client.next_error(timeout_s=5)
        assert error.code == "upstream_failed"
        # and the session goes on
        assert session.say("Still here.").collect().reason == "done"
