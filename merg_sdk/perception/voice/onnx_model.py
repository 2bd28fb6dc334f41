"""A speech-emotion model the user supplies, as an ONNX file plus a small YAML config.

No trained speech-emotion model ships with MERG (none can be had from the
registries this project builds from), so the slot is open: a regression
model that reads valence-arousal-dominance from the raw waveform (the shape
of Wav2Small or the audEERING wav2vec2 dimensional models: input [1, n] at
16 kHz, output 3 values) or a classifier with logits over labels. The config
says which, and how to read it; `OnnxEmotionModel.load` checks the config
against the model's declared inputs and outputs and runs it once, so a
mismatched model fails at start-up with a message, not mid-conversation.

    # wav2small.yaml, next to wav2small.onnx
    file: wav2small.onnx
    kind: vad
    input: {shape: [1, n], sample_rate_hz: 16000}
    output: {order: [arousal, dominance, valence], range: [0.0, 1.0]}
    confidence: {valence: 0.4, arousal: 0.7, dominance: 0.5}

`predict` is thread-safe (onnxruntime sessions are) and costs one forward pass.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from merg_sdk.perception.types import MOTION_EMOTIONS, AffectState, Cue, CueKind, Modality
from merg_sdk.perception.voice.prosody import SAMPLE_RATE_HZ
from merg_sdk.perception.voice.vad_space import emotion_points, emotions_near

AXES = ("valence", "arousal", "dominance")


class OnnxModelError(ValueError):
    """The model file or its config cannot be used; `code` is stable for logs and clients."""

    def __init__(self, message: str, code: str = "bad_model") -> None:
        super().__init__(message)
        self.code = code


class ModelKind(StrEnum):
    VAD = "vad"
    CATEGORICAL = "categorical"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSpec(_Strict):
    name: str | None = None  # default: the model's only input
    shape: list[int | Literal["n"]] = Field(default_factory=lambda: [1, "n"])
    sample_rate_hz: int = SAMPLE_RATE_HZ
    normalise: Literal["none", "zscore", "peak"] = "none"
    min_s: float = Field(default=0.5, gt=0.0)  # shorter input is zero-padded to this
    max_s: float = Field(default=15.0, gt=0.0)  # longer input is cut (bounds the cost)

    @model_validator(mode="after")
    def _one_sample_axis(self) -> InputSpec:
        if self.shape.count("n") != 1 or any(d != 1 for d in self.shape if d != "n"):
            raise ValueError("input.shape must hold one 'n' (the samples) and otherwise 1s")
        if self.sample_rate_hz != SAMPLE_RATE_HZ:
            raise ValueError(f"input.sample_rate_hz: only {SAMPLE_RATE_HZ} is supported")
        return self


class OutputSpec(_Strict):
    name: str | None = None  # default: the model's first output
    order: list[Literal["valence", "arousal", "dominance"]] = Field(
        default_factory=lambda: ["arousal", "dominance", "valence"]
    )
    range: tuple[float, float] = (0.0, 1.0)  # mapped linearly onto [-1, 1]
    activation: Literal["softmax", "sigmoid", "none"] = "softmax"  # categorical outputs


class ModelConfig(_Strict):
    """The YAML config beside a model; paths are relative to the config file."""

    file: str
    kind: ModelKind
    input: InputSpec = Field(default_factory=InputSpec)
    output: OutputSpec = Field(default_factory=OutputSpec)
    labels: list[str] | str | None = None  # categorical: the list, or a .json/.yaml file
    label_map: dict[str, str] = Field(default_factory=dict)  # model label -> motion emotion
    confidence: dict[str, float] = Field(default_factory=dict)  # per axis, or {overall: x}
    threads: int = Field(default=1, ge=1, le=16)

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if self.kind == ModelKind.VAD:
            if sorted(self.output.order) != sorted(AXES):
                raise ValueError("output.order must name valence, arousal and dominance once each")
            if self.output.range[0] >= self.output.range[1]:
                raise ValueError("output.range must be [low, high] with low < high")
        elif self.labels is None:
            raise ValueError("a categorical model needs `labels` (a list or a sidecar file)")
        for key, value in self.confidence.items():
            if key not in (*AXES, "overall") or not 0.0 <= value <= 1.0:
                raise ValueError(f"confidence.{key}={value}: axes or 'overall', each in [0, 1]")
        return self


class OnnxEmotionModel:
    """One loaded model; `predict` turns a 16 kHz utterance into a voice AffectState."""

    def __init__(self, config: ModelConfig, session: object, labels: tuple[str, ...]) -> None:
        self.config = config
        self._session = session
        self.labels = labels
        self._input = config.input.name or session.get_inputs()[0].name
        self._output = config.output.name or session.get_outputs()[0].name
        self._motion = tuple(config.label_map.get(label, label) for label in labels)

    @classmethod
    def load(cls, config_path: Path | str) -> OnnxEmotionModel:
        """Read the config, open the model on onnxruntime (CPU), check both, run it once."""
        import onnxruntime

        path = Path(config_path)
        try:
            config = ModelConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError, ValidationError) as error:
            raise OnnxModelError(f"{path}: {error}") from error
        labels = _labels(config, path.parent)
        model_file = path.parent / config.file
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.inter_op_num_threads = 1
        try:
            session = onnxruntime.InferenceSession(
                str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise OnnxModelError(f"{model_file}: cannot be opened: {error}") from error
        _check_signature(config, session, len(labels))
        model = cls(config, session, labels)
        model.warm_up()
        return model

    @property
    def expected_outputs(self) -> int:
        return 3 if self.config.kind == ModelKind.VAD else len(self.labels)

    def warm_up(self) -> None:
        """One pass on a second of quiet noise: also proves the output has the promised size."""
        noise = np.random.default_rng(0).normal(0.0, 0.01, SAMPLE_RATE_HZ).astype(np.float32)
        raw = self._run(noise)
        if raw.size != self.expected_outputs:
            raise OnnxModelError(
                f"model output {self._output!r} has {raw.size} values, the config expects "
                f"{self.expected_outputs} ({self.config.kind.value})"
            )

    def predict(self, audio: np.ndarray) -> AffectState:
        """Read float32 16 kHz mono samples (already validated by prosody.as_utterance)."""
        raw = self._run(audio)
        if self.config.kind == ModelKind.VAD:
            return self._vad_state(raw)
        return self._categorical_state(raw)

    def _run(self, audio: np.ndarray) -> np.ndarray:
        spec = self.config.input
        x = np.asarray(audio, dtype=np.float32)[: int(spec.max_s * SAMPLE_RATE_HZ)]
        x = np.pad(x, (0, max(0, int(spec.min_s * SAMPLE_RATE_HZ) - len(x))))
        if spec.normalise == "zscore":
            x = (x - x.mean()) / max(float(x.std()), 1e-7)
        elif spec.normalise == "peak":
            x = x / max(float(np.abs(x).max()), 1e-7)
        shape = [len(x) if d == "n" else 1 for d in spec.shape]
        (out,) = self._session.run([self._output], {self._input: x.reshape(shape)})
        raw = np.asarray(out, dtype=np.float64).reshape(-1)
        if not np.isfinite(raw).all():
            raise OnnxModelError("model output holds NaN or infinity", code="model_failed")
        return raw

    def _vad_state(self, raw: np.ndarray) -> AffectState:
        low, high = self.config.output.range
        scaled = {
            a: float(np.clip(2 * (v - low) / (high - low) - 1, -1, 1))
            for a, v in zip(self.config.output.order, raw, strict=True)
        }
        vad = (scaled["valence"], scaled["arousal"], scaled["dominance"])
        conf = self.config.confidence
        axis = tuple(conf.get(a, conf.get("overall", 0.5)) for a in AXES)
        dist = emotions_near(vad, axis)
        text = "model " + " ".join(f"{a[0]}={scaled[a]:+.2f}" for a in AXES)
        return AffectState(
            emotion=dist[0][0],
            fine_emotion=dist[0][0],
            vad=vad,
            confidence=sum(axis) / 3.0,
            cues=(Cue(CueKind.MODEL, text),),
            by=Modality.VOICE,
            distribution=dist,
            vad_confidence=(axis[0], axis[1], axis[2]),
        )

    def _categorical_state(self, raw: np.ndarray) -> AffectState:
        activation = self.config.output.activation
        if activation == "softmax":
            probs = np.exp(raw - raw.max())
        elif activation == "sigmoid":
            probs = 1.0 / (1.0 + np.exp(-raw))
        else:
            probs = np.clip(raw, 0.0, None)
        probs = probs / max(float(probs.sum()), 1e-12)
        mix = {name: 0.0 for name in MOTION_EMOTIONS}
        for name, p in zip(self._motion, probs, strict=True):
            mix[name] += float(p)
        ranked = tuple(
            sorted(((k, round(v, 4)) for k, v in mix.items() if v > 1e-4), key=lambda kv: -kv[1])
        )
        table = emotion_points()
        vad = tuple(float(sum(p * table[k][i] for k, p in mix.items())) for i in range(3))
        top = int(np.argmax(probs))
        confidence = float(probs[top]) * self.config.confidence.get("overall", 0.5)
        return AffectState(
            emotion=ranked[0][0],
            fine_emotion=self.labels[top],
            vad=(vad[0], vad[1], vad[2]),
            confidence=confidence,
            cues=(Cue(CueKind.MODEL, f"model {self.labels[top]} {probs[top]:.2f}"),),
            by=Modality.VOICE,
            distribution=ranked,
        )


def _labels(config: ModelConfig, folder: Path) -> tuple[str, ...]:
    if config.kind == ModelKind.VAD:
        return ()
    labels = config.labels
    if isinstance(labels, str):
        try:
            text = (folder / labels).read_text(encoding="utf-8")
            labels = json.loads(text) if labels.endswith(".json") else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as error:
            raise OnnxModelError(f"labels file {labels!r}: {error}") from error
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise OnnxModelError("labels must be a non-empty list of strings")
    unknown = sorted({config.label_map.get(x, x) for x in labels} - set(MOTION_EMOTIONS))
    if unknown:
        raise OnnxModelError(
            f"labels {unknown} are not motion emotions; map them with label_map to one of "
            f"{', '.join(MOTION_EMOTIONS)}"
        )
    return tuple(labels)


def _check_signature(config: ModelConfig, session: object, n_labels: int) -> None:
    """Compare the model's declared input/output with the config before running anything."""
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name: o for o in session.get_outputs()}
    if config.input.name is None and len(inputs) != 1:
        raise OnnxModelError(f"model has inputs {sorted(inputs)}; name one in input.name")
    name = config.input.name or next(iter(inputs))
    if name not in inputs:
        raise OnnxModelError(f"model has no input {name!r} (it has {sorted(inputs)})")
    declared = inputs[name]
    if declared.type != "tensor(float)":
        raise OnnxModelError(f"input {name!r} is {declared.type}; a float32 waveform is needed")
    if len(declared.shape) != len(config.input.shape):
        raise OnnxModelError(
            f"input {name!r} has shape {declared.shape}; the config says {config.input.shape}"
        )
    for dim, want in zip(declared.shape, config.input.shape, strict=True):
        if isinstance(dim, int) and want != "n" and dim != want:
            raise OnnxModelError(f"input {name!r} shape {declared.shape} != {config.input.shape}")
        if isinstance(dim, int) and want == "n":
            raise OnnxModelError(f"input {name!r} has a fixed sample count {dim}: need dynamic n")
    out_name = config.output.name or session.get_outputs()[0].name
    if out_name not in outputs:
        raise OnnxModelError(f"model has no output {out_name!r} (it has {sorted(outputs)})")
    expected = 3 if config.kind == ModelKind.VAD else n_labels
    dims = [d for d in outputs[out_name].shape if isinstance(d, int)]
    if len(dims) == len(outputs[out_name].shape) and int(np.prod(dims)) != expected:
        raise OnnxModelError(
            f"output {out_name!r} has shape {outputs[out_name].shape}, the config expects "
            f"{expected} values ({config.kind.value})"
        )
