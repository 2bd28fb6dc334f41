"""The phoneme map: espeak-ng IPA symbol -> viseme + coarticulation class.

The table is data (`blendshapes/phoneme_visemes.yaml`) so a new voice or
language is a file edit. Lookups never raise: a symbol the table lacks gets
the default class, because one odd phoneme must not stop a face mid-turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from merg_sdk.data import blendshapes_file
from merg_sdk.motion.rig import load_rig

# Marks the speech stage normally strips; stripped again before a fallback.
_MARKS = "ˈˌːˑ'-"


class _Class(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strength: float = Field(gt=0)
    rate: float = Field(gt=0)
    closure: bool = False
    open_jaw: bool = False
    silence: bool = False
    phonemes: dict[str, str] = {}


class _Default(BaseModel):
    viseme: str
    class_: str = Field(alias="class")


class _MapFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exponent: float = Field(default=2.0, gt=0)
    default: _Default
    classes: dict[str, _Class]

    @model_validator(mode="after")
    def _consistent(self) -> _MapFile:
        visemes = load_rig("visemes").names
        if self.default.class_ not in self.classes:
            raise ValueError(f"default class {self.default.class_!r} is not defined")
        seen: dict[str, str] = {}
        for cname, cls in self.classes.items():
            for symbol, viseme in cls.phonemes.items():
                if viseme not in visemes:
                    raise ValueError(f"{cname}/{symbol!r}: {viseme!r} is not a viseme")
                if symbol in seen:
                    raise ValueError(f"{symbol!r} is in both {seen[symbol]} and {cname}")
                seen[symbol] = cname
        if self.default.viseme not in visemes:
            raise ValueError(f"default viseme {self.default.viseme!r} is not a viseme")
        if not any(c.silence for c in self.classes.values()):
            raise ValueError("one class must be marked `silence: true`")
        return self


@dataclass(frozen=True, slots=True)
class PhonemeInfo:
    """How one phoneme moves the mouth: its viseme and dominance parameters."""

    viseme: int  # column in the visemes rig
    strength: float
    rate: float
    closure: bool
    open_jaw: bool
    silence: bool


class PhonemeMap:
    """Symbol -> PhonemeInfo, with a never-raising fallback for unknown symbols."""

    def __init__(self, spec: _MapFile) -> None:
        visemes = load_rig("visemes")
        self.exponent = spec.exponent
        self._table: dict[str, PhonemeInfo] = {}
        for cls in spec.classes.values():
            for symbol, viseme in cls.phonemes.items():
                self._table[symbol] = self._info(visemes.index(viseme), cls)
        self.default = self._info(
            visemes.index(spec.default.viseme), spec.classes[spec.default.class_]
        )
        silence = next(c for c in spec.classes.values() if c.silence)
        self.silence = self._info(visemes.index("sil"), silence)

    @staticmethod
    def _info(viseme: int, cls: _Class) -> PhonemeInfo:
        return PhonemeInfo(viseme, cls.strength, cls.rate, cls.closure, cls.open_jaw, cls.silence)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._table

    def lookup(self, symbol: str) -> PhonemeInfo:
        """The entry for `symbol`; stress/length marks are ignored, unknowns get the default."""
        info = self._table.get(symbol)
        if info is not None:
            return info
        bare = "".join(ch for ch in symbol if ch not in _MARKS).strip()
        if not bare:
            return self.silence
        return self._table.get(bare) or self._table.get(bare[0]) or self.default


def load_phoneme_map_file(path: Path) -> PhonemeMap:
    """Load and validate a phoneme map from any path (tests use temp files)."""
    return PhonemeMap(_MapFile.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))))


@cache
def load_phoneme_map() -> PhonemeMap:
    """The shipped phoneme map (cached)."""
    return load_phoneme_map_file(blendshapes_file("phoneme_visemes.yaml"))
