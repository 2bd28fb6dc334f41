"""The prototype classifier: cosine similarity to each fine emotion's centroid.

Why centroids of centred embeddings: every first-person sentence shares a
large common direction in MiniLM's space, which makes all similarities high
and close together; subtracting the prototypes' mean removes it, and one
normalised centroid per emotion averages away each example's topic (dogs,
jobs, exams) so what remains is closer to the feeling. Leave-one-out over the
prototypes chose this over k-nearest-neighbours and a ridge probe
(bench/evaluate_text_affect.py --loo reproduces the numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class PrototypeHead:
    """Centroids [n_emotions, dim] in a space centred on `mean` [dim]."""

    mean: np.ndarray
    centroids: np.ndarray

    @classmethod
    def fit(cls, matrix: np.ndarray, labels: np.ndarray, n_classes: int) -> PrototypeHead:
        """Build the head from prototype embeddings [n, dim] and their class labels."""
        mean = matrix.mean(axis=0)
        centred = _unit(matrix - mean)
        centroids = np.stack([centred[labels == c].mean(axis=0) for c in range(n_classes)])
        mean = mean.astype(np.float32)
        centroids = _unit(centroids).astype(np.float32)
        mean.setflags(write=False)
        centroids.setflags(write=False)
        return cls(mean, centroids)

    def scores(self, vec: np.ndarray) -> np.ndarray:
        """Cosine similarity of one embedding [dim] to each emotion's centroid [n_emotions]."""
        centred = vec - self.mean
        norm = float(np.linalg.norm(centred))
        if norm < 1e-8:
            return np.zeros(len(self.centroids), dtype=np.float32)
        return self.centroids @ (centred / norm)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-8)
