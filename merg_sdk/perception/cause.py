"""What the feeling is about: a rule-based cause extractor over one sentence.

The empathy stage reflects the cause back ("I'm so sorry about your dog"), so
a short span of the user's own words is worth more than a paraphrase. The
rules, tried in order, each return the user's words as written:

1. an explicit cause marker: "because", "since", "due to", "after", "now that";
2. a life event: "my dog died", "my boss yelled at me", "I lost my job";
3. the complement of an emotion word: "worried about the exam", "sad that he left",
   "scared my dad's drinking is getting worse";
4. the object of a feeling verb or the subject of "makes me" or of a judgement:
   "I miss my old school", "the noise makes me crazy", "the bathroom was filthy";
5. otherwise the first clause that is not the feeling itself ("Someone keyed my
   car, I'm furious" -> "Someone keyed my car"; a lone factual clause is its own
   cause), else the clause with the most emotion words.
A pronoun-led scrap ("her every day", "it") is passed over for the next rule.

Limits: no parser, so clause ends are guessed from punctuation and
conjunctions ("crying on and off" splits at "and"); "since" and "after" may be
temporal ("since the layoffs I just sit at home" runs on, "after I labelled it"
misses the roommate who ate the food); pronouns are not resolved; a cause
spread over several sentences yields only its first part; spans are capped at
MAX_WORDS words; English only. On the 107 emotional readings of the held-out
sentences it returned a span for 101; most are the situation a person would
name, some are scraps (see bench/evaluate_text_affect.py --causes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from merg_sdk.perception.cues import Scan

MAX_WORDS = 15
_END = r"[^.!?;,\n]+"  # the rest of the clause
_F = re.IGNORECASE
_MARKER = re.compile(
    rf"\b(?:because(?:\s+of)?|since|'?cause|due\s+to|after|now\s+that|ever\s+since)\s+(?P<c>{_END})",
    _F,
)
_WHO = r"(?:my|our|his|her|their)\s+(?:[\w']+\s+){0,2}?"
_EVENTS = (
    r"died|passed\s+away|passed|left(?:\s+me)?|broke\s+up\s+with\s+\w+|dumped\s+me|"
    r"cheated\s+on\s+me|lied\s+to\s+me|yelled\s+at\s+me|fired\s+me|ignored\s+me|hit\s+me|"
    r"is\s+sick|got\s+sick|is\s+dying|was\s+diagnosed(?:\s+with\s+\w+)?|moved\s+away|"
    r"betrayed\s+me|hates\s+me|forgot\s+[\w' ]+|is\s+in\s+(?:the\s+)?hospital"
)
_EVENT_WHO = re.compile(rf"\b{_WHO}(?:{_EVENTS})\b", _F)
_EVENT_I = re.compile(
    r"\b(?:I|we)\s+(?:just\s+|finally\s+|recently\s+)?(?:lost|failed|got\s+fired|got\s+laid\s+off|"
    r"was\s+fired|was\s+laid\s+off|got\s+dumped|got\s+rejected|broke\s+up|got\s+divorced|"
    r"got\s+into|got\s+accepted|won|got\s+promoted|got\s+the\s+job|passed)\b"
    rf"(?:{_END})?",
    _F,
)
_LINKS = frozenset("about of over with at by for that when to because".split())
_OPENERS = frozenset("my your his her our their the he she they you someone".split())
_COPULA = frozenset(
    "i'm im am is are was were be been feel felt feeling so really very too just still".split()
)
_PRONOUNS = frozenset("it this that her him them you me us everything something".split())
_JUDGE = r"(?:is|was|are|were|looks|looked|smells|smelled|tastes|tasted|feels|felt|seems|seemed)"
_FEEL_VERB = re.compile(
    r"\bI\s+(?:really\s+|just\s+|so\s+|still\s+)?(?:hate|miss|love|fear|dread|adore|resent|"
    rf"regret|can't\s+stand|cannot\s+stand)\s+(?P<c>{_END})",
    _F,
)
_MAKES_ME = re.compile(
    r"(?P<c>[^.!?;,\n]+?)\s+(?:makes|made|is\s+making|keeps\s+making|scares|frightens|"
    r"terrifies|annoys|upsets|disgusts|saddens)\s+me\b",
    _F,
)
_SPLIT = re.compile(r"[.!?;,\n]+|\s+(?:and|but|though|although|while)\s+", _F)
_LEAD = re.compile(r"^(?:that|the\s+fact\s+that|just|then|so|and|but|also|how)\s+", _F)
_TAIL = re.compile(r"\s+(?:at\s+all|anymore|again|too|lol|haha|so\s+much|a\s+lot|right\s+now)$", _F)
_FEELING_FRAME = re.compile(
    r"^(?:i\s*'?\s*m|i\s+am|i\s+feel|i\s+felt|i\s+was|i'?ve\s+been|feeling|it'?s|that'?s|"
    r"this\s+is|so|really|very|ugh|wow|oh)\b",
    _F,
)


def _tidy(span: str) -> str | None:
    words = span.strip(" \t\"'-").split()
    text = " ".join(words[:MAX_WORDS])
    for _ in range(2):
        text = _LEAD.sub("", text)
        text = _TAIL.sub("", text)
    text = text.strip(" \t\"'-")
    return text or None


def _weak(span: str | None) -> bool:
    """A pronoun-led scrap ("her every day", "it") names nothing the reply can reflect."""
    if not span:
        return True
    words = span.lower().split()
    return words[0] in _PRONOUNS and len(words) <= 3


def _complement(text: str, scan: Scan) -> str | None:
    """Rule 3: the words after an emotion word joined by a preposition, "that" or directly
    by a subject ("scared my dad's drinking is getting worse")."""
    tokens = scan.tokens
    for hit in scan.hits:
        j = hit.index + len(hit.word.split())
        before = tokens[hit.index - 1].norm if hit.index > 0 else ""
        opens = tokens[j].norm in _OPENERS and before in _COPULA if j < len(tokens) else False
        if j < len(tokens) and (tokens[j].norm in _LINKS or opens):
            start = tokens[j].end if tokens[j].norm in _LINKS else tokens[j].start
            rest = re.match(_END, text[start:])
            if rest and rest.group().strip():
                return _tidy(rest.group())
    return None


def _judged(text: str, scan: Scan) -> str | None:
    """Rule 4b: the subject of "X was filthy", "X smelled rotten"."""
    for hit in scan.hits:
        word = re.escape(hit.word)
        m = re.search(rf"(?P<c>[^.!?;,\n]+?)\s+{_JUDGE}\s+(?:\w+\s+)?{word}\b", text, _F)
        if m:
            return _tidy(m.group("c"))
    return None


def _fallback(text: str, scan: Scan) -> str | None:
    """Rule 5: the situation clause next to the feeling clause, else the most emotional one;
    a lone clause that is not itself a feeling statement is its own cause."""
    clauses = [c.strip() for c in _SPLIT.split(text) if c and c.strip()]
    if not clauses:
        return None
    emotional = {c: 0.0 for c in clauses}
    for hit in scan.hits:
        for c in clauses:
            if hit.strength >= 0.5 and re.search(rf"(?<!\w){re.escape(hit.word)}(?!\w)", c, _F):
                emotional[c] += hit.strength
    situations = [
        c
        for c in clauses
        if emotional[c] == 0.0 and len(c.split()) >= 3 and not _FEELING_FRAME.match(c)
    ]
    if situations:
        return _tidy(situations[0])
    best = max(clauses, key=lambda c: emotional[c])
    if emotional[best] > 0.0 and len(clauses) > 1:
        return _tidy(best)
    return None


def find_cause(text: str, scan: Scan) -> str | None:
    """The user's words naming what the feeling is about, or None when none stand out.

    Assumes `text` was read as emotional: a lone factual clause counts as its own
    cause ("Nobody remembered my birthday"), so the reader skips neutral readings.
    """
    for candidate in _candidates(text, scan):
        if not _weak(candidate):
            return candidate
    return None


def _candidates(text: str, scan: Scan) -> Iterator[str | None]:
    """Each rule's answer, most specific first (computed lazily)."""
    for rule in (_MARKER, _EVENT_WHO):
        if m := rule.search(text):
            yield _tidy(m.group("c") if "c" in rule.groupindex else m.group())
    if m := _EVENT_I.search(text):
        yield _tidy(re.sub(r"^(?:I|we)\s+", "", m.group(), flags=_F))
    yield _complement(text, scan)
    for rule in (_FEEL_VERB, _MAKES_ME):
        if m := rule.search(text):
            yield _tidy(m.group("c"))
    yield _judged(text, scan)
    yield _fallback(text, scan)
