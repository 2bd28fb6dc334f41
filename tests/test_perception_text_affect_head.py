"""The trained motion head: its data is valid and fresh, its weights load and reproduce."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from merg_sdk.perception.classifier import (
    HEAD_PATH,
    N_LEXICAL,
    MotionClassifier,
    context_vector,
    lexical_features,
)
from merg_sdk.perception.cues import scan
from merg_sdk.perception.encoder import DIM
from merg_sdk.perception.tables import (
    load_all_utterances,
    load_lexicon,
    load_prototypes,
    load_utterances,
    utterance_paths,
)
from merg_sdk.perception.types import MOTION_EMOTIONS
from tests.copying import all_runs, runs, yaml_strings
from tests.scripts import training_script

ROOT = Path(__file__).resolve().parent.parent
DEVS = sorted((ROOT / "training" / "text_affect").glob("dev*.yaml"))
HELD_OUT = [
    ROOT / "tests" / "data" / "text_affect_eval.yaml",
    *sorted((ROOT / "merg_sdk" / "empathy" / "data").glob("evaluation*.yaml")),
]


def _texts(*paths: Path) -> list[str]:
    return [
        text for path in paths for conversation in load_utterances(path) for _, text in conversation
    ]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def test_training_and_dev_splits_are_large_and_cover_every_emotion() -> None:
    train = load_all_utterances()
    assert len(utterance_paths()) >= 2 and len(DEVS) >= 2
    for name, conversations, least in (
        ("training", train, 1300),
        *((path.name, load_utterances(path), 100) for path in DEVS),
    ):
        counts = Counter(e for c in conversations for e, _ in c)
        assert sum(counts.values()) >= least, name
        assert set(counts) == set(MOTION_EMOTIONS), name
        assert min(counts.values()) >= 4, (name, counts)


def test_no_training_sentence_is_in_a_dev_split_or_copied_from_the_held_out_sets() -> None:
    train, dev = _texts(*utterance_paths()), _texts(*DEVS)
    assert len({_key(s) for s in train}) == len(train)
    assert len({_key(s) for s in dev}) == len(dev)
    assert not {_key(s) for s in train} & {_key(s) for s in dev}
    held_out = yaml_strings(HELD_OUT)
    shared, same = all_runs(held_out), {_key(s) for s in held_out}
    for text in train + dev:
        copied = bool(runs(text) & shared)  # (a bool, so a failure never prints held-out text)
        assert not copied, text
    # the files added after the first two also share no whole sentence, however short
    newer = [
        p for p in [*utterance_paths(), *DEVS] if p.name not in ("utterances.yaml", "dev.yaml")
    ]
    for text in _texts(*newer):
        copied = _key(text) in same
        assert not copied, text


def test_bad_utterances_fail_on_load(tmp_path: Path) -> None:
    path = tmp_path / "u.yaml"
    path.write_text("version: 1\nconversations:\n  - - bored: I am bored.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="emotion: text"):
        load_utterances(path)


def test_shipped_head_loads_with_the_right_shape() -> None:
    head = MotionClassifier.load()
    assert head is not None
    n_features = 2 * DIM + N_LEXICAL
    assert head.weights.shape == (n_features, len(MOTION_EMOTIONS))
    assert head.mean.shape == head.scale.shape == (n_features,)
    assert np.all(head.scale > 0) and np.isfinite(head.weights).all()
    assert 0.0 <= head.mix <= 2.0
    assert MotionClassifier.load(Path("/nonexistent/head.npz")) is None
    rows = np.zeros((2, n_features), dtype=np.float32)
    np.testing.assert_allclose(np.exp(head.log_probs(rows)).sum(axis=1), 1.0, rtol=1e-5)


def test_lexical_features_see_negation() -> None:
    protos = load_prototypes()
    lexicon = load_lexicon(None, protos.names)
    groups = {n: MOTION_EMOTIONS.index(m) for n, m in zip(protos.names, protos.motion, strict=True)}
    plain = lexical_features(scan("I'm so scared.", lexicon), groups)
    negated = lexical_features(scan("I'm not scared.", lexicon), groups)
    afraid, n = MOTION_EMOTIONS.index("afraid"), len(MOTION_EMOTIONS)
    assert plain[afraid] > 0 and plain[n + afraid] == 0
    assert negated[afraid] == 0 and negated[n + afraid] > 0
    assert context_vector([], (1.0, 0.5), DIM).shape == (DIM,)


def test_fit_is_deterministic() -> None:
    train = training_script("text_affect/train.py")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 2 * DIM + N_LEXICAL))
    y = np.arange(60) % len(MOTION_EMOTIONS)
    first, second = train.fit(x, y, 0.1, 1.0), train.fit(x, y, 0.1, 1.0)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name])


@pytest.mark.slow("re-embeds every training sentence (about two minutes)")
def test_shipped_head_is_what_train_py_writes(tmp_path: Path) -> None:
    train = training_script("text_affect/train.py")
    out = tmp_path / "head.npz"
    sys.argv = ["train.py", "--out", str(out)]
    train.main()
    with np.load(out) as fresh, np.load(HEAD_PATH) as shipped:
        for name in ("weights", "bias", "mean", "scale", "mix"):
            np.testing.assert_allclose(fresh[name], shipped[name], atol=1e-4)
