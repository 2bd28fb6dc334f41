"""Crisis language: found in any turn, answered with care and real help, reported to the host.

Deliberately simple and transparent (patterns as data): a therapist can read
exactly what triggers it. Checked before the LLM sees anything, so a small
model can never be the one deciding how to answer someone in danger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import yaml
from pydantic import BaseModel, ConfigDict

from merg_sdk.empathy.tables import DATA_DIR


class _Category(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str
    patterns: list[str]
    unless: list[str] = []


class _SafetyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: dict[str, _Category]
    response: dict[str, str]


@dataclass(frozen=True, slots=True)
class SafetyFlag:
    category: str
    severity: str
    matched: str
    response: str


Rule = tuple[str, str, re.Pattern[str], list[re.Pattern[str]]]
CONTRACTIONS = (
    (re.compile(r"\b(he|she|it|that|there|someone|somebody|who|what)'s\b"), r"\1 is"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\b(you|we|they)'re\b"), r"\1 are"),
    (re.compile(r"\b(i|you|we|they|he|she)'ll\b"), r"\1 will"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bim\b"), "i am"),
)


@cache
def _table() -> tuple[list[Rule], dict[str, str]]:
    spec = _SafetyFile.model_validate(
        yaml.safe_load((DATA_DIR / "safety.yaml").read_text(encoding="utf-8"))
    )
    missing = set(spec.categories) - set(spec.response)
    if missing:
        raise ValueError(f"safety.yaml has no response for {sorted(missing)}")
    rules = [
        (name, category.severity, re.compile(pattern), [re.compile(u) for u in category.unless])
        for name, category in spec.categories.items()
        for pattern in category.patterns
    ]
    return rules, spec.response


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces, contractions expanded: how the
    patterns are written ("he's going to" and "he is going to" read the same)."""
    lowered = " ".join(text.lower().replace("’", "'").replace("‘", "'").split())
    for pattern, replacement in CONTRACTIONS:
        lowered = pattern.sub(replacement, lowered)
    return lowered


def check_safety(text: str) -> SafetyFlag | None:
    """The first crisis category the text matches, or None."""
    rules, responses = _table()
    lowered = normalise(text)
    for category, severity, pattern, unless in rules:
        match = pattern.search(lowered)
        if match and not any(u.search(lowered) for u in unless):
            return SafetyFlag(category, severity, match.group(0), responses[category])
    return None
