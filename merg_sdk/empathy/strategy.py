"""Choosing a support strategy: its own component, so the LLM's favourite never wins by default.

LLMs asked for support collapse onto one preferred strategy (ESConv studies).
Here the strategy is chosen outside the LLM: each of ESConv's eight is scored
by how well it fits the conversation's stage and the user's need, and scores
of recently used strategies are discounted, so the conversation moves through
questions, reflection, reassurance and suggestions as a good helper's would.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from merg_sdk.empathy.tables import load_strategies

RECENT_WINDOW = 6  # replies remembered for the repetition discount
REPEAT_DISCOUNT = 0.55  # each recent use multiplies a strategy's score by this
IMMEDIATE_REPEAT_DISCOUNT = 0.5  # extra discount for the strategy used last turn
ACT_AFTER_TURNS = 4  # without other signals, a conversation turns to action by then
EXPLORE_TURNS = 2


@dataclass(frozen=True, slots=True)
class StrategyChoice:
    strategy: str
    stage: str
    scores: dict[str, float]
    """Every strategy's final score, for the `reasoning` message."""


class StrategySelector:
    """Per-session: remembers the stage and recent strategies."""

    def __init__(self) -> None:
        self._table = load_strategies().strategies
        self._recent: deque[str] = deque(maxlen=RECENT_WINDOW)
        self.turns = 0

    @property
    def strategies(self) -> tuple[str, ...]:
        return tuple(self._table)

    def stage(self, need: str, distress: float) -> str:
        """ESConv's stage: explore first, comfort while distress is high, act when asked."""
        if need in ("practical_help", "information"):
            return "act"
        if self.turns < EXPLORE_TURNS:
            return "explore"
        if distress > 0.5 or self.turns < ACT_AFTER_TURNS:
            return "comfort"
        return "act"

    def choose(self, need: str, distress: float) -> StrategyChoice:
        stage = self.stage(need, distress)
        scores: dict[str, float] = {}
        for name, spec in self._table.items():
            score = spec.stage_fit[stage] * spec.need_fit[need]
            score *= REPEAT_DISCOUNT ** self._recent.count(name)
            if self._recent and self._recent[-1] == name:
                score *= IMMEDIATE_REPEAT_DISCOUNT
            scores[name] = round(score, 4)
        best = max(scores, key=lambda name: (scores[name], -self.strategies.index(name)))
        self._recent.append(best)
        self.turns += 1
        return StrategyChoice(best, stage, scores)

    def guidance(self, strategy: str) -> str:
        return self._table[strategy].guidance


def distress_of(vad: tuple[float, float, float]) -> float:
    """0 (content, calm) .. 1 (very negative and agitated, or very low)."""
    valence, arousal, _ = vad
    negative = max(0.0, -valence)
    return min(1.0, negative * (0.6 + 0.4 * abs(arousal)) * 1.4)
