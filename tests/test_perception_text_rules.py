"""The rule parts of text perception (no model): data validation, cues, causes, fusion."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from merg_sdk.perception import AffectState, Cue, CueKind, Modality, fuse
from merg_sdk.perception.cause import MAX_WORDS, find_cause
from merg_sdk.perception.cues import scan
from merg_sdk.perception.tables import DATA_DIR, load_lexicon, load_prototypes
from merg_sdk.perception.types import MOTION_EMOTIONS


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon(None, load_prototypes().names)


def test_shipped_prototypes_are_complete() -> None:
    protos = load_prototypes()
    assert 20 <= len(protos.names) <= 28
    assert set(protos.motion) == set(MOTION_EMOTIONS)
    for i, name in enumerate(protos.names):
        count = int((protos.labels == i).sum())
        assert 10 <= count <= 24, name
    assert protos.vad.shape == (len(protos.names), 3)


def test_prototypes_and_eval_share_no_sentence() -> None:
    protos = {t.lower() for t in load_prototypes().texts}
    data = yaml.safe_load((Path(__file__).parent / "data" / "text_affect_eval.yaml").read_text())
    held_out = [i["text"] for i in data["items"]] + [i["text"] for i in data["negation"]]
    assert not protos & {t.lower() for t in held_out}


def write(tmp_path: Path, name: str, data: dict) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_prototypes_fail_on_load(tmp_path: Path) -> None:
    good = yaml.safe_load((DATA_DIR / "prototypes.yaml").read_text(encoding="utf-8"))
    bad_motion = {**good, "emotions": {**good["emotions"]}}
    bad_motion["emotions"]["joy"] = {**good["emotions"]["joy"], "motion": "elated"}
    with pytest.raises(ValidationError, match="elated"):
        load_prototypes(write(tmp_path, "a.yaml", bad_motion))
    bad_vad = {**good, "emotions": {**good["emotions"]}}
    bad_vad["emotions"]["joy"] = {**good["emotions"]["joy"], "vad": [1.5, 0, 0]}
    with pytest.raises(ValidationError):
        load_prototypes(write(tmp_path, "b.yaml", bad_vad))
    dup = {**good, "emotions": {**good["emotions"]}}
    dup["emotions"]["pride"] = {
        **good["emotions"]["pride"],
        "examples": ["Life feels good lately."] * 3,
    }
    with pytest.raises(ValidationError, match="both"):
        load_prototypes(write(tmp_path, "c.yaml", dup))


def test_bad_lexicon_fails_on_load(tmp_path: Path) -> None:
    good = yaml.safe_load((DATA_DIR / "lexicon.yaml").read_text(encoding="utf-8"))
    names = load_prototypes().names
    unknown = {**good, "emotion_words": {**good["emotion_words"], "elation": {"yay": [1, 1, 1]}}}
    with pytest.raises(ValueError, match="elation"):
        load_lexicon(write(tmp_path, "a.yaml", unknown), names)
    weak = {**good, "intensifiers": {"very": 0.5}}
    with pytest.raises(ValidationError):
        load_lexicon(write(tmp_path, "b.yaml", weak), names)


def test_negation_scopes_over_the_feeling_word(lexicon) -> None:
    found = scan("I'm not happy about this at all", lexicon)
    (happy,) = [h for h in found.hits if h.word == "happy"]
    assert happy.negated and happy.vad[0] < 0
    assert not scan("I'm happy, not sad", lexicon).hits[0].negated
    assert scan("I dont care", lexicon).hits[0].negated  # no apostrophe
    assert scan("I don’t feel good", lexicon).hits[0].negated  # curly apostrophe
    far = scan("I did not think the day would end this happy", lexicon)
    assert not far.hits[0].negated  # beyond the negation's reach


def test_idioms_with_a_negator_do_not_negate(lexicon) -> None:
    found = scan("I can't stop crying", lexicon)
    assert not found.hits[0].negated
    assert found.intensity > 1.0
    assert CueKind.NEGATION not in {c.kind for c in found.cues}


def test_intensity_cues(lexicon) -> None:
    assert scan("I'm SO happy!!!", lexicon).intensity > scan("I'm happy", lexicon).intensity
    assert scan("I'm a bit sad", lexicon).intensity < 1.0
    assert scan("so I went home", lexicon).intensity == 1.0  # "so" as a conjunction
    assert scan("sooo happy", lexicon).intensity > 1.0
    assert scan("maybe I'm sad, I guess", lexicon).hedges == 2


def test_emoji_and_emoticons_are_words(lexicon) -> None:
    groups = [h.group for h in scan("😭 :( ❤️ <3", lexicon).hits]
    assert groups == ["sadness", "sadness", "love", "love"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My dog died yesterday and I can't stop crying", "My dog died"),
        ("I'm sad because my best friend moved away", "my best friend moved away"),
        ("I'm so worried about the exam on Monday.", "the exam on Monday"),
        ("I lost my job last week.", "lost my job last week"),
        ("I miss my old school so much", "my old school"),
        ("The noise upstairs makes me crazy", "The noise upstairs"),
        ("Someone keyed my car last night, I'm furious.", "Someone keyed my car last night"),
        ("I'm angry that he lied to me again", "he lied to me"),
        ("I'm scared my dad's drinking is getting worse.", "my dad's drinking is getting worse"),
        ("The bathroom at the station was absolutely filthy.", "The bathroom at the station"),
        ("Nobody remembered my birthday this year.", "Nobody remembered my birthday this year"),
        ("Phew, the results came back fine, I can breathe again", "the results came back fine"),
    ],
)
def test_cause_spans(lexicon, text: str, expected: str) -> None:
    assert find_cause(text, scan(text, lexicon)) == expected


def test_cause_is_none_without_a_cause(lexicon) -> None:
    # find_cause assumes an emotional reading; the reader skips it for neutral ones
    for text in ("I'm so sad.", "I miss her.", "Hi.", "", "😭", "It makes me sad"):
        assert find_cause(text, scan(text, lexicon)) is None


def test_cause_is_short(lexicon) -> None:
    text = "I'm upset because " + " ".join(["the thing"] * 40)
    assert len(find_cause(text, scan(text, lexicon)).split()) <= MAX_WORDS


def test_affect_state_is_frozen_and_serialisable() -> None:
    state = AffectState(
        "sad",
        "grief",
        (-0.8, -0.2, -0.5),
        0.9,
        "my dog died",
        (Cue(CueKind.NEGATION, "not"),),
        distribution=(("sad", 0.9),),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.emotion = "happy"  # type: ignore[misc]
    wire = state.as_dict()
    assert wire["by"] == "text" and wire["cues"][0]["kind"] == "negation"
    assert state.probability("sad") == 0.9 and state.probability("happy") == 0.0


def test_fuse_weights_by_confidence() -> None:
    text = AffectState(
        "sad",
        "grief",
        (-0.8, -0.2, -0.5),
        0.9,
        "my dog died",
        distribution=(("sad", 0.9), ("neutral", 0.1)),
    )
    face = AffectState(
        "neutral",
        "neutral",
        (0.0, 0.0, 0.0),
        0.1,
        by=Modality.FACE,
        distribution=(("neutral", 1.0),),
    )
    fused = fuse([text, face])
    assert fused.by is Modality.FUSED and fused.emotion == "sad"
    assert fused.cause == "my dog died" and fused.parts == (text, face)
    assert -0.8 < fused.valence < -0.6
    assert fuse([]).emotion == "neutral"
    assert fuse([text]) is text
