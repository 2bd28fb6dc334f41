"""Silero VAD on onnxruntime: a speech probability for every 32 ms of 16 kHz audio.

The model is the ONNX file carried by the `silero-vad` wheel (MIT); only the
file is used, so torch is not needed at run time. Silero is recurrent: each
window's answer depends on a 2x1x128 state and on the last 64 samples of the
previous window, so both live in a `VadStream`, one per audio stream, while the
session (the weights) is shared by every stream and thread.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from merg_sdk.perception.hearing.base import SAMPLE_RATE

WINDOW_SAMPLES = 512
"""Silero's window at 16 kHz (32 ms); the model rejects other sizes."""
WINDOW_S = WINDOW_SAMPLES / SAMPLE_RATE
CONTEXT_SAMPLES = 64
"""Samples of the previous window the model sees before each new one."""
_STATE_SHAPE = (2, 1, 128)


def bundled_model_path() -> Path:
    """The ONNX file inside the installed `silero-vad` wheel (found without importing it,
    because its `__init__` imports torch)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "silero-vad is not installed: pip install --no-deps silero-vad (it needs no torch here)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    if not path.is_file():
        raise FileNotFoundError(f"the silero-vad wheel carries no {path.name} at {path}")
    return path


class SileroVad:
    """The shared model. onnxruntime sessions are safe to run from several threads."""

    def __init__(self, model_path: Path | str | None = None, threads: int = 1) -> None:
        import onnxruntime

        self.model_path = Path(model_path) if model_path is not None else bundled_model_path()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = (
            threads  # a window costs ~0.1 ms; more threads only add overhead
        )
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._sr = np.array(SAMPLE_RATE, dtype=np.int64)

    def open_stream(self) -> VadStream:
        return VadStream(self)

    def warm_up(self) -> None:
        """Run once so the first user window does not pay onnxruntime's first-run cost."""
        self.open_stream().feed(np.zeros(WINDOW_SAMPLES * 4, np.float32))

    def _step(self, window: np.ndarray, state: np.ndarray) -> tuple[float, np.ndarray]:
        output, new_state = self._session.run(
            None, {"input": window[np.newaxis, :], "state": state, "sr": self._sr}
        )
        return float(output[0, 0]), new_state


class VadStream:
    """One stream's recurrent state: feed audio in chunks of any size, get one probability
    per complete window; samples short of a window wait for the next chunk."""

    def __init__(self, model: SileroVad) -> None:
        self._model = model
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros(_STATE_SHAPE, np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, np.float32)
        self._pending = np.zeros(0, np.float32)
        self.windows = 0  # windows scored since the last reset

    def feed(self, audio: np.ndarray) -> np.ndarray:
        """Mono float32 at 16 kHz in [-1, 1]; returns the probabilities of the windows it
        completed, oldest first (possibly none)."""
        samples = np.concatenate([self._pending, np.asarray(audio, np.float32).reshape(-1)])
        count = len(samples) // WINDOW_SAMPLES
        probabilities = np.empty(count, np.float32)
        for index in range(count):
            window = samples[index * WINDOW_SAMPLES : (index + 1) * WINDOW_SAMPLES]
            framed = np.concatenate([self._context, window])
            probabilities[index], self._state = self._model._step(framed, self._state)
            self._context = window[-CONTEXT_SAMPLES:]
        self._pending = samples[count * WINDOW_SAMPLES :].copy()
        self.windows += count
        return probabilities
