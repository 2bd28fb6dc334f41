"""Voice affect: how the user seems to feel, read from how they spoke.

Prosody (prosody.py) is measured, read against the speaker's own baseline,
and mapped to valence, arousal and dominance by a weight table
(data/voice_affect.yaml). Its confidence is per axis and honest about what
a voice tells: arousal fairly well, dominance somewhat, valence barely. A
user-supplied ONNX speech-emotion model (onnx_model.py), when configured, is
read too, and both are fused axis by axis by their confidences.

    reader = VoiceAffect.load()                 # tables only: milliseconds
    reader.warm_up()                            # librosa's first calls
    baseline = reader.new_baseline()            # one per session
    state = reader.analyze(pcm, 16000, transcript="...", baseline=baseline)

`analyze` is thread-safe: the tables are immutable, the baseline locks, and
onnxruntime sessions may be run from several threads.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from merg_sdk.perception.types import AffectState, Cue, CueKind, Modality, fuse
from merg_sdk.perception.voice.onnx_model import AXES, OnnxEmotionModel
from merg_sdk.perception.voice.prosody import (
    FEATURES,
    SAMPLE_RATE_HZ,
    Norm,
    ProsodyFeatures,
    SpeakerBaseline,
    as_utterance,
    extract,
)
from merg_sdk.perception.voice.vad_space import emotions_near

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data" / "voice_affect.yaml"


class _NormSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean: float
    population_sd: float = Field(gt=0.0)
    speaker_sd: float = Field(gt=0.0)


class VoiceTable(BaseModel):
    """The validated mapping file; every feature and axis name is checked at load time."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    weights: dict[str, dict[str, float]]
    scale: dict[str, float]
    confidence: dict[str, float]
    full_confidence_voiced_s: float = Field(gt=0.0)
    no_baseline_factor: float = Field(ge=0.0, le=1.0)
    clipping_penalty_per_percent: float = Field(ge=0.0)
    cue_threshold_sd: float = Field(gt=0.0)
    emotion_temperature: float = Field(gt=0.0)
    norms: dict[str, _NormSpec]
    labels: dict[str, str]

    @model_validator(mode="after")
    def _names(self) -> VoiceTable:
        for section in ("weights", "scale", "confidence"):
            if set(getattr(self, section)) != set(AXES):
                raise ValueError(f"{section} must list exactly {', '.join(AXES)}")
        for axis, weights in self.weights.items():
            unknown = set(weights) - set(FEATURES)
            if unknown:
                raise ValueError(f"weights.{axis}: unknown features {sorted(unknown)}")
        for section in ("norms", "labels"):
            if set(getattr(self, section)) != set(FEATURES):
                raise ValueError(f"{section} must list exactly the features {FEATURES}")
        if not all(0.0 <= c <= 1.0 for c in self.confidence.values()):
            raise ValueError("confidence values must be in [0, 1]")
        return self

    def matrix(self) -> np.ndarray:
        """[3 axes (valence, arousal, dominance), n features] weights."""
        return np.array([[self.weights[a].get(f, 0.0) for f in FEATURES] for a in AXES])

    def norm_table(self) -> dict[str, Norm]:
        return {f: Norm(n.mean, n.population_sd, n.speaker_sd) for f, n in self.norms.items()}


def load_table(path: Path | None = None) -> VoiceTable:
    """Load and validate a voice mapping file (the shipped one by default)."""
    return VoiceTable.model_validate(yaml.safe_load((path or DATA).read_text(encoding="utf-8")))


class VoiceAffect:
    """Reads an `AffectState` (by=voice) from an utterance. Share one per process."""

    def __init__(self, table: VoiceTable, model: OnnxEmotionModel | None = None) -> None:
        self.table = table
        self.model = model
        self._weights = table.matrix()
        self._scale = np.array([table.scale[a] for a in AXES])
        self._max_confidence = np.array([table.confidence[a] for a in AXES])
        self._norms = table.norm_table()

    @classmethod
    def load(
        cls, table_path: Path | None = None, model_config: Path | str | None = None
    ) -> VoiceAffect:
        """The weight table, plus the user's ONNX model when a config path is given."""
        model = OnnxEmotionModel.load(model_config) if model_config else None
        return cls(load_table(table_path), model)

    def new_baseline(self) -> SpeakerBaseline:
        """A fresh per-session speaker baseline seeded with this table's population norms."""
        return SpeakerBaseline(self._norms)

    def warm_up(self) -> None:
        """Pay librosa's lazy imports and first-call costs before the first turn."""
        t = np.arange(SAMPLE_RATE_HZ) / SAMPLE_RATE_HZ
        self.analyze((0.3 * np.sin(2 * np.pi * 140 * t)).astype(np.float32))

    def analyze(
        self,
        audio: object,
        sample_rate: int = SAMPLE_RATE_HZ,
        *,
        transcript: str | None = None,
        baseline: SpeakerBaseline | None = None,
        learn: bool = True,
    ) -> AffectState:
        """Read one utterance; with `learn`, the baseline learns it afterwards.

        Raises VoiceInputError (code "bad_message") for audio that is not
        audio (wrong shape or type, NaN). Silence, clipping and very short
        input are readings, not errors: they come back with confidence
        lowered (0 for no speech) and a quality cue saying why.
        """
        y = as_utterance(audio, sample_rate)
        features = extract(y, transcript=transcript)
        try:
            state = self._read(features, baseline)
            if self.model is not None and features.speech_s > 0.0:
                state = self._with_model(state, y)
        except Exception:
            log.exception("voice affect failed on %.2f s of audio", features.duration_s)
            return AffectState(by=Modality.VOICE, distribution=(("neutral", 1.0),))
        if learn and baseline is not None:
            baseline.update(features)
        return state

    def features(self, audio: object, sample_rate: int = SAMPLE_RATE_HZ) -> ProsodyFeatures:
        """The raw measurements, for logs and for tuning the table."""
        return extract(audio, sample_rate)

    def _read(self, features: ProsodyFeatures, baseline: SpeakerBaseline | None) -> AffectState:
        t = self.table
        if features.voiced_s <= 0.0:
            cue = Cue(CueKind.QUALITY, "no speech" if features.speech_s <= 0 else "no voicing")
            return AffectState(by=Modality.VOICE, cues=(cue,), distribution=(("neutral", 1.0),))
        z = (baseline or self.new_baseline()).zscores(features)
        known = np.isfinite(z)
        z = np.where(known, np.clip(z, -4.0, 4.0), 0.0)
        vad = np.tanh(self._scale * (self._weights @ z))
        weight = np.abs(self._weights)
        coverage = (weight @ known) / np.maximum(weight.sum(axis=1), 1e-9)
        amount = min(1.0, features.voiced_s / t.full_confidence_voiced_s)
        learnt = baseline.maturity if baseline is not None else 0.0
        trust = t.no_baseline_factor + (1.0 - t.no_baseline_factor) * learnt
        cues = []
        clipping = min(0.7, t.clipping_penalty_per_percent * 100.0 * features.clipped_fraction)
        if features.clipped_fraction >= 0.001:
            percent = 100 * features.clipped_fraction
            cues.append(Cue(CueKind.QUALITY, f"clipped audio {percent:.1f}%"))
        axis = self._max_confidence * coverage * amount * trust * (1.0 - clipping)
        for name, value in zip(FEATURES, z, strict=True):
            if abs(value) >= t.cue_threshold_sd:
                cues.append(Cue(CueKind.PROSODY, f"{t.labels[name]} {value:+.1f} sd", name))
        point = (round(float(vad[0]), 4), round(float(vad[1]), 4), round(float(vad[2]), 4))
        confidence = (float(axis[0]), float(axis[1]), float(axis[2]))
        dist = emotions_near(point, confidence, t.emotion_temperature)
        return AffectState(
            emotion=dist[0][0],
            fine_emotion=dist[0][0],
            vad=point,
            confidence=round(sum(confidence) / 3.0, 4),
            cues=tuple(cues),
            by=Modality.VOICE,
            distribution=dist,
            vad_confidence=tuple(round(c, 4) for c in confidence),  # type: ignore[arg-type]
        )

    def _with_model(self, prosodic: AffectState, y: np.ndarray) -> AffectState:
        """Fuse the model's reading with prosody's, axis by axis, by confidence."""
        if self.model is None:
            return prosodic
        learnt = self.model.predict(y)
        fused = fuse([prosodic, learnt])
        return dataclasses.replace(fused, by=Modality.VOICE, fine_emotion=learnt.fine_emotion)
