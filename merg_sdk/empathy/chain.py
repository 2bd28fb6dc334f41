"""The chain of empathy for one turn: emotion -> cause -> need -> strategy -> avatar emotion.

Each link is a small component with its reasons recorded, so the `reasoning`
message shows a therapist or a designer exactly why the avatar answered as it
did. The LLM only verbalises the finished plan.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

from merg_sdk.empathy.avatar_affect import AvatarAffect, AvatarEmotion
from merg_sdk.empathy.memory import ConversationMemory
from merg_sdk.empathy.needs import infer_need
from merg_sdk.empathy.openers import OpenerPicker
from merg_sdk.empathy.persona import Persona
from merg_sdk.empathy.safety import ConversationSafety, SafetyCheck, SafetyFlag, check_safety
from merg_sdk.empathy.strategy import StrategySelector, distress_of
from merg_sdk.empathy.tables import load_needs, load_strategies
from merg_sdk.perception.types import AffectState


@dataclass(frozen=True, slots=True)
class ReplyPlan:
    user: AffectState
    feeling: str
    need: str
    need_reason: str
    stage: str
    strategy: str
    guidance: str
    avatar: AvatarEmotion
    safety: SafetyFlag | None = None
    scores: dict[str, float] = field(default_factory=dict)
    opener: str | None = None
    """Said at once, before the LLM's words (openers.py); None for crisis replies."""

    def note(self) -> str:
        """The plan as the LLM reads it, short enough to keep the per-turn prompt small."""
        cause = f" about {self.user.cause}" if self.user.cause else ""
        return (
            f"They feel {self.feeling}{cause} and need {self.need.replace('_', ' ')}. "
            f"{self.guidance} You feel {self.avatar.emotion}."
        )

    def reasoning(self) -> dict[str, Any]:
        """The chain as the `reasoning` message carries it."""
        return {
            "user_emotion": self.user.emotion,
            "fine_emotion": self.user.fine_emotion,
            "cause": self.user.cause,
            "need": self.need,
            "need_reason": self.need_reason,
            "stage": self.stage,
            "strategy": self.strategy,
            "strategy_scores": self.scores,
            "avatar_emotion": self.avatar.emotion,
            "avatar_intensity": self.avatar.intensity,
            "avatar_vad": list(self.avatar.vad),
            "safety": self.safety.category if self.safety else None,
            "opener": self.opener,
        }


class EmpathyChain:
    """Per session: the persona, its memory, its strategy history and its own emotion."""

    def __init__(
        self,
        persona: Persona,
        safety: SafetyCheck = check_safety,
        *,
        openers: bool = True,
    ) -> None:
        self.persona = persona
        self.openers = OpenerPicker(persona.openers) if openers else None
        self.crisis_watch = ConversationSafety(safety)
        self.memory = ConversationMemory()
        self.selector = StrategySelector()
        self.affect = AvatarAffect(persona)

    def plan(self, text: str, user: AffectState) -> ReplyPlan:
        feeling = load_needs().feeling_words.get(user.fine_emotion, user.fine_emotion)
        self.memory.add_user(text, user.emotion)
        flag = self.crisis_watch(text)
        if flag is not None:
            emotion = (
                "caring" if "caring" in self.persona.emotions else self.persona.resting_emotion
            )
            avatar = AvatarEmotion(emotion, 0.8, self.affect.name(self.affect.vad).vad)
            fit = load_strategies().strategies[flag.strategy].stage_fit
            return ReplyPlan(
                user, feeling, "safety", f"crisis language: {flag.matched!r}",
                max(fit, key=fit.__getitem__), flag.strategy, flag.response, avatar, flag,
            )  # fmt: skip
        need, why = infer_need(text, user.fine_emotion)
        choice = self.selector.choose(need, distress_of(user.vad))
        avatar = self.affect.step(user.vad, choice.strategy)
        seed = zlib.crc32(f"{text}/{self.selector.turns}".encode())
        opener = self.openers.pick(user, seed) if self.openers else None
        return ReplyPlan(
            user, feeling, need, why, choice.stage, choice.strategy,
            self.selector.guidance(choice.strategy), avatar, None, choice.scores, opener,
        )  # fmt: skip

    def heard(self, text: str, strategy: str) -> None:
        """Remember what the user actually heard of the reply (all of it, or up to a barge-in).

        The opener is left out: the LLM would learn from its own history to open with
        "Mm." too, and the guard would count it as repetition.
        """
        opener = self.openers.last if self.openers else None
        if opener and text.startswith(opener):
            text = text[len(opener) :].lstrip()
        self.memory.add_avatar(text, strategy)
