"""Tokens for the lexical cue scanner and the cause extractor.

Chat text is untidy: "dont", curly apostrophes, "sooo", emoji, ":(" . The
tokenizer keeps each token's offsets so cues and causes can quote the user's
own words, and normalises only what matching needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(
    r"(?P<emoticon>:'\(|<3|[:;=]-?[()DPp/])"
    r"|(?P<word>[^\W_]+(?:'[^\W_]+)*)"
    r"|(?P<punct>[.!?;]+)"
    r"|(?P<other>[^\s\w][\ufe0f\U0001f3fb-\U0001f3ff]?)"
)
# "dont" -> "don't": stems that take "n't"
_CONTRACTED = frozenset(
    "do does did ca is was wo would could should are have has were ai need must might".split()
)
_SCOPE_BREAK = frozenset("but though although however yet".split())
_STRETCHED = re.compile(r"([a-z])\1{2,}")


@dataclass(frozen=True, slots=True)
class Token:
    """A token of the input: `norm` for matching, `raw` and offsets as written."""

    norm: str
    raw: str
    start: int
    end: int
    kind: str  # word | emoticon | punct | other

    @property
    def breaks_clause(self) -> bool:
        """Sentence punctuation and contrast words end a negation's or modifier's reach."""
        return self.kind == "punct" or self.norm in _SCOPE_BREAK


def normalise(word: str) -> tuple[str, bool]:
    """Lower case, "dont" -> "don't", "sooo" -> "so"; True when letters were stretched."""
    low = word.lower()
    if low.endswith("nt") and low[:-2] in _CONTRACTED:
        return low[:-2] + "n't", False
    squeezed = _STRETCHED.sub(r"\1", low)
    return squeezed, squeezed != low


def tokenize(text: str) -> tuple[list[Token], int]:
    """Tokens of `text` (curly apostrophes unified) and how many words were stretched."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    tokens: list[Token] = []
    stretched = 0
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        raw = m.group()
        norm, was_stretched = normalise(raw) if kind == "word" else (raw.lower(), False)
        stretched += was_stretched
        tokens.append(Token(norm, raw, m.start(), m.end(), kind))
    return tokens, stretched


def text_of(tokens: list[Token], i: int, size: int) -> str:
    """The words of tokens[i : i + size] as the user wrote them, single-spaced."""
    return " ".join(t.raw for t in tokens[i : i + size])
