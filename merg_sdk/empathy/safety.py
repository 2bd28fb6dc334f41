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


@cache
def _table() -> tuple[list[tuple[str, str, re.Pattern[str]]], dict[str, str]]:
    spec = _SafetyFile.model_validate(
        yaml.safe_load((DATA_DIR / "safety.yaml").read_text(encoding="utf-8"))
    )
    missing = set(spec.categories) - set(spec.response)
    if missing:
        raise ValueError(f"safety.yaml has no response for {sorted(missing)}")
    patterns = [
        (name, category.severity, re.compile(pattern))
        for name, category in spec.categories.items()
        for pattern in category.patterns
    ]
    return patterns, spec.response


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces: how the patterns are written."""
    return " ".join(text.lower().replace("’", "'").replace("‘", "'").split())


def check_safety(text: str) -> SafetyFlag | None:
    """The first crisis category the text matches, or None."""
    patterns, responses = _table()
    lowered = normalise(text)
    for category, severity, pattern in patterns:
        match = pattern.search(lowered)
        if match:
            return SafetyFlag(category, severity, match.group(0), responses[category])
    return None
