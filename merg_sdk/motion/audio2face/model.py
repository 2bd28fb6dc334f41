"""The trained audio-to-face network on onnxruntime: weights only, no per-session state.

One `AudioFaceModel` (one onnxruntime session) serves every stream: a
session's `run` is thread-safe, and each stream carries its own state
(convolution histories and the GRU's hidden vector) in and out of `run`.
The model file says which features it was trained on; loading checks them
against `features.py`, so a retuned feature never meets stale weights.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from merg_sdk.motion.audio2face import features

MODEL_PATH = Path(__file__).with_name("model.onnx")
_FEATURE_KEYS = {
    "sample_rate_hz": features.SAMPLE_RATE_HZ, "hop_samples": features.HOP_SAMPLES,
    "window_samples": features.WINDOW_SAMPLES, "fft_size": features.FFT_SIZE,
    "n_mels": features.N_MELS, "fmin_hz": features.FMIN_HZ, "fmax_hz": features.FMAX_HZ,
    "log_floor": features.LOG_FLOOR,
}  # fmt: skip


class AudioFaceModel:
    """Log-mel frames [T, N_MELS] + state -> 100 Hz mouth weights [T, len(names)] + state.

    Output step s belongs to the frame at (s - lookahead_frames) * 10 ms: the
    network has heard `lookahead_frames` frames past the one it animates.
    """

    def __init__(self, path: Path | str | None = None, threads: int = 1) -> None:
        import onnxruntime

        self.path = Path(path) if path is not None else MODEL_PATH
        if not self.path.is_file():
            raise FileNotFoundError(f"audio-to-face model not found: {self.path}")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self._session = onnxruntime.InferenceSession(
            str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        meta = self._session.get_modelmeta().custom_metadata_map
        try:
            self.names: tuple[str, ...] = tuple(json.loads(meta["names"]))
            self.lookahead_frames = int(meta["lookahead_frames"])
            trained_on = json.loads(meta["features"])
        except (KeyError, ValueError) as error:
            raise ValueError(f"{self.path} lacks audio-to-face metadata: {error}") from None
        differs = {k: (v, trained_on.get(k)) for k, v in _FEATURE_KEYS.items()
                   if trained_on.get(k) != v}  # fmt: skip
        if differs:
            raise ValueError(
                f"{self.path} was trained on other features (runtime, model): {differs}"
            )
        inputs = self._session.get_inputs()
        self._state_specs = [(i.name, tuple(i.shape)) for i in inputs if i.name != "mel"]
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.metadata = dict(meta)

    def initial_state(self) -> list[np.ndarray]:
        """A fresh stream's state: every history and hidden vector at zero."""
        return [np.zeros(shape, np.float32) for _, shape in self._state_specs]

    def run(self, mel: np.ndarray, state: list[np.ndarray]) -> tuple[np.ndarray, list]:
        """Advance one stream by len(mel) frames; returns its outputs and its next state."""
        feeds = {"mel": mel[None]}
        for (name, _), value in zip(self._state_specs, state, strict=True):
            feeds[name] = value
        weights, *next_state = self._session.run(self._outputs, feeds)
        return weights, next_state


@cache
def default_model() -> AudioFaceModel:
    """The shipped model, loaded once per process (single-threaded: streams are small)."""
    return AudioFaceModel()
