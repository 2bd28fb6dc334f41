"""The opener: a short acknowledgement spoken at once while the LLM writes the reply.

Human listeners answer within a few hundred milliseconds ("Oh no.") and then find
their words; a small CPU LLM needs most of a second for its first clause. The
opener covers that gap with something true whatever the LLM writes next: it
depends only on the user's emotion as read, and only when the reading is
confident; otherwise a neutral "Mm." Recent openers are not reused, so the
avatar does not sound canned.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping

from merg_sdk.empathy.tables import load_openers
from merg_sdk.perception.types import AffectState

#: Below this reading confidence the opener is neutral (`uncertain`).
MIN_CONFIDENCE = 0.45
#: A cheerful opener also needs clearly positive valence: misreading distress as joy
#: ("Oh, that's great!") costs far more than a neutral "Mm." when joy was right.
CHEERFUL = frozenset(("happy", "surprised", "caring"))
MIN_CHEERFUL_VALENCE = 0.2
RECENT_KEPT = 3


class OpenerPicker:
    """Per conversation: picks openers, remembering the last few it used."""

    def __init__(self, persona_openers: Mapping[str, tuple[str, ...]] | None = None) -> None:
        self._table = load_openers() | dict(persona_openers or {})
        self._recent: deque[str] = deque(maxlen=RECENT_KEPT)

    def pick(self, affect: AffectState, seed: int) -> str:
        key = affect.emotion if affect.confidence >= MIN_CONFIDENCE else "uncertain"
        if key in CHEERFUL and affect.vad[0] < MIN_CHEERFUL_VALENCE:
            key = "uncertain"
        lines = self._table.get(key) or self._table["uncertain"]
        fresh = [line for line in lines if line not in self._recent] or list(lines)
        choice = random.Random(seed).choice(fresh)
        self._recent.append(choice)
        return choice

    @property
    def last(self) -> str | None:
        return self._recent[-1] if self._recent else None
