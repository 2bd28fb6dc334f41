"""Perception: how the user seems to feel, from their text (voice and face to come).

Every reader returns an `AffectState` (types.py) so readings from different
modalities can be fused (`fuse`). `TextAffect` reads text with sentence
embeddings against emotion prototypes, lexicon cues and a small trained head
(classifier.py); it loads the model lazily, so importing this package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from merg_sdk.perception.types import (
    MOTION_EMOTIONS,
    AffectState,
    Cue,
    CueKind,
    Modality,
    fuse,
)

if TYPE_CHECKING:
    from merg_sdk.perception.text_affect import Settings, TextAffect

__all__ = [
    "MOTION_EMOTIONS",
    "AffectState",
    "Cue",
    "CueKind",
    "Modality",
    "Settings",
    "TextAffect",
    "fuse",
]


def __getattr__(name: str) -> Any:
    """Import the text reader on first use (it pulls in numpy and, on load, torch)."""
    if name in ("TextAffect", "Settings"):
        from merg_sdk.perception import text_affect

        return getattr(text_affect, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
