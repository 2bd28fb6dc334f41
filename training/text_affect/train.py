"""Train the text affect motion head (merg_sdk/perception/classifier.py), deterministically.

Data: the conversational utterances (perception/data/utterances.yaml, each turn with
the previous user turns as context, as the server passes them) and the prototypes
(perception/data/prototypes.yaml, labelled with their motion emotion, no context).
The settings (L2 strength, how much the context turns count, how much of the
prototype reader is mixed in) are chosen by the pooled accuracy of five-fold
cross-validation over the utterances, grouped by conversation, and of the separate
development split (training/text_affect/dev.yaml); the grid's scores differ by a
point or two, within noise, so `Choice` keeps the grid's best when it was last run.
The held-out evaluation sets (tests/data/text_affect_eval.yaml,
empathy/data/evaluation.yaml) are never read.

The fit is a full-batch L-BFGS on float64 from zero weights, so the same data gives
the same weights; the result goes to perception/data/text_affect_head.npz.

    HF_HUB_OFFLINE=1 .venv/bin/python training/text_affect/train.py [--search] [--out PATH]
"""

from __future__ import annotations

import argparse
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from merg_sdk.perception.classifier import (
    HEAD_PATH,
    N_LEXICAL,
    context_vector,
    lexical_features,
)
from merg_sdk.perception.encoder import DIM
from merg_sdk.perception.tables import Conversation, load_prototypes, load_utterances
from merg_sdk.perception.text_affect import TextAffect
from merg_sdk.perception.types import MOTION_EMOTIONS

DEV_PATH = Path(__file__).resolve().parent / "dev.yaml"
CONTEXT_TURNS = 2  # as server/conversation.py passes them
CONTEXT_WEIGHTS = (1.0, 0.5)  # most recent first, inside the context vector
FOLDS = 5
#: The grid searched by --search; the defaults below are its choice (see the docstring).
GRID = {
    "l2": (0.01, 0.03, 0.1, 0.3, 1.0),
    "context_gain": (0.0, 0.5, 1.0),
    "mix": (0.0, 0.25, 0.5, 1.0),
}


@dataclass(frozen=True)
class Choice:
    l2: float = 0.03
    context_gain: float = 0.5
    mix: float = 1.0


FIELDS = ("x", "y", "prior", "group", "offset")


@dataclass
class Samples:
    """Feature rows with labels, the prototype reader's motion log-probs, and groups."""

    x: np.ndarray  # [n, 2 * DIM + N_LEXICAL]
    y: np.ndarray  # [n]
    prior: np.ndarray  # [n, n_motion] log-probs of the prototype reader
    group: np.ndarray  # [n] conversation id (-1 for prototypes)
    offset: np.ndarray  # [n, n_motion] the lexicon's negation penalty, as analyze() adds it


def featurise(reader: TextAffect, conversations: Sequence[Conversation]) -> Samples:
    """Each turn with up to CONTEXT_TURNS previous user turns, read as analyze() would."""
    rows, labels, priors, groups, offsets = [], [], [], [], []
    motion_of_group = {
        name: MOTION_EMOTIONS.index(m)
        for name, m in zip(reader.prototypes.names, reader.prototypes.motion, strict=True)
    }
    for g, conversation in enumerate(conversations):
        texts = [text for _, text in conversation]
        for i, (emotion, text) in enumerate(conversation):
            seen = reader.evidence(text, texts[max(0, i - CONTEXT_TURNS) : i])
            if seen.vec is None:
                continue
            context = context_vector(seen.recent_vecs, CONTEXT_WEIGHTS, DIM)
            lexical = lexical_features(seen.found, motion_of_group)
            rows.append(np.concatenate([seen.vec, context, lexical]))
            labels.append(MOTION_EMOTIONS.index(emotion))
            motion = np.zeros(len(MOTION_EMOTIONS))
            np.add.at(motion, reader._motion_of, seen.probs)
            priors.append(np.log(np.maximum(motion, 1e-12)))
            groups.append(g)
            offset = np.zeros(len(MOTION_EMOTIONS))
            for hit in seen.found.hits:
                if hit.negated and hit.group in motion_of_group:
                    offset[motion_of_group[hit.group]] = -reader.settings.negated_penalty
            offsets.append(offset)
    return Samples(
        np.array(rows, dtype=np.float64),
        np.array(labels),
        np.array(priors),
        np.array(groups),
        np.array(offsets),
    )


def prototype_samples(reader: TextAffect) -> Samples:
    """The prototypes as single-turn samples; their prior is unused (they built it)."""
    protos = load_prototypes()
    conversations = [
        ((protos.motion[label], text),)
        for text, label in zip(protos.texts, protos.labels, strict=True)
    ]
    samples = featurise(reader, conversations)
    samples.group[:] = -1
    return samples


def join(*parts: Samples) -> Samples:
    return Samples(*(np.concatenate([getattr(p, f) for p in parts]) for f in FIELDS))


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre every feature; scale each embedding block by one number (its RMS per
    dimension, so no noisy dimension is blown up) and each lexical feature by its own std."""
    mean = x.mean(axis=0)
    centred = x - mean
    scale = np.empty(x.shape[1])
    for block in (slice(0, DIM), slice(DIM, 2 * DIM)):
        scale[block] = max(float(np.sqrt((centred[:, block] ** 2).mean())), 1e-6)
    scale[2 * DIM :] = np.maximum(centred[:, 2 * DIM :].std(axis=0), 1e-3)
    return mean, scale


def fit(x: np.ndarray, y: np.ndarray, l2: float, context_gain: float) -> dict[str, np.ndarray]:
    """Multinomial logistic regression, L2 on the weights, on standardised features."""
    mean, scale = standardiser(x)
    gain = np.ones(x.shape[1])
    gain[DIM : 2 * DIM] = context_gain
    z = torch.from_numpy((x - mean) / scale * gain)
    target = torch.from_numpy(y)
    n_classes = len(MOTION_EMOTIONS)
    w = torch.zeros(x.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS(
        [w, b], lr=1.0, max_iter=500, tolerance_grad=1e-9, line_search_fn="strong_wolfe"
    )

    def loss() -> torch.Tensor:
        optimiser.zero_grad()
        value = torch.nn.functional.cross_entropy(z @ w + b, target) + l2 * (w**2).sum()
        value.backward()
        return value

    optimiser.step(loss)
    # fold the context gain into the weights, so inference only standardises
    weights = w.detach().numpy() * gain[:, None]
    return {"weights": weights, "bias": b.detach().numpy(), "mean": mean, "scale": scale}


def log_probs(model: dict[str, np.ndarray], samples: Samples) -> np.ndarray:
    logits = ((samples.x - model["mean"]) / model["scale"]) @ model["weights"] + model["bias"]
    logp = logits - logits.max(axis=1, keepdims=True)
    return logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))


def accuracy(logp: np.ndarray, samples: Samples, mix: float) -> float:
    return float((read(logp, samples, mix) == samples.y).mean())


def read(logp: np.ndarray, samples: Samples, mix: float) -> np.ndarray:
    """The motion emotion analyze() answers, from the head's log-probs."""
    return (logp + mix * samples.prior + samples.offset).argmax(axis=1)


def subset(samples: Samples, keep: np.ndarray) -> Samples:
    return Samples(*(getattr(samples, f)[keep] for f in FIELDS))


def out_of_fold(utter: Samples, protos: Samples, l2: float, context_gain: float) -> np.ndarray:
    """Log-probs for every utterance from a head trained without its conversation's fold."""
    folds = utter.group % FOLDS
    logp = np.zeros((len(utter.y), len(MOTION_EMOTIONS)))
    for k in range(FOLDS):
        train = join(subset(utter, folds != k), protos)
        model = fit(train.x, train.y, l2, context_gain)
        logp[folds == k] = log_probs(model, subset(utter, folds == k))
    return logp


def confusion(y: np.ndarray, pred: np.ndarray) -> str:
    names = [m[:5] for m in MOTION_EMOTIONS]
    table = np.zeros((len(names), len(names)), dtype=int)
    np.add.at(table, (y, pred), 1)
    lines = ["truth\\read " + " ".join(f"{n:>5}" for n in names)]
    for name, row in zip(names, table, strict=True):
        lines.append(f"{name:>10} " + " ".join(f"{v if v else '.':>5}" for v in row))
    return "\n".join(lines)


def save(model: dict[str, np.ndarray], choice: Choice, path: Path) -> None:
    np.savez_compressed(
        path,
        classes=np.array(MOTION_EMOTIONS),
        weights=model["weights"].astype(np.float32),
        bias=model["bias"].astype(np.float32),
        mean=model["mean"].astype(np.float32),
        scale=model["scale"].astype(np.float32),
        context_weights=np.array(CONTEXT_WEIGHTS, dtype=np.float32),
        mix=np.float32(choice.mix),
        dim=np.int64(DIM),
        n_lexical=np.int64(N_LEXICAL),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true", help="search GRID and print scores")
    parser.add_argument("--out", type=Path, default=HEAD_PATH)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one thread: the same sums in the same order, every run
    reader = TextAffect.load(threads=1, use_classifier=False)
    utter = featurise(reader, load_utterances())
    protos = prototype_samples(reader)
    dev = featurise(reader, load_utterances(DEV_PATH))
    train = join(utter, protos)
    print(f"train: {len(utter.y)} utterances + {len(protos.y)} prototypes; dev: {len(dev.y)}")
    base_cv = float((utter.prior.argmax(axis=1) == utter.y).mean())
    base_dev = float((dev.prior.argmax(axis=1) == dev.y).mean())
    # (the prototype reader's prior already holds its own negation penalty)
    print(f"prototype reader alone: utterances {base_cv:.1%}, dev {base_dev:.1%}")

    choice = Choice()
    if args.search:
        scored = []
        for l2, gain in itertools.product(GRID["l2"], GRID["context_gain"]):
            dev_logp = log_probs(fit(train.x, train.y, l2, gain), dev)
            cv_logp = out_of_fold(utter, protos, l2, gain)
            for mix in GRID["mix"]:
                cv, dev_acc = accuracy(cv_logp, utter, mix), accuracy(dev_logp, dev, mix)
                pooled = (cv * len(utter.y) + dev_acc * len(dev.y)) / (len(utter.y) + len(dev.y))
                scored.append((pooled, cv, dev_acc, Choice(l2, gain, mix)))
                print(f"l2={l2:<6} context={gain:<4} mix={mix:<5} cv {cv:.1%}  dev {dev_acc:.1%}")
        best = max(scored, key=lambda s: s[0])
        print(f"best: {best[3]} (cv {best[1]:.1%}, dev {best[2]:.1%})")
        choice = best[3]

    model = fit(train.x, train.y, choice.l2, choice.context_gain)
    pred = read(log_probs(model, dev), dev, choice.mix)
    print(f"{choice}: dev accuracy {(pred == dev.y).mean():.1%}")
    print(confusion(dev.y, pred))
    save(model, choice, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
