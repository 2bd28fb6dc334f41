"""Cut a line into clauses so the first one can be heard while the rest is synthesized."""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?;:…])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,—–])\s+")
MIN_CLAUSE_WORDS = 3


def split_clauses(text: str) -> list[str]:
    """Sentences, and long sentences at their commas; tiny pieces stay with a neighbour.

    A clause shorter than `MIN_CLAUSE_WORDS` words is joined to the next one, so
    "Oh, I see." is one clause (no choppy prosody) while a long sentence with
    commas starts speaking after its first comma.
    """
    clauses: list[str] = []
    for sentence in _SENTENCE_END.split(" ".join(text.split())):
        pending = ""
        for piece in _CLAUSE_BREAK.split(sentence):
            pending = f"{pending} {piece}".strip()
            if len(pending.split()) >= MIN_CLAUSE_WORDS:
                clauses.append(pending)
                pending = ""
        if pending:
            if (
                clauses
                and len(pending.split()) < MIN_CLAUSE_WORDS
                and not _ends_sentence(clauses[-1])
            ):
                clauses[-1] = f"{clauses[-1]} {pending}"
            else:
                clauses.append(pending)
    return [c for c in clauses if any(ch.isalnum() for ch in c)]


def _ends_sentence(clause: str) -> bool:
    return clause[-1] in ".!?;:…"
