"""The `merg` command as a user runs it: keys, a refused bind, and the demo end to end."""

from __future__ import annotations

import csv
import subprocess
import sys
import wave
from pathlib import Path

import yaml
from typer.testing import CliRunner

from merg_sdk.cli import app
from merg_sdk.data import blendshapes_file

runner = CliRunner()


def test_keys_writes_a_curve_key_pair(tmp_path: Path) -> None:
    result = runner.invoke(app, ["keys", str(tmp_path), "--name", "studio"])
    assert result.exit_code == 0, result.output
    public = (tmp_path / "studio.key").read_text()
    secret = (tmp_path / "studio.key_secret").read_text()
    assert "public-key" in public and "secret-key" in secret and "secret-key" not in public


def test_serve_refuses_a_public_bind_without_keys() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "merg_sdk.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to bind" in result.stdout + result.stderr


def test_demo_writes_wav_and_csv_per_line(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "merg_sdk.cli", "demo", "--out", str(out), "--fps", "30"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    wavs = sorted(out.glob("*.wav"))
    csvs = sorted(out.glob("*.csv"))
    assert len(wavs) == len(csvs) >= 3
    names = yaml.safe_load(blendshapes_file("rigs/arkit52.yaml").read_text())["names"]
    for wav_path, csv_path in zip(wavs, csvs, strict=True):
        with wave.open(str(wav_path)) as wav:
            assert wav.getframerate() == 22050 and wav.getnchannels() == 1
            seconds = wav.getnframes() / wav.getframerate()
        with csv_path.open() as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["time_s", *names]
        assert len(rows) - 1 == -(-wav.getnframes() * 30 // 22050)
        assert float(rows[-1][0]) < seconds
        assert seconds > 1.0


def test_serve_flags_reach_the_server() -> None:
    from merg_sdk.client import MergClient
    from merg_sdk.server.runner import ServerProcess

    with ServerProcess("--no-empathy") as server, MergClient(server.endpoint, timeout_s=60) as c:
        features = c.welcome.capabilities["features"]
        assert "say" in features and "user.text" not in features
