"""Personas: who the avatar is, as validated YAML a writer can edit without code.

A profile sets the LLM's static prompt prefix (name, backstory, style,
boundaries), the voice, the resting emotion the face returns to, and the Big
Five traits that shape how the avatar's own emotion moves (see `avatar_affect`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from merg_sdk.empathy.tables import validate_openers
from merg_sdk.perception.types import MOTION_EMOTIONS

BUILTIN_DIR = Path(__file__).with_name("personas")
SUPPORTIVE_EMOTIONS = ("neutral", "happy", "sad", "surprised", "calm", "caring")
Trait = Annotated[float, Field(ge=0.0, le=1.0)]


class BigFive(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    openness: Trait = 0.5
    conscientiousness: Trait = 0.5
    extraversion: Trait = 0.5
    agreeableness: Trait = 0.5
    neuroticism: Trait = 0.5


class Persona(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=80)
    role: str = Field("companion", max_length=80)
    backstory: str = Field("", max_length=4000)
    personality: BigFive = BigFive()
    speaking_style: str = Field("warm and plain", max_length=1000)
    voice: str | None = None
    resting_emotion: str = "calm"
    resting_intensity: Trait = 0.3
    emotions: tuple[str, ...] = SUPPORTIVE_EMOTIONS
    """Emotions this character may show; a supporter never looks disgusted at the user,
    while a game's grumpy guard may list `angry`."""
    boundaries: tuple[str, ...] = ()
    language: str = "en"
    greeting: str | None = None
    openers: dict[str, tuple[Annotated[str, Field(min_length=1, max_length=60)], ...]] = {}
    """Replaces lists of data/openers.yaml by user emotion (or `uncertain`): what this
    character says at once while it thinks ("Hmph." for a grumpy guard)."""

    @field_validator("openers")
    @classmethod
    def _known_openers(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        validate_openers(value)
        return value

    @field_validator("resting_emotion")
    @classmethod
    def _known_resting(cls, value: str) -> str:
        if value not in MOTION_EMOTIONS:
            raise ValueError(f"resting_emotion must be one of {', '.join(MOTION_EMOTIONS)}")
        return value

    @field_validator("emotions")
    @classmethod
    def _known_emotions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = set(value) - set(MOTION_EMOTIONS)
        if unknown or not value:
            raise ValueError(f"emotions must be a non-empty subset of {MOTION_EMOTIONS}")
        return value


class PersonaError(ValueError):
    """A profile that is missing or invalid; the message says which field and why."""


def parse_persona(data: Any, origin: str = "inline profile") -> Persona:
    try:
        return Persona.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'profile'}: {e['msg']}"
            for e in exc.errors(include_url=False)
        )
        raise PersonaError(f"{origin}: {problems}") from None


class PersonaLibrary:
    """Profiles by id from folders of YAML files (later folders override earlier ones)."""

    def __init__(self, folders: list[Path] | None = None) -> None:
        self._personas: dict[str, Persona] = {}
        for folder in [BUILTIN_DIR, *(folders or [])]:
            for path in sorted(folder.glob("*.yaml")):
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
                persona = parse_persona(data, origin=str(path))
                self._personas[persona.id] = persona

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self._personas)

    def get(self, persona_id: str) -> Persona:
        if persona_id not in self._personas:
            raise PersonaError(f"unknown persona {persona_id!r}; known: {', '.join(self.ids)}")
        return self._personas[persona_id]

    def default(self) -> Persona:
        return self._personas["companion"]
