"""The text affect reader's data files, validated when loaded.

The prototypes (example sentences per fine emotion) and the cue lexicon are
YAML under `perception/data/`, written for this project, so retuning the
reader is an edit to data, never to code. Both are checked with pydantic on
load: a misspelt motion emotion, a VAD value outside [-1, 1] or a lexicon
group naming no emotion fails loudly at start-up, not silently mid-session.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from merg_sdk.perception.types import MOTION_EMOTIONS

DATA_DIR = Path(__file__).resolve().parent / "data"
#: Lexicon group for words that are only positive or negative, naming no one emotion.
GENERAL = "general"

Unit = Annotated[float, Field(ge=-1.0, le=1.0)]
Vad = tuple[Unit, Unit, Unit]


class _Emotion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    motion: str
    vad: Vad
    about: str = ""
    examples: list[str] = Field(min_length=3)

    @field_validator("motion")
    @classmethod
    def _known_motion(cls, value: str) -> str:
        if value not in MOTION_EMOTIONS:
            raise ValueError(f"motion {value!r} is not one of {', '.join(MOTION_EMOTIONS)}")
        return value


class _PrototypeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    emotions: dict[str, _Emotion]

    @model_validator(mode="after")
    def _check(self) -> _PrototypeFile:
        if "neutral" not in self.emotions or self.emotions["neutral"].motion != "neutral":
            raise ValueError("prototypes need a 'neutral' emotion shown as motion 'neutral'")
        seen: dict[str, str] = {}
        for name, emotion in self.emotions.items():
            for example in emotion.examples:
                key = " ".join(example.lower().split())
                if key in seen:
                    raise ValueError(f"example {example!r} is in both {seen[key]} and {name}")
                seen[key] = name
        return self


class _LexiconFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    negators: list[str]
    not_negation: dict[str, Annotated[float, Field(ge=1.0, le=2.0)]] = {}
    intensifiers: dict[str, Annotated[float, Field(gt=1.0, le=2.0)]] = {}
    diminishers: dict[str, Annotated[float, Field(gt=0.0, lt=1.0)]] = {}
    hedges: list[str] = []
    emotion_words: dict[str, dict[str, Vad]]


class _UtteranceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    conversations: list[list[dict[str, str]]] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> _UtteranceFile:
        for conversation in self.conversations:
            for turn in conversation:
                if len(turn) != 1 or next(iter(turn)) not in MOTION_EMOTIONS:
                    raise ValueError(f"a turn is one `emotion: text` pair, not {turn!r}")
        return self


#: A labelled conversation: its user turns in order, each (motion emotion, text).
Conversation = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Prototypes:
    """Fine emotions with their motion emotion and VAD, and every example sentence.

    `labels[i]` is the index into `names` of `texts[i]`; `digest` changes
    whenever the file does (it keys the on-disk embedding cache).
    """

    names: tuple[str, ...]
    motion: tuple[str, ...]
    vad: np.ndarray  # [n_emotions, 3]
    about: tuple[str, ...]
    texts: tuple[str, ...]
    labels: np.ndarray  # [n_texts] int
    digest: str

    def index(self, name: str) -> int:
        return self.names.index(name)


@dataclass(frozen=True, slots=True)
class LexiconTables:
    """Cue phrases as token tuples (lower case), ready for matching."""

    negators: frozenset[str]
    not_negation: dict[tuple[str, ...], float]
    intensifiers: dict[tuple[str, ...], float]
    diminishers: dict[tuple[str, ...], float]
    hedges: frozenset[tuple[str, ...]]
    words: dict[tuple[str, ...], tuple[str, tuple[float, float, float]]]  # -> (group, vad)


def _read(path: Path) -> tuple[dict, str]:
    raw = path.read_bytes()
    return yaml.safe_load(raw.decode("utf-8")), hashlib.sha256(raw).hexdigest()[:16]


def phrase(text: str) -> tuple[str, ...]:
    """A lexicon phrase as the tokens it must match (lower case, single spaces)."""
    return tuple(text.lower().split())


@cache
def load_prototypes(path: Path | None = None) -> Prototypes:
    """Load and validate a prototypes file (the shipped one by default)."""
    data, digest = _read(path or DATA_DIR / "prototypes.yaml")
    spec = _PrototypeFile.model_validate(data)
    names = tuple(spec.emotions)
    texts: list[str] = []
    labels: list[int] = []
    for i, emotion in enumerate(spec.emotions.values()):
        texts += emotion.examples
        labels += [i] * len(emotion.examples)
    return Prototypes(
        names=names,
        motion=tuple(e.motion for e in spec.emotions.values()),
        vad=np.array([e.vad for e in spec.emotions.values()], dtype=np.float32),
        about=tuple(e.about for e in spec.emotions.values()),
        texts=tuple(texts),
        labels=np.array(labels, dtype=np.int64),
        digest=digest,
    )


@cache
def load_lexicon(path: Path | None = None, emotions: tuple[str, ...] = ()) -> LexiconTables:
    """Load and validate a lexicon; `emotions` are the fine names its groups may use."""
    data, _ = _read(path or DATA_DIR / "lexicon.yaml")
    spec = _LexiconFile.model_validate(data)
    words: dict[tuple[str, ...], tuple[str, tuple[float, float, float]]] = {}
    for group, entries in spec.emotion_words.items():
        if emotions and group != GENERAL and group not in emotions:
            raise ValueError(f"lexicon group {group!r} is neither {GENERAL!r} nor an emotion")
        for word, vad in entries.items():
            key = phrase(word)
            if key in words:
                raise ValueError(f"lexicon word {word!r} is listed twice")
            words[key] = (group, (float(vad[0]), float(vad[1]), float(vad[2])))
    return LexiconTables(
        negators=frozenset(w.lower() for w in spec.negators),
        not_negation={phrase(k): v for k, v in spec.not_negation.items()},
        intensifiers={phrase(k): v for k, v in spec.intensifiers.items()},
        diminishers={phrase(k): v for k, v in spec.diminishers.items()},
        hedges=frozenset(phrase(h) for h in spec.hedges),
        words=words,
    )


def utterance_paths() -> tuple[Path, ...]:
    """The classifier's training files: utterances.yaml and every utterances_*.yaml beside it."""
    return tuple(sorted(DATA_DIR.glob("utterances*.yaml")))


def load_all_utterances() -> tuple[Conversation, ...]:
    """Every training conversation, file by file in `utterance_paths()` order."""
    return tuple(c for path in utterance_paths() for c in load_utterances(path))


def load_utterances(path: Path | None = None) -> tuple[Conversation, ...]:
    """Load the classifier's labelled conversations (utterances.yaml, or a split in that form)."""
    data, _ = _read(path or DATA_DIR / "utterances.yaml")
    spec = _UtteranceFile.model_validate(data)
    return tuple(
        tuple(next(iter(turn.items())) for turn in conversation)
        for conversation in spec.conversations
    )
