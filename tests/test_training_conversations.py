"""training/conversations/: guide-written conversations both trainers read.

They are in the evaluation sets' form, so they must be as valid as a set, and as apart
from every held-out set and dev split as the other training files.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from merg_sdk.empathy.evaluate import load_evaluation_set
from merg_sdk.perception.tables import load_utterances, utterance_paths
from merg_sdk.perception.types import MOTION_EMOTIONS
from tests.copying import all_runs, runs, yaml_strings
from tests.scripts import training_script

ROOT = Path(__file__).resolve().parent.parent
WRITTEN = sorted((ROOT / "training" / "conversations").glob("*.yaml"))
HELD_OUT = [
    ROOT / "tests" / "data" / "text_affect_eval.yaml",
    *sorted((ROOT / "tests" / "data").glob("safety_*.yaml")),
    *sorted((ROOT / "merg_sdk" / "empathy" / "data").glob("evaluation*.yaml")),
]
DEV_SPLITS = sorted((ROOT / "training").glob("*/dev*.yaml"))


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _written_texts() -> list[str]:
    return [t.text for path in WRITTEN for t in load_evaluation_set(path).turns()]


def test_the_files_are_valid_and_cover_every_label() -> None:
    assert len(WRITTEN) >= 6
    turns = [t for path in WRITTEN for t in load_evaluation_set(path).turns()]
    emotions = Counter(t.emotion for t in turns)
    crises = Counter(t.crisis for t in turns)
    assert set(emotions) == set(MOTION_EMOTIONS) and min(emotions.values()) >= 50
    assert set(crises) == {"none", "suicide", "self_harm", "abuse", "danger"}
    assert min(crises.values()) >= 30 and sum(t.hard for t in turns) >= 60


def test_no_sentence_is_shared_with_a_held_out_set_a_dev_split_or_other_training() -> None:
    written = _written_texts()
    others = [text for path in utterance_paths() for c in load_utterances(path) for _, text in c]
    keys = [_key(t) for t in written]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {_key(t) for t in others}
    kept_apart = yaml_strings([*HELD_OUT, *DEV_SPLITS])
    shared, same = all_runs(kept_apart), {_key(s) for s in kept_apart}
    for text in written:
        copied = bool(runs(text) & shared) or _key(text) in same  # never print held-out text
        assert not copied, text


def test_both_trainers_read_them() -> None:
    by_emotion = dict(training_script("text_affect/train.py").training_files())
    assert set(WRITTEN) <= set(by_emotion)
    first = load_evaluation_set(WRITTEN[0]).conversations[0]
    assert by_emotion[WRITTEN[0]][0] == tuple((t.emotion, t.text) for t in first.turns)
    groups = training_script("safety/train.py").hand_written()
    for path in WRITTEN:
        crisis = {(text, label) for text, label, _ in groups[path.stem]}
        assert {(t.text, t.crisis) for t in load_evaluation_set(path).turns()} <= crisis


@pytest.mark.parametrize("path", WRITTEN, ids=lambda p: p.stem)
def test_each_file_says_how_it_was_written(path: Path) -> None:
    head = path.read_text(encoding="utf-8").splitlines()[0]
    assert head.startswith("#") and "labelling-guide" in head


def test_the_tuned_reader_trainer_holds_a_written_file_out_and_reads_pairs() -> None:
    trainer = training_script("text_affect/train_reader.py")
    train, test = trainer.pairs(WRITTEN[0].stem)
    held = load_evaluation_set(WRITTEN[0]).turns()
    assert [t[1] for t in test] == [t.text for t in held]
    assert not {t[1] for t in train} & {t.text for t in held}
    assert test[0][0] == "" and test[1][0] == held[0].text  # the turn before, as context
    reader = trainer.Reader(rank=2)
    assert reader(test[:2]).shape == (2, len(MOTION_EMOTIONS))
    with pytest.raises(SystemExit, match="no training file"):
        trainer.pairs("nonexistent")
