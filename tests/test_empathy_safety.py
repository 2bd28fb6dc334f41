"""Crisis language is always caught; everyday sadness and idioms are not alarms."""

from __future__ import annotations

import pytest

from merg_sdk.empathy.safety import check_safety

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
