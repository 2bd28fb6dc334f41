"""Where the project's data files live, installed or in a checkout.

Rig names, retargeting tables and mapping data are files under the repo's
`blendshapes/` folder; a wheel carries the same folder as
`merg_sdk/_data/blendshapes`. Code asks here instead of guessing paths.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def blendshapes_dir() -> Path:
    """The `blendshapes/` data folder (wheel copy first, then the checkout's)."""
    for candidate in (_PACKAGE_DIR / "_data" / "blendshapes", _PACKAGE_DIR.parent / "blendshapes"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("merg_sdk data folder 'blendshapes/' is missing from this install")


def blendshapes_file(relative: str) -> Path:
    """A file under `blendshapes/`, with a clear error when it is absent."""
    path = blendshapes_dir() / relative
    if not path.is_file():
        raise FileNotFoundError(f"missing data file {path}")
    return path
