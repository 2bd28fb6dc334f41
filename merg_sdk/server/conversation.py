"""A `user.text` turn wired from the stages: perception -> chain of empathy -> LLM -> lines.

The lines then go through the same speech and motion path as a `say`, so the
first clause is spoken while the LLM still writes the rest. Heavy reads
(sentence embeddings) run in the thread pool; the LLM streams from its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from merg_sdk.empathy.chain import EmpathyChain
from merg_sdk.empathy.llm.base import GenerationConfig, LanguageModel
from merg_sdk.empathy.persona import Persona, PersonaLibrary, parse_persona
from merg_sdk.empathy.responder import ReplyOutcome, compose_reply
from merg_sdk.empathy.safety import SafetyCheck, SemanticSafety, check_safety
from merg_sdk.perception.types import AffectState, fuse
from merg_sdk.protocol import (
    Error,
    ErrorCode,
    Message,
    Reasoning,
    Safety,
    UserAffect,
    UserTranscript,
)
from merg_sdk.server.config import EmpathyConfig
from merg_sdk.server.turns import Line
from merg_sdk.speech.clauses import split_clauses

CONTEXT_TURNS = 2  # earlier user turns the text reader may lean on


@dataclass(slots=True)
class Mind:
    """The server-wide models the empathy path needs, loaded once and shared."""

    text_affect: Any  # merg_sdk.perception.text_affect.TextAffect
    llm: LanguageModel | None
    personas: PersonaLibrary
    config: EmpathyConfig
    safety: SafetyCheck = check_safety
    """Crisis check: patterns, then meaning (SemanticSafety on the text encoder)."""

    def chain(self, avatar: str | dict[str, Any] | None) -> EmpathyChain:
        persona = self.persona_for(avatar)
        return EmpathyChain(persona, safety=self.safety, openers=self.config.opener)

    def persona_for(self, avatar: str | dict[str, Any] | None) -> Persona:
        """`session.open`'s avatar: a profile id, an inline profile, or the default."""
        if avatar is None:
            return self.personas.get(self.config.default_persona)
        if isinstance(avatar, str):
            return self.personas.get(avatar)
        return parse_persona(avatar)

    def relevance(self, reply: str, user_text: str) -> float:
        """Cosine similarity of two texts' sentence embeddings (for the off-topic guard)."""
        encoder = self.text_affect.encoder
        a, b = encoder.encode_one(reply), encoder.encode_one(user_text)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def load_mind(config: EmpathyConfig) -> Mind:
    """Load and warm everything (blocking: run it in a thread before serving)."""
    from merg_sdk.empathy.llm.base import ChatMessage
    from merg_sdk.empathy.llm.factory import create_language_model
    from merg_sdk.empathy.prompt import system_prompt
    from merg_sdk.perception.text_affect import TextAffect

    personas = PersonaLibrary(list(config.persona_dirs))
    text_affect = TextAffect.load(threads=1)  # more torch threads spin against synthesis
    text_affect.warm_up()
    llm = create_language_model(config.llm)
    default = personas.get(config.default_persona)
    llm.warm_up([ChatMessage("system", system_prompt(default))])
    safety = SemanticSafety.load(minilm=text_affect.encoder)
    return Mind(text_affect, llm, personas, config, safety)


async def reply_lines(
    mind: Mind,
    chain: EmpathyChain,
    sid: str,
    turn: int,
    text: str,
    *,
    executor: Executor,
    emit: Callable[[Message], Awaitable[None]],
    outcome: ReplyOutcome,
    other_readings: Sequence[AffectState] = (),
) -> AsyncIterator[Line]:
    """Read the user, plan, tell the client why, then yield the reply clause by clause.

    `other_readings` (the voice's, the face's) are fused with the words' by confidence.
    """
    loop = asyncio.get_running_loop()
    context = [e.user for e in chain.memory.recent[-CONTEXT_TURNS:]]
    read: AffectState = await loop.run_in_executor(
        executor, mind.text_affect.analyze, text, context
    )
    readings = [read, *other_readings]
    affect = fuse(readings) if len(readings) > 1 else read
    await emit(_user_affect(sid, turn, affect, readings))
    # off the loop: the crisis check runs MiniLM on the turn's segments and its window
    plan = await loop.run_in_executor(executor, chain.plan, text, affect)
    await emit(Reasoning(sid=sid, turn=turn, chain=plan.reasoning()))
    if plan.safety is not None:
        flag = plan.safety
        await emit(Safety(sid, turn, flag.category, flag.severity, flag.matched))
    config = mind.config
    generation = GenerationConfig(
        max_tokens=config.max_reply_tokens,
        temperature=config.temperature,
        timeout_s=config.first_token_timeout_s,
        stop=("\n\n", "User:", "<|im_end|>"),
    )
    clauses = compose_reply(
        plan,
        chain,
        mind.llm,
        text,
        outcome,
        generation=generation,
        relevance=mind.relevance,
    )
    avatar = plan.avatar
    async for clause in clauses:
        for piece in split_clauses(clause.text):  # long sentences start speaking sooner
            intensity = max(avatar.intensity, 0.3)
            yield Line(piece, avatar.emotion, intensity, plan.strategy, source=clause.source)
    if outcome.llm_error is not None:
        await emit(
            Error(
                code=ErrorCode.UPSTREAM_FAILED.value,
                message=f"LLM {outcome.llm_error.code.value}: the avatar used its fallback",
                sid=sid,
            )
        )


async def audio_reply_lines(
    mind: Mind,
    chain: EmpathyChain,
    sid: str,
    turn: int,
    text: str,
    utterance: Any,
    *,
    executor: Executor,
    emit: Callable[[Message], Awaitable[None]],
    outcome: ReplyOutcome,
    voice: Callable[[np.ndarray, str], AffectState] | None = None,
    face: AffectState | None = None,
) -> AsyncIterator[Line]:
    """A `user.audio` turn: the final transcript first, then as `user.text` with the
    voice's reading (and the face's, when the client sends `user.face`) fused in."""
    await emit(UserTranscript(sid, utterance.number, text, final=True, turn=turn))
    readings = [face] if face is not None else []
    audio = utterance.audio
    if voice is not None and audio is not None and len(audio):
        loop = asyncio.get_running_loop()
        readings.insert(0, await loop.run_in_executor(executor, voice, audio, text))
    lines = reply_lines(
        mind, chain, sid, turn, text, executor=executor, emit=emit, outcome=outcome,
        other_readings=readings,
    )  # fmt: skip
    async for line in lines:
        yield line


def _reading(affect: AffectState) -> dict[str, Any]:
    return {
        "emotion": affect.emotion,
        "vad": [round(v, 3) for v in affect.vad],
        "confidence": round(affect.confidence, 3),
    }


def _user_affect(
    sid: str, turn: int, affect: AffectState, readings: Sequence[AffectState]
) -> UserAffect:
    return UserAffect(
        sid=sid,
        turn=turn,
        emotion=affect.emotion,
        vad=[round(v, 3) for v in affect.vad],
        confidence=round(affect.confidence, 3),
        by={str(r.by): _reading(r) for r in readings},
        fine_emotion=affect.fine_emotion,
        cause=affect.cause,
    )
