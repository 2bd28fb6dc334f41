"""The avatar's own emotion, moved each turn in valence-arousal-dominance space.

Not a mirror: the avatar resonates with the user's valence (more so when
agreeable), calms rather than matches agitation (anger and fear are met with
steadiness), and how far it moves in one turn depends on its neuroticism.
Between turns it drifts back towards the persona's resting emotion. The result
is named by the nearest emotion the persona may show, with an intensity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from merg_sdk.empathy.persona import Persona
from merg_sdk.motion.face import load_emotions

SUPPORT_STRATEGIES_VALENCE = {
    "Affirmation and Reassurance": 0.25,
    "Self-disclosure": 0.0,
    "Providing Suggestions": 0.1,
}
AXIS_WEIGHTS = np.array([1.0, 0.7, 0.35])  # valence names a feeling more than dominance
REST_PULL = 0.3  # share of the way back to rest each turn before the new push
MIN_SHOWN = 0.12  # below this distance from neutral the face stays at rest


@dataclass(frozen=True, slots=True)
class AvatarEmotion:
    emotion: str
    intensity: float
    vad: tuple[float, float, float]


class AvatarAffect:
    """Per session: the avatar's current VAD point, starting at the persona's rest."""

    def __init__(self, persona: Persona) -> None:
        self.persona = persona
        table = load_emotions()
        self._anchors = {
            name: np.array(table.vad[name]) for name in persona.emotions if name in table.vad
        }
        rest = self._anchors.get(persona.resting_emotion, np.zeros(3))
        self._rest = rest * persona.resting_intensity
        self.vad = self._rest.copy()

    def target(self, user_vad: tuple[float, float, float], strategy: str) -> np.ndarray:
        traits = self.persona.personality
        valence, arousal, dominance = user_vad
        warmth = 0.2 + 0.2 * traits.agreeableness
        resonance = (0.35 + 0.4 * traits.agreeableness) * valence
        target_valence = warmth + resonance + SUPPORT_STRATEGIES_VALENCE.get(strategy, 0.0)
        if valence < 0 and arousal > 0.2:  # agitation is met with steadiness, not matched
            target_arousal = -0.15 - 0.2 * (1 - traits.neuroticism)
        elif valence > 0:  # good news is shared with some of its energy
            target_arousal = (0.4 + 0.5 * traits.extraversion) * arousal + 0.2 * valence
        else:
            target_arousal = (0.2 + 0.5 * traits.extraversion) * arousal
        target_dominance = 0.15 + 0.3 * (traits.conscientiousness - 0.5) - 0.2 * dominance
        return np.clip([target_valence, target_arousal, target_dominance], -1.0, 1.0)

    def step(self, user_vad: tuple[float, float, float], strategy: str) -> AvatarEmotion:
        """Move towards this turn's target; reactivity grows with neuroticism."""
        reactivity = 0.45 + 0.4 * self.persona.personality.neuroticism
        rested = self.vad + REST_PULL * (self._rest - self.vad)
        self.vad = rested + reactivity * (self.target(user_vad, strategy) - rested)
        return self.name(self.vad)

    def name(self, vad: np.ndarray) -> AvatarEmotion:
        """The nearest allowed emotion by direction, with intensity from the distance."""
        point = np.asarray(vad, dtype=float)
        size = float(np.linalg.norm(point))
        weighted = point * AXIS_WEIGHTS
        if size < MIN_SHOWN:
            at_rest = "neutral" if "neutral" in self._anchors else self.persona.resting_emotion
            return AvatarEmotion(at_rest, 0.0, _tuple(point))
        best, best_score, best_size = self.persona.resting_emotion, -2.0, 1.0
        for emotion, anchor in self._anchors.items():
            norm = float(np.linalg.norm(anchor))
            if norm == 0:
                continue
            axis = anchor * AXIS_WEIGHTS
            score = float(weighted @ axis) / (np.linalg.norm(weighted) * np.linalg.norm(axis))
            if score > best_score:
                best, best_score, best_size = emotion, score, norm
        intensity = float(np.clip(size / best_size, 0.2, 1.0))
        return AvatarEmotion(best, round(intensity, 3), _tuple(point))


def _tuple(point: np.ndarray) -> tuple[float, float, float]:
    return (round(float(point[0]), 3), round(float(point[1]), 3), round(float(point[2]), 3))
