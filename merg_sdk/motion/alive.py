"""Head and eyes that make a face look alive: nods on stress, idle sway, breath, gaze.

Everything is a function of time drawn from seeded schedules, so a turn
streamed in chunks moves exactly as the same turn rendered at once, and a
replayed turn moves the same. Angles are radians in the head's own frame
(X to the avatar's left, Y up, Z out of the face): pitch + nods down, yaw +
turns to the avatar's left, roll + tilts towards the avatar's right shoulder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from merg_sdk.speech.types import PhonemeSpan

NOD_RAD = 0.035  # a stressed syllable dips the head about 2 degrees
NOD_DELAY_S = 0.06  # the head follows the voice slightly
NOD_WIDTH_S = 0.16
SWAY_RAD = np.array([0.025, 0.035, 0.015])  # idle drift amplitude per axis (pitch, yaw, roll)
SWAY_HZ = np.array([[0.11, 0.23, 0.37], [0.07, 0.17, 0.29], [0.09, 0.19, 0.31]])
BREATH_HZ = 0.25  # 15 breaths a minute
BREATH_RAD = 0.006
GAZE_HOLD_S = (0.6, 2.5)  # how long a fixation lasts
GAZE_AWAY_RAD = (0.04, 0.14)  # glance size when looking away from the listener
GAZE_AWAY_SHARE = 0.3  # share of fixations spent away from the listener
SACCADE_S = 0.04
VOR_GAIN = 0.6  # eyes counter-rotate against head yaw/pitch to hold the gaze
EYE_RANGE_RAD = np.array([0.44, 0.52])  # pitch, yaw at which eyeLook* reaches 1


class AliveTrack:
    """Head [n, 3] and eyes [n, 4] (left pitch, left yaw, right pitch, right yaw)."""

    def __init__(self, seed: int | None = None, arousal: float = 0.0) -> None:
        # separate streams: nods are drawn in span order and gaze in time order, so
        # feeding clause by clause draws the same numbers as feeding a whole turn
        seeds = np.random.SeedSequence(seed).spawn(2) if seed is not None else [None, None]
        self._nod_rng = np.random.default_rng(seeds[0])
        self._rng = rng = np.random.default_rng(seeds[1])
        self._phase = rng.uniform(0, 2 * np.pi, size=SWAY_HZ.shape)
        self._breath_phase = float(rng.uniform(0, 2 * np.pi))
        self._energy = 1.0 + 0.5 * float(np.clip(arousal, -1.0, 1.0))
        self._nods: list[tuple[float, float]] = []  # (time, signed size)
        self._fixations: list[tuple[float, float, float]] = [(-1.0, 0.0, 0.0)]  # start, p, y
        self._gaze_until = 0.0

    def feed(self, spans: Sequence[PhonemeSpan]) -> None:
        """Stressed syllables become nods; their size varies so emphasis looks natural."""
        for span in spans:
            if span.stressed and span.phoneme:
                size = NOD_RAD * self._energy * float(self._nod_rng.uniform(0.5, 1.0))
                self._nods.append((span.start_s + NOD_DELAY_S, size))

    def head(self, t: np.ndarray, speaking: np.ndarray) -> np.ndarray:
        sway = SWAY_RAD[:, None] * np.sin(
            2 * np.pi * SWAY_HZ[:, :, None] * t[None, None, :] + self._phase[:, :, None]
        ).mean(axis=1)
        head = sway.T * (0.6 + 0.4 * speaking[:, None]) * self._energy
        breath = BREATH_RAD * np.sin(2 * np.pi * BREATH_HZ * t + self._breath_phase)
        head[:, 0] += breath * (1.0 - speaking)
        for when, size in self._nods:
            near = np.abs(t - when) < 3 * NOD_WIDTH_S
            if near.any():
                x = (t[near] - when) / NOD_WIDTH_S
                head[near, 0] += size * np.exp(-0.5 * x * x)
                head[near, 2] += 0.3 * size * np.exp(-0.5 * x * x)
        return head

    def eyes(self, t: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Fixations with fast saccades between them, held steady against head motion."""
        self._schedule_until(float(t[-1]) if len(t) else 0.0)
        starts = np.array([f[0] for f in self._fixations])
        targets = np.array([[f[1], f[2]] for f in self._fixations])
        index = np.searchsorted(starts, t, side="right") - 1
        previous = np.maximum(index - 1, 0)
        blend = np.clip((t - starts[index]) / SACCADE_S, 0.0, 1.0)[:, None]
        gaze = targets[previous] + (targets[index] - targets[previous]) * blend
        gaze = gaze - VOR_GAIN * head[:, :2]
        return np.concatenate([gaze, gaze], axis=1)

    def _schedule_until(self, t_s: float) -> None:
        rng = self._rng
        while self._gaze_until <= t_s:
            start = self._gaze_until
            if rng.random() < GAZE_AWAY_SHARE:
                size = rng.uniform(*GAZE_AWAY_RAD)
                angle = rng.uniform(0, 2 * np.pi)
                target = (0.6 * size * np.sin(angle), size * np.cos(angle))
            else:  # back to the listener, with a small fixation error
                target = tuple(rng.normal(0.0, 0.008, size=2))
            self._fixations.append((start, float(target[0]), float(target[1])))
            self._gaze_until = start + rng.uniform(*GAZE_HOLD_S) / self._energy


def eye_look_weights(eyes: np.ndarray) -> dict[str, np.ndarray]:
    """ARKit eyeLook* weights for gaze angles (Left = the avatar's own left eye)."""
    pitch_l, yaw_l, pitch_r, yaw_r = (eyes[:, i] for i in range(4))
    scale = lambda x, axis: np.clip(x / EYE_RANGE_RAD[axis], 0.0, 1.0)  # noqa: E731
    return {
        "eyeLookDownLeft": scale(pitch_l, 0),
        "eyeLookUpLeft": scale(-pitch_l, 0),
        "eyeLookOutLeft": scale(yaw_l, 1),
        "eyeLookInLeft": scale(-yaw_l, 1),
        "eyeLookDownRight": scale(pitch_r, 0),
        "eyeLookUpRight": scale(-pitch_r, 0),
        "eyeLookInRight": scale(yaw_r, 1),
        "eyeLookOutRight": scale(-yaw_r, 1),
    }
