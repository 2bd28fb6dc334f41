"""Emotion -> delivery (rate, loudness, pitch), as data, so a line sounds the way the face looks."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel

from merg_sdk.speech.base import Prosody

_DEFAULT_FILE = Path(__file__).with_name("emotion_prosody.yaml")


class _Delivery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rate: float = Field(ge=0.5, le=2.0)
    volume: float = Field(ge=0.1, le=2.0)
    pitch: float = Field(0.0, ge=-2.0, le=2.0)


class _ProsodyFile(RootModel[dict[str, _Delivery]]):
    pass


@cache
def emotion_prosody(path: Path = _DEFAULT_FILE) -> dict[str, Prosody]:
    table = _ProsodyFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))).root
    return {name: Prosody(rate=d.rate, volume=d.volume, pitch=d.pitch) for name, d in table.items()}


def prosody_for(emotion: str, intensity: float) -> Prosody:
    """The emotion's delivery scaled by intensity; unknown emotions speak neutrally."""
    full = emotion_prosody().get(emotion, Prosody())
    return Prosody(
        rate=1.0 + (full.rate - 1.0) * intensity,
        volume=1.0 + (full.volume - 1.0) * intensity,
        pitch=full.pitch * intensity,
    )
