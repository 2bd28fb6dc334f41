"""Motion: phoneme timings -> visemes -> face controller weights, streamed per turn.

`FaceAnimator` is the stage's interface; rigs, pose tables and the phoneme
map are data under `blendshapes/`.
"""

from merg_sdk.motion.animator import EMOTIONS, FaceAnimator, FaceBlock
from merg_sdk.motion.rig import Rig, available_rigs, load_rig

__all__ = ["EMOTIONS", "FaceAnimator", "FaceBlock", "Rig", "available_rigs", "load_rig"]
