"""The tuned pair reader: the trainer writes a folder the runtime loads (PEFT deltas
merged over the wheel's MiniLM, the head, the mixing weight); the shipped one reads
clear turns right and reads a turn in the light of the previous one; analyze mixes it
with the mpnet head; a broken folder or a failure at run time leaves the head alone."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

import json
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from merg_sdk.perception import TextAffect
from merg_sdk.perception.emotion_adapter import EmotionAdapter
from merg_sdk.perception.tables import load_utterances
from merg_sdk.perception.tuned_reader import READER_DIR, TunedReader
from merg_sdk.perception.types import MOTION_EMOTIONS
from tests.scripts import training_script
from tests.test_perception_emotion_adapter import CLEAR  # clear turns, one per emotion


@pytest.fixture(scope="module")
def tuned() -> TunedReader:
    loaded = TunedReader.load()
    assert loaded is not None, f"{READER_DIR} is shipped"
    return loaded


@pytest.fixture(scope="module")
def reader() -> Iterator[TextAffect]:
    loaded = TextAffect.load(threads=1)
    loaded.warm_up()
    yield loaded


@pytest.mark.parametrize("base", ["minilm", "mpnet"])
def test_the_trainer_writes_a_folder_the_runtime_loads(tmp_path: Path, base: str) -> None:
    train_reader = training_script("text_affect/train_reader.py")
    out = tmp_path / "reader"
    argv = ["--limit", "64", "--epochs", "1", "--threads", "1", "--out", str(out), "--base", base]
    with mock.patch("sys.argv", ["train_reader.py", *argv]):
        train_reader.main()
    meta = json.loads((out / "reader.json").read_text())
    assert meta["classes"] == list(MOTION_EMOTIONS) and meta["training_turns"] == 64
    assert meta["base"] == base
    limit = {"minilm": 4_000_000, "mpnet": 12_000_000}[base]  # rank-16 deltas, float32
    assert (out / "adapter_model.safetensors").stat().st_size < limit
    made = TunedReader.load(out)
    assert made is not None and made.weight == train_reader.WEIGHT
    assert made._head.shape[0] == {"minilm": 384, "mpnet": 768}[base]
    logp = made.log_probs([("", "I lost my keys again."), ("It rained.", "Fine.")])
    assert logp.shape == (2, len(MOTION_EMOTIONS)) and np.isfinite(logp).all()
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, atol=1e-5)


def test_the_runtime_reads_as_the_trainer_did(tmp_path: Path) -> None:
    """Deltas merged at load, the head transposed, the same pooling and truncation: the
    loaded reader's log-probs are the trained module's, for pairs with and without context."""
    import torch

    train_reader = training_script("text_affect/train_reader.py")
    torch.manual_seed(1)
    trained = train_reader.Reader(rank=4)
    for name, weight in trained.encoder.named_parameters():
        if "lora_B" in name:  # PEFT starts B at zero: give the deltas something to merge
            torch.nn.init.normal_(weight, std=0.05)
    train_reader.save(trained, tmp_path, 0.3, 1, 0)
    items = [("", "I lost my keys again.", 0), ("It rained all week.", "Fine. " * 80, 0)]
    loaded = TunedReader.load(tmp_path)
    assert loaded is not None and loaded.weight == 0.3
    expected = train_reader.log_probs(trained, items)
    np.testing.assert_allclose(loaded.log_probs([i[:2] for i in items]), expected, atol=1e-4)


def test_a_missing_folder_is_none_and_a_broken_one_raises(tmp_path: Path) -> None:
    assert TunedReader.load(tmp_path / "none") is None
    (tmp_path / "reader.json").write_text(json.dumps({"classes": ["sad"], "weight": 0.5}))
    with pytest.raises(ValueError, match="classes"):
        TunedReader.load(tmp_path)
    meta = {"classes": list(MOTION_EMOTIONS), "weight": 0.5, "base": "gpt"}
    (tmp_path / "reader.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="unknown base"):
        TunedReader.load(tmp_path)


def test_the_shipped_reader_reads_clear_turns(tuned: TunedReader) -> None:
    assert 0.0 < tuned.weight <= 1.0
    read = tuned.log_probs([("", text) for text in CLEAR]).argmax(axis=1)
    assert [MOTION_EMOTIONS[i] for i in read] == list(CLEAR.values())


def test_the_previous_turn_changes_the_reading(tuned: TunedReader) -> None:
    """Both read as surprise; what the surprise is about moves sad and happy."""
    turn = "I still can't believe it."
    good = tuned.log_probs([("We won the lottery last night, a million dollars!", turn)])[0]
    bad = tuned.log_probs([("My brother was killed in a car crash on Sunday.", turn)])[0]
    sad, happy = MOTION_EMOTIONS.index("sad"), MOTION_EMOTIONS.index("happy")
    assert bad[sad] > good[sad] + 1.0 and good[happy] > bad[happy] + 1.0


def test_analyze_mixes_the_tuned_reader_with_the_head(reader: TextAffect) -> None:
    adapter = reader.adapter
    assert adapter is not None and adapter.tuned is not None
    alone = TextAffect.load(encoder=reader.encoder, use_tuned=False)
    assert alone.adapter is not None and alone.adapter.tuned is None
    texts = [*CLEAR, "ok so that happened", "I don't even know anymore."]
    mixed = [reader.analyze(t).distribution for t in texts]
    assert mixed != [alone.analyze(t).distribution for t in texts]
    for text, emotion in CLEAR.items():
        assert reader.analyze(text).emotion == emotion
    # one pair without context turns; with them, also the turn alone (the CONTEXT cue)
    with mock.patch.object(adapter.tuned, "log_probs", wraps=adapter.tuned.log_probs) as spy:
        reader.analyze("I'm fine, I guess.")
        reader.analyze("I'm fine, I guess.", ["My cat is at the vet."])
    assert [len(call.args[0]) for call in spy.call_args_list] == [1, 2]
    with mock.patch.object(adapter.tuned, "log_probs", side_effect=RuntimeError("boom")):
        failed = reader.analyze(texts[-1])
    assert failed.distribution == alone.analyze(texts[-1]).distribution


def test_a_broken_tuned_folder_leaves_the_head_reading(tmp_path: Path) -> None:
    (tmp_path / "reader.json").write_text(
        json.dumps({"classes": list(MOTION_EMOTIONS), "weight": 0.5})
    )  # no adapter files beside it
    adapter = EmotionAdapter.load(tuned_dir=tmp_path)
    assert adapter is not None and adapter.tuned is None


@pytest.mark.slow("trains the reader for five epochs (about fifteen minutes on two cores)")
def test_the_shipped_reader_is_what_train_reader_writes(tmp_path: Path, tuned: TunedReader) -> None:
    """Float sums on another CPU may differ in the last bits over ~720 steps, so the
    retrained reader must agree with the shipped one, not match it bit for bit."""
    train_reader = training_script("text_affect/train_reader.py")
    out = tmp_path / "reader"
    with mock.patch("sys.argv", ["train_reader.py", "--out", str(out)]):
        train_reader.main()
    made = TunedReader.load(out)
    assert made is not None
    items = [
        pair[:2]
        for path in train_reader.DEV_PATHS
        for pair in train_reader.conversation_pairs(load_utterances(path))
    ]
    shipped, retrained = tuned.log_probs(items), made.log_probs(items)
    assert (shipped.argmax(1) == retrained.argmax(1)).mean() >= 0.9
