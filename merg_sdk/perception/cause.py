"""What the feeling is about: a rule-based cause extractor over one sentence.

The empathy stage reflects the cause back ("I'm so sorry about your dog"), so
a short span of the user's own words is worth more than a paraphrase. The
rules, tried in order, each return the user's words as written:

1. an explicit cause marker: "because", "since", "due to", "after", "now that";
2. a life event: "my dog died", "my boss yelled at me", "I lost my job";
3. the complement of an emotion word: "worried about the exam", "sad that he left";
4. the object of a feeling verb or the subject of "makes me": "I miss my old
   school", "the noise makes me crazy";
5. otherwise the clause that is not the feeling itself ("Someone keyed my car,
   I'm furious" -> "Someone keyed my car"), else the clause with the most
   emotion words.

Limits: no parser, so clause ends are guessed from punctuation and
conjunctions; "since" and "after" may be temporal ("since Monday"); pronouns
are not resolved ("it happened again" stays "it happened again"); a cause
spread over several sentences yields only its first part; spans are capped at
MAX_WORDS words.
"""

from __future__ import annotations

import re

from merg_sdk.perception.cues import Scan

MAX_WORDS = 12
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
_LINKS = {"about", "of", "over", "with", "at", "by", "for", "that", "when", "to", "because"}
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
_TAIL = re.compile(r"\s+(?:at\s+all|anymore|again|too|lol|haha)$", _F)
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


def _complement(text: str, scan: Scan) -> str | None:
    """Rule 3: the words after an emotion word joined by a preposition or "that"."""
    tokens = scan.tokens
    for hit in scan.hits:
        j = hit.index + len(hit.word.split())
        if j < len(tokens) and tokens[j].norm in _LINKS:
            rest = re.match(_END, text[tokens[j].end :])
            if rest and rest.group().strip():
                return _tidy(rest.group())
    return None


def _fallback(text: str, scan: Scan) -> str | None:
    """Rule 5: the situation clause next to the feeling clause, else the most emotional one."""
    clauses = [c.strip() for c in _SPLIT.split(text) if c and c.strip()]
    if not clauses:
        return None
    emotional = {c: 0.0 for c in clauses}
    for hit in scan.hits:
        for c in clauses:
            if re.search(rf"(?<!\w){re.escape(hit.word)}(?!\w)", c, _F):
                emotional[c] += hit.strength
    situations = [
        c
        for c in clauses
        if emotional[c] == 0.0 and len(c.split()) >= 3 and not _FEELING_FRAME.match(c)
    ]
    if situations and len(clauses) > 1:
        return _tidy(situations[0])
    best = max(clauses, key=lambda c: emotional[c])
    if emotional[best] > 0.0 and len(clauses) > 1:
        return _tidy(best)
    return None


def find_cause(text: str, scan: Scan) -> str | None:
    """The user's words naming what the feeling is about, or None when none stand out."""
    for rule in (_MARKER, _EVENT_WHO):
        if m := rule.search(text):
            return _tidy(m.group("c") if "c" in rule.groupindex else m.group())
    if m := _EVENT_I.search(text):
        return _tidy(re.sub(r"^(?:I|we)\s+", "", m.group(), flags=_F))
    if found := _complement(text, scan):
        return found
    for rule in (_FEEL_VERB, _MAKES_ME):
        if m := rule.search(text):
            return _tidy(m.group("c"))
    return _fallback(text, scan)
