"""The examples run as a user would run them, against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from merg_sdk.server import ServerThread

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_say_line_prints_captions_faces_and_audio(server: ServerThread) -> None:
    output = run_example("say_line.py", "Good morning.", "--endpoint", server.endpoint)
    assert "caption: Good morning." in output
    assert "face   frames 0.." in output and "audio   0.000 s" in output
    assert "turn ended: done" in output


def test_interrupt_async_cuts_the_story_short(server: ServerThread) -> None:
    output = run_example("interrupt_async.py", "--endpoint", server.endpoint)
    assert "ended: interrupted" in output
