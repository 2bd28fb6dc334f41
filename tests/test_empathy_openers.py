"""Openers: said at once, fitting the user's emotion only when the reading is confident."""

from __future__ import annotations

import pytest

from merg_sdk.client import MergClient, ReplyText
from merg_sdk.empathy.chain import EmpathyChain
from merg_sdk.empathy.openers import OpenerPicker
from merg_sdk.empathy.persona import PersonaError, PersonaLibrary, parse_persona
from merg_sdk.empathy.responder import echoes
from merg_sdk.empathy.tables import load_openers
from merg_sdk.perception.types import AffectState


def _sad(confidence: float) -> AffectState:
    return AffectState("sad", "grief", (-0.7, -0.2, -0.4), confidence)


def test_a_confident_reading_picks_from_its_emotion_and_never_repeats_recent_ones() -> None:
    picker = OpenerPicker()
    picked = [picker.pick(_sad(0.9), seed=7) for _ in range(8)]  # same seed every time
    assert set(picked) <= set(load_openers()["sad"])
    assert all(len(set(picked[i : i + 3])) == 3 for i in range(len(picked) - 2))


def test_an_unsure_reading_gets_a_neutral_opener() -> None:
    picker = OpenerPicker()
    assert picker.pick(_sad(0.2), seed=1) in load_openers()["uncertain"]


def test_a_persona_brings_its_own_openers_and_bad_ones_are_refused() -> None:
    base = PersonaLibrary([]).get("companion").model_dump()
    guard = parse_persona(base | {"id": "guard", "openers": {"uncertain": ["Hmph."]}})
    assert OpenerPicker(guard.openers).pick(_sad(0.1), seed=3) == "Hmph."
    with pytest.raises(PersonaError, match="openers"):
        parse_persona(base | {"id": "bad", "openers": {"elated": ["Yay!"]}})


def test_crisis_turns_have_no_opener_and_ordinary_turns_do() -> None:
    chain = EmpathyChain(PersonaLibrary([]).get("companion"))
    plan = chain.plan("My exam went badly today.", _sad(0.8))
    assert plan.opener in load_openers()["sad"]
    assert plan.reasoning()["opener"] == plan.opener
    crisis = chain.plan("I want to kill myself tonight.", _sad(0.8))
    assert crisis.safety is not None and crisis.opener is None
    assert EmpathyChain(chain.persona, openers=False).plan("Hi.", _sad(0.8)).opener is None


def test_the_llm_echoing_the_opener_is_detected() -> None:
    assert echoes("Oh, I'm so sorry.", "I'm so sorry to hear that.")
    assert echoes("That sounds painful.", "That sounds like a lot to go through.")
    assert not echoes("Oh, I'm so sorry.", "What happened to him?")
    assert not echoes("Mm.", "Mm, tell me more.")  # interjections alone are not an echo
    assert echoes("Oh no.", "Mm, okay.")  # nothing but interjections says nothing new
    assert not echoes(None, "Anything at all.")


def test_the_llm_history_leaves_the_opener_out() -> None:
    chain = EmpathyChain(PersonaLibrary([]).get("companion"))
    plan = chain.plan("My exam went badly today.", _sad(0.8))
    chain.heard(f"{plan.opener} Exams can be rough.", plan.strategy)
    assert chain.memory.recent[-1].avatar == "Exams can be rough."


def test_the_opener_is_the_first_words_heard_and_is_marked(client: MergClient) -> None:
    session = client.open_session(avatar="supporter")
    events = list(session.send_text("My sister finally got the job she wanted, I'm so happy!"))
    replies = [e for e in events if isinstance(e, ReplyText) and e.text]
    assert replies[0].source == "opener" and replies[0].t0 == 0
    assert {r.source for r in replies[1:]} <= {"llm", "fallback"} and len(replies) >= 2


def test_cheer_needs_clearly_positive_valence() -> None:
    picker = OpenerPicker()
    unsure_joy = AffectState("happy", "joy", (0.05, 0.3, 0.1), 0.9)
    assert picker.pick(unsure_joy, seed=2) in load_openers()["uncertain"]
    joy = AffectState("happy", "joy", (0.7, 0.5, 0.3), 0.9)
    assert picker.pick(joy, seed=2) in load_openers()["happy"]
