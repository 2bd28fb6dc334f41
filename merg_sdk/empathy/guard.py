"""Guard rails for a small LLM's words, and a fallback that still realises the plan.

A 135M-parameter model drifts: it repeats itself, leaks its prompt ("User:",
"[plan]"), rambles, wanders off the subject, and could say something harmful.
Each clause is checked as it streams; the first bad clause ends the LLM's
part and the plan is completed from the persona's fallback phrasing.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from merg_sdk.empathy.tables import load_fallbacks

MAX_CLAUSE_WORDS = 40
MAX_REPLY_WORDS = 70
MAX_OVERLAP = 0.6  # share of a clause's word trigrams already said
MIN_RELEVANCE = 0.12  # cosine similarity of the first clause to the user's words
LEAKS = re.compile(
    r"(\buser\s*:|\bassistant\s*:|\bsystem\s*:|<\||\|>|\[|\]|\bplan\s*:|\bstrategy\s*:|"
    r"\bas an ai\b|\blanguage model\b|\bi am an ai\b|https?://|```|#|\*|\(|\)|^\s*-|"
    r"\bone to three\b|\bshort sentences\b|\bstage directions?\b|\bnever (gives|claims)\b)",
    re.IGNORECASE,
)
HARMFUL = re.compile(
    r"\b(kill (yourself|himself|herself|them)|cut yourself|hurt yourself|take (all|more) "
    r"(the |your )?(pills|tablets)|you should die|end your life|starve yourself|"
    r"you deserve (it|to suffer|pain))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    reason: str = ""


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"[a-z']+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


class ReplyGuard:
    """Checks one reply's clauses in order against the conversation so far."""

    def __init__(
        self,
        user_text: str,
        previous_replies: Sequence[str] = (),
        relevance: Callable[[str, str], float] | None = None,
    ) -> None:
        self._user_text = user_text
        self._said = (
            set().union(*(_trigrams(r) for r in previous_replies)) if previous_replies else set()
        )
        self._relevance = relevance
        self._words = 0
        self._clauses = 0

    def note(self, said: str) -> None:
        """Count words the avatar already said this turn (its opener) as said."""
        self._said |= _trigrams(said)

    @property
    def wants_relevance(self) -> bool:
        """Only the first clause is checked for being on topic."""
        return self._clauses == 0 and self._relevance is not None

    def check(self, clause: str) -> Verdict:
        words = clause.split()
        if not any(ch.isalpha() for ch in clause):
            return Verdict(False, "no words")
        if LEAKS.search(clause):
            return Verdict(False, "prompt or markup leaked")
        if HARMFUL.search(clause):
            return Verdict(False, "harmful content")
        if len(words) > MAX_CLAUSE_WORDS:
            return Verdict(False, "clause too long")
        if self._words + len(words) > MAX_REPLY_WORDS:
            return Verdict(False, "reply too long")
        if _repeats_itself(words):
            return Verdict(False, "repeats a word")
        grams = _trigrams(clause)
        if grams and len(grams & self._said) / len(grams) > MAX_OVERLAP:
            return Verdict(False, "repeats earlier words")
        first = self._clauses == 0
        if first and self._relevance and self._relevance(clause, self._user_text) < MIN_RELEVANCE:
            return Verdict(False, "off topic")
        self._said |= grams
        self._words += len(words)
        self._clauses += 1
        return Verdict(True)


def _repeats_itself(words: list[str]) -> bool:
    lowered = [w.lower().strip(".,!?;:") for w in words]
    return any(a == b == c for a, b, c in zip(lowered, lowered[1:], lowered[2:], strict=False))


SECOND_PERSON = {
    "i": "you", "me": "you", "my": "your", "mine": "yours", "myself": "yourself",
    "i'm": "you're", "im": "you're", "am": "are", "i've": "you've", "i'd": "you'd",
    "i'll": "you'll", "we": "you", "our": "your", "us": "you", "was": "were",
}  # fmt: skip


#: A cause that starts with one of these lost its subject ("I got the job" is read as
#: "got the job"); the fallback's sentence needs it back ("since you got the job").
SUBJECTLESS = frozenset(
    "just finally recently lost failed got won passed broke were had did made took "
    "left found went came fell gave heard met told".split()
)


def second_person(cause: str) -> str:
    """'my dog died' -> 'your dog died', 'got the job' -> 'you got the job': the user's
    words, said back to them as a clause."""
    words = [SECOND_PERSON.get(word.lower(), word) for word in cause.strip(" .,!?").split()]
    if words and words[0].lower() in SUBJECTLESS:
        words.insert(0, "you")
    text = " ".join(words)
    return text[:1].lower() + text[1:] if text else text


def fallback_reply(
    strategy: str, feeling: str, cause: str | None, seed: int, *, glad: bool = False
) -> str:
    """The strategy realised from the persona's stock phrasing, filled with this turn's facts;
    `glad` (the user's news is good) picks the lines written for good news, where there are."""
    table = load_fallbacks()
    lines = table.get(strategy) or table["Others"]
    options = lines.with_cause if cause else lines.without_cause
    if glad:
        options = (lines.glad_with_cause if cause else lines.glad_without_cause) or options
    template = random.Random(seed).choice(options)
    return template.format(feeling=feeling or "this way", cause=second_person(cause or ""))
