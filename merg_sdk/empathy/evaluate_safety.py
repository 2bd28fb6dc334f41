"""`merg evaluate-safety`: the crisis detector on a labelled set of your own, as a table.

A therapy deployment should not take our recall figures on trust: it can write its
own messages (in its users' register, its own hard cases) and measure the detector
the server runs (patterns, then the classifier on every clause) on them. Misses and
false alarms are listed only when asked for, so that a blind set can be scored
without its authors' wording reaching whoever tunes the detector.

Two file shapes are read: a map `{crisis: [{text, category, borderline?}],
safe: [{text, theme?}]}`, or a flat list of `{text, category}` where category
`none` marks a safe message.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from rich.console import Console
from rich.table import Table

from merg_sdk.empathy.safety import CATEGORIES, SafetyFlag

FALSE_ALARM_GOAL = 0.05


class _Crisis(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    category: str
    borderline: bool = False


class _Safe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1)
    theme: str = "unspecified"


class _LabelledSet(BaseModel):
    model_config = ConfigDict(extra="ignore")

    crisis: list[_Crisis] = []
    safe: list[_Safe] = []


@dataclass(frozen=True, slots=True)
class Item:
    text: str
    category: str  # one of CATEGORIES, or "none"
    group: str  # the category for a crisis, the theme for a safe message
    borderline: bool = False


def load_labelled_set(path: Path) -> list[Item]:
    """The items of a labelled file; a ValueError names what is wrong with it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ValueError(f"{path}: cannot read a YAML set ({error})") from error
    if isinstance(raw, list):
        raw = {
            "crisis": [r for r in raw if isinstance(r, dict) and r.get("category") != "none"],
            "safe": [
                {"text": r.get("text"), "theme": "none"}
                for r in raw
                if isinstance(r, dict) and r.get("category") == "none"
            ],
        }
    try:
        spec = _LabelledSet.model_validate(raw)
    except ValidationError as error:
        raise ValueError(f"{path}: {error}") from error
    unknown = {c.category for c in spec.crisis} - set(CATEGORIES)
    if unknown:
        raise ValueError(f"{path}: unknown categories {sorted(unknown)}; use {CATEGORIES}")
    if not spec.crisis and not spec.safe:
        raise ValueError(f"{path}: no items (expected `crisis:` and `safe:` lists)")
    items = [Item(c.text, c.category, c.category, c.borderline) for c in spec.crisis]
    return items + [Item(s.text, "none", s.theme) for s in spec.safe]


@dataclass
class SafetyScores:
    """Flagged counts per crisis category and per safe theme, and the cost per message."""

    crisis: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    right_category: int = 0
    safe: Counter[str] = field(default_factory=Counter)
    alarms: Counter[str] = field(default_factory=Counter)
    misses: list[Item] = field(default_factory=list)
    false_alarms: list[tuple[Item, SafetyFlag]] = field(default_factory=list)
    ms: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return sum(self.caught.values()) / max(1, sum(self.crisis.values()))

    @property
    def false_alarm_rate(self) -> float:
        return sum(self.alarms.values()) / max(1, sum(self.safe.values()))


def score(items: list[Item], detect: Callable[[str], SafetyFlag | None]) -> SafetyScores:
    """Run `detect` (the server's check) on every item."""
    scores = SafetyScores()
    for item in items:
        start = time.perf_counter()
        flag = detect(item.text)
        scores.ms.append((time.perf_counter() - start) * 1000)
        if item.category == "none":
            scores.safe[item.group] += 1
            if flag is not None:
                scores.alarms[item.group] += 1
                scores.false_alarms.append((item, flag))
        else:
            scores.crisis[item.group] += 1
            if flag is None:
                scores.misses.append(item)
            else:
                scores.caught[item.group] += 1
                scores.right_category += flag.category == item.category
    return scores


def report(scores: SafetyScores, console: Console, *, show_items: bool = False) -> None:
    """The recall and false-alarm tables; the missed and wrongly flagged texts on request."""
    table = Table(title="crisis detection")
    for column in ("measure", "flagged / items", "share", "goal"):
        table.add_column(column)
    for category in CATEGORIES:
        if scores.crisis[category]:
            table.add_row(
                f"recall, {category}",
                f"{scores.caught[category]} / {scores.crisis[category]}",
                f"{scores.caught[category] / scores.crisis[category]:.1%}",
                "",
            )
    caught, total = sum(scores.caught.values()), sum(scores.crisis.values())
    if total:
        table.add_row("recall, any category", f"{caught} / {total}", f"{scores.recall:.1%}", "100%")
        table.add_row(
            "category right (of caught)",
            f"{scores.right_category} / {caught}",
            f"{scores.right_category / max(1, caught):.1%}",
            "",
        )
    safe = sum(scores.safe.values())
    if safe:
        table.add_row(
            "false alarms, safe messages",
            f"{sum(scores.alarms.values())} / {safe}",
            f"{scores.false_alarm_rate:.1%}",
            f"<= {FALSE_ALARM_GOAL:.0%}",
        )
    if scores.ms:
        table.add_row("ms per message, median", "", f"{statistics.median(scores.ms):.1f}", "")
    console.print(table)
    themes = Table(title="false alarms by theme of the safe messages")
    for column in ("theme", "flagged / items"):
        themes.add_column(column)
    for theme, count in sorted(scores.safe.items(), key=lambda kv: -scores.alarms[kv[0]]):
        themes.add_row(theme, f"{scores.alarms[theme]} / {count}")
    if len(scores.safe) > 1:
        console.print(themes)
    if show_items:
        for item in scores.misses:
            console.print(f"[red]missed[/] {item.category}: {item.text}")
        for item, flag in scores.false_alarms:
            console.print(f"[yellow]false alarm[/] {flag.category} ({flag.matched}): {item.text}")
