"""Train the tuned emotion reader (merg_sdk/perception/tuned_reader.py).

The encoder (all-MiniLM-L6-v2 from its wheel) gets LoRA deltas on every attention and
feed-forward projection, and a linear head reads the mean-pooled pair (the previous
user turn, this turn) into the nine motion emotions. Data: every training file
train.py reads (the utterance files and the guide-written conversations); the
prototypes are left out (one-line prototypes are not conversation). The held-out
evaluation sets and the dev splits are never read.

Two modes:

- `--hold-out written_a` trains without that file and prints its accuracy after each
  epoch, alone and mixed with the frozen mpnet head's leave-one-file-out log-probs
  (`train.py --base mpnet --dump-files F`, passed as `--frozen F`) at each weight:
  the estimate that chose the rank, the epochs and the mixing weight.
- without it, trains on every file and writes perception/data/emotion_reader/ (PEFT's
  adapter files, head.npz, reader.json with the mixing weight).

Seeded (torch and the shuffle); on two threads a rerun matches to float rounding.
`--base mpnet` tunes all-mpnet-base-v2 (from its wheels) instead of MiniLM: on
2026-12-07, with `written_a` held out, one and two epochs of three read 64.4% and 65.4%
alone (the tuned MiniLM after five epochs: 59.1%; the frozen mpnet head: 54.3%), at 20-30
minutes an epoch on one busy core. Not shipped yet (docs/empathy.md).

    HF_HUB_OFFLINE=1 .venv/bin/python training/text_affect/train_reader.py \\
        [--hold-out written_a --frozen /tmp/mpnet_files.npz] [--epochs 5] [--lora 16] \\
        [--base mpnet]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import DEV_PATHS, training_files

from merg_sdk.perception.encoder import BASES
from merg_sdk.perception.tables import Conversation, load_utterances
from merg_sdk.perception.tuned_reader import READER_DIR, pool_pairs
from merg_sdk.perception.types import MOTION_EMOTIONS

Pair = tuple[str, str, int]  # previous user turn, this turn, emotion index
#: The mixing weight of the tuned reader against the frozen mpnet head (log-probs),
#: chosen with --hold-out on written_a and written_e (docs/empathy.md).
WEIGHT = 0.4
#: Each base's public name (for the adapter config) and the projections LoRA tunes.
BASE_NAMES = {
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
    "mpnet": "sentence-transformers/all-mpnet-base-v2",
}
TARGETS = {"minilm": ["query", "key", "value", "dense"], "mpnet": ["q", "k", "v", "o", "dense"]}
WEIGHTS = (0.0, 0.25, 0.4, 0.5, 0.6, 0.75, 1.0)


def conversation_pairs(conversations: Sequence[Conversation]) -> list[Pair]:
    """Each non-empty turn (train.py skips empty ones too) with the turn before it."""
    return [
        (conversation[i - 1][1] if i else "", text, MOTION_EMOTIONS.index(emotion))
        for conversation in conversations
        for i, (emotion, text) in enumerate(conversation)
        if text.strip()
    ]


def pairs(hold_out: str | None) -> tuple[list[Pair], list[Pair]]:
    """(training pairs, held-out pairs) in training_files() order."""
    train: list[Pair] = []
    test: list[Pair] = []
    for path, conversations in training_files():
        (test if path.stem == hold_out else train).extend(conversation_pairs(conversations))
    if hold_out and not test:
        raise SystemExit(f"no training file is called {hold_out!r}")
    return train, test


class Reader(torch.nn.Module):
    """The encoder's mean-pooled pair embedding, then a linear layer to the emotions."""

    def __init__(self, rank: int, base: str = "minilm") -> None:
        super().__init__()
        self.base = base
        self.tokenizer = AutoTokenizer.from_pretrained(BASES[base](), local_files_only=True)
        encoder = AutoModel.from_pretrained(BASES[base](), local_files_only=True)
        config = LoraConfig(
            r=rank,
            lora_alpha=2 * rank,
            lora_dropout=0.1,
            target_modules=TARGETS[base],
        )
        self.encoder = get_peft_model(encoder, config)
        self.head = torch.nn.Linear(encoder.config.hidden_size, len(MOTION_EMOTIONS))

    def forward(self, batch: list[Pair]) -> torch.Tensor:
        return self.head(pool_pairs(self.tokenizer, self.encoder, [b[:2] for b in batch]))


def log_probs(reader: Reader, items: list[Pair]) -> np.ndarray:
    reader.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(items), 64):
            out.append(torch.log_softmax(reader(items[i : i + 64]), dim=1).numpy())
    reader.train()
    return np.concatenate(out)


def frozen_log_probs(path: Path, hold_out: str, n: int) -> np.ndarray:
    """The frozen mpnet head's leave-one-file-out log-probs for the held-out file."""
    with np.load(path) as data:
        files = list(data["files"])
        rows = data["source"] == files.index(hold_out)
        logp = data["logp"][rows]
    if len(logp) != n:
        raise SystemExit(f"{path}: {len(logp)} rows for {hold_out}, the trainer has {n}")
    return logp


def tidy(directory: Path, base: str) -> None:
    """No machine's path and no model-card template in the shipped folder; the same
    config text every run (PEFT writes target_modules from a set)."""
    (directory / "README.md").unlink(missing_ok=True)
    path = directory / "adapter_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = BASE_NAMES[base]
    config["target_modules"] = sorted(config["target_modules"])
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def save(reader: Reader, directory: Path, weight: float, epochs: int, n: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    reader.encoder.save_pretrained(directory)
    tidy(directory, reader.base)
    np.savez_compressed(
        directory / "head.npz",
        weight=reader.head.weight.detach().numpy().astype(np.float32),
        bias=reader.head.bias.detach().numpy().astype(np.float32),
    )
    meta = {
        "classes": list(MOTION_EMOTIONS),
        "weight": weight,
        "epochs": epochs,
        "training_turns": n,
        "base": reader.base,
        "model": BASE_NAMES[reader.base],
    }
    (directory / "reader.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hold-out", help="a training file's stem: estimate, write nothing")
    parser.add_argument("--frozen", type=Path, help="train.py --dump-files output")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lora", type=int, default=16, help="LoRA rank")
    parser.add_argument("--base", choices=sorted(TARGETS), default="minilm")
    parser.add_argument("--lr", type=float, default=5e-4, help="LoRA learning rate")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=READER_DIR)
    parser.add_argument("--limit", type=int, help="train on the first N turns only (tests)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = random.Random(0)
    train, test = pairs(args.hold_out)
    train = train[: args.limit] if args.limit else train
    truth = np.array([t[2] for t in test])
    frozen = frozen_log_probs(args.frozen, args.hold_out, len(test)) if args.frozen else None
    if frozen is not None:
        print(f"frozen mpnet head on {args.hold_out}: {(frozen.argmax(1) == truth).mean():.1%}")
    reader = Reader(args.lora, args.base)
    optimiser = torch.optim.AdamW(
        [
            {"params": [p for p in reader.encoder.parameters() if p.requires_grad], "lr": args.lr},
            {"params": reader.head.parameters(), "lr": 1e-3},
        ],
        weight_decay=0.01,
    )
    steps = args.epochs * ((len(train) + 31) // 32)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 1.0 - s / (steps + 1))
    print(f"{len(train)} training turns, {len(test)} held out ({args.hold_out or 'none'})")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train)
        for i in range(0, len(train), 32):
            batch = train[i : i + 32]
            loss = torch.nn.functional.cross_entropy(
                reader(batch), torch.tensor([b[2] for b in batch])
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        minutes = (time.perf_counter() - start) / 60
        line = f"epoch {epoch} ({minutes:.1f} min)"
        if test:
            tuned = log_probs(reader, test)
            line += f": tuned {(tuned.argmax(1) == truth).mean():.1%}"
            if frozen is not None:
                for w in WEIGHTS:
                    mixed = w * tuned + (1 - w) * frozen
                    line += f"  w{w:g} {(mixed.argmax(1) == truth).mean():.1%}"
        print(line, flush=True)
    if not args.hold_out:
        save(reader, args.out, WEIGHT, args.epochs, len(train))
        print(f"wrote {args.out}")
        for path in DEV_PATHS:  # written apart from the training files, never trained on
            dev = conversation_pairs(load_utterances(path))
            read = log_probs(reader, dev).argmax(1)
            right = (read == np.array([d[2] for d in dev])).mean()
            print(f"{path.name}: tuned reader alone {right:.1%} ({len(dev)} turns)")


if __name__ == "__main__":
    main()
