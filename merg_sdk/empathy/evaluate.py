"""`merg evaluate-empathy`: the chain of empathy measured on a labelled set of conversations.

The set (data/evaluation.yaml) is conversations of about five user turns, each
turn labelled with the user's emotion, their need and a crisis category. Each
conversation runs with its own EmpathyChain, as a session would: the text
reader gets the two previous user turns as context, the LLM sees the history,
and the chain hears each reply. The numbers and tables are in `evaluate_report`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Literal
from unittest import mock

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from rich.console import Console

from merg_sdk.empathy import responder
from merg_sdk.empathy.evaluate_report import TurnRecord, print_report, save_json, summarise
from merg_sdk.empathy.guard import ReplyGuard, Verdict
from merg_sdk.empathy.llm.base import ChatMessage, GenerationConfig, LanguageModel
from merg_sdk.empathy.tables import DATA_DIR, load_needs
from merg_sdk.perception.types import MOTION_EMOTIONS
from merg_sdk.server.conversation import CONTEXT_TURNS, Mind, load_mind

DATA_PATH = DATA_DIR / "evaluation.yaml"
EXAMPLE_PERSONAS = Path(__file__).resolve().parents[2] / "examples" / "personas"
STOP = ("\n\n", "User:", "<|im_end|>")
Crisis = Literal["none", "suicide", "self_harm", "abuse", "danger"]


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=2, max_length=400)
    emotion: str
    need: str
    crisis: Crisis = "none"
    hard: bool = False
    """A non-crisis turn sharing words with crisis language (false alarms come from these)."""
    readers: tuple[str, ...] = ()
    """The emotion other readers gave the turn on their own: how far people agree."""

    @model_validator(mode="after")
    def _consistent(self) -> Turn:
        if self.emotion not in MOTION_EMOTIONS or set(self.readers) - set(MOTION_EMOTIONS):
            raise ValueError(f"emotions must be one of {', '.join(MOTION_EMOTIONS)}")
        if self.need not in load_needs().needs:
            raise ValueError(f"need must be one of {', '.join(load_needs().needs)}")
        if (self.need == "safety") != (self.crisis != "none"):
            raise ValueError("need is `safety` exactly when the turn is a crisis")
        if self.hard and self.crisis != "none":
            raise ValueError("a hard case is a non-crisis turn")
        return self


class Conversation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    persona: str = "companion"
    turns: list[Turn] = Field(min_length=1, max_length=8)


class EvaluationSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    conversations: list[Conversation] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> EvaluationSet:
        ids = [c.id for c in self.conversations]
        texts = [" ".join(t.text.lower().split()) for t in self.turns()]
        if len(set(ids)) != len(ids) or len(set(texts)) != len(texts):
            raise ValueError("conversation ids and turn texts must be unique")
        return self

    def turns(self) -> list[Turn]:
        return [turn for c in self.conversations for turn in c.turns]

    def head(self, limit: int | None) -> EvaluationSet:
        """The first `limit` turns, conversations cut where the limit falls."""
        if limit is None:
            return self
        kept: list[Conversation] = []
        for c in self.conversations:
            left = limit - sum(len(k.turns) for k in kept)
            if left <= 0:
                break
            kept.append(c.model_copy(update={"turns": c.turns[:left]}))
        return self.model_copy(update={"conversations": kept})


def load_evaluation_set(path: Path | None = None) -> EvaluationSet:
    data = yaml.safe_load((path or DATA_PATH).read_text(encoding="utf-8"))
    return EvaluationSet.model_validate(data)


class _TimedLLM:
    """Passes the stream through, timing its first delta and its end (finished or cut)."""

    def __init__(self, llm: LanguageModel) -> None:
        self.llm, self.name = llm, llm.name
        self.first_ms: float | None = None
        self.full_ms: float | None = None

    async def stream(
        self, messages: Sequence[ChatMessage], config: GenerationConfig | None = None
    ) -> AsyncIterator[str]:
        start = time.perf_counter()
        try:
            async with contextlib.aclosing(self.llm.stream(messages, config)) as inner:
                async for delta in inner:
                    if self.first_ms is None:
                        self.first_ms = (time.perf_counter() - start) * 1000
                    yield delta
        finally:
            self.full_ms = (time.perf_counter() - start) * 1000


class _TimedGuard(ReplyGuard):
    spent_ms = 0.0  # the guard's checks in the current turn, summed

    def check(self, clause: str) -> Verdict:
        start = time.perf_counter()
        try:
            return super().check(clause)
        finally:
            _TimedGuard.spent_ms += (time.perf_counter() - start) * 1000


def load_evaluation_mind(*, use_llm: bool = True) -> Mind:
    """The server's mind (with the example personas when present); no LLM when not used."""
    from merg_sdk.empathy.persona import PersonaLibrary
    from merg_sdk.empathy.safety import SemanticSafety
    from merg_sdk.perception.text_affect import TextAffect
    from merg_sdk.server.config import EmpathyConfig

    dirs = (EXAMPLE_PERSONAS,) if EXAMPLE_PERSONAS.is_dir() else ()
    config = EmpathyConfig(persona_dirs=dirs)
    if use_llm:
        return load_mind(config)
    text_affect = TextAffect.load(threads=1)
    text_affect.warm_up()
    safety = SemanticSafety.load(minilm=text_affect.encoder)  # the server's check
    return Mind(text_affect, None, PersonaLibrary(list(dirs)), config, safety)


def _persona(mind: Mind, conversation: Conversation) -> str | None:  # None: the default
    return conversation.persona if conversation.persona in mind.personas.ids else None


async def _run_conversation(mind: Mind, conversation: Conversation) -> list[TurnRecord]:
    chain = mind.chain(_persona(mind, conversation))
    cfg = mind.config  # the generation server/conversation.py reply_lines asks for
    generation = GenerationConfig(
        cfg.max_reply_tokens, cfg.temperature, timeout_s=cfg.first_token_timeout_s, stop=STOP
    )
    records = []
    for turn in conversation.turns:
        context = [e.user for e in chain.memory.recent[-CONTEXT_TURNS:]]
        start = time.perf_counter()
        affect = mind.text_affect.analyze(turn.text, context)
        analysed = time.perf_counter()
        plan = chain.plan(turn.text, affect)
        ms = {"perception": analysed - start, "plan": time.perf_counter() - analysed}
        ms = {stage: seconds * 1000 for stage, seconds in ms.items()}
        llm = _TimedLLM(mind.llm) if mind.llm is not None else None
        outcome, _TimedGuard.spent_ms = responder.ReplyOutcome(), 0.0
        replying = responder.compose_reply(
            plan, chain, llm, turn.text, outcome, generation=generation, relevance=mind.relevance
        )
        clauses = [clause async for clause in replying]
        reply = " ".join(c.text for c in clauses)
        chain.heard(reply, plan.strategy)
        if llm is not None and llm.full_ms is not None:
            ms |= {"llm_reply": llm.full_ms, "guard": _TimedGuard.spent_ms}
            ms |= {"llm_first_token": llm.first_ms} if llm.first_ms is not None else {}
        flag, error = plan.safety, outcome.llm_error
        records.append(
            TurnRecord(
                conversation.id, turn, affect.emotion, plan.need, plan.strategy,
                flag and flag.category, flag and flag.matched, reply,
                tuple(c.source for c in clauses), outcome.rejected, error and error.code.value, ms,
            )
        )  # fmt: skip
    return records


def time_first_audio(mind: Mind, turns: Sequence[tuple[str | None, str]]) -> dict[str, list[float]]:
    """`user.text` -> first AudioChunk at a real client, in ms, one fresh session per turn.

    `first_audio` is the opener's; `first_words` the first audio after the first reply
    clause that is not the opener (the LLM's words, or the fallback's).
    """
    from merg_sdk.client import AudioChunk, MergClient, ReplyText
    from merg_sdk.server import ServerConfig, ServerThread

    timings: dict[str, list[float]] = {"first_audio": [], "first_words": []}
    server = ServerThread(ServerConfig(port=0, hearing={"enabled": False}), mind=mind)
    with server, MergClient(server.endpoint, timeout_s=120) as client:
        for index, (persona, text) in enumerate([turns[0], *turns]):
            session = client.open_session(avatar=persona)
            sent = time.perf_counter()
            first: dict[str, float] = {}
            words = False
            for event in session.send_text(text):
                if isinstance(event, ReplyText) and event.text and event.source != "opener":
                    words = True
                if isinstance(event, AudioChunk):
                    first.setdefault("first_audio", time.perf_counter())
                    if words:
                        first.setdefault("first_words", time.perf_counter())
            if index:  # the first pass only warms up
                for stage, at in first.items():
                    timings[stage].append((at - sent) * 1000)
            session.close()
    return timings


def run_evaluation(
    *,
    use_llm: bool = True,
    limit: int | None = None,
    e2e: int = 8,
    json_path: Path | None = None,
    console: Console | None = None,
    mind: Mind | None = None,
    path: Path | None = None,
    show_items: bool = False,
) -> dict:
    """Run the set (or its first `limit` turns), print the tables, return the metrics.

    `e2e` non-crisis turns, spread over the set, are also sent through a real server.
    `path` names another set in the same form (default: data/evaluation.yaml).
    `show_items` prints the texts of the safety errors (the JSON always has them).
    """
    console = console or Console()
    dataset = load_evaluation_set(path).head(limit)
    load_before = os.getloadavg()
    if mind is None:
        with console.status("loading perception" + (" and the LLM" if use_llm else "")):
            mind = load_evaluation_mind(use_llm=use_llm)
    records: list[TurnRecord] = []
    talks = dataset.conversations
    with mock.patch.object(responder, "ReplyGuard", _TimedGuard), console.status("") as status:
        for index, conversation in enumerate(talks, 1):
            status.update(f"conversation {index}/{len(talks)}: {conversation.id}")
            records += asyncio.run(_run_conversation(mind, conversation))
    calm = [(_persona(mind, c), t.text) for c in talks for t in c.turns if t.crisis == "none"]
    picked = calm[:: max(1, len(calm) // e2e)][:e2e] if e2e > 0 else []
    with console.status(f"timing {len(picked)} turns through a server"):
        e2e_ms = time_first_audio(mind, picked) if picked else {}
    summary = summarise(records, e2e_ms, use_llm=use_llm, load=(load_before, os.getloadavg()))
    print_report(summary, console, show_items=show_items)
    if json_path is not None:
        save_json(summary, json_path)
        console.print(f"metrics saved to {json_path}")
    return summary
