"""FLAME rig costs: fitting the ARKit map once per model, and apply() per frame.

Uses the synthetic head (`merg_sdk.motion.flame.synthetic`), at its test size
and at FLAME's size (~5,000 vertices), since the real model cannot ship.
Prints fit and cache-load times, the fit residuals, and apply() time per
1,000 frames. Run: `.venv/bin/python bench/flame_bench.py`.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from merg_sdk.motion.flame import FlameMapper
from merg_sdk.motion.flame.synthetic import write_synthetic_flame


def bench(folder: Path, label: str, n_lat: int, n_lon: int, n_expression: int) -> None:
    model = write_synthetic_flame(folder / f"{label}.pkl", n_lat=n_lat, n_lon=n_lon)
    cache = folder / f"cache-{label}-{n_expression}"
    start = time.perf_counter()
    mapper = FlameMapper(model, n_expression=n_expression, cache_dir=cache)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    FlameMapper(model, n_expression=n_expression, cache_dir=cache)
    load_s = time.perf_counter() - start
    weights = np.random.default_rng(0).uniform(0, 1, (1000, 52)).astype(np.float32)
    head = np.zeros((1000, 3))
    runs = 200
    start = time.perf_counter()
    for _ in range(runs):
        mapper.apply(weights)
    apply_ms = (time.perf_counter() - start) / runs * 1e3
    start = time.perf_counter()
    for _ in range(runs):
        mapper.apply(weights, head=head)
    head_ms = (time.perf_counter() - start) / runs * 1e3
    res = mapper.fit.residual
    fitted = res[res > 0]
    worst = mapper.names[int(np.argmax(res))]
    print(
        f"{label:>6} V={mapper.model.n_vertices:5d} E={n_expression:3d}  fit {fit_s:6.2f} s  "
        f"cached {load_s * 1e3:6.1f} ms  apply {apply_ms:.3f} ms/1000 frames "
        f"(+head {head_ms:.3f})  residual median {np.median(fitted):.3f} "
        f"mean {fitted.mean():.3f} max {res.max():.3f} ({worst})"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for label, n_lat, n_lon in (("test", 38, 48), ("flame", 64, 76)):
            for n_expression in (50, 100):
                bench(Path(tmp), label, n_lat, n_lon, n_expression)


if __name__ == "__main__":
    main()
