"""The tuned-encoder motion reader: it loads, reads clear sentences right, is what analyze
uses, falls back to the frozen-embedding head without its file, and is reproducible."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from merg_sdk.perception import TextAffect
from merg_sdk.perception.classifier import N_LEXICAL
from merg_sdk.perception.emotion_adapter import ADAPTER_PATH, EmotionAdapter
from merg_sdk.perception.encoder import DIM
from merg_sdk.perception.types import MOTION_EMOTIONS
from tests.scripts import training_script

CLEAR = {
    "My dog died yesterday and I can't stop crying.": "sad",
    "I got the job!! I'm so excited, this is the best day ever.": "happy",
    "I'm terrified about the biopsy results tomorrow.": "afraid",
    "They lied to my face again and I am furious.": "angry",
    "There was a hair in my soup and a cockroach on the plate, gross.": "disgusted",
    "What time does the pharmacy open on Sundays?": "neutral",
    "Wait, what? She's pregnant? I did not see that coming at all!": "surprised",
}


@pytest.fixture(scope="module")
def reader() -> Iterator[TextAffect]:
    loaded = TextAffect.load(threads=1)
    loaded.warm_up()
    yield loaded


def test_shipped_adapter_is_small_and_loads(reader: TextAffect) -> None:
    assert ADAPTER_PATH.is_file() and ADAPTER_PATH.stat().st_size < 4_000_000
    adapter = reader.adapter
    assert adapter is not None
    n_features = 2 * DIM + N_LEXICAL
    assert adapter.head.weights.shape == (n_features, len(MOTION_EMOTIONS))
    assert np.isfinite(adapter.head.weights).all() and np.all(adapter.head.scale > 0)
    with np.load(ADAPTER_PATH) as data:
        assert len(data["lora_names"]) >= 12  # every layer's attention at least
        assert all(f"lora_a_{k}" in data for k in range(len(data["lora_names"])))
    assert EmotionAdapter.load(Path("/nonexistent/adapter.npz")) is None


def test_tuned_embedding_is_normalised_and_not_the_frozen_one(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None
    text = "I keep thinking something terrible will happen to my kids."
    tuned, frozen = adapter.encode_one(text), reader.encoder.encode_one(text)
    assert tuned.shape == (DIM,) and abs(float(np.linalg.norm(tuned)) - 1.0) < 1e-4
    assert float(tuned @ frozen) < 0.999  # the deltas were merged
    assert float(tuned @ frozen) > 0.5  # ... and did not wreck the encoder
    assert adapter.encode_one(text) is tuned  # cached


@pytest.mark.parametrize("text, emotion", list(CLEAR.items()))
def test_clear_sentences_read_right(reader: TextAffect, text: str, emotion: str) -> None:
    assert reader.analyze(text).emotion == emotion


def test_analyze_uses_the_adapter(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None
    text = "Honestly I don't know how I'll get through the funeral on Friday."
    with mock.patch.object(adapter, "encode_one", wraps=adapter.encode_one) as spy:
        state = reader.analyze(text, context=["My grandad passed away on Monday."])
    spy.assert_called_once_with(text)
    assert state.emotion == "sad"


def test_adapter_is_thread_safe(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None
    texts = [f"I'm worried about exam number {i}." for i in range(12)]
    alone = [adapter.encode_one(t).copy() for t in texts]
    adapter._cache.clear()
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(adapter.encode_one, texts))
    for a, b in zip(alone, together, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_falls_back_to_the_head_without_the_file(reader: TextAffect, tmp_path: Path) -> None:
    missing = TextAffect.load(encoder=reader.encoder, adapter_path=tmp_path / "none.npz")
    assert missing.adapter is None and missing.classifier is not None
    broken_path = tmp_path / "broken.npz"
    broken_path.write_bytes(b"not a zip file")
    broken = TextAffect.load(encoder=reader.encoder, adapter_path=broken_path)
    assert broken.adapter is None
    plain = TextAffect.load(encoder=reader.encoder, use_adapter=False)
    for text in CLEAR:
        assert missing.analyze(text).distribution == plain.analyze(text).distribution
    # the frozen head and the adapter are different readers
    assert any(reader.analyze(t).distribution != plain.analyze(t).distribution for t in CLEAR)


def test_adapter_failure_at_run_time_uses_the_head(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None
    plain = TextAffect.load(encoder=reader.encoder, use_adapter=False)
    text = "I'm so scared I'll lose the house."
    with mock.patch.object(adapter, "encode_one", side_effect=RuntimeError("boom")):
        state = reader.analyze(text)
    assert state.distribution == plain.analyze(text).distribution


@pytest.mark.slow("fine-tunes MiniLM on ~2,500 sentences (several minutes on one core)")
def test_shipped_adapter_is_what_train_adapter_py_writes(tmp_path: Path) -> None:
    train = training_script("text_affect/train_adapter.py")
    out = tmp_path / "adapter.npz"
    sys.argv = ["train_adapter.py", "--out", str(out)]
    train.main()
    with np.load(out) as fresh, np.load(ADAPTER_PATH) as shipped:
        assert sorted(fresh.files) == sorted(shipped.files)
        for name in fresh.files:
            if fresh[name].dtype.kind in "fi":
                np.testing.assert_allclose(fresh[name], shipped[name], atol=1e-4, err_msg=name)
            else:
                np.testing.assert_array_equal(fresh[name], shipped[name])
