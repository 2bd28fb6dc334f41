"""The emotion reader: all-mpnet-base-v2 embeddings of the turn and its context turns,
and the linear head trained on them.

Why it exists: the motion head in classifier.py reads the frozen MiniLM, which places
sentences by topic more than by feeling; on training files left out it read 59.4%.
The same head over the frozen 12-layer mpnet (joined from its wheels, perception/mpnet.py)
reads 70.0% (docs/empathy.md; on the third blind evaluation set it over-reads `afraid`).
`training/text_affect/train.py --base mpnet` writes the head to
perception/data/emotion_adapter.npz (57 KB, made deterministically, never downloaded),
with the MotionClassifier arrays and `base`, the encoder it was trained on. The encoder
is the process's shared SentenceEncoder for that base (shared_encoder), so the crisis
detector reading the same turn with mpnet pays no second pass, and the context turns,
read a moment before, come from its cache.

A LoRA-tuned MiniLM read here until 2026-12 (66.5% of unseen files); it was retired
when the crisis detector came to need mpnet anyway: without mpnet's wheels the server
cannot start, and a library user without them keeps the frozen-MiniLM head. Since
2026-12-07 a MiniLM tuned on (previous turn, turn) pairs reads beside this head and the
two readers' log-probabilities are mixed (tuned_reader.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from merg_sdk.perception.classifier import MotionClassifier
from merg_sdk.perception.encoder import BASES, SentenceEncoder, shared_encoder
from merg_sdk.perception.tables import DATA_DIR
from merg_sdk.perception.tuned_reader import TunedReader

log = logging.getLogger(__name__)

ADAPTER_PATH = DATA_DIR / "emotion_adapter.npz"


class EmotionAdapter:
    """The encoder the head was trained with, the head, and the tuned pair reader whose
    log-probabilities are mixed with the head's (tuned_reader.py), when it is shipped."""

    def __init__(
        self, encoder: SentenceEncoder, head: MotionClassifier, tuned: TunedReader | None = None
    ):
        self.encoder = encoder
        self.head = head
        self.tuned = tuned

    @classmethod
    def load(
        cls, path: Path | None = None, tuned_dir: Path | None = None, use_tuned: bool = True
    ) -> EmotionAdapter | None:
        """The shipped reader, or None when its file is absent (the reader then keeps the
        frozen-embedding head). A base whose wheels are missing raises MissingModel. The
        tuned reader (`tuned_dir`, else perception/data/emotion_reader/) joins unless
        `use_tuned` is False; should it fail to load, the head reads alone."""
        path = path or ADAPTER_PATH
        if not path.is_file():
            return None
        head = MotionClassifier.load(path)
        if head is None:  # pragma: no cover - checked above
            return None
        with np.load(path, allow_pickle=False) as data:
            base = str(data["base"]) if "base" in data else "minilm"
        if base not in BASES:
            raise ValueError(f"{path.name}: unknown base model {base!r}")
        encoder = shared_encoder(BASES[base]())
        if encoder.dim != head.dim:
            raise ValueError(f"{path.name}: a {head.dim}-d head for a {encoder.dim}-d {base}")
        log.info("emotion reader: %s, from %s", base, path.name)
        tuned = None
        if use_tuned:
            try:
                tuned = TunedReader.load(tuned_dir)
            except Exception:  # a broken folder must not stop the reader: keep the head
                log.exception("tuned emotion reader unusable; the mpnet head reads alone")
        return cls(encoder, head, tuned)

    def encode_one(self, text: str) -> np.ndarray:
        """The turn's embedding ([dim]) as the head was trained on it; cached."""
        return self.encoder.encode_one(text)
