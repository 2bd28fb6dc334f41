"""Lexical cues: the words a sentence embedding under-weights.

all-MiniLM-L6-v2 places "I'm happy" and "I'm not happy" close together: it
reads what a sentence is about far better than its polarity. This module
scans the words for what the embedding misses: negation scopes ("not",
"never", "n't" over the next few words), intensifiers and diminishers, hedges,
exclamations and capitals, and emotion words with a VAD point (emoji too), and
reports each as a `Cue`. The reader combines it with the embedding.

Limits (rule based on purpose): negation reaches at most 4 words forward
within a clause and never backwards ("happy? not really" is missed); sarcasm
and irony are not detected; words missing from the lexicon carry no cue.
"""

from __future__ import annotations

from dataclasses import dataclass

from merg_sdk.perception.tables import LexiconTables
from merg_sdk.perception.tokens import Token, text_of, tokenize
from merg_sdk.perception.types import Cue, CueKind

_NOT_CAPS = frozenset("OK TV ID US UK AM PM OMG LOL".split())
NEGATION_REACH = 4  # words a negator reaches forward
MODIFIER_REACH = 3  # words an intensifier or diminisher reaches forward
_MAX_PHRASE = 4
# "so I left", "too." and "really?" are not intensifiers: one must precede a content word
_NOT_INTENSIFIED = frozenset(
    "i we you he she they it that this the a an my what if then far on to and or many".split()
)


@dataclass(frozen=True, slots=True)
class Hit:
    """An emotion word with its VAD after negation and intensity were applied."""

    word: str
    group: str  # fine emotion or tables.GENERAL
    vad: tuple[float, float, float]
    negated: bool
    scale: float
    index: int
    strength: float  # how emotional the word itself is: weak words ("okay") count little


@dataclass(frozen=True, slots=True)
class Scan:
    """Everything the lexicon found in one text."""

    tokens: tuple[Token, ...]
    hits: tuple[Hit, ...]
    cues: tuple[Cue, ...]
    intensity: float  # sentence level: > 1 more intense, < 1 toned down
    hedges: int
    has_words: bool


def _is_negator(norm: str, tables: LexiconTables) -> bool:
    return norm in tables.negators or norm.endswith("n't")


def _lookup(words: list[str], i: int, table: dict) -> tuple[tuple[str, ...], int] | None:
    for size in range(min(_MAX_PHRASE, len(words) - i), 0, -1):
        key = tuple(words[i : i + size])
        if key in table:
            return key, size
    return None


def _word_entry(word: str, tables: LexiconTables) -> tuple[str, tuple] | None:
    """Look a single word up, trying plain inflections ("cares" -> "care") when absent."""
    for form in (
        word,
        word[:-1] if word.endswith("s") else "",
        word[:-2] if word.endswith("ed") else "",
        word[:-1] if word.endswith("ed") else "",
    ):
        if form and (form,) in tables.words:
            return tables.words[(form,)]
    return None


def scan(text: str, tables: LexiconTables) -> Scan:
    """Find negations, modifiers, hedges and emotion words in `text`."""
    tokens, stretched = tokenize(text)
    words = [t.norm for t in tokens]
    cues: list[Cue] = []
    hits: list[Hit] = []
    intensity = 1.0
    hedges = 0
    negators: list[int] = []  # token index just after each negator
    modifiers: list[tuple[int, float]] = []  # (token index just after, factor)
    clause_start = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.breaks_clause:
            clause_start = i + 1
            if "!" in tok.raw:
                intensity *= 1.0 + 0.15 * min(3, tok.raw.count("!"))
                cues.append(Cue(CueKind.EXCLAMATION, tok.raw))
            i += 1
            continue
        if _shouted(tok):
            intensity *= 1.15
            cues.append(Cue(CueKind.EXCLAMATION, tok.raw))
        if (found := _lookup(words, i, tables.hedges)) is not None:
            hedges += 1
            cues.append(Cue(CueKind.HEDGE, text_of(tokens, i, found[1])))
        idiom = _lookup(words, i, tables.not_negation)
        word = _lookup(words, i, tables.words)
        boost = _lookup(words, i, tables.intensifiers)
        damp = _lookup(words, i, tables.diminishers)
        size = max((f[1] for f in (idiom, word, boost, damp) if f), default=1)
        span = text_of(tokens, i, size)
        followed = _followed_by_word(tokens, i + size)
        if idiom and idiom[1] == size:
            factor = tables.not_negation[idiom[0]]
            if factor > 1.0:
                modifiers.append((i + size, factor))
                intensity *= factor
                cues.append(Cue(CueKind.INTENSIFIER, span))
        elif word and word[1] == size:
            entry = tables.words[word[0]]
            hits.append(_hit(span, entry, i, negators, modifiers, clause_start))
            cues.append(Cue(CueKind.EMOTION_WORD, span, "negated" if hits[-1].negated else None))
        elif boost and boost[1] == size and (followed or size > 1):
            factor = tables.intensifiers[boost[0]]
            modifiers.append((i + size, factor))
            intensity *= factor
            cues.append(Cue(CueKind.INTENSIFIER, span))
        elif damp and damp[1] == size:
            factor = tables.diminishers[damp[0]]
            modifiers.append((i + size, factor))
            intensity *= factor
            if _is_negator(words[i], tables):
                negators.append(i + 1)
            cues.append(Cue(CueKind.DIMINISHER, span))
        elif tok.kind == "word" and _is_negator(words[i], tables):
            negators.append(i + 1)
            cues.append(Cue(CueKind.NEGATION, span))
        elif tok.kind == "word" and (entry := _word_entry(words[i], tables)) is not None:
            hits.append(_hit(span, entry, i, negators, modifiers, clause_start))
            cues.append(Cue(CueKind.EMOTION_WORD, span, "negated" if hits[-1].negated else None))
        i += size
    if stretched:
        intensity *= 1.15
        cues.append(Cue(CueKind.INTENSIFIER, "stretched letters"))
    has_words = any(t.kind == "word" for t in tokens)
    return Scan(
        tuple(tokens), tuple(hits), tuple(cues), min(2.0, max(0.4, intensity)), hedges, has_words
    )


def _hit(
    span: str,
    entry: tuple,
    i: int,
    negators: list[int],
    modifiers: list[tuple[int, float]],
    clause_start: int,
) -> Hit:
    group, (v, a, d) = entry
    strength = max(abs(v), abs(a))
    negated = any(clause_start <= n <= i and i - n < NEGATION_REACH for n in negators)
    scale = 1.0
    for after, factor in modifiers:
        if clause_start <= after <= i and i - after < MODIFIER_REACH:
            scale *= factor
    if negated:  # "not happy" is mildly unhappy and calmer; "not bad" is mildly good
        v, a, d = -0.5 * v, 0.3 * a, -0.3 * d
    v, a = v * scale, a + 0.5 * (scale - 1.0)
    return Hit(span, group, (_clip(v), _clip(a), _clip(d)), negated, scale, i, strength)


def _clip(x: float) -> float:
    return max(-1.0, min(1.0, x))


def _followed_by_word(tokens: list[Token], j: int) -> bool:
    """Whether a content word comes next (commas skipped: "really, really sad")."""
    while j < len(tokens) and tokens[j].raw == ",":
        j += 1
    return j < len(tokens) and tokens[j].kind == "word" and tokens[j].norm not in _NOT_INTENSIFIED


def _shouted(tok: Token) -> bool:
    """An all-capitals word ("SO", "HATE") other than common abbreviations."""
    raw = tok.raw
    return tok.kind == "word" and len(raw) > 1 and raw.isupper() and raw not in _NOT_CAPS
