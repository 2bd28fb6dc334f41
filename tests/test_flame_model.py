"""FLAME model files: real formats load (pickle, Py2 chumpy pickle, npz); bad ones fail cleanly."""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from merg_sdk.motion.flame import FlameModelError, load_flame_model
from merg_sdk.motion.flame.model import parse_flame_bytes
from merg_sdk.motion.flame.synthetic import synthetic_flame_arrays, write_synthetic_flame
from tests.flame_py2_pickle import Py2Object, chumpy_ch, old_scipy_csc, py2_pickle


@pytest.fixture(scope="module")
def small() -> dict[str, Any]:
    """A coarse synthetic model: enough for the loader, quick to write many times."""
    return synthetic_flame_arrays(seed=3, n_lat=8, n_lon=10)


def _pickle(tmp_path: Path, arrays: dict[str, Any], name: str = "m.pkl") -> Path:
    path = tmp_path / name
    path.write_bytes(pickle.dumps(dict(arrays), protocol=2))
    return path


def _same(model, arrays: dict[str, Any]) -> None:
    np.testing.assert_array_equal(model.v_template, arrays["v_template"])
    np.testing.assert_array_equal(model.shapedirs, arrays["shapedirs"])
    np.testing.assert_array_equal(model.j_regressor, arrays["J_regressor"])
    np.testing.assert_array_equal(model.faces, arrays["f"])
    assert model.parents.tolist() == [-1, 0, 1, 1, 1]


def test_flame_pickle_loads(tmp_path: Path, small: dict) -> None:
    model = load_flame_model(_pickle(tmp_path, small))
    _same(model, small)
    assert model.n_shape == small["shapedirs"].shape[2] - 100
    assert model.expression_dirs(50).shape == (len(small["v_template"]), 3, 50)
    assert len(model.sha256) == 64


def test_scipy_sparse_regressor_loads(tmp_path: Path, small: dict) -> None:
    """As pickled by today's scipy (the Python 2 layout is covered without scipy below)."""
    sparse = pytest.importorskip("scipy.sparse")
    for kind in (sparse.csc_matrix, sparse.csr_matrix, sparse.coo_matrix):
        path = _pickle(tmp_path, dict(small, J_regressor=kind(small["J_regressor"])))
        _same(load_flame_model(path), small)


def test_full_synthetic_writer_round_trips(tmp_path: Path) -> None:
    model = load_flame_model(write_synthetic_flame(tmp_path / "generic_model.pkl"))
    _same(model, synthetic_flame_arrays())
    joints = model.rest_joints()
    assert joints[3, 0] > 0 > joints[4, 0]  # joint 3 is the head's left (+X) eye here


def test_npz_loads(tmp_path: Path, small: dict) -> None:
    path = tmp_path / "flame.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in small.items()})
    _same(load_flame_model(path), small)


def test_python2_chumpy_pickle_loads_without_chumpy(tmp_path: Path, small: dict) -> None:
    """FLAME 2020's layout: Py2 str array data, chumpy Ch arrays, old scipy module path."""
    raw = dict(
        small, shapedirs=chumpy_ch(small["shapedirs"]), posedirs=chumpy_ch(small["posedirs"])
    )
    raw["J_regressor"] = old_scipy_csc(small["J_regressor"])
    path = tmp_path / "generic_model.pkl"
    path.write_bytes(py2_pickle(raw))
    assert "chumpy" not in sys.modules
    _same(load_flame_model(path), small)


def test_chumpy_objects_written_by_a_chumpy_class_load(
    tmp_path: Path, small: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pickled by a stand-in `chumpy.ch.Ch` class that exists only while writing."""

    class Ch:
        def __init__(self, x: np.ndarray) -> None:
            self.x = x

        def __getstate__(self) -> dict[str, Any]:
            return {"x": self.x, "_dirty_vars": set(), "_itr": None, "_depends_on_deps": {}}

    Ch.__module__, Ch.__qualname__ = "chumpy.ch", "Ch"
    fake = types.ModuleType("chumpy.ch")
    fake.Ch = Ch  # type: ignore[attr-defined]
    with monkeypatch.context() as patch:
        patch.setitem(sys.modules, "chumpy", types.ModuleType("chumpy"))
        patch.setitem(sys.modules, "chumpy.ch", fake)
        path = _pickle(tmp_path, dict(small, shapedirs=Ch(small["shapedirs"])))
    assert "chumpy.ch" not in sys.modules
    _same(load_flame_model(path), small)


def _nan_template(small: dict) -> np.ndarray:
    v = small["v_template"].copy()
    v[5, 1] = np.nan
    return v


BAD_ARRAYS = {  # case -> (key -> replacement, None to drop it), key the message must name
    "missing v_template": (lambda s: {"v_template": None}, "v_template"),
    "missing J_regressor": (lambda s: {"J_regressor": None}, "J_regressor"),
    "missing kintree_table": (lambda s: {"kintree_table": None}, "kintree_table"),
    "shapedirs wrong vertex count": (lambda s: {"shapedirs": np.zeros((7, 3, 110))}, "shapedirs"),
    "too few components": (lambda s: {"shapedirs": s["shapedirs"][:, :, :60]}, "shapedirs"),
    "posedirs not 36": (lambda s: {"posedirs": s["posedirs"][:, :, :35]}, "posedirs"),
    "weights for 4 joints": (lambda s: {"weights": s["weights"][:, :4]}, "weights"),
    "child before parent": (
        lambda s: {"kintree_table": np.array([[-1, 2, 0, 1, 1], [0, 1, 2, 3, 4]])},
        "kintree_table",
    ),
    "faces out of range": (lambda s: {"f": np.array([[0, 1, 99999]])}, "'f'"),
    "NaN in template": (lambda s: {"v_template": _nan_template(s)}, "v_template"),
    "strings for weights": (lambda s: {"weights": np.array(["a", "b"])}, "weights"),
}


@pytest.mark.parametrize("case", BAD_ARRAYS, ids=list(BAD_ARRAYS))
def test_malformed_arrays_raise_flame_model_error(tmp_path: Path, small: dict, case: str) -> None:
    change, key = BAD_ARRAYS[case]
    arrays = {k: v for k, v in {**small, **change(small)}.items() if v is not None}
    np.savez(tmp_path / "m.npz", **{k: np.asarray(v) for k, v in arrays.items()})
    for path in (_pickle(tmp_path, arrays), tmp_path / "m.npz"):
        with pytest.raises(FlameModelError, match=key):
            load_flame_model(path)


def test_unreadable_files_raise_flame_model_error(tmp_path: Path, small: dict) -> None:
    good = pickle.dumps(dict(small), protocol=2)
    np.savez(tmp_path / "ok.npz", **{k: np.asarray(v) for k, v in small.items()})
    npz = (tmp_path / "ok.npz").read_bytes()
    cases = {
        "truncated.pkl": good[: len(good) // 2],
        "truncated.npz": npz[: len(npz) // 2],
        "text.pkl": b"this is not a FLAME model\n",
        "empty.pkl": b"",
        "list.pkl": pickle.dumps([1, 2, 3]),
        "garbage.pkl": os.urandom(4096),
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(FlameModelError):
            load_flame_model(tmp_path / name)
    with pytest.raises(FlameModelError, match="cannot read"):
        load_flame_model(tmp_path / "absent.pkl")


def test_chumpy_expressions_are_reported_not_evaluated(tmp_path: Path, small: dict) -> None:
    lazy = Py2Object("chumpy.ch_ops", "add", {"a": small["shapedirs"], "b": small["shapedirs"]})
    path = tmp_path / "lazy.pkl"
    path.write_bytes(py2_pickle(dict(small, shapedirs=lazy)))
    with pytest.raises(FlameModelError, match=r"shapedirs.*chumpy\.ch_ops\.add"):
        load_flame_model(path)


def test_pickles_cannot_run_code(tmp_path: Path, small: dict) -> None:
    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, ("touch " + str(tmp_path / "pwned"),))

    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(dict(small, v_template=Evil()), protocol=2))
    with pytest.raises(FlameModelError, match="refusing to load"):
        load_flame_model(path)
    assert not (tmp_path / "pwned").exists()


def test_damaged_bytes_never_escape_as_other_errors(small: dict) -> None:
    """Flipped bytes anywhere in a pickle or an npz: loads, or FlameModelError, nothing else."""
    rng = np.random.default_rng(4)
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in small.items()})
    for good in (pickle.dumps(dict(small), protocol=2), buffer.getvalue()):
        for _ in range(150):
            data = bytearray(good)
            for at in rng.integers(0, len(data), size=rng.integers(1, 4)):
                data[at] = int(rng.integers(0, 256))
            with contextlib.suppress(FlameModelError):
                parse_flame_bytes(bytes(data[: rng.integers(len(data) // 2, len(data) + 1)]))
