"""Where each motion emotion sits in valence-arousal-dominance space, and what lies near a point.

Readers that measure dimensions (a voice, a VAD regression model) still owe
the fusion a distribution over motion emotions; the points come from the
motion engine's own table (blendshapes/emotions.yaml), so perception and the
avatar's face agree on what "afraid" means in VAD.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from merg_sdk.perception.types import MOTION_EMOTIONS


@cache
def emotion_points() -> dict[str, tuple[float, float, float]]:
    """Each motion emotion's (valence, arousal, dominance) from blendshapes/emotions.yaml."""
    from merg_sdk.motion.face import load_emotions

    table = load_emotions().vad
    return {name: tuple(table.get(name, (0.0, 0.0, 0.0))) for name in MOTION_EMOTIONS}


def emotions_near(
    vad: tuple[float, float, float],
    axis_confidence: tuple[float, float, float] = (1.0, 1.0, 1.0),
    temperature: float = 0.5,
) -> tuple[tuple[str, float], ...]:
    """Motion emotions ranked by closeness to `vad`, each axis weighted by how far it is trusted.

    Why weighted: a voice's valence is nearly a guess, so two emotions that
    differ mainly in valence (happy, angry) should stay close in the ranking.
    """
    table = emotion_points()
    trust = np.asarray(axis_confidence, dtype=np.float64)
    trust = trust / max(float(trust.max()), 1e-9)
    points = np.array([table[name] for name in MOTION_EMOTIONS])
    distance = ((points - np.asarray(vad)) ** 2 * trust).sum(axis=1)
    probs = np.exp(-(distance - distance.min()) / temperature)
    probs /= probs.sum()
    order = np.argsort(-probs)
    return tuple((MOTION_EMOTIONS[i], round(float(probs[i]), 4)) for i in order if probs[i] > 1e-4)
