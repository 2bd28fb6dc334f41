"""Is a data set written apart from another? Shared runs of words say it was copied."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import yaml

SHARED_RUN = 6  # words in a row that would count as copied


def strings(node: object) -> list[str]:
    """Every string in a loaded YAML document, at any depth."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


def yaml_strings(paths: Iterable[Path]) -> list[str]:
    return [s for path in paths for s in strings(yaml.safe_load(path.read_text("utf-8")))]


def runs(text: str) -> set[tuple[str, ...]]:
    """The text's runs of SHARED_RUN words (case, punctuation and curly quotes ignored)."""
    words = re.findall(r"[a-z0-9']+", text.lower().replace("’", "'"))
    return {tuple(words[i : i + SHARED_RUN]) for i in range(len(words) - SHARED_RUN + 1)}


def all_runs(texts: Iterable[str]) -> set[tuple[str, ...]]:
    return set().union(*(runs(text) for text in texts))
