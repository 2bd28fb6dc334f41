"""Crisis language: found in any turn, answered with care and real help, reported to the host.

Two layers, both checked before the LLM sees anything, so a small model can never be
the one deciding how to answer someone in danger:

- patterns kept as data (`data/safety.yaml`), so a therapist can read exactly what
  triggers them and the host is told the matched words;
- a small classifier (`data/safety_model.npz`, trained by `training/safety/train.py`)
  on frozen sentence embeddings plus word and character n-grams, run on every
  sentence and clause of the message, so that indirect wordings (plans, means,
  goodbyes, slang, abuse told by its acts, other people's emergencies) and one crisis
  clause in a long message are caught, while look-alikes that share an embedding
  neighbourhood ("cut my hand washing up") are told apart by their words.

In conversation a crisis is often said only next to the turn before it ("took all of
them" after talk of a pill bottle). So when the turn alone passes, the classifier also
reads the previous user turn and this one joined (the window), against a threshold of
its own chosen on conversations (`window_threshold` in the model file). A window whose
earlier turn was already a crisis is not read: that crisis was answered when it came.
And once someone has disclosed a crisis, a careful listener stays alert for the rest of
the conversation: later turns are read against a lower threshold (`vigilant_threshold`),
so "maybe tonight" after talk of ending it is not taken as small talk.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict

from merg_sdk.empathy.tables import DATA_DIR, load_strategies
from merg_sdk.perception.encoder import BASES, SentenceEncoder, shared_encoder

CATEGORIES = ("suicide", "self_harm", "abuse", "danger")
MODEL_PATH = DATA_DIR / "safety_model.npz"
#: More segments than this and only whole sentences are scored (cost stays bounded).
MAX_SEGMENTS = 12
MIN_CLAUSE_WORDS = 3


class _Category(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: str
    patterns: list[str]
    unless: list[str] = []


class _ReplyStrategies(BaseModel):
    """The ESConv strategy each crisis reply carries out, by category."""

    model_config = ConfigDict(extra="forbid")

    response: dict[str, str]
    follow_up: dict[str, str] = {}


class _SafetyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: dict[str, _Category]
    protective: list[str] = []
    response: dict[str, str]
    follow_up: dict[str, str] = {}
    strategy: _ReplyStrategies


@dataclass(frozen=True, slots=True)
class SafetyFlag:
    category: str
    severity: str
    matched: str
    response: str
    strategy: str
    """What the response does in ESConv's terms (safety.yaml `strategy`), for `reply`,
    `reasoning` and the strategy distribution."""


class SafetyCheck(Protocol):
    """What the chain calls on every user turn: the turn, and the user's earlier turns
    (oldest first), to a flag or None."""

    def __call__(
        self, text: str, context: Sequence[str] = (), *, after_crisis: bool = False
    ) -> SafetyFlag | None: ...


Rule = tuple[str, str, re.Pattern[str], list[re.Pattern[str]]]
CONTRACTIONS = (
    (re.compile(r"\b(he|she|it|that|there|someone|somebody|who|what)'s\b"), r"\1 is"),
    (re.compile(r"\bi'm\b"), "i am"),
    (re.compile(r"\b(you|we|they)'re\b"), r"\1 are"),
    (re.compile(r"\b(i|you|we|they|he|she)'ll\b"), r"\1 will"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bim\b"), "i am"),
)


Reply = tuple[str, str]  # what the avatar says, and the ESConv strategy that carries out


@dataclass(frozen=True, slots=True)
class _Table:
    rules: list[Rule]
    protective: list[re.Pattern[str]]
    first: dict[str, Reply]
    follow_up: dict[str, Reply]


@cache
def _table() -> _Table:
    spec = _SafetyFile.model_validate(
        yaml.safe_load((DATA_DIR / "safety.yaml").read_text(encoding="utf-8"))
    )
    categories, strategy = set(spec.categories), spec.strategy
    if set(spec.response) != categories or set(strategy.response) != categories:
        raise ValueError("safety.yaml needs a response and its strategy for every category")
    if set(spec.follow_up) - categories or set(strategy.follow_up) != set(spec.follow_up):
        raise ValueError("safety.yaml needs a strategy for each follow-up, of a known category")
    unknown = set(strategy.response.values()) | set(strategy.follow_up.values())
    unknown -= set(load_strategies().strategies)
    if unknown:
        raise ValueError(f"safety.yaml names unknown strategies {sorted(unknown)}")
    rules = [
        (name, category.severity, re.compile(pattern), [re.compile(u) for u in category.unless])
        for name, category in spec.categories.items()
        for pattern in category.patterns
    ]
    first = {c: (spec.response[c], strategy.response[c]) for c in categories}
    # a category without a follow-up repeats its first reply, strategy and all
    follow_up = first | {c: (spec.follow_up[c], strategy.follow_up[c]) for c in spec.follow_up}
    return _Table(rules, [re.compile(p) for p in spec.protective], first, follow_up)


def crisis_flag(category: str, severity: str, matched: str) -> SafetyFlag:
    """The flag for a first crisis turn: its category's response and that reply's strategy."""
    return SafetyFlag(category, severity, matched, *_table().first[category])


def normalise(text: str) -> str:
    """Lower case, straight apostrophes, single spaces, contractions expanded: how the
    patterns are written ("he's going to" and "he is going to" read the same)."""
    lowered = " ".join(text.lower().replace("’", "'").replace("‘", "'").split())
    for pattern, replacement in CONTRACTIONS:
        lowered = pattern.sub(replacement, lowered)
    return lowered


def without_protective(lowered: str) -> tuple[str, bool]:
    """Blank out protective statements ("i would never hurt myself", "not suicidal",
    "suicide prevention") so the crisis words inside them do not fire, while anything
    else the sentence says ("...but i have the rope") is still read. Also says whether
    any were found (a feature for the classifier)."""
    found = False
    for pattern in _table().protective:
        lowered, n = pattern.subn(" ~ ", lowered)
        found = found or n > 0
    return lowered, found


def classifier_text(segment: str) -> str:
    """What the classifier embeds: the segment with its protective statements cut out.
    Why: "i have no plans to harm myself" sits next to self-harm in embedding space
    whatever the negation says, so the reassurance is removed rather than weighed,
    and only what else the segment says is read. Segments without one pass as is."""
    blanked, found = without_protective(normalise(segment))
    if not found:
        return segment
    return " ".join(blanked.replace("~", " ").split()).strip(" ,.;") or "ok"


def check_safety(
    text: str, context: Sequence[str] = (), *, after_crisis: bool = False
) -> SafetyFlag | None:
    """The first crisis category the text's patterns match, or None. Patterns read the
    turn alone; `after_crisis` picks the follow-up response (the session already heard
    the first one)."""
    table = _table()
    lowered, _ = without_protective(normalise(text))
    for category, severity, pattern, unless in table.rules:
        match = pattern.search(lowered)
        if match and not any(u.search(lowered) for u in unless):
            flag = crisis_flag(category, severity, match.group(0))
            return as_follow_up(flag) if after_crisis else flag
    return None


def as_follow_up(flag: SafetyFlag) -> SafetyFlag:
    """The flag with its category's follow-up reply (text and strategy) instead of the first."""
    response, strategy = _table().follow_up[flag.category]
    return replace(flag, response=response, strategy=strategy)


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\s*\n+\s*")
_CLAUSE_BREAK = re.compile(r",\s+|\s+-+\s+|\s+(?=but\s)", re.IGNORECASE)


def segments(text: str) -> list[str]:
    """The pieces the classifier reads: the whole message, its sentences, and the
    clauses of each sentence. Why: an embedding of a long message averages its crisis
    clause away, and "i am not suicidal, but the rope is ready" needs its halves read
    apart. Whole sentences come first, so a very long message keeps them all."""
    text = text.strip()
    if not text:
        return []
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    clauses: list[str] = []
    for sentence in sentences:
        parts = [p.strip() for p in _CLAUSE_BREAK.split(sentence) if p.strip()]
        if len(parts) > 1:
            clauses.extend(p for p in parts if len(p.split()) >= MIN_CLAUSE_WORDS)
    ordered = [text, *sentences, *clauses]
    unique = list(dict.fromkeys(ordered))
    if len(unique) > MAX_SEGMENTS:
        unique = list(dict.fromkeys([text, *sentences]))[: MAX_SEGMENTS * 2]
    return unique


#: Everyday injuries and sport: "cut my finger chopping onions" is not self-harm.
_MISHAP = re.compile(
    r"\b(cooking|chopping|slicing|dicing|shaving|kettle|oven|tin lid|bread knife|glue gun"
    r"|gardening|rose bush(es)?|trampoline|football|rugby|boxing|hockey|practice|the gym"
    r"|climbing|diy|pumpkin|barbecue|ironing|haircut|fringe|my hair)\b"
)
#: Talk about stories, media, games, study and work: about crisis, rarely in one.
_ABOUT = re.compile(
    r"\b(documentary|podcast|film|movie|novel|book|article|news|lecture|essay|dissertation"
    r"|game|level|boss fight|character|episode|series|screenplay|campaign|charity|course"
    r"|training|shift|patients?|my job as|as a (nurse|doctor|paramedic|social worker))\b"
)


def cue_features(segment: str) -> np.ndarray:
    """Sentence-level cues the embedding reads poorly: a protective negation, an
    everyday mishap, talk about media or work. Weights are learned, so a cue lowers
    the risk only as far as the training data says it should."""
    lowered = normalise(segment)
    _, protective = without_protective(lowered)
    cues = (protective, bool(_MISHAP.search(lowered)), bool(_ABOUT.search(lowered)))
    return np.array([1.0 if c else 0.0 for c in cues], dtype=np.float32)


_WORD = re.compile(r"[a-z0-9]+")


def ngram_terms(segment: str) -> list[str]:
    """The words and spellings of a segment as sparse features: word 1-3-grams ("w:cut
    my hand") and character 3-5-grams inside each word ("c: cut"), read from the text
    the classifier embeds (protective statements cut out). Why: the frozen embedding
    puts "i cut my hand on a broken glass while washing up" next to "i cut my arm
    again"; the exact words that tell them apart are what n-gram weights can learn,
    and character grams carry misspellings and slang the word list never saw."""
    words = _WORD.findall(normalise(classifier_text(segment)).replace("'", ""))
    terms = [
        "w:" + " ".join(words[i : i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)
    ]
    for word in words:
        padded = f" {word} "
        terms += ["c:" + padded[i : i + n] for n in (3, 4, 5) for i in range(len(padded) - n + 1)]
    return terms


def tfidf(
    terms: list[str], index: dict[str, int], idf: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A sparse TF-IDF row (column ids, values): sublinear term counts times idf, unit
    length; terms outside the vocabulary are dropped. The same arithmetic as
    scikit-learn's TfidfVectorizer(sublinear_tf=True), which training may use to
    choose the vocabulary, so the runtime needs only numpy."""
    counts: dict[int, int] = {}
    for term in terms:
        j = index.get(term)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    ids = np.array(sorted(counts), dtype=np.int64)
    if not len(ids):
        return ids, np.zeros(0, np.float32)
    tf = 1.0 + np.log(np.array([counts[j] for j in ids], dtype=np.float32))
    values = tf * idf[ids]
    return ids, (values / (float(np.linalg.norm(values)) + 1e-12)).astype(np.float32)


class SafetyModel:
    """The trained classifier: [embedding, cues] (+ the segment's word and character
    n-grams, when the file has a vocabulary) -> P(none, suicide, self_harm, abuse,
    danger), and P(high severity | crisis). Pure numpy; weights in an .npz."""

    def __init__(self, path: Path = MODEL_PATH) -> None:
        with np.load(path, allow_pickle=False) as data:
            self._setup({key: data[key] for key in data.files})

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SafetyModel:
        """A model from the arrays its file would hold: training scores held-out text
        through exactly the code the runtime uses."""
        model = cls.__new__(cls)
        model._setup(arrays)
        return model

    def _setup(self, data: dict[str, np.ndarray]) -> None:
        self.classes = tuple(str(c) for c in data["classes"])
        self._layers = [
            (data[f"w{i}"].astype(np.float32), data[f"b{i}"].astype(np.float32))
            for i in range(int(data["n_layers"]))
        ]
        self._sev = (data["sev_w"].astype(np.float32), float(data["sev_b"]))
        self.threshold = float(data.get("threshold", 0.5))
        #: None: the model was not trained on conversations and reads turns alone.
        self.window_threshold = (
            float(data["window_threshold"]) if "window_threshold" in data else None
        )
        self.vigilant_threshold = (
            float(data["vigilant_threshold"]) if "vigilant_threshold" in data else None
        )
        #: The sentence encoders whose embeddings, joined, the model reads (encoder.BASES).
        self.encoders = tuple(str(e) for e in data.get("encoders", np.array(["minilm"])))
        self._index: dict[str, int] = {}
        if "vocab" in data:
            self._index = {str(t): i for i, t in enumerate(data["vocab"].tolist())}
            self._idf = data["idf"].astype(np.float32)
            self._ngram_w = data["ngram_w"].astype(np.float32)

    @property
    def embedding_dim(self) -> int:
        """The width of the joined embedding the first layer reads (before the cues)."""
        return int(self._layers[0][0].shape[0]) - len(cue_features(""))

    def features(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        if vectors.shape[-1] != self.embedding_dim:
            raise ValueError(
                f"the safety model reads {self.embedding_dim}-d embeddings "
                f"({' + '.join(self.encoders)}), not {vectors.shape[-1]}-d"
            )
        cues = np.stack([cue_features(t) for t in texts])
        return np.concatenate([np.asarray(vectors, dtype=np.float32), cues], axis=1)

    def ngram_logits(self, texts: list[str]) -> np.ndarray | None:
        """Each segment's n-gram contribution to the first layer [n, units], or None
        when the model has no vocabulary."""
        if not self._index:
            return None
        out = np.zeros((len(texts), self._ngram_w.shape[1]), np.float32)
        for row, text in enumerate(texts):
            ids, values = tfidf(ngram_terms(text), self._index, self._idf)
            out[row] = values @ self._ngram_w[ids]
        return out

    def probabilities(
        self, x: np.ndarray, texts: list[str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Class probabilities [n, 5] and P(high severity) [n] for feature rows (and
        the segments' texts, read for n-grams when the model has them)."""
        extra = self.ngram_logits(texts) if texts is not None else None
        h = x
        for i, (w, b) in enumerate(self._layers):
            h = h @ w + b
            if i == 0 and extra is not None:
                h = h + extra
            if i < len(self._layers) - 1:
                h = np.maximum(h, 0.0)
        h = h - h.max(axis=1, keepdims=True)
        p = np.exp(h)
        p /= p.sum(axis=1, keepdims=True)
        w, b = self._sev
        high = 1.0 / (1.0 + np.exp(-(x @ w + b)))
        return p, high


def joined(encoders: Sequence[Callable[[str], np.ndarray]]) -> Callable[[str], np.ndarray]:
    """One unit vector from several encoders' unit vectors: their concatenation over
    sqrt(k), as training joins them (training/safety/train.py)."""
    if len(encoders) == 1:
        return encoders[0]
    scale = 1.0 / np.sqrt(len(encoders))

    def encode(text: str) -> np.ndarray:
        return np.concatenate([_unit(e(text)) for e in encoders]).astype(np.float32) * scale

    return encode


@dataclass(frozen=True, slots=True)
class Reading:
    """The classifier's view of the riskiest segment of a message."""

    segment: str
    risk: float  # 1 - P(none)
    category: str
    high: float  # P(high severity | crisis)


class SemanticSafety:
    """Patterns first (they name the matched words); then the classifier on every
    segment of the message, flagging when the riskiest one passes the threshold chosen
    on the dev split. The category comes from the classifier when it is sure, else from
    the pattern; severity is 'high' for present intent or imminent danger, 'medium' for
    past or second-hand worries. `encode` maps a text to a unit vector (one MiniLM pass
    per segment; the encoder's cache answers the whole message read by text affect)."""

    def __init__(
        self,
        encode: Callable[[str], np.ndarray],
        model: SafetyModel | None = None,
        threshold: float | None = None,
        window_threshold: float | None = None,
        vigilant_threshold: float | None = None,
    ) -> None:
        self._encode = encode
        self.model = model or SafetyModel()
        self.threshold = self.model.threshold if threshold is None else threshold
        self.window_threshold = (
            self.model.window_threshold if window_threshold is None else window_threshold
        )
        self.vigilant_threshold = (
            self.model.vigilant_threshold if vigilant_threshold is None else vigilant_threshold
        )

    @classmethod
    def load(
        cls,
        model: SafetyModel | None = None,
        *,
        minilm: SentenceEncoder | None = None,
        **thresholds: float | None,
    ) -> SemanticSafety:
        """The detector with the encoders its model was trained on: MiniLM (pass the
        text-affect reader's, so its cache answers the whole turn) and the process's
        shared mpnet, which the emotion reader has just run on the same turn."""
        model = model or SafetyModel()
        parts = []
        for name in model.encoders:
            if name not in BASES:
                raise ValueError(f"the safety model names an unknown encoder {name!r}")
            given = minilm if name == "minilm" else None
            parts.append((given or shared_encoder(BASES[name]())).encode_one)
        return cls(joined(parts), model, **thresholds)

    def read(self, text: str) -> Reading | None:
        """The riskiest segment, or None for an empty text."""
        parts = segments(text)
        return self._riskiest(parts) if parts else None

    def read_window(self, before: str, text: str) -> Reading:
        """The previous user turn and this one, read as one segment."""
        return self._riskiest([join_window(before, text)])

    def _riskiest(self, parts: list[str]) -> Reading:
        vectors = np.stack([_unit(self._encode(classifier_text(p))) for p in parts])
        probs, high = self.model.probabilities(self.model.features(vectors, parts), parts)
        risk = 1.0 - probs[:, self.model.classes.index("none")]
        best = int(np.argmax(risk))
        crisis = [i for i, c in enumerate(self.model.classes) if c != "none"]
        category = self.model.classes[crisis[int(np.argmax(probs[best, crisis]))]]
        return Reading(parts[best], float(risk[best]), category, float(high[best]))

    def __call__(
        self, text: str, context: Sequence[str] = (), *, after_crisis: bool = False
    ) -> SafetyFlag | None:
        """The turn's flag, or None. `context` is the user's turns since the
        conversation's last crisis turn (ConversationSafety keeps them), oldest first: the
        last is read with this one when the turn alone passes. `after_crisis`: an earlier
        turn of this conversation was flagged."""
        threshold = self.threshold
        if after_crisis and self.vigilant_threshold is not None:
            threshold = min(threshold, self.vigilant_threshold)
        flag = self._turn(text, threshold)
        if flag is None and context and context[-1].strip() and self.window_threshold is not None:
            reading = self.read_window(context[-1], text)
            if reading.risk >= self.window_threshold:
                matched = f"~{reading.risk:.2f} with the turn before: {text.strip()[:80]}"
                flag = self._flag(reading, matched)
        return as_follow_up(flag) if flag is not None and after_crisis else flag

    def _turn(self, text: str, threshold: float) -> SafetyFlag | None:
        flag = check_safety(text)
        reading = self.read(text)
        if reading is None or reading.risk < threshold:
            return flag
        if flag is not None:  # the pattern names the words and keeps a high severity
            return self._flag(reading, flag.matched, "high" if flag.severity == "high" else None)
        return self._flag(reading, f"~{reading.risk:.2f}: {reading.segment[:80]}")

    def _flag(self, reading: Reading, matched: str, severity: str | None = None) -> SafetyFlag:
        """The classifier's category; severity 'high' for present intent or imminent
        danger, 'medium' for past or second-hand worries, unless given."""
        severity = severity or ("high" if reading.high >= 0.5 else "medium")
        return crisis_flag(reading.category, severity, matched)


class ConversationSafety:
    """One conversation's crisis watch, kept per session around a shared detector: it
    hands the detector the user's turns since the last crisis turn (a crisis already
    answered is not read into the next turn's window) and whether there was one (the
    detector stays alert, and answers a later crisis with the follow-up)."""

    def __init__(self, check: SafetyCheck, context_turns: int = 2) -> None:
        self._check = check
        self._since_crisis: deque[str] = deque(maxlen=context_turns)
        self.crisis_seen = False

    def __call__(self, text: str) -> SafetyFlag | None:
        flag = self._check(text, tuple(self._since_crisis), after_crisis=self.crisis_seen)
        if flag is None:
            self._since_crisis.append(text)
        else:
            self.crisis_seen = True
            self._since_crisis.clear()
        return flag


def join_window(before: str, text: str) -> str:
    """The text the window reading classifies (training builds its examples with it)."""
    return f"{before.strip()} {text.strip()}"


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    return v / (float(np.linalg.norm(v)) + 1e-9)
