"""Train the safety classifier and write merg_sdk/empathy/data/safety_model.npz.

    HF_HUB_OFFLINE=1 .venv/bin/python training/safety/train.py [--report] [--cv files]

Reads the hand-written corpus (every corpus_*.yaml), expands templates.yaml, adds
lower-case, typo and long-message variants and the clauses of every non-crisis
message (the runtime scores clauses too, so the model must know that "i am not
suicidal" alone is not a crisis), embeds everything with the frozen
all-MiniLM-L6-v2 and all-mpnet-base-v2 (joined; see ENCODERS) and fits a
multinomial logistic regression on [word 1-3-gram and character 3-5-gram TF-IDF,
embedding, cues]. scikit-learn is used here only (the
vocabulary, idf and weights go into the .npz; the runtime is numpy), and L-BFGS is
deterministic: the same file every run.

Why the n-grams (2026-12, blocks CV, threshold at the 4% false-alarm budget): on the
same corpus the embedding-only head reached 40.7% recall with 3.6% false alarms
(dev.yaml 52.7%, dev_fresh.yaml 58.3% / 11.1%); embedding + n-grams 51.4% / 3.7%
(dev 75.2%, dev_fresh 91.7% / 11.1%). The embedding alone put everyday accidents
next to self-harm ("i cut my hand on a broken glass while washing up" scored 0.96).
With corpus_*_plain.yaml added, n-gram scale 0.7 (tried 0.35, 0.5, 1, 2; C 3, 10,
30; a 64-unit ReLU layer, which was overconfident and no better; and scoring the
whole message mixed with the riskiest segment, no better): 52.4% / 3.8%, dev 72.1% /
0.8%, dev_fresh 93.3% / 11.1%.

The honest estimate is cross-validation. `--cv files` leaves one corpus file out,
trains on the rest and scores the held-out file's messages through the full runtime
(patterns, then the classifier on every segment); files are written per register
(slang, long messages, elderly, second-hand, hard negatives...), so a left-out file
stands in for wordings nobody in training used. The default, `blocks`, holds out a
fifth of every file in contiguous runs. The threshold is the lowest whose
false-alarm rate stays within budget on the out-of-fold scores and the dev files
pooled, recall first, because a missed crisis costs far more than a gentle
check-in. Dev files are never trained on.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from merg_sdk.empathy.evaluate import load_evaluation_set  # noqa: E402
from merg_sdk.empathy.safety import (  # noqa: E402
    CATEGORIES,
    MODEL_PATH,
    ConversationSafety,
    SafetyModel,
    SemanticSafety,
    check_safety,
    classifier_text,
    cue_features,
    join_window,
    ngram_terms,
    segments,
)

HERE = Path(__file__).resolve().parent
DATA_ROOT = ROOT / "merg_sdk"
CLASSES = ("none", *CATEGORIES)
DEV_FILES = ("dev.yaml", "dev_fresh.yaml")
#: Conversations labelled turn by turn: training (windows and turns) and the dev split
#: that chooses the window threshold.
CONVERSATIONS = "conversations.yaml"
DEV_CONVERSATIONS = "dev_conversations.yaml"
#: Conversations written from docs/labelling-guide.md in the evaluation sets' form (a
#: crisis label per turn); the emotion reader's trainer reads them too. A group each.
WRITTEN = HERE.parent / "conversations"
#: Thresholds tried for the window and for turns after a crisis. Not below 0.4: under
#: it a turn is far likelier safe than not, and nearly every later turn would get the
#: crisis reply.
CONTEXT_GRID = (0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
#: False alarms allowed on the dev conversations' safe turns (the goal's 5%).
CONTEXT_BUDGET = 0.05
SEED = 7
PER_TEMPLATE = 14
FOLDS = 5


@dataclass(frozen=True)
class Settings:
    """Head shape and fit; chosen by --cv (see the report in the module docstring)."""

    #: Word 1-3-grams and character 3-5-grams kept (the most frequent, seen >= min_df).
    vocabulary: int = 30000
    min_df: int = 2
    #: Scale of the unit-length n-gram row next to the unit-length embedding.
    ngram_scale: float = 0.7
    #: Inverse L2 strength of the multinomial logistic regression.
    c: float = 10.0
    none_weight: float = 1.0
    #: The threshold keeps false alarms at or under this rate (the goal is <= 5%).
    budget: float = 0.04


SETTINGS = Settings()
CACHE = Path(os.environ.get("MERG_SAFETY_CACHE", "/tmp/merg_safety_embeddings.npz"))

Example = tuple[str, str, int]  # text, class, high severity (1) or borderline (0)


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def corpus(path: Path) -> list[Example]:
    out: list[Example] = []
    for category, by_severity in _load(path).items():
        if category == "none":
            out += [(text, "none", 0) for text in by_severity]
            continue
        out += [
            (text, category, int(severity == "high"))
            for severity, texts in by_severity.items()
            for text in texts
        ]
    return out


def hand_written() -> dict[str, list[Example]]:
    """Corpus files by name: the groups of the cross-validation."""
    groups = {path.stem: corpus(path) for path in sorted(HERE.glob("corpus_*.yaml"))}
    talks = conversations(CONVERSATIONS)
    if talks:
        groups["conversations"] = conversation_examples(talks)
    for path in sorted(WRITTEN.glob("*.yaml")):
        written = load_evaluation_set(path).conversations
        labelled = [[(t.text, t.crisis) for t in c.turns] for c in written]
        groups[path.stem] = conversation_examples(labelled)
    return groups


Talk = list[tuple[str, str]]  # a conversation's user turns: text, crisis label


def conversations(name: str) -> list[Talk]:
    path = HERE / name
    if not path.is_file():
        return []
    return [[(t["text"], t["crisis"]) for t in talk] for talk in _load(path)["conversations"]]


def conversation_examples(talks: list[Talk]) -> list[Example]:
    """Each turn alone, and each turn joined to the one before it when that one was not
    a crisis (as the runtime reads a window), labelled by the turn."""
    out: list[Example] = []
    for talk in talks:
        for i, (text, label) in enumerate(talk):
            out.append((text, label, int(label != "none")))
            if i and talk[i - 1][1] == "none":
                out.append((join_window(talk[i - 1][0], text), label, int(label != "none")))
    return out


def everyday() -> list[Example]:
    """The text-affect reader's conversational sentences (sad, afraid, angry, small
    talk, written for this project): many wordings of ordinary distress, which is the
    look-alike the classifier must learn to leave alone. Any the patterns flag are
    left out rather than trusted as negatives."""
    data = DATA_ROOT / "perception" / "data"
    prototypes = _load(data / "prototypes.yaml")
    texts = [t for e in prototypes["emotions"].values() for t in e["examples"]]
    spec = _load(data / "utterances.yaml")
    texts += [t for turns in spec["conversations"] for turn in turns for t in turn.values()]
    return [(t, "none", 0) for t in dict.fromkeys(texts) if check_safety(t) is None]


def from_templates(rng: random.Random) -> list[Example]:
    spec = _load(HERE / "templates.yaml")
    slots = {**spec["slots"], **spec["extra_slots"]}
    out: list[Example] = []
    for category, by_severity in spec["templates"].items():
        for severity, templates in by_severity.items():
            for template in templates:
                names = re.findall(r"\{(\w+)\}", template)
                seen: set[str] = set()
                for _ in range(PER_TEMPLATE * 3):
                    values = iter([rng.choice(slots[n]) for n in names])
                    text = re.sub(r"\{(\w+)\}", lambda _m, v=values: str(next(v)), template)
                    text = text[0].upper() + text[1:]
                    if text not in seen:
                        seen.add(text)
                        out.append((text, category, int(severity == "high")))
                    if len(seen) >= PER_TEMPLATE:
                        break
    return out


def typo(text: str, rng: random.Random) -> str:
    """One slip of the thumb in one longer word: dropped, doubled or swapped letters."""
    words = text.split()
    long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
    if not long:
        return text
    i = rng.choice(long)
    w = words[i]
    j = rng.randrange(1, len(w) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        w = w[:j] + w[j + 1 :]
    elif kind == 1:
        w = w[:j] + w[j] + w[j:]
    else:
        w = w[: j - 1] + w[j] + w[j - 1] + w[j + 1 :]
    words[i] = w
    return " ".join(words)


def casual(text: str, rng: random.Random) -> str:
    """How people type on a phone: lower case, no apostrophes, no final full stop."""
    out = text.lower().rstrip(".")
    if rng.random() < 0.6:
        out = out.replace("'", "").replace("’", "")
    return out


def augmented(examples: list[Example], padding: list[str]) -> list[Example]:
    """Variants of each example, seeded by its text so a cross-validation fold gets
    exactly the variants the full run does (and the embedding cache answers them).
    `padding` is the ordinary text a crisis sentence is buried in."""
    out = list(examples)
    for text, category, high in examples:
        rng = random.Random(f"{SEED}:{text}")
        if rng.random() < 0.5:
            out.append((casual(text, rng), category, high))
        if rng.random() < 0.3:
            out.append((typo(text, rng), category, high))
        if rng.random() < 0.4:
            before = rng.sample(padding, rng.randrange(0, 3))
            after = rng.sample(padding, rng.randrange(1, 3))
            out.append((" ".join([*before, text, *after]), category, high))
    # Clauses of non-crisis messages are non-crisis too (the runtime scores them alone).
    for text in dict.fromkeys(t for t, c, _ in out if c == "none"):
        out.extend((part, "none", 0) for part in segments(text)[1:])
    return list(dict.fromkeys(out))


def dev_items(name: str) -> list[tuple[str, str]]:
    path = HERE / name
    if not path.is_file():
        return []
    dev = _load(path)
    items = [(t, c) for c, texts in dev["crisis"].items() for t in texts]
    return items + [(t, "none") for t in dev["none"]]


#: The encoders whose unit embeddings, joined (safety.joined), the classifier reads.
#: MiniLM alone (2026-12): blocks CV 55.9% / 6.2%, dev 65.9% / 0.8%, dev conversations
#: with window and alert 75.4% / 4.2%. mpnet alone: 61.4% / 5.6%, dev 79.8% / 0.8%, but
#: its window reading raised false alarms (63.4% / 4.8%). Both: 60.7% / 5.3%, dev 76.7% /
#: 0.8%, dev_fresh 86.7% / 7.4% (mpnet 80.0% / 9.9%), conversations 72.4% / 4.2%; on the
#: fourth blind set, turns alone, 83.0% / 8.0% against MiniLM's 78.5% / 8.3%.
ENCODERS = ("minilm", "mpnet")


class Embedder:
    """The joined embedding of ENCODERS, with an on-disk cache per encoder keyed by
    text, so re-training only embeds new texts."""

    def __init__(self, encoders: tuple[str, ...] = ENCODERS) -> None:
        from merg_sdk.perception.encoder import BASES, SentenceEncoder

        self.names = encoders
        self.encoders = [SentenceEncoder(BASES[name](), threads=1) for name in encoders]
        self.tables: list[dict[str, np.ndarray]] = []
        for name, encoder in zip(encoders, self.encoders, strict=True):
            table: dict[str, np.ndarray] = {}
            path = self._cache(name)
            if path.is_file():
                with np.load(path, allow_pickle=False) as data:
                    if str(data["key"]) == encoder.fingerprint:
                        table = dict(zip(data["texts"].tolist(), data["vectors"], strict=True))
            self.tables.append(table)

    @staticmethod
    def _cache(name: str) -> Path:
        return CACHE.with_name(f"{CACHE.stem}_{name}.npz")

    def __call__(self, texts: list[str]) -> np.ndarray:
        parts = []
        for name, encoder, table in zip(self.names, self.encoders, self.tables, strict=True):
            new = [t for t in dict.fromkeys(texts) if t not in table]
            if new:
                table.update(zip(new, encoder.encode(new), strict=True))
                np.savez(
                    self._cache(name),
                    key=encoder.fingerprint,
                    texts=np.array(list(table)),
                    vectors=np.stack(list(table.values())),
                )
            parts.append(np.stack([table[t] for t in texts]))
        return np.concatenate(parts, axis=1) / np.sqrt(len(parts))


def features(embed: Embedder, texts: list[str]) -> np.ndarray:
    """[embedding, cues] rows, as the runtime builds them."""
    cues = np.stack([cue_features(t) for t in texts])
    vectors = embed([classifier_text(t) for t in texts])
    return np.concatenate([vectors, cues], axis=1).astype(np.float32)


def fit_head(
    texts: list[str], x: np.ndarray, y: np.ndarray, weights: np.ndarray, s: Settings
) -> dict[str, np.ndarray]:
    """Multinomial logistic regression on [n-gram TF-IDF, embedding, cues]: the
    n-grams tell apart wordings the frozen embedding puts together ("cut my hand
    washing up" / "cut my arm again"), the embedding carries paraphrase. scikit-learn
    (training only) picks the vocabulary and fits (L-BFGS, deterministic); the file
    keeps vocabulary, idf and weights, in the precision the runtime reads them."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(
        analyzer=ngram_terms,
        sublinear_tf=True,
        min_df=s.min_df,
        max_features=s.vocabulary,
        dtype=np.float64,
    )
    grams = vectorizer.fit_transform(texts) * s.ngram_scale
    design = sparse.hstack([grams, sparse.csr_matrix(x.astype(np.float64))]).tocsr()
    head = LogisticRegression(C=s.c, max_iter=3000, tol=1e-5)
    head.fit(design, y, sample_weight=weights)
    coef = head.coef_.T
    vocab = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    n = len(vocab)
    return {
        "classes": np.array(CLASSES),
        "n_layers": np.array(1),
        "w0": coef[n:].astype(np.float16),
        "b0": head.intercept_.astype(np.float32),
        "vocab": np.array(vocab),
        "idf": vectorizer.idf_.astype(np.float32),
        "ngram_w": (coef[:n] * s.ngram_scale).astype(np.float16),
    }


def fit_logistic(x: np.ndarray, y: np.ndarray, steps: int = 800) -> tuple[np.ndarray, float]:
    """Balanced binary logistic regression by gradient descent (severity head)."""
    w = np.zeros(x.shape[1], np.float32)
    b = 0.0
    pos = y.mean()
    weights = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos)) / len(y)
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        g = (p - y) * weights
        w -= 0.5 * (x.T @ g + 1e-3 * w)
        b -= 0.5 * float(g.sum())
    return w.astype(np.float32), float(b)


class Trainer:
    """Builds the training set without some corpus files and fits the head on it."""

    def __init__(self, embed: Embedder, s: Settings) -> None:
        self.embed, self.s = embed, s
        self.groups = hand_written()
        self.fixed = everyday() + from_templates(random.Random(SEED))
        fillers = _load(HERE / "templates.yaml")["slots"]["filler"]
        self.padding = fillers + [t for t, _, _ in everyday()]

    def examples(self, without: set[tuple[str, int]] | None = None) -> list[Example]:
        """Everything but the held-out (file, line index) pairs."""
        without = without or set()
        kept = [
            e
            for name, group in self.groups.items()
            for i, e in enumerate(group)
            if (name, i) not in without
        ]
        return augmented(kept + self.fixed, self.padding)

    def fit(self, examples: list[Example]) -> dict[str, np.ndarray]:
        """The model file's arrays (all but the threshold) for these examples."""
        texts = [t for t, _, _ in examples]
        x = features(self.embed, texts)
        y = np.array([CLASSES.index(c) for _, c, _ in examples])
        counts = np.bincount(y, minlength=len(CLASSES)).astype(np.float64)
        class_weight = len(y) / (len(CLASSES) * np.maximum(counts, 1))
        class_weight[0] *= self.s.none_weight
        arrays = fit_head(texts, x, y, class_weight[y], self.s)
        crisis = y > 0
        high = np.array([h for _, _, h in examples], np.float32)[crisis]
        sev_w, sev_b = fit_logistic(x[crisis], high)
        return arrays | {"sev_w": sev_w, "sev_b": np.array(sev_b, np.float32)}


class Scored:
    """Messages read as the runtime reads them: pattern flag, and per segment the
    feature row; `risks` gives each message's riskiest segment under some weights."""

    def __init__(self, embed: Embedder, items: list[tuple[str, str]]) -> None:
        self.items = items
        self.pattern = [check_safety(t) for t, _ in items]
        parts = [segments(t) for t, _ in items]
        self.owner = np.repeat(np.arange(len(items)), [len(p) for p in parts])
        self.parts = [p for ps in parts for p in ps]
        self.x = features(embed, self.parts)

    def risks(self, model: SafetyModel) -> tuple[np.ndarray, list[str]]:
        p, _ = model.probabilities(self.x, self.parts)
        risk = 1.0 - p[:, 0]
        best = np.full(len(self.items), -1.0)
        category = ["none"] * len(self.items)
        for row, (owner, r) in enumerate(zip(self.owner, risk, strict=True)):
            if r > best[owner]:
                best[owner] = r
                category[owner] = CLASSES[1 + int(np.argmax(p[row, 1:]))]
        return best, category


@dataclass
class Result:
    """Out-of-sample readings of some messages, and their truth."""

    truth: list[str]
    risk: np.ndarray
    predicted: list[str]
    pattern: list[str | None]
    texts: list[str]

    @classmethod
    def of(cls, scored: Scored, model: SafetyModel) -> Result:
        risk, predicted = scored.risks(model)
        return cls(
            [c for _, c in scored.items],
            risk,
            predicted,
            [f.category if f else None for f in scored.pattern],
            [t for t, _ in scored.items],
        )

    def __add__(self, other: Result) -> Result:
        return Result(
            self.truth + other.truth,
            np.concatenate([self.risk, other.risk]),
            self.predicted + other.predicted,
            self.pattern + other.pattern,
            self.texts + other.texts,
        )

    def flagged(self, threshold: float) -> np.ndarray:
        return (self.risk >= threshold) | np.array([p is not None for p in self.pattern])

    def threshold(self, budget: float) -> float:
        """The lowest threshold whose false-alarm rate is within budget."""
        none = np.array([t == "none" for t in self.truth])
        allowed = int(budget * none.sum())
        pattern_alarms = sum(p is not None for p, n in zip(self.pattern, none, strict=True) if n)
        risks = np.sort(self.risk[none & ~self.flagged(2.0)])[::-1]
        spare = max(0, allowed - pattern_alarms)
        if spare >= len(risks):
            return 0.2
        return float(min(0.95, max(0.2, risks[spare] + 1e-4)))

    def summary(self, threshold: float, title: str, show: bool = False) -> dict[str, float]:
        flagged = self.flagged(threshold)
        out: dict[str, float] = {}
        cells = []
        for category in (*CATEGORIES, "none"):
            idx = [i for i, t in enumerate(self.truth) if t == category]
            if idx:
                out[category] = float(flagged[idx].mean())
                cells.append(f"{category} {int(flagged[idx].sum())}/{len(idx)}")
            if show:
                for i in idx:
                    if flagged[i] == (category == "none"):
                        why = self.pattern[i] or self.predicted[i]
                        print(f"      {self.risk[i]:.2f} {why:9s} [{category}] {self.texts[i]}")
        crisis = [i for i, t in enumerate(self.truth) if t != "none"]
        if crisis:
            out["recall"] = float(flagged[crisis].mean())
            right = sum(
                flagged[i]
                and (self.predicted[i] if self.risk[i] >= threshold else self.pattern[i])
                == self.truth[i]
                for i in crisis
            )
            out["category_accuracy"] = right / len(crisis)
        print(
            f"  {title:24s} recall {out.get('recall', float('nan')):6.1%}  "
            f"false alarms {out.get('none', float('nan')):5.1%}  t={threshold:.3f}  "
            + "  ".join(cells)
        )
        return out


def crossval(trainer: Trainer, mode: str) -> Result:
    """Each hand-written message scored by a head that never saw it. "blocks": K folds
    of contiguous runs of every file (neighbouring lines share wordings, so a run is
    held out whole); "files": leave one corpus file, i.e. one register, out."""
    folds: list[dict[str, list[int]]] = []
    if mode == "files":
        folds = [{name: list(range(len(g)))} for name, g in trainer.groups.items()]
    else:
        for k in range(FOLDS):
            folds.append(
                {
                    name: [i for i in range(len(g)) if i * FOLDS // len(g) == k]
                    for name, g in trainer.groups.items()
                }
            )
    pooled: Result | None = None
    for fold in folds:
        held = {(name, i) for name, idx in fold.items() for i in idx}
        model = SafetyModel.from_arrays(trainer.fit(trainer.examples(held)))
        items = [(trainer.groups[n][i][0], trainer.groups[n][i][1]) for n, i in sorted(held)]
        result = Result.of(Scored(trainer.embed, items), model)
        pooled = result if pooled is None else pooled + result
    assert pooled is not None
    return pooled


class Talks:
    """Dev conversations read turn by turn by the runtime detector inside the
    per-session ConversationSafety, as the chain reads them, so the window and vigilant
    thresholds are chosen on what ships."""

    def __init__(self, embed: Embedder, talks: list[Talk]) -> None:
        self.talks = talks
        texts = []
        for talk in talks:
            for i, (text, _) in enumerate(talk):
                texts += [classifier_text(part) for part in segments(text)]
                if i:
                    texts.append(classifier_text(join_window(talk[i - 1][0], text)))
        texts = list(dict.fromkeys(texts))
        self.vectors = dict(zip(texts, embed(texts), strict=True))

    def rates(self, model: SafetyModel, t: float, window: float, vigilant: float) -> tuple:
        """Recall over crisis turns and false alarms over the others."""
        detect = SemanticSafety(self.vectors.__getitem__, model, t, window, vigilant)
        hits: dict[bool, list[bool]] = {True: [], False: []}
        for talk in self.talks:
            watch = ConversationSafety(detect)  # a session's, as the chain keeps it
            for text, label in talk:
                hits[label != "none"].append(watch(text) is not None)
        return float(np.mean(hits[True])), float(np.mean(hits[False]))

    def choose(self, model: SafetyModel, threshold: float, budget: float) -> tuple:
        """The lowest window threshold, then the lowest vigilant one, whose false alarms
        stay within budget (2.0: never read that way)."""
        window = vigilant = 2.0
        recall, alarms = self.rates(model, threshold, window, vigilant)
        print(f"  dev conversations, turns alone  recall {recall:6.1%}  false alarms {alarms:5.1%}")
        for name in ("window", "vigilant"):
            for value in sorted(CONTEXT_GRID, reverse=True):
                trial = (value, vigilant) if name == "window" else (window, value)
                recall, alarms = self.rates(model, threshold, *trial)
                print(f"    {name} {value:.2f}  recall {recall:6.1%}  false alarms {alarms:5.1%}")
                if alarms > budget:
                    break
                window, vigilant = trial
        return window, vigilant


def save(path: Path, arrays: dict[str, np.ndarray], t: float, context: tuple = ()) -> None:
    extra = {}
    if context:
        window, vigilant = context
        extra = {
            "window_threshold": np.array(window, np.float32),
            "vigilant_threshold": np.array(vigilant, np.float32),
        }
    np.savez_compressed(
        path,
        **arrays,
        threshold=np.array(t, np.float32),
        encoders=np.array(ENCODERS),
        **extra,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", action="store_true", help="list misses and alarms")
    parser.add_argument(
        "--cv",
        choices=("blocks", "files"),
        default="blocks",
        help="out-of-sample estimate the threshold is chosen on (the model file uses blocks)",
    )
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args()

    embed = Embedder()
    trainer = Trainer(embed, SETTINGS)
    examples = trainer.examples()
    devs = {name: dev_items(name) for name in DEV_FILES if dev_items(name)}
    dev_talks = conversations(DEV_CONVERSATIONS)
    dev_texts = {t for items in devs.values() for t, _ in items}
    dev_texts |= {t for talk in dev_talks for t, _ in talk}
    leaked = [t for t, _, _ in examples if t in dev_texts]
    if leaked:
        raise SystemExit(f"dev texts found in the training data: {leaked[:5]}")
    counts = {c: sum(1 for _, k, _ in examples if k == c) for c in CLASSES}
    print(f"training examples: {len(examples)} {counts}  {SETTINGS}")

    arrays = trainer.fit(examples)
    model = SafetyModel.from_arrays(arrays)
    results = {name: Result.of(Scored(embed, items), model) for name, items in devs.items()}
    oof = crossval(trainer, args.cv)
    # One pooled choice: a small dev file alone allows 3 alarms in 81 and swings the
    # threshold on one sentence; out-of-fold plus dev negatives number over a thousand.
    pooled = oof
    for result in results.values():
        pooled = pooled + result
    threshold = pooled.threshold(SETTINGS.budget)
    oof.summary(threshold, f"cross-validation ({args.cv})", args.report)
    for name, result in results.items():
        result.summary(threshold, name, args.report)
    context = Talks(embed, dev_talks).choose(model, threshold, CONTEXT_BUDGET) if dev_talks else ()
    print(f"  window and vigilant thresholds: {context}")
    save(args.out, arrays, threshold, context)
    size = args.out.stat().st_size // 1024
    with np.load(args.out) as data:  # the zip's timestamps vary, the arrays do not
        digest = hashlib.sha256(b"".join(data[k].tobytes() for k in sorted(data))).hexdigest()
    print(f"wrote {args.out} ({size} KiB, weights sha256 {digest[:12]})")


if __name__ == "__main__":
    main()
