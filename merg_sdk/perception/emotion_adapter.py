"""The encoder the motion emotion is read with, and its linear head.

Shipped: the frozen all-mpnet-base-v2 (put together from its wheels, perception/mpnet.py)
with a head over [mpnet embedding of the turn, mpnet embedding of the previous turns,
lexicon counts], trained by `training/text_affect/train.py --base mpnet`. On training
files left out it reads 70.0% where the frozen MiniLM read 59.4%; on the third blind
evaluation set it is no better than the LoRA-tuned MiniLM below (60.7% / 61.0%) and
over-reads `afraid` (docs/empathy.md). It also serves the crisis detector. The file says
which base it was trained on (`base`), whether
the context turns are embedded by this encoder (`own_context`) or by the shared
MiniLM, and may carry LoRA deltas to merge. The older design, emotion_adapter_minilm.npz,
is read when the mpnet wheels are not installed:

Why it exists: the motion head in classifier.py reads a frozen sentence embedding, and
on writing unlike the training files it stalled around 60%: the frozen embedding
places sentences by topic more than by feeling, and more data no longer helped.
training/text_affect/train_adapter.py fine-tunes the encoder cheaply (low-rank
updates B @ A to the attention and feed-forward projections of all six layers) jointly
with a logistic regression over [tuned embedding of the turn, frozen embedding of the
previous turns, lexicon counts], and writes only the low-rank matrices and the head to
a file of its own (well under a megabyte, made deterministically, never downloaded).
A second copy of the base model is loaded with the deltas added to its weights, so
reading a turn is one plain forward pass (~12 ms on one core for MiniLM, ~75 ms for
mpnet). The shared SentenceEncoder stays untouched: the prototype reader and the other
readers (safety) keep the embedding they were built on.

The file's head has the same arrays as text_affect_head.npz, so MotionClassifier reads it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from merg_sdk.perception.classifier import MotionClassifier
from merg_sdk.perception.encoder import (
    BASES,
    MAX_TOKENS,
    SentenceEncoder,
    VectorCache,
    shared_encoder,
)
from merg_sdk.perception.tables import DATA_DIR

log = logging.getLogger(__name__)

ADAPTER_PATH = DATA_DIR / "emotion_adapter.npz"
#: The LoRA-tuned MiniLM reader, used when mpnet's wheels are not installed.
MINILM_ADAPTER_PATH = DATA_DIR / "emotion_adapter_minilm.npz"


def merge_lora(model: object, data: np.lib.npyio.NpzFile) -> int:
    """Add scaling * B @ A to every listed Linear's weight, in place; how many were merged."""
    import torch

    names = [str(n) for n in data["lora_names"]]
    scaling = float(data["lora_scaling"])
    with torch.no_grad():
        for k, name in enumerate(names):
            linear = model.get_submodule(name)  # type: ignore[attr-defined]
            a = torch.from_numpy(data[f"lora_a_{k}"].astype(np.float32))
            b = torch.from_numpy(data[f"lora_b_{k}"].astype(np.float32))
            if linear.weight.shape != (b.shape[0], a.shape[1]):
                raise ValueError(f"LoRA shape {tuple(b.shape)}x{tuple(a.shape)} for {name}")
            linear.weight += scaling * (b @ a)
    return len(names)


class TunedEncoder:
    """A second copy of a base model with LoRA deltas merged: mean-pooled, L2-normalised
    embeddings, thread-safe, recent texts cached."""

    def __init__(self, model: object, tokenizer: object, dim: int, cache_size: int):
        self._model = model
        self._tokenizer = tokenizer
        self._lock = threading.Lock()
        self._cache = VectorCache(cache_size, dim)

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    def encode_one(self, text: str) -> np.ndarray:
        """The embedding ([dim]), pooled as sentence-transformers pools."""
        import torch

        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                return hit
            batch = self._tokenizer(  # type: ignore[operator]
                [text], truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            )
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state  # type: ignore[operator]
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                vec = torch.nn.functional.normalize(pooled, dim=-1)[0].numpy()
            return self._cache.put(text, vec)


class EmotionAdapter:
    """The encoder the head was trained with, and the head. Without LoRA deltas the
    encoder is the process's shared SentenceEncoder for that base (shared_encoder), so
    the crisis detector reading the same turn with mpnet costs nothing more."""

    def __init__(
        self,
        encoder: SentenceEncoder | TunedEncoder,
        head: MotionClassifier,
        own_context: bool = False,
    ):
        self.encoder = encoder
        self.head = head
        self.own_context = own_context
        """True: embed the context turns with this encoder too (they were read with it a
        moment ago, so the cache answers); False: the shared MiniLM's, as trained."""

    @classmethod
    def load(cls, path: Path | None = None, cache_size: int = 64) -> EmotionAdapter | None:
        """The shipped adapter, or None when its file is absent (the reader then keeps the
        frozen-embedding head). Thread count is left to SentenceEncoder (process-wide).
        A base whose wheels are missing raises (the reader logs it and keeps the head)."""
        path = path or ADAPTER_PATH
        if not path.is_file():
            return None
        head = MotionClassifier.load(path)
        if head is None:  # pragma: no cover - checked above
            return None
        with np.load(path, allow_pickle=False) as data:
            base = str(data["base"]) if "base" in data else "minilm"
            own_context = bool(data["own_context"]) if "own_context" in data else False
            if base not in BASES:
                raise ValueError(f"{path.name}: unknown base model {base!r}")
            directory = BASES[base]()
            if "lora_names" not in data:
                log.info("emotion reader: %s, from %s", base, path.name)
                return cls(shared_encoder(directory), head, own_context)
            from transformers import AutoModel, AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(str(directory), local_files_only=True)
            model = AutoModel.from_pretrained(str(directory), local_files_only=True)
            model.eval()
            merged = merge_lora(model, data)
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        log.info("emotion reader: %s, %d low-rank deltas, from %s", base, merged, path.name)
        return cls(TunedEncoder(model, tokenizer, head.dim, cache_size), head, own_context)

    def encode_one(self, text: str) -> np.ndarray:
        """The turn's embedding ([dim]) as the head was trained on it; cached."""
        return self.encoder.encode_one(text)
