"""Lip-sync from audio alone: a small causal network, log-mels in, ARKit mouth weights out.

For recorded voice-over and for speech engines that give no phoneme timings.
`AudioFaceStream(fps, sample_rate).push(pcm_int16)` returns the frames each
chunk completes, `.finish()` the rest; `.names` are the arkit52 names of the
columns. Inference needs numpy, soxr and onnxruntime only (no torch); the
weights (`model.onnx`) and their card (`README.md`) sit beside this file.
"""

from merg_sdk.motion.audio2face.features import FeatureStream, log_mel
from merg_sdk.motion.audio2face.model import MODEL_PATH, AudioFaceModel, default_model
from merg_sdk.motion.audio2face.stream import AudioFaceStream

__all__ = [
    "MODEL_PATH",
    "AudioFaceModel",
    "AudioFaceStream",
    "FeatureStream",
    "default_model",
    "log_mel",
]
