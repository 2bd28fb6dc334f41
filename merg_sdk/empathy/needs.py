"""What the user needs from this turn: asked-for help beats the feeling's default."""

from __future__ import annotations

import re
from functools import cache

from merg_sdk.empathy.tables import load_needs


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    table = load_needs()
    return [
        (need, re.compile(r"\b" + re.escape(phrase) + r"\b"))
        for need, phrases in table.phrases.items()
        for phrase in phrases
    ]


def infer_need(text: str, fine_emotion: str) -> tuple[str, str]:
    """(need, why): a matching phrase if any, else the fine emotion's usual need."""
    lowered = " ".join(text.lower().split())
    for need, pattern in _patterns():
        match = pattern.search(lowered)
        if match:
            return need, f'asked: "{match.group(0)}"'
    table = load_needs()
    if fine_emotion in table.by_fine_emotion:
        return table.by_fine_emotion[fine_emotion], f"usual need when feeling {fine_emotion}"
    return table.default, "no clear need"
