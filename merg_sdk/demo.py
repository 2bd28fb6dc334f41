"""The main job on embedded defaults: a real server process, a client, files you can inspect.

Starts `merg serve` as its own process on a free loopback port (as a game
would run it), has the avatar say a few lines through the Python SDK, and
writes per line a WAV (the voice) and a CSV (a time column plus one column
per blendshape, one row per face frame on the audio's timeline).
"""

from __future__ import annotations

import csv
import wave
from pathlib import Path

from rich.console import Console
from rich.table import Table

from merg_sdk.client import MergClient, TurnResult
from merg_sdk.server.runner import ServerProcess

DEMO_LINES = (
    ("Welcome to the village, traveller. Sit by the fire and tell me what troubles you.", "caring"),
    ("You found my grandmother's amulet? Oh, that is wonderful news!", "happy"),
    ("I am sorry. The old oak by the river could not be saved.", "sad"),
    ("Stop right there! Nobody crosses this bridge at night.", "angry"),
)


def write_wav(path: Path, result: TurnResult) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(result.sample_rate)
        wav.writeframes(result.audio.astype("<i2").tobytes())


def write_curves(path: Path, result: TurnResult) -> None:
    """One row per frame: its time on the turn timeline, then every rig value."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["time_s", *result.names])
        for index, row in enumerate(result.weights):
            writer.writerow([f"{index / result.fps:.6f}", *(f"{v:.5f}" for v in row)])


def run_demo(out: Path, *, sample_rate: int, fps: int, console: Console) -> list[TurnResult]:
    out.mkdir(parents=True, exist_ok=True)
    results: list[TurnResult] = []
    table = Table(title=f"MERG demo: files in {out.resolve()}")
    for column in ("line", "emotion", "audio s", "frames", "first audio ms", "wav", "csv"):
        table.add_column(column)
    server = ServerProcess()
    console.print(f"starting the server on {server.endpoint}")
    with server, MergClient(server.endpoint, name="merg-demo", timeout_s=120) as client:
        session = client.open_session(rig="arkit52", fps=fps, sample_rate=sample_rate)
        for index, (text, emotion) in enumerate(DEMO_LINES, start=1):
            with console.status(f"line {index}: {text}"):
                result = session.say(text, emotion=emotion, intensity=0.7).collect()
            stem = f"line{index:02d}_{emotion}"
            write_wav(out / f"{stem}.wav", result)
            write_curves(out / f"{stem}.csv", result)
            results.append(result)
            table.add_row(
                str(index),
                emotion,
                f"{result.audio_s:.2f}",
                str(len(result.weights)),
                f"{result.stats.get('first_audio_ms')}",
                f"{stem}.wav",
                f"{stem}.csv",
            )
        session.close()
    console.print(table)
    return results
