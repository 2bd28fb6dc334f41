"""Voice affect: arousal (well), dominance (somewhat) and valence (barely) from how the user spoke.

`VoiceAffect` maps prosody (prosody.py) to an `AffectState` with per-axis
confidence, against a per-session `SpeakerBaseline`; `OnnxEmotionModel`
plugs in a speech-emotion model the user supplies. See docs/affect-voice-face.md.
"""

from __future__ import annotations

from merg_sdk.perception.voice.onnx_model import ModelConfig, OnnxEmotionModel, OnnxModelError
from merg_sdk.perception.voice.prosody import (
    SAMPLE_RATE_HZ,
    ProsodyFeatures,
    SpeakerBaseline,
    VoiceInputError,
    extract,
)
from merg_sdk.perception.voice.voice_affect import VoiceAffect, VoiceTable, load_table

__all__ = [
    "SAMPLE_RATE_HZ",
    "ModelConfig",
    "OnnxEmotionModel",
    "OnnxModelError",
    "ProsodyFeatures",
    "SpeakerBaseline",
    "VoiceAffect",
    "VoiceInputError",
    "VoiceTable",
    "extract",
    "load_table",
]
