"""Read FLAME's pickles safely and without chumpy or scipy.

FLAME 2020 (`generic_model.pkl`) was written by Python 2 with chumpy: some
arrays (`shapedirs`, sometimes others) are `chumpy.ch.Ch` objects, and
`J_regressor` is a `scipy.sparse.csc_matrix`. chumpy does not import on
numpy >= 1.24 (it imports `numpy.bool` and friends), and a plain
`pickle.load` would run whatever callables a file names. So this unpickler
allows only what an array dictionary needs (numpy's reconstructors, a few
builtins) and maps every `chumpy.*` and `scipy.sparse.*` class to a shim
that just keeps the object's stored state:

- a chumpy `Ch` stores its value in its `x` attribute (chumpy's `__getstate__`
  pickles `__dict__` minus caches), so the shim hands back that ndarray;
  anything else from chumpy (a lazy expression such as `ch_ops.add`) has no
  stored value and is reported as unsupported;
- a scipy CSC/CSR/COO matrix stores its index arrays and shape, from which
  the shim builds the dense matrix (FLAME's regressor is 5 x 5023: small).

Every other class is refused, which also makes loading a model file from an
untrusted place no worse than loading an .npz.
"""

from __future__ import annotations

import builtins
import codecs
import importlib
import io
import pickle
from typing import Any

import numpy as np

_BUILTINS = {"set", "frozenset", "object", "bytearray", "complex", "slice"}
_NUMPY = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
_NUMPY_FUNCS = {
    "multiarray": ("_reconstruct", "scalar"),
    "numeric": ("_frombuffer",),
}
_MAX_DENSE = 50_000_000  # FLAME's regressor is 5 x 5023; refuse absurd declared shapes
_SPARSE = {"csc_matrix", "csr_matrix", "coo_matrix", "csc_array", "csr_array", "coo_array"}


class UnsupportedObject(Exception):
    """A stored object that is not plain array data (key unknown at this level)."""


class ChumpyShim:
    """Stands in for any chumpy class; keeps the pickled `__dict__`."""

    chumpy_class = "chumpy.ch.Ch"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {"state": state}

    def value(self) -> np.ndarray:
        """The stored array of a leaf `Ch`; lazy chumpy expressions have none."""
        x = self.state.get("x")
        if isinstance(x, ChumpyShim):
            return x.value()
        if self.chumpy_class.endswith(".Ch") and x is not None:
            return np.asarray(x)
        raise UnsupportedObject(
            f"a {self.chumpy_class} expression (not a stored array); convert the file "
            "with chumpy once (value.r) and save it as .npz"
        )


class SparseShim:
    """Stands in for a scipy sparse matrix; rebuilt dense from its stored arrays."""

    scipy_class = "csc_matrix"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: Any) -> None:
        self.state = state if isinstance(state, dict) else {}

    def dense(self) -> np.ndarray:
        s = self.state
        shape = tuple(int(n) for n in s.get("_shape", s.get("shape", ())))
        if len(shape) != 2 or min(shape) < 0 or shape[0] * shape[1] > _MAX_DENSE:
            raise UnsupportedObject(f"a {self.scipy_class} of unusable shape {shape}")
        out = np.zeros(shape)
        kind = self.scipy_class[:3]
        if kind == "coo":
            row, col = s["coords"] if "coords" in s else (s["row"], s["col"])
            np.add.at(out, (np.asarray(row), np.asarray(col)), np.asarray(s["data"]))
            return out
        indptr, indices, data = (np.asarray(s[k]) for k in ("indptr", "indices", "data"))
        major = shape[1] if kind == "csc" else shape[0]
        if len(indptr) != major + 1 or len(indices) != len(data) or indptr[-1] > len(data):
            raise UnsupportedObject(f"a {self.scipy_class} with inconsistent index arrays")
        counts = np.diff(indptr)
        lead = np.repeat(np.arange(major), counts)
        idx = indices[: indptr[-1]]
        vals = data[: indptr[-1]]
        if kind == "csc":
            np.add.at(out, (idx, lead), vals)
        else:
            np.add.at(out, (lead, idx), vals)
        return out


def _numpy_func(submodule: str, name: str) -> Any:
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{submodule}"), name)
        except (ImportError, AttributeError):
            continue
    raise pickle.UnpicklingError(f"numpy has no {submodule}.{name}")


class FlameUnpickler(pickle.Unpickler):
    """Unpickler that resolves only array-data classes (see the module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return getattr(builtins, name)
        if (module, name) in (("_codecs", "encode"), ("codecs", "encode")):
            return codecs.encode
        if module in ("copyreg", "copy_reg") and name == "_reconstructor":
            import copyreg

            return copyreg._reconstructor
        if (module, name) in _NUMPY:
            return _NUMPY[(module, name)]
        parts = module.split(".")
        if parts[0] == "numpy" and parts[-1] in _NUMPY_FUNCS and name in _NUMPY_FUNCS[parts[-1]]:
            return _numpy_func(parts[-1], name)
        if parts[0] == "chumpy":
            return type(name, (ChumpyShim,), {"chumpy_class": f"{module}.{name}"})
        if module.startswith("scipy.sparse") and name in _SPARSE:
            return type(name, (SparseShim,), {"scipy_class": name})
        raise pickle.UnpicklingError(
            f"refusing to load {module}.{name}: a FLAME model file holds only arrays"
        )


def load_pickle_bytes(data: bytes) -> Any:
    """Unpickle `data` (Python 2 pickles decode as latin-1, as numpy expects)."""
    return FlameUnpickler(io.BytesIO(data), encoding="latin1").load()


def plain_value(value: Any) -> Any:
    """Replace a shim by the array it stands for; other values pass through."""
    if isinstance(value, ChumpyShim):
        return value.value()
    if isinstance(value, SparseShim):
        return value.dense()
    return value
