"""One frame of the face as the outputs consume it: ARKit-52 weights, head and eyes.

Every output retargets from ARKit-52 (the `livelink` and `vrm*` tables read
it), so whatever rig a session runs, its columns are brought into ARKit order
once, by name, as frames arrive; an output never sees a session's rig.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from merg_sdk.motion.retarget import canonical_arkit_name
from merg_sdk.motion.rig import load_rig


@cache
def arkit_names() -> tuple[str, ...]:
    """The 52 ARKit names in Apple's order (`blendshapes/rigs/arkit52.yaml`)."""
    return tuple(load_rig("arkit52").names)


@dataclass(frozen=True, slots=True)
class FacePose:
    """What the face shows at one instant.

    `weights` float32 [52] in ARKit order; `head` [3] pitch (+ down), yaw (+ to
    the avatar's left), roll (+ towards its right shoulder) and `eyes` [4] left
    pitch, left yaw, right pitch, right yaw, radians, as in `face` messages.
    `turn` and `frame` say where on which turn's timeline it was taken; both are
    None for the rest pose shown between turns.
    """

    weights: np.ndarray
    head: np.ndarray
    eyes: np.ndarray
    turn: int | None = None
    frame: int | None = None

    @property
    def at_rest(self) -> bool:
        return self.turn is None


def rest_pose() -> FacePose:
    """Neutral face, looking straight ahead: what a renderer shows between turns."""
    return FacePose(
        weights=np.zeros(len(arkit_names()), np.float32),
        head=np.zeros(3, np.float32),
        eyes=np.zeros(4, np.float32),
    )


class ArkitColumns:
    """Reorders a session rig's weight columns into ARKit order, by name.

    Accepts any spelling `canonical_arkit_name` knows (Apple's, Live Link's
    PascalCase, Face Cap's), so `arkit52`, `livelink` and `facecap` sessions all
    work; ARKit shapes the rig lacks read as 0. A rig with no ARKit shape at all
    (visemes, VRM presets) cannot drive these outputs and is refused.
    """

    def __init__(self, names: tuple[str, ...] | list[str]) -> None:
        self.names = tuple(names)
        position = {canonical_arkit_name(n): i for i, n in enumerate(self.names)}
        position.pop(None, None)
        self._source = np.array([position.get(n, -1) for n in arkit_names()], dtype=np.intp)
        self.found = int((self._source >= 0).sum())
        if self.found == 0:
            raise ValueError(
                f"the session's rig ({len(self.names)} names, e.g. {list(self.names[:3])}) "
                "carries no ARKit weights: open the session with rig 'arkit52'"
            )
        self._identity = self.found == len(self.names) == len(self._source) and bool(
            (self._source == np.arange(len(self._source))).all()
        )

    def __call__(self, weights: np.ndarray) -> np.ndarray:
        """[count, len(names)] -> float32 [count, 52]."""
        w = np.asarray(weights, dtype=np.float32)
        if w.ndim != 2 or w.shape[1] != len(self.names):
            raise ValueError(f"weights must be [count, {len(self.names)}], got {w.shape}")
        if self._identity:
            return w
        out = np.zeros((len(w), len(self._source)), np.float32)
        present = self._source >= 0
        out[:, present] = w[:, self._source[present]]
        return out
