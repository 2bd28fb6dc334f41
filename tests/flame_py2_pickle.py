"""Write pickles the way Python 2 + chumpy wrote FLAME 2020's `generic_model.pkl`.

Python 3 cannot produce such bytes by itself (it pickles bytes through
`_codecs.encode` and names `numpy._core`), so this emits protocol-2 opcodes
directly: arrays via `numpy.core.multiarray._reconstruct` with their data as
a Python 2 `str`, `chumpy.ch.Ch` objects as NEWOBJ + a state dict holding
`x`, and the regressor as an old-path `scipy.sparse.csc.csc_matrix`. The
loader must read all of it without chumpy or scipy.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np


class Py2Object:
    """An instance of `module.name` with this `__dict__`, pickled by NEWOBJ + BUILD."""

    def __init__(self, module: str, name: str, state: dict[str, Any]) -> None:
        self.module, self.name, self.state = module, name, state


def chumpy_ch(array: np.ndarray) -> Py2Object:
    """A leaf chumpy `Ch` as chumpy's `__getstate__` stores it."""
    state = {"x": array, "_dirty_vars": set(), "_itr": None, "_depends_on_deps": {}}
    return Py2Object("chumpy.ch", "Ch", {**state, "_make_dense": False, "_make_sparse": False})


def old_scipy_csc(dense: np.ndarray) -> Py2Object:
    indptr, indices, data = [0], [], []
    for col in dense.T:
        rows = np.flatnonzero(col)
        indices += rows.tolist()
        data += col[rows].tolist()
        indptr.append(len(indices))
    state = {"_shape": dense.shape, "maxprint": 50, "format": "csc", "data": np.array(data),
             "indices": np.array(indices, dtype=np.int32),
             "indptr": np.array(indptr, dtype=np.int32)}  # fmt: skip
    return Py2Object("scipy.sparse.csc", "csc_matrix", state)


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(raw: bytes) -> bytes:  # a Python 2 str
    return b"T" + struct.pack("<I", len(raw)) + raw


def _emit(obj: Any) -> bytes:
    if obj is None:
        return b"N"
    if isinstance(obj, bool):
        return b"\x88" if obj else b"\x89"
    if isinstance(obj, int):
        raw = obj.to_bytes((obj.bit_length() + 8) // 8 or 1, "little", signed=True)
        return b"\x8a" + bytes([len(raw)]) + raw  # LONG1
    if isinstance(obj, float):
        return b"G" + struct.pack(">d", obj)
    if isinstance(obj, str):
        return _str(obj.encode("latin1"))
    if isinstance(obj, tuple):
        return b"(" + b"".join(_emit(x) for x in obj) + b"t"
    if isinstance(obj, set):
        items = b"(" + b"".join(map(_emit, obj)) + b"e" if obj else b""
        return _global("__builtin__", "set") + b"(]" + items + b"tR"  # set([items])
    if isinstance(obj, dict):
        return b"}(" + b"".join(_emit(k) + _emit(v) for k, v in obj.items()) + b"u"
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        dtype = (_global("numpy", "dtype") + _emit((a.dtype.str[1:], 0, 1)) + b"R"
                 + _emit((3, "<" if a.dtype.itemsize > 1 else "|", None, None, None, -1, -1, 0))
                 + b"b")  # fmt: skip
        head = _global("numpy.core.multiarray", "_reconstruct") + b"(" + _global("numpy", "ndarray")
        head += _emit((0,)) + _str(b"b") + b"tR"
        state = b"(" + _emit(1) + _emit(a.shape) + dtype + b"\x89" + _str(a.tobytes()) + b"t"
        return head + state + b"b"
    if isinstance(obj, Py2Object):
        return _global(obj.module, obj.name) + b")\x81" + _emit(obj.state) + b"b"
    raise TypeError(f"cannot emit {type(obj).__name__}")


def py2_pickle(obj: Any) -> bytes:
    """Protocol-2 bytes of `obj` as Python 2 would have written them."""
    return b"\x80\x02" + _emit(obj) + b"."
