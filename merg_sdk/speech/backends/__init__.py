"""Speech engines, one module per vendor; each implements `speech.base.TextToSpeech`.

`create_tts(TTSConfig(...))` picks one by configuration; Piper (embedded,
offline) is the default and Riva needs a reachable server.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from merg_sdk.speech.backends.riva import RivaTTSSettings
from merg_sdk.speech.base import TextToSpeech


class TTSConfig(BaseModel):
    """Which speech engine the server speaks with, and its settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: Literal["piper", "riva"] = "piper"
    riva: RivaTTSSettings = RivaTTSSettings()
    """Used when backend is "riva": the server's endpoint, TLS, key, voices, timeouts."""


def create_tts(config: TTSConfig | None = None) -> TextToSpeech:
    """The configured engine, not yet warmed up (the server warms it before binding)."""
    config = config or TTSConfig()
    if config.backend == "riva":
        from merg_sdk.speech.backends.riva import RivaTTS

        return RivaTTS(config.riva)
    from merg_sdk.speech.backends.piper import PiperTTS

    return PiperTTS()
