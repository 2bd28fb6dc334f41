"""The `flame` rig: FLAME expression, jaw and eye parameters from ARKit-52 weights.

The user supplies the FLAME model file (its licence requires registration
with MPI); `FlameMapper` fits the ARKit-52 -> FLAME map against it once,
caches the fit, then converts the motion engine's frames. See docs/flame.md.
"""

from merg_sdk.motion.flame.mapping import FlameFrames, FlameMapper, default_cache_dir
from merg_sdk.motion.flame.model import FlameModel, FlameModelError, load_flame_model

__all__ = [
    "FlameFrames",
    "FlameMapper",
    "FlameModel",
    "FlameModelError",
    "default_cache_dir",
    "load_flame_model",
]
