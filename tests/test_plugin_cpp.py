"""The C++ client core (plugins/cpp): build it with CMake and run its GoogleTest suites.

The unit suite needs no server. The server suite starts the real `merg serve` itself (once,
with this Python), so it covers handshake, say and user.text turns, interrupts, the jitter
buffer and sampler, errors and reconnecting after the server restarts. The build goes to
plugins/cpp/build/pytest-* (git-ignored), so a second run only recompiles what changed.

Skipped only when the toolchain is missing: CMake, or the libzmq / msgpack-c headers
(Debian: cmake g++ libzmq3-dev libmsgpack-dev libgtest-dev).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLUGIN = REPO / "plugins" / "cpp"
VECTORS = PLUGIN / "tests" / "vectors"
INCLUDE_DIRS = (Path("/usr/include"), Path("/usr/local/include"))


def _missing_toolchain() -> str | None:
    if shutil.which("cmake") is None:
        return "cmake is not installed (apt install cmake)"
    for header, package in (("zmq.h", "libzmq3-dev"), ("msgpack.h", "libmsgpack-dev")):
        if not any((folder / header).is_file() for folder in INCLUDE_DIRS):
            return f"{header} not found (apt install {package})"
    return None


def _run(command: list[str], timeout_s: float, **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        **kwargs,
    )


def _explain(result: subprocess.CompletedProcess[str], lines: int = 120) -> str:
    output = (result.stdout + "\n" + result.stderr).strip().splitlines()
    return "\n".join(output[-lines:])


@pytest.fixture(scope="module")
def build_dir() -> Path:
    reason = _missing_toolchain()
    if reason is not None:
        pytest.skip(f"C++ plugin core not built: {reason}")
    ninja = shutil.which("ninja") is not None
    build = PLUGIN / "build" / ("pytest-ninja" if ninja else "pytest-make")
    configure = [
        "cmake",
        "-S",
        str(PLUGIN),
        "-B",
        str(build),
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DMERG_PYTHON={sys.executable}",
        *(["-G", "Ninja"] if ninja else []),
    ]
    result = _run(configure, 120)
    assert result.returncode == 0, f"cmake configure failed:\n{_explain(result)}"
    jobs = str(os.cpu_count() or 2)
    result = _run(["cmake", "--build", str(build), "--parallel", jobs], 600)
    assert result.returncode == 0, f"cmake build failed:\n{_explain(result)}"
    return build


@pytest.mark.timeout(900)
def test_unit_suite(build_dir: Path) -> None:
    """Codec (shared vectors), jitter buffer, sampler, rig aliases: no server."""
    result = _run([str(build_dir / "merg_unit_tests"), "--gtest_brief=1"], 120)
    assert result.returncode == 0, f"merg_unit_tests failed:\n{_explain(result)}"
    assert "PASSED" in result.stdout


@pytest.mark.timeout(900)
def test_server_suite(build_dir: Path) -> None:
    """The client against a real `merg serve` started by the test binary (empathy on)."""
    env = {**os.environ, "MERG_PYTHON": sys.executable, "HF_HUB_OFFLINE": "1"}
    result = _run([str(build_dir / "merg_server_tests"), "--gtest_brief=1"], 600, env=env)
    assert result.returncode == 0, f"merg_server_tests failed:\n{_explain(result, 200)}"
    assert "PASSED" in result.stdout


def test_shared_vectors_are_up_to_date() -> None:
    """vectors.msgpack is what the Python codec writes today (else rerun make_vectors.py)."""
    sys.path.insert(0, str(VECTORS))
    try:
        import make_vectors
    finally:
        sys.path.remove(str(VECTORS))
    committed = (VECTORS / "vectors.msgpack").read_bytes()
    assert make_vectors.build() == committed, (
        "plugins/cpp/tests/vectors/vectors.msgpack is stale: run "
        ".venv/bin/python plugins/cpp/tests/vectors/make_vectors.py"
    )
