"""Crisis language: found in any turn, answered with care and real help, reported to the host.

Deliberately simple and transparent (patterns as data): a therapist can read
exactly what triggers it. Checked before the LLM sees anything, so a small
model can never be the one deciding how to answer someone in danger.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np
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


class SemanticSafety:
    """Patterns first; then meaning: a message whose embedding is near a crisis example
    (and nearer to it than to any everyday look-alike) is flagged too, so unusual
    wordings of a crisis are not missed. `encode` maps a text to a unit vector."""

    THRESHOLD = 0.5  # cosine to the nearest crisis example
    MARGIN = 0.03  # how much nearer to crisis than to the nearest look-alike

    def __init__(self, encode: Callable[[str], np.ndarray]) -> None:
        spec = yaml.safe_load((DATA_DIR / "safety_prototypes.yaml").read_text(encoding="utf-8"))
        self._encode = encode
        self._labels = [c for c, texts in spec["crisis"].items() for _ in texts]
        self._crisis = np.stack(
            [_unit(encode(t)) for texts in spec["crisis"].values() for t in texts]
        )
        self._safe = np.stack([_unit(encode(t)) for t in spec["safe"]])
        _, self._responses = _table()

    def __call__(self, text: str) -> SafetyFlag | None:
        flag = check_safety(text)
        if flag is not None or not text.strip():
            return flag
        vector = _unit(self._encode(text))
        crisis = self._crisis @ vector
        best = int(np.argmax(crisis))
        if (
            crisis[best] >= self.THRESHOLD
            and crisis[best] - float(np.max(self._safe @ vector)) >= self.MARGIN
        ):
            category = self._labels[best]
            return SafetyFlag(category, "high", f"~{crisis[best]:.2f}", self._responses[category])
        return None


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    return v / (float(np.linalg.norm(v)) + 1e-9)
