"""The reply for a plan, clause by clause as the LLM writes it, guarded, with a fallback.

The first clause leaves as soon as the LLM finishes it, so speech starts while
the model still writes. A clause the guard rejects, an LLM error or a stall
ends the model's part; the plan is then completed from the persona's fallback
phrasing, so the avatar always answers, and says something that fits.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from merg_sdk.empathy.chain import EmpathyChain, ReplyPlan
from merg_sdk.empathy.guard import ReplyGuard, fallback_reply
from merg_sdk.empathy.llm.base import GenerationConfig, LanguageModel, LLMError
from merg_sdk.empathy.prompt import build_messages

_CLAUSE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[.!?;])$")
_FIRST_CLAUSE_BREAK = re.compile(r"(?<=,)\s+")
FIRST_CLAUSE_MIN_WORDS = 4  # a first clause may end at a comma, to start speaking sooner
MAX_CLAUSES = 3
MAX_SKIPPED = 1
GLAD_VALENCE = 0.3  # the user's valence from which a fallback meets good news as good news
ECHO_WINDOW = 6  # the LLM's first words that may not repeat the opener
INTERJECTIONS = frozenset("oh mm mmm hmm okay ok ugh aw whoa wow right i see sure well ah".split())
REPEATED = "repeats earlier words"
OFF_TOPIC = "off topic"
STOCK_LEAD_IN_WORDS = 6


@dataclass(frozen=True, slots=True)
class ReplyClause:
    text: str
    source: str  # "llm", "fallback" or "safety"


@dataclass(slots=True)
class ReplyOutcome:
    """What happened while composing, for `turn.end` stats and the host's logs."""

    llm_error: LLMError | None = None
    rejected: str | None = None
    clauses: int = 0
    fallback: bool = False
    """The persona's fallback spoke (the LLM failed, or nothing it wrote passed)."""


class ClauseSplitter:
    """Text deltas in, complete clauses out (the rest kept until more text arrives)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._emitted = 0

    def push(self, delta: str) -> list[str]:
        self._buffer += delta
        clauses: list[str] = []
        while True:
            match = _CLAUSE_END.search(self._buffer)
            if match is None and self._emitted == 0:
                match = _first_break(self._buffer)
            if match is None or match.end() == 0:
                return clauses
            clause, self._buffer = self._buffer[: match.start()], self._buffer[match.end() :]
            if clause.strip():
                clauses.append(clause.strip())
                self._emitted += 1

    def finish(self) -> list[str]:
        rest, self._buffer = self._buffer.strip(), ""
        return [rest] if rest else []


def _first_break(text: str) -> re.Match[str] | None:
    for match in _FIRST_CLAUSE_BREAK.finditer(text):
        if len(text[: match.start()].split()) >= FIRST_CLAUSE_MIN_WORDS:
            return match
    return None


async def compose_reply(
    plan: ReplyPlan,
    chain: EmpathyChain,
    llm: LanguageModel | None,
    user_text: str,
    outcome: ReplyOutcome,
    *,
    generation: GenerationConfig | None = None,
    relevance: Callable[[str, str], float] | None = None,
) -> AsyncIterator[ReplyClause]:
    """Yield the reply's clauses; never raises for LLM trouble (see `outcome`)."""
    if plan.safety is not None:
        outcome.clauses = 1
        yield ReplyClause(plan.safety.response, "safety")
        return
    previous = [e.avatar for e in chain.memory.recent if e.avatar]
    scores: dict[str, float] = {}  # relevance is embedded in a worker thread, then looked up
    guard = ReplyGuard(user_text, previous, (lambda c, _: scores[c]) if relevance else None)
    loop = asyncio.get_running_loop()

    async def check(clause: str) -> bool:
        if relevance is not None and guard.wants_relevance and clause not in scores:
            scores[clause] = await loop.run_in_executor(None, relevance, clause, user_text)
        return _accept(guard, clause, outcome)

    if plan.opener:
        guard.note(plan.opener)  # the LLM's own "I'm so sorry" after it is then skipped
        yield ReplyClause(plan.opener, "opener")
    spoken = 0
    skipped = 0
    if llm is not None:
        messages = build_messages(chain.persona, chain.memory, user_text, plan.note())
        stream = llm.stream(messages, generation or GenerationConfig(max_tokens=80))
        splitter = ClauseSplitter()
        try:
            async with contextlib.aclosing(stream):
                async for delta in stream:
                    for clause in splitter.push(delta):
                        if spoken == 0 and skipped < MAX_SKIPPED and echoes(plan.opener, clause):
                            skipped += 1  # "Oh, I'm so sorry." then "I'm so sorry to hear..."
                            continue
                        if not await check(clause):
                            if _skippable(outcome, spoken, skipped, clause):
                                skipped += 1  # a stock first phrase: drop it, keep listening
                                continue
                            raise _Rejected
                        spoken += 1
                        yield ReplyClause(clause, "llm")
                        if spoken >= MAX_CLAUSES:
                            raise _Rejected
            for clause in splitter.finish():
                if await check(clause):
                    spoken += 1
                    yield ReplyClause(clause, "llm")
        except _Rejected:
            pass
        except LLMError as error:
            outcome.llm_error = error
    if spoken == 0:
        seed = zlib.crc32(f"{user_text}/{chain.selector.turns}".encode())
        feeling, cause = plan.feeling, plan.user.cause
        spoken = 1
        outcome.fallback = True
        glad = plan.user.vad[0] >= GLAD_VALENCE
        yield ReplyClause(
            fallback_reply(plan.strategy, feeling, cause, seed, glad=glad), "fallback"
        )
    outcome.clauses = spoken


def echoes(opener: str | None, clause: str) -> bool:
    """Does the clause say the opener again (any two of its words in a row, or nothing
    but interjections: "Mm, okay.")?"""
    if not opener:
        return False
    head = _words(clause)[:ECHO_WINDOW]
    if all(word in INTERJECTIONS for word in head):
        return True
    core = [w for w in _words(opener) if w not in INTERJECTIONS]
    pairs = set(itertools.pairwise(head))
    return any(pair in pairs for pair in itertools.pairwise(core))


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _skippable(outcome: ReplyOutcome, spoken: int, skipped: int, clause: str = "") -> bool:
    """Small models open with the same phrase every turn ("I'm so sorry to hear that") or
    with a short stock lead-in that names nothing of the user's words ("I see, I
    understand your perspective,"); the first such clause is dropped rather than ending
    the LLM's part. A long off-topic clause still ends it."""
    rejected = outcome.rejected or ""
    stock = rejected.startswith(REPEATED) or (
        rejected.startswith(OFF_TOPIC) and len(_words(clause)) <= STOCK_LEAD_IN_WORDS
    )
    return stock and spoken == 0 and skipped < MAX_SKIPPED


class _Rejected(Exception):
    """The LLM's part is over (a clause failed the guard, or the reply is long enough)."""


def _accept(guard: ReplyGuard, clause: str, outcome: ReplyOutcome) -> bool:
    verdict = guard.check(clause)
    if not verdict.ok:
        outcome.rejected = f"{verdict.reason}: {clause[:80]!r}"
    return verdict.ok
