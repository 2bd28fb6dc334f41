"""Per-session memory within the LLM's budget: recent turns verbatim, older ones summarised,
and the facts the user shared (names, places, what they do), which are never dropped.

Recent turns are appended, never rewritten, so the LLM engine's prompt cache
keeps matching the conversation's prefix until the budget forces a summary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FACT_PATTERNS = (
    re.compile(r"\bmy name is ([a-z][a-z' -]{0,30}?)(?:[.,!?]|$| and)"),
    re.compile(r"\bi(?: am|'m) (\d{1,3}) years old\b"),
    re.compile(r"\bi (?:work|am working) as (?:an? )?([a-z][a-z -]{1,40}?)(?:[.,!?]|$| and)"),
    re.compile(r"\bi live in ([a-z][a-z -]{1,40}?)(?:[.,!?]|$| and)"),
    re.compile(
        r"\bmy ((?:wife|husband|partner|son|daughter|mother|mom|father|dad|sister|brother|"
        r"friend|boss|dog|cat)(?:'s name is| is called| named) [a-z]+)"
    ),
    re.compile(r"\bi have (?:a|an|two|three) ([a-z ]{2,30}?)(?:[.,!?]|$| and)"),
)
SUMMARY_WORDS = 14


@dataclass(slots=True)
class Exchange:
    user: str
    avatar: str = ""
    emotion: str = "neutral"
    strategy: str = ""
    prompt: str = ""
    """The user message as the LLM saw it (with its plan), so later prompts repeat it
    exactly and the engine's prompt cache keeps matching."""


@dataclass(slots=True)
class ConversationMemory:
    budget_chars: int = 2400
    """About 600 tokens: room for the static prefix and the reply in a 2k context."""
    recent: list[Exchange] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)

    def add_user(self, text: str, emotion: str) -> None:
        self.recent.append(Exchange(user=text, emotion=emotion))
        for pattern in FACT_PATTERNS:
            for match in pattern.finditer(text.lower()):
                fact = match.group(0).strip(" .,!?")
                if fact not in self.facts:
                    self.facts.append(fact)
        self._fit()

    def add_avatar(self, text: str, strategy: str) -> None:
        """What the avatar said (only the part the user heard, after an interrupt)."""
        if self.recent:
            self.recent[-1].avatar = text
            self.recent[-1].strategy = strategy

    def size(self) -> int:
        recent = sum(len(e.user) + len(e.avatar) for e in self.recent)
        return recent + sum(map(len, self.summary)) + sum(map(len, self.facts))

    def _fit(self) -> None:
        """Summarise the oldest exchanges, then drop the oldest summaries, until it fits."""
        while self.size() > self.budget_chars and len(self.recent) > 1:
            oldest = self.recent.pop(0)
            words = oldest.user.split()
            gist = " ".join(words[:SUMMARY_WORDS]) + ("..." if len(words) > SUMMARY_WORDS else "")
            self.summary.append(f"The user ({oldest.emotion}) said: {gist}")
        while self.size() > self.budget_chars and self.summary:
            self.summary.pop(0)
