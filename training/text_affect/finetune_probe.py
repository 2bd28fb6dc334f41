"""Estimate what fine-tuning a sentence encoder end to end would buy the emotion reader.

Not a shipped model: it fine-tunes the encoder (all-MiniLM-L6-v2 by default) with a
linear head on every training turn, read as a pair (the previous user turn, this turn),
with one guide-written file of training/conversations/ held out, and prints the held-out
accuracy after each epoch. The frozen-embedding head (train.py) reads the same held-out
files at 48-61% (55.4% pooled), so the figure says whether a fine-tuned reader is worth
shipping. On 2026-12-07 (one thread, ~4.5 min per epoch): written_a 52.4% -> 55.8% ->
58.7% over three epochs (the frozen mpnet head: 54%); written_e 49.3% -> 56.0% after
four epochs, no better after six (the frozen head: 48%).

    HF_HUB_OFFLINE=1 .venv/bin/python training/text_affect/finetune_probe.py \\
        [--base minilm] [--hold-out written_a] [--epochs 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch
from transformers import AutoModel, AutoTokenizer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train import training_files

from merg_sdk.perception.emotion_adapter import BASES
from merg_sdk.perception.types import MOTION_EMOTIONS

Pair = tuple[str, str, int]  # previous user turn, this turn, emotion index


def pairs(hold_out: str) -> tuple[list[Pair], list[Pair]]:
    train: list[Pair] = []
    test: list[Pair] = []
    for path, conversations in training_files():
        for conversation in conversations:
            for i, (emotion, text) in enumerate(conversation):
                before = conversation[i - 1][1] if i else ""
                item = (before, text, MOTION_EMOTIONS.index(emotion))
                (test if path.stem == hold_out else train).append(item)
    if not test:
        raise SystemExit(f"no training file is called {hold_out!r}")
    return train, test


class Reader(torch.nn.Module):
    """The encoder's mean-pooled pair embedding, then a linear layer to the nine emotions."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.encoder = AutoModel.from_pretrained(path)
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, len(MOTION_EMOTIONS))

    def forward(self, batch: list[Pair]) -> torch.Tensor:
        x = self.tokenizer(
            [b[0] for b in batch],
            [b[1] for b in batch],
            padding=True,
            truncation=True,
            max_length=96,
            return_tensors="pt",
        )
        hidden = self.encoder(**x).last_hidden_state
        mask = x["attention_mask"].unsqueeze(-1).float()
        return self.head((hidden * mask).sum(1) / mask.sum(1))


def accuracy(reader: Reader, items: list[Pair]) -> float:
    reader.eval()
    right = 0
    with torch.no_grad():
        for i in range(0, len(items), 64):
            batch = items[i : i + 64]
            truth = torch.tensor([b[2] for b in batch])
            right += int((reader(batch).argmax(1) == truth).sum())
    reader.train()
    return right / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", choices=sorted(BASES), default="minilm")
    parser.add_argument("--hold-out", default="written_a", help="a training file's stem")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)  # as the figures above were measured
    torch.manual_seed(0)
    rng = random.Random(0)
    train, test = pairs(args.hold_out)
    reader = Reader(BASES[args.base]())
    optimiser = torch.optim.AdamW(
        [
            {"params": reader.encoder.parameters(), "lr": 3e-5},
            {"params": reader.head.parameters(), "lr": 1e-3},
        ],
        weight_decay=0.01,
    )
    print(f"{len(train)} training turns, {len(test)} held out ({args.hold_out})")
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(train)
        for i in range(0, len(train), 32):
            batch = train[i : i + 32]
            truth = torch.tensor([b[2] for b in batch])
            loss = torch.nn.functional.cross_entropy(reader(batch), truth)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        minutes = (time.perf_counter() - start) / 60
        print(f"epoch {epoch}: held-out accuracy {accuracy(reader, test):.1%} ({minutes:.1f} min)")


if __name__ == "__main__":
    main()
