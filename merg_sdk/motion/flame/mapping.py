"""ARKit-52 weights -> FLAME parameters per frame, fitted once per model and cached.

The motion engine animates ARKit-52; the `flame` rig streams FLAME
parameters. The map between them depends on the user's FLAME file (its
expression basis is what a coefficient means), so `fit` fits it against
that file, and the result is stored as .npz under the cache directory keyed
by the SHA-256 of the file's bytes: a second start reads the cache instead of
fitting, and a different or edited model file gets its own fit. Per frame
the map is a product of small matrices, cheap enough for any frame rate.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merg_sdk.motion.flame.fit import FlameFit, fit_mapping
from merg_sdk.motion.flame.lbs import euler_to_axis_angle
from merg_sdk.motion.flame.model import FlameModel, FlameModelError, parse_flame_bytes
from merg_sdk.motion.rig import load_rig

log = logging.getLogger("merg.motion.flame")

MAPPING_VERSION = 1  # bump when the fit changes, so old caches are not reused
DEFAULT_N_EXPRESSION = 50  # what most FLAME trackers and renderers use; up to 100


def default_cache_dir() -> Path:
    """`$XDG_CACHE_HOME/merg-sdk/flame`, else `~/.cache/merg-sdk/flame`."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "merg-sdk" / "flame"


@dataclass(frozen=True, slots=True)
class FlameFrames:
    """FLAME parameters for `count` frames, float32, as the `flame` message carries them."""

    expression: np.ndarray  # [count, E]
    jaw: np.ndarray  # [count, 3] axis-angle
    eyes: np.ndarray | None = None  # [count, 6] axis-angle, eyeball joints 3 then 4
    neck: np.ndarray | None = None  # [count, 3] axis-angle

    @property
    def count(self) -> int:
        return int(self.expression.shape[0])


class FlameMapper:
    """The ARKit-52 -> FLAME map for one model file.

    Construction fits the map, or reads it from the cache; a bad model file
    raises `FlameModelError`. `cache_hit` tells which happened.
    """

    def __init__(
        self,
        model_path: str | Path,
        n_expression: int = DEFAULT_N_EXPRESSION,
        cache_dir: str | Path | None = None,
        eyes: bool = True,
    ) -> None:
        if not 1 <= n_expression <= 100:
            raise ValueError(f"n_expression must be in 1..100, got {n_expression}")
        self.model_path = Path(model_path).expanduser()
        self.names = load_rig("arkit52").names
        self.n_expression = n_expression
        self.with_eyes = eyes
        try:
            data = self.model_path.read_bytes()
        except OSError as exc:
            raise FlameModelError(f"cannot read FLAME model file {model_path}: {exc}") from exc
        self.model_sha256 = hashlib.sha256(data).hexdigest()
        folder = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        self.cache_path = (
            folder / f"{self.model_sha256[:32]}-e{n_expression}-v{MAPPING_VERSION}.npz"
        )
        cached = self._read_cache()
        self.cache_hit = cached is not None
        self._model: FlameModel | None = None
        if cached is None:
            self._model = parse_flame_bytes(data, name=str(model_path))
            cached = fit_mapping(self._model, self.names, n_expression)
            self._write_cache(cached)
        self.fit: FlameFit = cached
        self._expr = cached.expression.astype(np.float32)
        self._jaw = cached.jaw.astype(np.float32)
        self._eyes = cached.eyes.astype(np.float32)

    @property
    def model(self) -> FlameModel:
        """The parsed model (loaded on first use when the map came from the cache)."""
        if self._model is None:
            try:
                data = self.model_path.read_bytes()
            except OSError as exc:
                raise FlameModelError(f"cannot read FLAME model file: {exc}") from exc
            model = parse_flame_bytes(data, name=str(self.model_path))
            if model.sha256 != self.model_sha256:
                raise FlameModelError(f"{self.model_path} changed since its map was fitted")
            self._model = model
        return self._model

    def apply(
        self, weights: np.ndarray, head: np.ndarray | None = None, gaze: np.ndarray | None = None
    ) -> FlameFrames:
        """ARKit weights [count, 52] -> FLAME parameters for the same frames.

        `head` [count, 3] (pitch, yaw, roll) becomes the neck pose; `gaze`
        [count, 4] (left pitch, left yaw, right pitch, right yaw), when the
        engine has it, drives the eyeballs exactly instead of the eyeLook*
        weights (which clip at their range). Conventions: `motion.alive`.
        """
        w = np.asarray(weights, dtype=np.float32)
        if w.ndim != 2 or w.shape[1] != len(self.names):
            raise ValueError(f"weights must be [count, {len(self.names)}], got {w.shape}")
        eyes = None
        if self.with_eyes:
            eyes = w @ self._eyes if gaze is None else self._eyes_from_gaze(gaze, len(w))
        neck = None
        if head is not None:
            h = np.asarray(head, dtype=np.float64)
            if h.shape != (len(w), 3):
                raise ValueError(f"head must be [{len(w)}, 3], got {h.shape}")
            neck = euler_to_axis_angle(h).astype(np.float32)
        return FlameFrames(w @ self._expr, w @ self._jaw, eyes, neck)

    def _eyes_from_gaze(self, gaze: np.ndarray, count: int) -> np.ndarray:
        g = np.asarray(gaze, dtype=np.float64)
        if g.shape != (count, 4):
            raise ValueError(f"gaze must be [{count}, 4], got {g.shape}")
        zero = np.zeros(count)
        left = euler_to_axis_angle(np.stack([g[:, 0], g[:, 1], zero], 1))
        right = euler_to_axis_angle(np.stack([g[:, 2], g[:, 3], zero], 1))
        # the fitted eye map knows which eyeball joint is the left one
        left_first = self._eyes[self.names.index("eyeLookDownLeft"), 0] > 0
        pair = (left, right) if left_first else (right, left)
        return np.concatenate(pair, axis=1).astype(np.float32)

    def _read_cache(self) -> FlameFit | None:
        if not self.cache_path.is_file():
            return None
        k, e = len(self.names), self.n_expression
        try:
            with np.load(self.cache_path, allow_pickle=False) as npz:
                fit = FlameFit(
                    tuple(str(n) for n in npz["names"]), npz["expression"], npz["jaw"],
                    npz["eyes"], npz["residual"],
                )  # fmt: skip
                sha = str(npz["model_sha256"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            log.warning("ignoring unreadable FLAME mapping cache %s: %s", self.cache_path, exc)
            return None
        shapes = (fit.expression.shape, fit.jaw.shape, fit.eyes.shape, fit.residual.shape)
        valid = (
            sha == self.model_sha256
            and fit.names == self.names
            and shapes == ((k, e), (k, 3), (k, 6), (k,))
            and all(np.isfinite(a).all() for a in (fit.expression, fit.jaw, fit.eyes))
        )
        if not valid:
            log.warning("ignoring stale FLAME mapping cache %s", self.cache_path)
            return None
        return fit

    def _write_cache(self, fit: FlameFit) -> None:
        """Atomic write (temp file + rename); a read-only cache only costs a refit."""
        tmp = None
        try:
            self.cache_path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                np.savez(
                    out, names=np.array(fit.names), expression=fit.expression, jaw=fit.jaw,
                    eyes=fit.eyes, residual=fit.residual, model_sha256=self.model_sha256,
                    version=MAPPING_VERSION,
                )  # fmt: skip
            os.replace(tmp, self.cache_path)
        except OSError as exc:
            log.warning("cannot write FLAME mapping cache %s: %s", self.cache_path, exc)
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
