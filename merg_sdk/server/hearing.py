"""The server-wide models for voice and face input, loaded once and shared by sessions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from merg_sdk.perception.hearing.base import SpeechRecognizer
from merg_sdk.perception.hearing.listener import ListenerSettings
from merg_sdk.perception.hearing.riva import RivaASRSettings
from merg_sdk.perception.hearing.vad import SileroVad
from merg_sdk.perception.hearing.whisper import WhisperSettings

if TYPE_CHECKING:
    from merg_sdk.perception.face import FaceAffect
    from merg_sdk.perception.voice import VoiceAffect


class HearingConfig(BaseModel):
    """`user.audio`: voice activity, end of turn, recognition, barge-in."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Load the VAD and the recogniser at start; without them `user.audio` is unsupported."""
    recognizer: Literal["whisper", "riva"] = "whisper"
    whisper: WhisperSettings = WhisperSettings(partials=False)
    """Partial transcripts are off on the server by default: on 2 cores a partial decode
    still running when the user stops delays the end of the turn (end of speech -> first
    reply audio 923 ms median with them, 811 ms without). Turn them on
    (`whisper: {partials: true}`) for live captions."""
    riva: RivaASRSettings = RivaASRSettings()
    """Used when recognizer is "riva": endpoint, TLS, key, model, timeouts."""
    listener: ListenerSettings = ListenerSettings()
    barge_in: bool = True
    """The user's confirmed speech onset interrupts the avatar's turn (not `animate`)."""
    max_backlog_s: float = Field(10.0, gt=0)
    """Audio received but not yet heard, per session, before `user.audio` is `overloaded`."""
    voice_affect: bool = True
    """Read arousal (and a little valence) from how the user spoke, fused into user.affect."""
    voice_model: Path | None = None
    """A speech-emotion ONNX model's config YAML (docs/affect-voice-face.md), read with
    the prosody."""
    face: bool = True
    """Serve `user.face` (ARKit weights or JPEG through MediaPipe), fused into user.affect."""


@dataclass(slots=True)
class Hearing:
    """The loaded models; how they are used (barge-in, timings) is the server's config."""

    vad: SileroVad
    recognizer: SpeechRecognizer
    voice: VoiceAffect | None = None
    face: FaceAffect | None = None

    def close(self) -> None:
        if self.face is not None:
            self.face.close()


def load_hearing(config: HearingConfig) -> Hearing:
    """Load and warm the models (blocking: run it in a thread before serving)."""
    vad = SileroVad()
    vad.warm_up()
    recognizer: SpeechRecognizer
    if config.recognizer == "riva":
        from merg_sdk.perception.hearing.riva import RivaRecognizer

        recognizer = RivaRecognizer(config.riva)
    else:
        from merg_sdk.perception.hearing.whisper import WhisperRecognizer

        recognizer = WhisperRecognizer(config.whisper)
    recognizer.warm_up()
    voice = face = None
    if config.voice_affect:
        from merg_sdk.perception.voice import VoiceAffect

        voice = VoiceAffect.load(model_config=config.voice_model)
        voice.warm_up()
    if config.face:
        from merg_sdk.perception.face import FaceAffect

        face = FaceAffect.load()
        face.warm_up()
    return Hearing(vad, recognizer, voice, face)
