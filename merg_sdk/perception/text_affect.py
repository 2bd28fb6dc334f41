"""Text affect: how the user seems to feel, read from what they typed or said.

Two readers vote. all-MiniLM-L6-v2 embeds the sentence and compares it with
example sentences per fine emotion (perception/data/prototypes.yaml): it
knows situations ("my dog died", "they fired me without warning") that no
word list covers. A lexicon (perception/data/lexicon.yaml) adds what the
embedding misses: negation ("not happy" is not joy), intensifiers and
diminishers, hedges, and explicit emotion words and emoji. Both are data, so
retuning is an edit to YAML. A small trained head (classifier.py) then reads
the motion emotion from the same embedding, the previous turns' embeddings and
the lexicon's counts, mixed with the centroids' reading, because conversation
says feelings indirectly where the prototypes say them outright; the centroids
still choose the fine emotion inside the motion emotion it picks, and negation
stays the lexicon's call. The emotion reader (emotion_adapter.py) replaces that head
when its file and mpnet's wheels are there: all-mpnet-base-v2 embeds the turn and its
context turns (perception/data/emotion_adapter.npz), because the frozen MiniLM
generalised worse to other people's writing; a MiniLM tuned on (previous turn, turn)
pairs (tuned_reader.py) reads beside that head and their log-probabilities are mixed.
One sentence costs one MiniLM pass (~12 ms on one core), one mpnet pass (~75 ms) and
one tuned-MiniLM pass (~12 ms; ~20 ms for the batch of two once there are context
turns), plus microseconds of rules and one small
matrix product.

    reader = TextAffect.load()   # ~1-2 s: model plus ~340 prototype embeddings
    reader.warm_up()
    state = reader.analyze("My dog died yesterday and I can't stop crying")
    state.emotion, state.fine_emotion, state.cause   # sad, grief, "My dog died"

`analyze` is thread-safe: the tables are immutable and the model call is
serialised inside the encoder, so the server may call it from worker threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merg_sdk.perception.cause import find_cause
from merg_sdk.perception.classifier import MotionClassifier, context_vector, lexical_features
from merg_sdk.perception.cues import Scan, scan
from merg_sdk.perception.emotion_adapter import EmotionAdapter
from merg_sdk.perception.encoder import SentenceEncoder, cached_matrix
from merg_sdk.perception.head import PrototypeHead
from merg_sdk.perception.mpnet import MissingModel
from merg_sdk.perception.tables import (
    GENERAL,
    LexiconTables,
    Prototypes,
    load_lexicon,
    load_prototypes,
)
from merg_sdk.perception.types import MOTION_EMOTIONS, AffectState, Cue, CueKind, Modality

log = logging.getLogger(__name__)

#: Longer inputs are read from their first this-many characters (bounds latency).
MAX_CHARS = 4000


@dataclass(frozen=True, slots=True)
class Settings:
    """How the two readers are combined; defaults chosen by leave-one-out on the prototypes.

    Logit units: `word_boost` is added to the class an (un-negated) emotion
    word names, `negated_penalty` subtracted from every class shown with the
    same motion emotion as a negated word, `valence_pull` scales how far the
    lexicon's valence moves classes of matching sign.
    """

    temperature: float = 0.08
    word_boost: float = 3.0
    negated_penalty: float = 6.0
    valence_pull: float = 1.5
    neutral_penalty: float = 1.5  # when clear emotion words are present
    neutral_bias: float = 1.0  # prior for neutral against the many emotion classes
    vad_sharpness: float = 2.0  # VAD weights are probabilities to this power, renormalised
    lexicon_vad_share: float = 0.5  # most the lexicon's VAD may weigh against the prototypes'
    context_weights: tuple[float, ...] = (0.25, 0.1)  # most recent context turn first
    hedge_confidence: float = 0.15  # confidence lost per hedge ("maybe", "I guess")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the prototype reader saw in one text: its fine-emotion probabilities with the
    context turns (`probs`) and without them (`alone`), the embeddings, the lexicon scan."""

    found: Scan
    probs: np.ndarray
    alone: np.ndarray
    vec: np.ndarray | None  # None when the text has no words (emoji only)
    recent: tuple[str, ...]  # context turns used, most recent first
    recent_vecs: list[np.ndarray]


class TextAffect:
    """Reads an `AffectState` from text. Build with `load()`; share one per process."""

    def __init__(
        self,
        encoder: SentenceEncoder,
        prototypes: Prototypes,
        lexicon: LexiconTables,
        head: PrototypeHead,
        settings: Settings | None = None,
        classifier: MotionClassifier | None = None,
        adapter: EmotionAdapter | None = None,
    ):
        """`classifier`, when given, reads the motion emotion with the centroids (see
        classifier.py); without it the centroids and the lexicon alone decide. `adapter`,
        when given, replaces `classifier` with its tuned encoder and head."""
        self.encoder = encoder
        self.prototypes = prototypes
        self.lexicon = lexicon
        self.head = head
        self.settings = settings or Settings()
        self.classifier = classifier
        self.adapter = adapter
        self._index = {name: i for i, name in enumerate(prototypes.names)}
        motion = prototypes.motion
        self._siblings = {
            name: np.array([m == motion[i] for m in motion]) for name, i in self._index.items()
        }
        self._neutral = self._index["neutral"]
        self._motion_of = np.array([MOTION_EMOTIONS.index(m) for m in motion])
        self._motion_of_group = {name: int(self._motion_of[i]) for name, i in self._index.items()}

    @classmethod
    def load(
        cls,
        prototypes_path: Path | None = None,
        lexicon_path: Path | None = None,
        *,
        cache_dir: Path | None = None,
        device: str = "cpu",
        threads: int | None = None,
        settings: Settings | None = None,
        encoder: SentenceEncoder | None = None,
        classifier_path: Path | None = None,
        use_classifier: bool = True,
        adapter_path: Path | None = None,
        use_adapter: bool = True,
        use_tuned: bool = True,
    ) -> TextAffect:
        """Load the model from the installed wheel and embed the prototypes once.

        `cache_dir`, when given, keeps the prototype embeddings on disk keyed
        by the data and model hashes, so a restart skips re-embedding them.
        `threads` sets torch's (process-wide) intra-op threads; 1 is best when
        the LLM and TTS share a small CPU (see SentenceEncoder). The trained motion
        head (perception/data/text_affect_head.npz) is used when present, unless
        `use_classifier` is False (training and ablations read without it). The emotion
        reader (`adapter_path`, else emotion_adapter.npz) replaces that head when both
        `use_classifier` and `use_adapter` hold; a missing or unreadable file, or missing
        mpnet wheels, fall back to the head. The tuned pair reader (tuned_reader.py) joins
        the emotion reader unless `use_tuned` is False.
        """
        started = time.perf_counter()
        prototypes = load_prototypes(prototypes_path)
        lexicon = load_lexicon(lexicon_path, prototypes.names)
        encoder = encoder or SentenceEncoder(device=device, threads=threads)
        key = f"{prototypes.digest}_{encoder.fingerprint}"
        matrix = cached_matrix(encoder, prototypes.texts, key, cache_dir)
        head = PrototypeHead.fit(matrix, prototypes.labels, len(prototypes.names))
        classifier = MotionClassifier.load(classifier_path) if use_classifier else None
        adapter = None
        if use_classifier and use_adapter:
            try:
                adapter = EmotionAdapter.load(adapter_path, use_tuned=use_tuned)
            except MissingModel as missing:
                log.warning("emotion reader skipped, the frozen-MiniLM head reads: %s", missing)
            except Exception:  # a broken file must not stop the reader: keep the head
                log.exception("emotion reader unusable; using the frozen-embedding head")
        log.info("text affect loaded in %.2f s", time.perf_counter() - started)
        return cls(encoder, prototypes, lexicon, head, settings, classifier, adapter)

    def warm_up(self) -> None:
        """Run the first (slow) forward passes now, before the server takes turns."""
        for text in ("Hello there.", "I'm not sure how I feel about this."):
            self.analyze(text)

    def analyze(self, text: str, context: Sequence[str] = ()) -> AffectState:
        """Read the affect of `text`; `context` is earlier user turns, oldest first.

        Never raises: empty or non-text input reads as neutral with confidence 0,
        emoji-only input is read from the lexicon alone, and an internal failure
        is logged and answered with a neutral reading of confidence 0, because a
        turn must go on even when perception cannot help it.
        """
        try:
            return self._analyze(text, context)
        except Exception:
            log.exception("text affect failed on %d characters", len(str(text)))
            return AffectState(distribution=(("neutral", 1.0),))

    def evidence(self, text: str, context: Sequence[str] = ()) -> Evidence:
        """The prototype reader's fine-emotion probabilities and the inputs the classifier
        needs, for `text` (already truncated) with `context` as in `analyze`."""
        found = scan(text, self.lexicon)
        s = self.settings
        lexical = self._lexicon_logits(found)
        logits = lexical.copy()
        alone = logits
        vec: np.ndarray | None = None
        recent: list[str] = []
        recent_vecs: list[np.ndarray] = []
        if found.has_words:
            vec = self.encoder.encode_one(text)
            sims = self.head.scores(vec).astype(np.float64)
            alone = lexical + sims / s.temperature
            total = 1.0
            recent = [c for c in reversed(context) if isinstance(c, str) and c.strip()]
            for weight, turn in zip(s.context_weights, recent, strict=False):
                recent_vecs.append(self.encoder.encode_one(turn[:MAX_CHARS]))
                sims += weight * self.head.scores(recent_vecs[-1])
                total += weight
            logits = lexical + sims / total / s.temperature
        return Evidence(found, _softmax(logits), _softmax(alone), vec, tuple(recent), recent_vecs)

    def _analyze(self, text: str, context: Sequence[str]) -> AffectState:
        text = (text if isinstance(text, str) else "")[:MAX_CHARS]
        if not text.strip():
            return AffectState(distribution=(("neutral", 1.0),))
        s = self.settings
        seen = self.evidence(text, context)
        found, probs = seen.found, seen.probs
        cues = list(found.cues)
        motion = self._motion(probs)
        alone_emotion = int(self._motion(seen.alone).argmax())
        if (self.classifier is not None or self.adapter is not None) and seen.vec is not None:
            motion, alone_emotion = self._classify(seen, motion, text)
            # the centroids still rank the fine emotions inside each motion emotion
            old = self._motion(probs)
            probs = probs * (motion / np.maximum(old, 1e-12))[self._motion_of]
            probs /= probs.sum()
        if seen.recent and int(motion.argmax()) != alone_emotion:
            cues.append(Cue(CueKind.CONTEXT, seen.recent[0][:80]))
        emotion = MOTION_EMOTIONS[int(motion.argmax())]
        members = np.where(self._motion_of == MOTION_EMOTIONS.index(emotion))[0]
        fine = self.prototypes.names[int(members[probs[members].argmax()])]
        vad = self._vad(probs, found)
        confidence = float(motion.max()) * (1.0 - s.hedge_confidence * min(found.hedges, 3))
        if not found.has_words and not found.hits:
            confidence = 0.1
        confidence *= min(1.2, max(0.7, found.intensity**0.5))
        cause = None
        if emotion != "neutral":
            cause = find_cause(text, found)
            for turn in reversed(context) if cause is None else ():
                turn = turn[:MAX_CHARS] if isinstance(turn, str) else ""
                if cause := find_cause(turn, scan(turn, self.lexicon)):
                    break
        ranked = sorted(
            ((MOTION_EMOTIONS[i], round(float(p), 4)) for i, p in enumerate(motion) if p > 1e-4),
            key=lambda kv: -kv[1],
        )
        return AffectState(
            emotion=emotion,
            fine_emotion=fine,
            vad=vad,
            confidence=float(min(1.0, max(0.0, confidence))),
            cause=cause,
            cues=tuple(cues),
            by=Modality.TEXT,
            distribution=tuple(ranked),
        )

    def _motion(self, probs: np.ndarray) -> np.ndarray:
        """Fine-emotion probabilities summed into motion emotions."""
        motion = np.zeros(len(MOTION_EMOTIONS))
        np.add.at(motion, self._motion_of, probs)
        return motion

    def _classify(
        self, seen: Evidence, prototype_motion: np.ndarray, text: str
    ) -> tuple[np.ndarray, int]:
        """The trained head's motion distribution, mixed with the prototype reader's;
        also the emotion it reads without the context turns (for the CONTEXT cue). With
        the emotion reader, its encoder embeds the turn and the context turns (cached:
        they were read a moment ago); should it fail, the frozen-embedding head reads."""
        head, vec, recent_vecs = self.classifier, seen.vec, seen.recent_vecs
        if self.adapter is not None and vec is not None:
            try:
                vec = self.adapter.encode_one(text)
                used = seen.recent[: len(seen.recent_vecs)]
                recent_vecs = [self.adapter.encode_one(t[:MAX_CHARS]) for t in used]
                head = self.adapter.head
            except Exception:
                log.exception("emotion adapter failed; using the frozen-embedding head")
                head, vec, recent_vecs = self.classifier, seen.vec, seen.recent_vecs
        if head is None or vec is None:  # the caller checks; kept for the type checker
            return prototype_motion, int(prototype_motion.argmax())
        lexical = lexical_features(seen.found, self._motion_of_group)
        dim = head.dim
        context = context_vector(recent_vecs, head.context_weights, dim)
        rows = np.stack(
            [
                head.features(vec, context, lexical),
                head.features(vec, np.zeros(dim, dtype=np.float32), lexical),
            ]
        )
        logp = head.log_probs(rows).astype(np.float64)
        logp[0] += head.mix * np.log(np.maximum(prototype_motion, 1e-12))
        logp[1] += head.mix * np.log(np.maximum(self._motion(seen.alone), 1e-12))
        # negation stays the lexicon's call: a few hundred examples cannot teach it
        for hit in seen.found.hits:
            if hit.negated and hit.group != GENERAL:
                logp[:, self._motion_of_group[hit.group]] -= self.settings.negated_penalty
        tuned = self.adapter.tuned if self.adapter is not None else None
        if tuned is not None and head is self.adapter.head:
            try:
                # the second row (read without context) matters only when there is context
                previous = seen.recent[0][:MAX_CHARS] if seen.recent else ""
                pairs = [(previous, text), ("", text)] if previous else [("", text)]
                read = tuned.log_probs(pairs)
                logp = (1.0 - tuned.weight) * logp + tuned.weight * read
            except Exception:
                log.exception("tuned emotion reader failed; the head reads alone")
        return _softmax(logp[0]), int(logp[1].argmax())

    def _lexicon_logits(self, found: Scan) -> np.ndarray:
        """Shift class logits by the emotion words: boost named classes, honour negation."""
        s = self.settings
        out = np.zeros(len(self.prototypes.names), dtype=np.float64)
        weight = sum(h.strength for h in found.hits)
        out[self._neutral] += s.neutral_bias
        if weight <= 0.0:
            return out
        valence = sum(h.vad[0] * h.strength for h in found.hits) / weight
        out += s.valence_pull * valence * min(1.0, weight) * self.prototypes.vad[:, 0]
        for hit in found.hits:
            if hit.group == GENERAL:
                continue
            if hit.negated:
                out[self._siblings[hit.group]] -= s.negated_penalty
            else:
                out[self._index[hit.group]] += s.word_boost * min(1.0, hit.strength * hit.scale)
        if any(h.strength >= 0.5 and not h.negated for h in found.hits):
            out[self._neutral] -= s.neutral_penalty
        return out

    def _vad(self, probs: np.ndarray, found: Scan) -> tuple[float, float, float]:
        """Probability-weighted prototype VAD, scaled by intensity, mixed with the lexicon's."""
        weights = probs**self.settings.vad_sharpness
        weights /= weights.sum()
        v, a, d = (weights @ self.prototypes.vad.astype(np.float64)).tolist()
        k = found.intensity
        v, a, d = v * k, a + 0.4 * (k - 1.0), d * k
        weight = sum(h.strength for h in found.hits)
        if weight > 0.0:
            lex = (
                np.array([h.vad for h in found.hits]).T
                @ np.array([h.strength for h in found.hits])
                / weight
            )
            share = min(self.settings.lexicon_vad_share, 0.3 * weight)
            v, a, d = ((1 - share) * np.array([v, a, d]) + share * lex).tolist()
        return (_clip(v), _clip(a), _clip(d))


def _softmax(logits: np.ndarray) -> np.ndarray:
    probs = np.exp(logits - logits.max())
    return probs / probs.sum()


def _clip(x: float) -> float:
    return round(max(-1.0, min(1.0, float(x))), 4)
