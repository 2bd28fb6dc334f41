"""What perception hands to the empathy stage: one `AffectState` per reading.

Every modality (text now; voice and face later) answers in the same shape so
the server can fuse them and send one `user.affect` message: a motion emotion
the face can show, a finer label the empathy stage can reason about, a
valence-arousal-dominance point, a confidence, the words that carry the cause,
and the cues that moved the reading. `fuse` combines readings by confidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

#: The motion engine's emotion set (blendshapes/emotions.yaml); `emotion` is one of these.
MOTION_EMOTIONS: tuple[str, ...] = (
    "neutral",
    "happy",
    "sad",
    "angry",
    "afraid",
    "surprised",
    "disgusted",
    "calm",
    "caring",
)


class Modality(StrEnum):
    """Which channel a reading came from (`fused` when several were combined)."""

    TEXT = "text"
    VOICE = "voice"
    FACE = "face"
    FUSED = "fused"


class CueKind(StrEnum):
    """Kinds of evidence a reader reports, so a reply can say why it read what it read."""

    NEGATION = "negation"  # "not", "never", "n't" scoping over a feeling word
    INTENSIFIER = "intensifier"  # "so", "really", "extremely", "can't stop"
    DIMINISHER = "diminisher"  # "a bit", "slightly", "kind of"
    HEDGE = "hedge"  # "I guess", "maybe": lowers confidence
    EMOTION_WORD = "emotion_word"  # a word from the lexicon ("furious", "😭")
    EXCLAMATION = "exclamation"  # "!" and ALL-CAPS words raise arousal
    CONTEXT = "context"  # the reading leaned on earlier turns
    PROSODY = "prosody"  # a voice feature far from the speaker's usual ("pitch +1.8 sd")
    MODEL = "model"  # a user-supplied speech-emotion model's answer
    FACIAL_ACTION = "facial_action"  # a facial action seen on the face ("smile", "brow raise")
    QUALITY = "quality"  # the input limited the reading ("clipped audio", "no face")


@dataclass(frozen=True, slots=True)
class Cue:
    """One piece of evidence: its kind, the words as written, and what it modified."""

    kind: CueKind
    text: str
    target: str | None = None


@dataclass(frozen=True, slots=True)
class AffectState:
    """How the user seems to feel, as read from one modality (or fused).

    `emotion` is a motion emotion (MOTION_EMOTIONS) so the avatar can mirror or
    answer it; `fine_emotion` is the reader's finer label (e.g. "grief",
    "anxiety"; see perception/data/prototypes.yaml) for choosing a support
    strategy. `vad` is (valence, arousal, dominance), each in [-1, 1].
    `confidence` in [0, 1] says how much to trust this reading when fusing.
    `cause` holds the words naming what the feeling is about ("my dog died"),
    or None. `distribution` is the probability of each motion emotion, highest
    first, kept so readings can be fused as distributions rather than labels.
    `parts` holds the per-modality readings of a fused state.
    `vad_confidence`, when set, is a confidence per VAD axis: a voice tells
    arousal far better than valence, and fusion should know which axis to trust.
    """

    emotion: str = "neutral"
    fine_emotion: str = "neutral"
    vad: tuple[float, float, float] = (0.0, 0.0, 0.0)
    confidence: float = 0.0
    cause: str | None = None
    cues: tuple[Cue, ...] = ()
    by: Modality = Modality.TEXT
    distribution: tuple[tuple[str, float], ...] = ()
    parts: tuple[AffectState, ...] = field(default=(), repr=False)
    vad_confidence: tuple[float, float, float] | None = None

    @property
    def valence(self) -> float:
        return self.vad[0]

    @property
    def arousal(self) -> float:
        return self.vad[1]

    @property
    def dominance(self) -> float:
        return self.vad[2]

    def probability(self, emotion: str) -> float:
        """The probability this reading gives `emotion` (0 when it was not listed)."""
        return dict(self.distribution).get(emotion, 0.0)

    def cue_kinds(self) -> set[CueKind]:
        return {cue.kind for cue in self.cues}

    def as_dict(self) -> dict:
        """Plain types for the wire (`user.affect`) and session logs."""
        return {
            "emotion": self.emotion,
            "fine_emotion": self.fine_emotion,
            "vad": list(self.vad),
            "confidence": self.confidence,
            "cause": self.cause,
            "cues": [{"kind": c.kind.value, "text": c.text, "target": c.target} for c in self.cues],
            "by": self.by.value,
        } | ({"vad_confidence": list(self.vad_confidence)} if self.vad_confidence else {})


def _clip(value: float, low: float = -1.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def fuse(states: Sequence[AffectState], weights: Iterable[float] | None = None) -> AffectState:
    """Combine readings from several modalities, each weighted by its confidence.

    Why by confidence: an empty transcript or an occluded face answers with
    confidence near 0 and should not drag the others to neutral. The fused
    emotion is the top of the weighted mix of distributions; the fine label
    and cause come from the most trusted reading that has them.
    """
    if not states:
        return AffectState(by=Modality.FUSED)
    if len(states) == 1:
        return states[0]
    scale = list(weights) if weights is not None else [1.0] * len(states)
    w = [max(0.0, s.confidence * k) for s, k in zip(states, scale, strict=True)]
    total = sum(w)
    if total <= 0.0:
        w, total = [1.0] * len(states), float(len(states))
    mix: dict[str, float] = {}
    for state, wi in zip(states, w, strict=True):
        dist = state.distribution or ((state.emotion, 1.0),)
        for name, p in dist:
            mix[name] = mix.get(name, 0.0) + wi * p / total
    ranked = sorted(mix.items(), key=lambda kv: -kv[1])
    vad, axis_confidence = _fuse_vad(states, scale, w, total)
    trusted = sorted(zip(w, range(len(states)), strict=True), reverse=True)
    lead = states[trusted[0][1]]
    same = [states[i] for _, i in trusted if states[i].emotion == ranked[0][0]]
    cause = next((states[i].cause for _, i in trusted if states[i].cause), None)
    return AffectState(
        emotion=ranked[0][0],
        fine_emotion=(same[0] if same else lead).fine_emotion,
        vad=(vad[0], vad[1], vad[2]),
        confidence=_clip(
            sum(wi * s.confidence for s, wi in zip(states, w, strict=True)) / total, 0.0, 1.0
        ),
        cause=cause,
        cues=tuple(c for s in states for c in s.cues),
        by=Modality.FUSED,
        distribution=tuple(ranked),
        parts=tuple(states),
        vad_confidence=axis_confidence,
    )


def _fuse_vad(
    states: Sequence[AffectState], scale: Sequence[float], w: Sequence[float], total: float
) -> tuple[tuple[float, float, float], tuple[float, float, float] | None]:
    """Each VAD axis weighted by each reading's confidence on that axis.

    Readings without `vad_confidence` use their overall confidence on every
    axis, so text-only fusion is unchanged; a voice reading's low valence
    confidence keeps it from pulling valence while it still moves arousal.
    """
    if all(s.vad_confidence is None for s in states):
        vad = [
            _clip(sum(wi * s.vad[i] for s, wi in zip(states, w, strict=True)) / total)
            for i in range(3)
        ]
        return (vad[0], vad[1], vad[2]), None
    vad, confidence = [], []
    for i in range(3):
        axis = [
            max(0.0, (s.vad_confidence[i] if s.vad_confidence else s.confidence) * k)
            for s, k in zip(states, scale, strict=True)
        ]
        mass = sum(axis)
        if mass <= 0.0:
            axis, mass = list(w), total
        vad.append(_clip(sum(a * s.vad[i] for s, a in zip(states, axis, strict=True)) / mass))
        confidence.append(_clip(sum(a * a for a in axis) / mass if mass > 0 else 0.0, 0.0, 1.0))
    return (vad[0], vad[1], vad[2]), (confidence[0], confidence[1], confidence[2])
