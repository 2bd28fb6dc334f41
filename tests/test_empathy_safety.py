"""Crisis language is always caught; everyday sadness, idioms and protective statements are
not alarms; the classifier holds its dev-split floors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import yaml

from merg_sdk.empathy.safety import (
    CATEGORIES,
    MODEL_PATH,
    ConversationSafety,
    SafetyFlag,
    SafetyModel,
    SemanticSafety,
    check_safety,
    joined,
    segments,
)

CRISES = [
    ("I want to kill myself", "suicide"),
    ("sometimes I think everyone would be better off without me", "suicide"),
    ("I don't want to live anymore", "suicide"),
    ("I'm planning to end my life this weekend", "suicide"),
    ("I've been thinking about suicide a lot", "suicide"),
    ("I can't go on like this", "suicide"),
    ("I cut myself again last night", "self_harm"),
    ("I keep hurting myself when I'm upset", "self_harm"),
    ("my husband hits me when he drinks", "abuse"),
    ("I was abused by my uncle as a kid", "abuse"),
    ("I'm afraid to go home", "abuse"),
    ("someone is trying to kill me", "danger"),
    ("I’m in danger right now", "danger"),
]
BENIGN = [
    "I'm so tired I could die laughing at this",
    "This exam is killing me",
    "I killed it at the presentation today!",
    "My phone died and I missed the bus",
    "I hurt my knee playing football",
    "I'm dying to see the new movie",
    "My dog died last year and I still miss him",
    "I feel really sad and alone tonight",
]


@pytest.mark.parametrize(("text", "category"), CRISES)
def test_crisis_language_is_caught(text: str, category: str) -> None:
    flag = check_safety(text)
    assert flag is not None and flag.category == category
    assert flag.response and flag.severity == "high"


@pytest.mark.parametrize("text", BENIGN)
def test_everyday_words_are_not_alarms(text: str) -> None:
    assert check_safety(text) is None


PROTECTIVE = [
    "I'd never do anything to myself, I only want to let off steam",
    "Honestly I'm not suicidal, I'm just worn out from work",
    "I have no thoughts of hurting myself, it's the exams",
    "There was a report on funding for suicide prevention in prisons",
    "Our charity works on preventing suicide in young men",
]


@pytest.mark.parametrize("text", PROTECTIVE)
def test_protective_statements_are_not_alarms(text: str) -> None:
    assert check_safety(text) is None


def test_protective_words_do_not_hide_the_rest_of_the_message() -> None:
    flag = check_safety("I'm not suicidal, but I want to kill myself sometimes")
    assert flag is not None and flag.category == "suicide"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("tbh i might kms tonight", "suicide"),
        ("i want to unalive myself", "suicide"),
        ("so suicidel today", "suicide"),
        ("gonna top myself", "suicide"),
        ("relapsed on sh last night", "self_harm"),
        ("50 days clean and then I cut again", "self_harm"),
    ],
)
def test_slang_and_misspellings_are_caught(text: str, category: str) -> None:
    flag = check_safety(text)
    assert flag is not None and flag.category == category


@pytest.mark.parametrize(
    "text", ["I drove 40 kms today", "I need to top myself up with coffee", "I cut my fringe"]
)
def test_slang_patterns_leave_lookalikes_alone(text: str) -> None:
    assert check_safety(text) is None


def test_segments_read_each_sentence_and_clause_apart() -> None:
    text = "Work was fine. I'm not suicidal, but the rope is in the shed"
    parts = segments(text)
    assert parts[0] == text
    assert "I'm not suicidal" in parts
    assert "but the rope is in the shed" in parts
    assert segments("   ") == []


def test_segments_are_bounded_for_very_long_messages() -> None:
    text = " ".join(f"Sentence number {i} is here, and it has a clause." for i in range(40))
    assert len(segments(text)) <= 1 + 40


def test_model_file_is_small_and_has_a_recall_first_threshold() -> None:
    model = SafetyModel()
    assert model.classes == ("none", *CATEGORIES)
    assert 0.2 <= model.threshold <= 0.95
    # Vocabulary, idf and n-gram weights (fp16) make it ~0.4 MB; the budget is 5 MB.
    assert MODEL_PATH.stat().st_size < 1_000_000


# Dev split (training/safety/dev.yaml): written apart from the training corpus and
# never trained on, but the threshold was chosen on it, so these are floors against
# regressions, not an honest estimate (the lead measures that on a blind set).
DEV = Path(__file__).resolve().parents[1] / "training" / "safety" / "dev.yaml"
# 2026-12, embedding + n-gram model: 72.1% recall (every category >= 62%), 0.8% false
# alarms (the embedding-only head: 52.7% / 1.6%). With the conversation corpus the turn
# threshold rose to 0.95 (conversations' safe turns look riskier): 65.9% / 0.8%.
DEV_RECALL_FLOOR = 0.64
DEV_CATEGORY_RECALL_FLOOR = 0.6
DEV_MAX_FALSE_ALARM_RATE = 0.03


@pytest.fixture(scope="module")
def dev_result() -> dict[str, float]:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    detector = SemanticSafety.load()
    spec = yaml.safe_load(DEV.read_text(encoding="utf-8"))
    out: dict[str, float] = {}
    for category, texts in [*spec["crisis"].items(), ("none", spec["none"])]:
        out[category] = sum(detector(t) is not None for t in texts) / len(texts)
    crisis = [t for texts in spec["crisis"].values() for t in texts]
    out["recall"] = sum(detector(t) is not None for t in crisis) / len(crisis)
    return out


@pytest.mark.skipif(not DEV.is_file(), reason="training data not in this checkout")
def test_dev_recall_floor(dev_result: dict[str, float]) -> None:
    assert dev_result["recall"] >= DEV_RECALL_FLOOR, dev_result
    for category in CATEGORIES:
        assert dev_result[category] >= DEV_CATEGORY_RECALL_FLOOR, (category, dev_result)


@pytest.mark.skipif(not DEV.is_file(), reason="training data not in this checkout")
def test_dev_false_alarms_are_rare(dev_result: dict[str, float]) -> None:
    assert dev_result["none"] <= DEV_MAX_FALSE_ALARM_RATE, dev_result


def test_classifier_flags_come_with_a_category_and_severity() -> None:
    detector = SemanticSafety(_FakeEncoder(), threshold=0.0)
    flag = detector("anything at all")
    assert flag is not None
    assert flag.category in CATEGORIES and flag.severity in ("high", "medium")
    assert flag.response


def test_a_threshold_above_one_leaves_only_the_patterns() -> None:
    detector = SemanticSafety(_FakeEncoder(), threshold=1.01)
    assert detector("the weather is grey") is None
    flag = detector("I want to kill myself")
    assert flag is not None and flag.matched == "kill myself"


class _FakeEncoder:
    """A deterministic stand-in for the encoders, so the plumbing is tested without them."""

    def __init__(self) -> None:
        self.dim = SafetyModel().embedding_dim

    def __call__(self, text: str) -> np.ndarray:
        rng = np.random.default_rng(len(text))
        return rng.normal(size=self.dim).astype(np.float32)


def test_the_model_names_its_encoders_and_the_detector_joins_them() -> None:
    model = SafetyModel()
    assert model.encoders == ("minilm", "mpnet") and model.embedding_dim == 384 + 768
    joined_encode = joined([lambda t: np.ones(384), lambda t: np.full(768, 2.0)])
    vector = joined_encode("anything")
    assert vector.shape == (1152,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    np.testing.assert_allclose(vector[:384] @ vector[:384], 0.5, atol=1e-5)  # equal shares
    wrong = SemanticSafety(lambda t: np.ones(384, np.float32), model)
    with pytest.raises(ValueError, match="1152-d embeddings"):
        wrong("the weather is grey today")


def test_a_turn_is_read_with_the_one_before_when_alone_it_passes() -> None:
    detector = SemanticSafety(_FakeEncoder(), threshold=1.01, window_threshold=0.0)
    assert detector("the weather is grey") is None  # no context, no window
    flag = detector("the weather is grey", ["hello there", "I had toast"])
    assert flag is not None and "with the turn before" in flag.matched
    assert flag.category in CATEGORIES and flag.response
    assert detector("the weather is grey", ["  "]) is None


def test_a_conversation_hands_on_the_turns_since_its_last_crisis() -> None:
    seen: list[tuple[str, tuple[str, ...], bool]] = []

    def detector(text: str, context=(), *, after_crisis: bool = False) -> SafetyFlag | None:
        seen.append((text, tuple(context), after_crisis))
        return check_safety(text)

    watch = ConversationSafety(detector, context_turns=2)
    for text in ("one", "two", "three", "I want to kill myself", "thanks", "ok"):
        watch(text)
    assert seen == [
        ("one", (), False),
        ("two", ("one",), False),
        ("three", ("one", "two"), False),  # the last two only
        ("I want to kill myself", ("two", "three"), False),
        ("thanks", (), True),  # the crisis is not read into the window; alert from now on
        ("ok", ("thanks",), True),
    ]
    assert watch.crisis_seen


def test_a_crisis_in_the_turn_before_is_not_read_again() -> None:
    detector = SemanticSafety(_FakeEncoder(), threshold=1.01, window_threshold=0.0)
    watch = ConversationSafety(detector)
    assert watch("I want to kill myself") is not None  # the pattern
    assert watch("thanks, I feel a bit better") is None  # no window over the crisis


def test_a_window_threshold_above_one_reads_turns_alone() -> None:
    detector = SemanticSafety(_FakeEncoder(), threshold=1.01, window_threshold=1.01)
    assert detector("the weather is grey", ["hello there"]) is None


def test_the_chain_keeps_a_crisis_watch_per_conversation() -> None:
    from merg_sdk.empathy.chain import EmpathyChain
    from merg_sdk.empathy.persona import PersonaLibrary
    from merg_sdk.perception.types import AffectState

    seen: list[tuple[str, list[str], bool]] = []

    def detector(text: str, context=(), *, after_crisis: bool = False) -> SafetyFlag | None:
        seen.append((text, list(context), after_crisis))
        return check_safety(text)

    persona = PersonaLibrary([]).get("companion")
    chain, other = EmpathyChain(persona, safety=detector), EmpathyChain(persona, safety=detector)
    user = AffectState(confidence=0.5)
    for text in ("first", "I want to kill myself", "third"):
        chain.plan(text, user)
    plan = other.plan("hello", user)  # another session: nothing carried over
    assert plan.safety is None
    assert seen == [
        ("first", [], False),
        ("I want to kill myself", ["first"], False),
        ("third", [], True),
        ("hello", [], False),
    ]


DEV_TALKS = DEV.parent / "dev_conversations.yaml"


@pytest.mark.skipif(not DEV_TALKS.is_file(), reason="training data not in this checkout")
def test_dev_conversations_are_read_with_their_context() -> None:
    """The chain's way (ConversationSafety: the turns since the last crisis as context,
    alert after a flag). Turns alone caught
    48.5% of these crisis turns; with context 75.4% at 4.2% false alarms (the window and
    vigilant thresholds were chosen on this split, so these are floors, not estimates)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    detector = SemanticSafety.load()
    talks = yaml.safe_load(DEV_TALKS.read_text(encoding="utf-8"))["conversations"]
    caught: dict[bool, list[bool]] = {True: [], False: []}
    alone: list[bool] = []
    for talk in talks:
        watch = ConversationSafety(detector)
        for turn in talk:
            caught[turn["crisis"] != "none"].append(watch(turn["text"]) is not None)
            if turn["crisis"] != "none":
                alone.append(detector(turn["text"]) is not None)
    recall, alarms = np.mean(caught[True]), np.mean(caught[False])
    assert recall >= 0.72 and recall > np.mean(alone) + 0.2, (recall, np.mean(alone))
    assert alarms <= 0.05, alarms


def test_a_later_crisis_gets_the_follow_up_not_the_same_words_again() -> None:
    first = check_safety("I want to kill myself")
    later = check_safety("I want to kill myself", ["hi"], after_crisis=True)
    assert first is not None and later is not None
    assert later.category == first.category and later.response != first.response
    assert "988" in later.response or "emergency" in later.response
    assert (first.strategy, later.strategy) == ("Providing Suggestions", "Question")
    detector = SemanticSafety(_FakeEncoder(), threshold=0.0)
    assert detector("anything", after_crisis=True).response != detector("anything").response
