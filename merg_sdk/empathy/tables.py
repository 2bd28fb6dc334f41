"""The empathy stage's data files, loaded once and validated."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

DATA_DIR = Path(__file__).with_name("data")
STAGES = ("explore", "comfort", "act")
Fit = Annotated[float, Field(ge=0.0, le=1.0)]


def _read(name: str) -> object:
    return yaml.safe_load((DATA_DIR / name).read_text(encoding="utf-8"))


class StrategySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stage_fit: dict[str, Fit]
    need_fit: dict[str, Fit]
    guidance: str = Field(min_length=10)


class NeedTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    needs: list[str]
    phrases: dict[str, list[str]]
    by_fine_emotion: dict[str, str]
    default: str
    feeling_words: dict[str, str] = {}

    @model_validator(mode="after")
    def _known(self) -> NeedTable:
        used = set(self.phrases) | set(self.by_fine_emotion.values()) | {self.default}
        unknown = used - set(self.needs)
        if unknown:
            raise ValueError(f"needs used but not declared: {sorted(unknown)}")
        return self


class StrategyTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategies: dict[str, StrategySpec]

    @model_validator(mode="after")
    def _complete(self) -> StrategyTable:
        needs = set(load_needs().needs)
        for name, spec in self.strategies.items():
            if set(spec.stage_fit) != set(STAGES):
                raise ValueError(f"{name}: stage_fit must cover {STAGES}")
            if set(spec.need_fit) != needs:
                raise ValueError(f"{name}: need_fit must cover every need {sorted(needs)}")
        return self


class FallbackLines(BaseModel):
    model_config = ConfigDict(extra="forbid")

    with_cause: list[str] = Field(min_length=1)
    without_cause: list[str] = Field(min_length=1)
    glad_with_cause: list[str] = []
    """Lines for good news (the user's valence is positive); empty: the lines above."""
    glad_without_cause: list[str] = []


class Fallbacks(RootModel[dict[str, FallbackLines]]):
    pass


@cache
def load_needs() -> NeedTable:
    return NeedTable.model_validate(_read("needs.yaml"))


@cache
def load_strategies() -> StrategyTable:
    return StrategyTable.model_validate(_read("strategies.yaml"))


@cache
def load_fallbacks() -> dict[str, FallbackLines]:
    table = Fallbacks.model_validate(_read("fallbacks.yaml")).root
    missing = set(load_strategies().strategies) - set(table)
    if missing:
        raise ValueError(f"fallbacks.yaml lacks strategies: {sorted(missing)}")
    return table


OpenerLine = Annotated[str, Field(min_length=1, max_length=60)]
OPENER_KEYS = frozenset(
    "uncertain neutral happy sad angry afraid surprised disgusted calm caring".split()
)


def validate_openers(table: dict[str, list[str]] | dict[str, tuple[str, ...]]) -> None:
    """Keys are motion emotions or `uncertain`; lists are non-empty."""
    unknown = set(table) - OPENER_KEYS
    if unknown:
        raise ValueError(f"openers for unknown emotions {sorted(unknown)}")
    empty = [key for key, lines in table.items() if not lines]
    if empty:
        raise ValueError(f"empty opener lists: {empty}")


class Openers(RootModel[dict[str, list[OpenerLine]]]):
    @model_validator(mode="after")
    def _complete(self) -> Openers:
        validate_openers(self.root)
        missing = OPENER_KEYS - set(self.root)
        if missing:
            raise ValueError(f"openers.yaml lacks {sorted(missing)}")
        return self


@cache
def load_openers() -> dict[str, tuple[str, ...]]:
    return {k: tuple(v) for k, v in Openers.model_validate(_read("openers.yaml")).root.items()}
