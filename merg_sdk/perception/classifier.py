"""A small trained classifier over the motion emotions, for conversational turns.

Why it exists: the prototype centroids (head.py) were built from clean,
stand-alone sentences, and in conversation they confuse feelings that are
voiced indirectly ("what if they find out" is fear, not anger) and follow-up
turns that mean something only next to the turn before. This head is a
multinomial logistic regression on the same frozen MiniLM embedding, plus the
embedding of the previous user turns and a few lexicon counts (negated and
un-negated emotion words per motion emotion, hedges, questions), trained on
conversational utterances (perception/data/utterances*.yaml, 2,168 turns of
short conversations in several registers) and the prototypes by
training/text_affect/train.py, which writes the weights to
perception/data/text_affect_head.npz deterministically. It costs one small
matrix product per sentence on top of the embedding the reader computes anyway.

It predicts motion emotions only; the reader keeps the fine emotions from the
centroids, renormalised inside each motion emotion (text_affect.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merg_sdk.perception.cues import Scan
from merg_sdk.perception.tables import DATA_DIR, GENERAL
from merg_sdk.perception.types import MOTION_EMOTIONS

HEAD_PATH = DATA_DIR / "text_affect_head.npz"
#: Lexicon features: per motion emotion, un-negated then negated word strength; then these.
_EXTRA = ("valence", "negators", "hedges", "question", "exclamation", "intensity")
N_LEXICAL = 2 * len(MOTION_EMOTIONS) + len(_EXTRA)


def lexical_features(found: Scan, motion_of_group: dict[str, int]) -> np.ndarray:
    """What the lexicon saw, as numbers: the embedding under-reads negation and emotion words.

    `motion_of_group` maps a lexicon group (fine emotion) to its motion emotion index.
    """
    n = len(MOTION_EMOTIONS)
    out = np.zeros(N_LEXICAL, dtype=np.float32)
    weight = 0.0
    valence = 0.0
    for hit in found.hits:
        valence += hit.vad[0] * hit.strength
        weight += hit.strength
        if hit.group == GENERAL:
            continue
        m = motion_of_group[hit.group]
        if hit.negated:
            out[n + m] += hit.strength
        else:
            out[m] += hit.strength * min(1.5, hit.scale)
    extra = out[2 * n :]
    extra[0] = valence / weight if weight > 0 else 0.0
    extra[1] = sum(c.kind == "negation" for c in found.cues)
    extra[2] = found.hedges
    extra[3] = any("?" in t.raw for t in found.tokens if t.kind == "punct")
    extra[4] = any("!" in t.raw for t in found.tokens if t.kind == "punct")
    extra[5] = found.intensity - 1.0
    return out


def context_vector(vectors: list[np.ndarray], weights: tuple[float, ...], dim: int) -> np.ndarray:
    """Weighted mean of the recent turns' embeddings (most recent first); zeros without any."""
    used = list(zip(weights, vectors, strict=False))
    if not used:
        return np.zeros(dim, dtype=np.float32)
    total = sum(w for w, _ in used)
    return (sum(w * v for w, v in used) / total).astype(np.float32)


@dataclass(frozen=True, slots=True)
class MotionClassifier:
    """Logistic regression over [text embedding, context embedding, lexical features].

    `mean`/`scale` standardise the features as in training; `mix` is how much
    the prototype reader's motion log-probabilities are added to this head's,
    chosen by cross-validation and the development splits (0 when the head
    alone generalises best, as it did once trained on varied conversation).
    """

    weights: np.ndarray  # [n_features, n_motion]
    bias: np.ndarray  # [n_motion]
    mean: np.ndarray  # [n_features]
    scale: np.ndarray  # [n_features]
    context_weights: tuple[float, ...]
    mix: float
    dim: int

    @classmethod
    def load(cls, path: Path | None = None) -> MotionClassifier | None:
        """The shipped head, or None when the file is absent (the reader then uses centroids)."""
        path = path or HEAD_PATH
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            classes = tuple(str(c) for c in data["classes"])
            if classes != MOTION_EMOTIONS:
                raise ValueError(f"{path} was trained for {classes}, not {MOTION_EMOTIONS}")
            arrays = {k: data[k].astype(np.float32) for k in ("weights", "bias", "mean", "scale")}
            for array in arrays.values():
                array.setflags(write=False)
            return cls(
                **arrays,
                context_weights=tuple(float(w) for w in data["context_weights"]),
                mix=float(data["mix"]),
                dim=int(data["dim"]),
            )

    def features(self, vec: np.ndarray, context: np.ndarray, lexical: np.ndarray) -> np.ndarray:
        """One row of features; `context` is zeros when there is no earlier turn."""
        if context.shape != vec.shape:
            context = np.zeros_like(vec)
        return np.concatenate([vec, context, lexical]).astype(np.float32)

    def log_probs(self, features: np.ndarray) -> np.ndarray:
        """Log-probabilities over MOTION_EMOTIONS for feature rows [..., n_features]."""
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        logits = logits - logits.max(axis=-1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
