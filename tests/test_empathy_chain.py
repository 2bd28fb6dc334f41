"""The chain of empathy without the LLM: needs, strategies, the avatar's emotion, memory."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from merg_sdk.empathy.avatar_affect import AvatarAffect
from merg_sdk.empathy.chain import EmpathyChain
from merg_sdk.empathy.memory import ConversationMemory
from merg_sdk.empathy.needs import infer_need
from merg_sdk.empathy.persona import PersonaError, PersonaLibrary, parse_persona
from merg_sdk.empathy.strategy import StrategySelector
from merg_sdk.perception.types import AffectState

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "personas"
SAD = AffectState("sad", "grief", (-0.7, -0.2, -0.4), 0.8, "my dog died")
ANGRY = AffectState("angry", "anger", (-0.6, 0.7, 0.5), 0.8, "my boss yelled at me")
HAPPY = AffectState("happy", "joy", (0.8, 0.5, 0.3), 0.8, "I got the job")


def test_personas_load_and_validate() -> None:
    library = PersonaLibrary([EXAMPLES])
    assert {"companion", "healer", "supporter"} <= set(library.ids)
    healer = library.get("healer")
    assert healer.name == "Mira" and healer.resting_emotion == "caring"
    with pytest.raises(PersonaError, match="unknown persona"):
        library.get("dragon")
    with pytest.raises(PersonaError, match=r"personality\.agreeableness"):
        parse_persona({"id": "x", "name": "X", "personality": {"agreeableness": 3}})
    with pytest.raises(PersonaError, match="resting_emotion"):
        parse_persona({"id": "x", "name": "X", "resting_emotion": "smug"})


def test_asked_for_help_beats_the_feelings_default() -> None:
    assert infer_need("My dog died and I miss him", "grief")[0] == "comfort"
    assert infer_need("I failed my exam, what should I do now?", "sadness")[0] == "practical_help"
    assert infer_need("I feel so alone since the move", "sadness")[0] == "company"


def test_no_single_strategy_dominates_a_conversation() -> None:
    selector = StrategySelector()
    needs = ["comfort", "comfort", "to_be_heard", "reassurance", "comfort", "practical_help",
             "comfort", "to_be_heard", "celebration", "conversation"] * 3  # fmt: skip
    chosen = [selector.choose(need, distress=0.6).strategy for need in needs]
    counts = Counter(chosen)
    assert max(counts.values()) / len(chosen) <= 0.4, counts
    assert len(counts) >= 5
    assert all(a != b or a == "Others" for a, b in pairwise(chosen))


def test_stages_move_from_exploring_to_acting() -> None:
    selector = StrategySelector()
    stages = [selector.choose("comfort", distress=0.2).stage for _ in range(6)]
    assert stages[0] == "explore" and stages[-1] == "act"
    assert StrategySelector().choose("practical_help", 0.9).stage == "act"


def test_the_avatar_cares_for_sadness_and_calms_anger() -> None:
    persona = PersonaLibrary([EXAMPLES]).get("supporter")
    sad_turn = AvatarAffect(persona).step(SAD.vad, "Reflection of feelings")
    angry_turn = AvatarAffect(persona).step(ANGRY.vad, "Reflection of feelings")
    happy_turn = AvatarAffect(persona).step(HAPPY.vad, "Affirmation and Reassurance")
    assert sad_turn.emotion in ("sad", "caring", "calm")
    assert angry_turn.emotion in ("calm", "caring", "neutral") and angry_turn.vad[1] < 0.2
    assert happy_turn.emotion == "happy"
    assert happy_turn.vad[0] > sad_turn.vad[0]


def test_a_more_neurotic_persona_moves_further() -> None:
    base = {"id": "a", "name": "A", "resting_emotion": "neutral", "resting_intensity": 0.0}
    steady = parse_persona({**base, "personality": {"neuroticism": 0.0}})
    jumpy = parse_persona({**base, "personality": {"neuroticism": 1.0}})
    move = lambda p: abs(AvatarAffect(p).step(SAD.vad, "Question").vad[0])  # noqa: E731
    assert move(jumpy) > move(steady)


def test_chain_plans_and_reports_reasoning() -> None:
    chain = EmpathyChain(PersonaLibrary().default())
    plan = chain.plan("My dog died yesterday and I can't stop crying.", SAD)
    reasoning = plan.reasoning()
    assert reasoning["need"] == "comfort" and reasoning["cause"] == "my dog died"
    assert reasoning["strategy"] in chain.selector.strategies
    assert len(reasoning["strategy_scores"]) == 8
    assert "heartbroken" in plan.note() and "my dog died" in plan.note()


def test_crisis_language_overrides_the_plan() -> None:
    chain = EmpathyChain(PersonaLibrary().default())
    plan = chain.plan("I just want to kill myself tonight", SAD)
    assert plan.safety is not None and plan.safety.category == "suicide"
    assert "988" in plan.safety.response and plan.avatar.emotion == "caring"
    assert plan.reasoning()["safety"] == "suicide"


def test_a_crisis_reply_carries_the_strategy_its_response_carries_out() -> None:
    chain = EmpathyChain(PersonaLibrary().default())
    first = chain.plan("I just want to kill myself tonight", SAD)
    later = chain.plan("I still want to kill myself", SAD)
    assert first.strategy == "Providing Suggestions" and "call" in first.safety.response
    assert later.strategy == "Question" and "Are you safe right now?" in later.safety.response
    abuse = EmpathyChain(PersonaLibrary().default()).plan("My husband beats me every night", SAD)
    assert abuse.strategy == "Affirmation and Reassurance"
    assert "not your fault" in abuse.safety.response
    assert first.reasoning()["strategy"] == first.strategy
    # the stage is the one the reply's strategy belongs to (strategies.yaml stage_fit)
    assert (first.stage, later.stage, abuse.stage) == ("act", "explore", "comfort")


def test_memory_keeps_facts_and_fits_its_budget() -> None:
    memory = ConversationMemory(budget_chars=300)
    memory.add_user("Hi, my name is Rosa and I live in Lisbon.", "neutral")
    memory.add_avatar("Nice to meet you, Rosa.", "Others")
    for index in range(12):
        memory.add_user(f"Turn {index}: " + "the weather was grey and cold again " * 2, "sad")
        memory.add_avatar("I hear you.", "Reflection of feelings")
    assert memory.size() <= 300
    assert any("rosa" in fact for fact in memory.facts)
    assert any("lisbon" in fact for fact in memory.facts)
    assert memory.recent[-1].user.startswith("Turn 11")
