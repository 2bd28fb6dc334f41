"""Rendering: a recorded turn becomes an MP4 whose picture follows the face and whose sound
is the turn's voice; heads without the right morph targets are refused or warned about."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pygltflib
import pytest
import typer
from typer.testing import CliRunner

from merg_sdk.motion.rig import load_rig
from merg_sdk.render import (
    HeadError,
    MissingTargetsWarning,
    RecordedTurn,
    load_head,
    record_turn,
    render_turns,
)
from merg_sdk.render.cli import register
from merg_sdk.render.head import reference_head_path
from merg_sdk.render.renderer import head_rotation
from merg_sdk.render.video import resample
from merg_sdk.server import ServerConfig, ServerThread
from merg_sdk.server.config import EmpathyConfig

ARKIT = load_rig("arkit52").names
SIZE = 160


def synthetic_turn(fps: int = 30, seconds: float = 1.0, sample_rate: int = 16000) -> RecordedTurn:
    """Mouth closed for the first half, wide open for the second; a tone for a voice."""
    frames = math.ceil(seconds * fps)
    weights = np.zeros((frames, len(ARKIT)), np.float32)
    weights[frames // 2 :, ARKIT.index("jawOpen")] = 1.0
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    audio = (8000 * np.sin(2 * np.pi * 220 * t)).astype(np.int16)
    return RecordedTurn(
        "sid", 1, "say", "done", sample_rate, fps, ARKIT, audio, weights, None, None
    )


def decode_video(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def box(image: np.ndarray, rows: tuple[float, float], cols: tuple[float, float]) -> np.ndarray:
    h, w = image.shape[:2]
    return image[int(rows[0] * h) : int(rows[1] * h), int(cols[0] * w) : int(cols[1] * w)]


@pytest.fixture(scope="module")
def speaker(tts) -> Iterator[ServerThread]:
    """A server that says lines, without the empathy stage (nothing else to load)."""
    with ServerThread(ServerConfig(port=0, empathy=EmpathyConfig(enabled=False)), tts=tts) as up:
        yield up


def test_a_recorded_turn_renders_to_an_mp4_with_its_voice(speaker, tmp_path: Path) -> None:
    running = speaker
    turn = record_turn(
        tmp_path / "t.merg", "Open wide.", endpoint=running.endpoint, fps=60, sample_rate=24000
    )
    out = tmp_path / "t.mp4"
    stats = render_turns([turn], out, size=SIZE, fps=30, progress=False)
    expected = math.ceil(turn.audio_s * 30)
    assert stats.frames == expected and stats.render_ms > 0 and stats.rtf > 0
    with av.open(str(out)) as container:
        video, audio = container.streams.video, container.streams.audio
        assert len(video) == 1 and len(audio) == 1
        assert video[0].codec_context.name == "h264" and audio[0].codec_context.name == "aac"
        assert (video[0].codec_context.width, video[0].codec_context.height) == (SIZE, SIZE)
        assert audio[0].codec_context.sample_rate == 24000
        assert container.duration / 1e6 == pytest.approx(turn.audio_s, abs=0.1)
    frames = decode_video(out)
    assert len(frames) == expected and frames[0].shape == (SIZE, SIZE, 3)
    assert np.abs(frames[0].astype(int) - frames[len(frames) // 2]).max() > 30  # it moves


def test_the_picture_changes_where_the_jaw_opens(tmp_path: Path) -> None:
    out = tmp_path / "jaw.mp4"
    render_turns([synthetic_turn()], out, size=SIZE, fps=30, progress=False)
    frames = decode_video(out)
    closed, opened = frames[5].astype(int), frames[25].astype(int)
    mouth = np.abs(box(closed, (0.55, 0.8), (0.35, 0.65)) - box(opened, (0.55, 0.8), (0.35, 0.65)))
    brow = np.abs(box(closed, (0.15, 0.35), (0.3, 0.7)) - box(opened, (0.15, 0.35), (0.3, 0.7)))
    assert mouth.mean() > 8 and (mouth.max(axis=2) > 40).mean() > 0.05
    assert brow.mean() < 1.5  # no head motion in this turn: the forehead stays put
    assert np.abs(frames[2].astype(int) - closed).mean() < 1  # still, up to coding noise


def test_face_frames_are_resampled_on_the_turn_timeline() -> None:
    at_60 = np.arange(12, dtype=np.float32).reshape(12, 1)
    np.testing.assert_array_equal(resample(at_60, 60, 30, 6)[:, 0], [0, 2, 4, 6, 8, 10])
    np.testing.assert_allclose(
        resample(at_60[:6], 30, 60, 12)[:, 0], np.minimum(np.arange(12) / 2, 5)
    )


def test_head_angles_follow_the_protocol() -> None:
    """Pitch + nods down, yaw + turns to the avatar's left (+X), roll + tilts to its right."""
    forward, up = np.array([0.0, 0.0, 1.0]), np.array([0.0, 1.0, 0.0])
    assert (head_rotation(0.3, 0, 0) @ forward)[1] < -0.2
    assert (head_rotation(0, 0.3, 0) @ forward)[0] > 0.2
    assert (head_rotation(0, 0, 0.3) @ up)[0] < -0.2


def write_head(path: Path, keep: set[str] | None) -> Path:
    """The reference head with only the targets in `keep` (None: no morph targets)."""
    gltf = pygltflib.GLTF2().load(str(reference_head_path()))
    mesh = gltf.meshes[0]
    names = mesh.extras["targetNames"]
    kept = [i for i, name in enumerate(names) if keep is not None and name in keep]
    primitive = mesh.primitives[0]
    primitive.targets = [primitive.targets[i] for i in kept]
    mesh.extras = {"targetNames": [names[i] for i in kept]} if kept else {}
    mesh.weights = [0.0] * len(kept) if kept else None
    gltf.save_binary(str(path))
    return path


def test_a_head_without_morph_targets_is_refused(tmp_path: Path) -> None:
    bare = write_head(tmp_path / "bare.glb", None)
    with pytest.raises(HeadError, match="no morph targets"):
        load_head(bare)
    other = write_head(tmp_path / "visemes_only.glb", {"jawOpen"})
    with pytest.raises(HeadError, match="none of the recording's"):
        render_turns([_with_names(synthetic_turn(), ("sil", "PP"))], tmp_path / "x.mp4",
                     head=other, size=64, progress=False)  # fmt: skip


def _with_names(turn: RecordedTurn, names: tuple[str, ...]) -> RecordedTurn:
    turn.names, turn.weights = names, turn.weights[:, : len(names)]
    return turn


def test_a_head_missing_some_targets_warns_and_drives_the_rest(tmp_path: Path) -> None:
    partial = write_head(tmp_path / "partial.glb", set(ARKIT) - {"tongueOut", "cheekPuff"})
    with pytest.warns(MissingTargetsWarning, match="2 of 52") as caught:
        stats = render_turns([synthetic_turn(seconds=0.4)], tmp_path / "p.mp4", head=partial,
                             size=64, progress=False)  # fmt: skip
    assert "cheekPuff" in str(caught[0].message) and "tongueOut" in str(caught[0].message)
    assert stats.missing == ("cheekPuff", "tongueOut") and stats.frames == 12


def test_the_reference_head_drives_all_52_without_warnings() -> None:
    head = load_head()
    assert head.target_names == ARKIT
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from merg_sdk.render.head import bind

        columns, missing = bind(head, ARKIT)
    assert missing == [] and list(columns) == list(range(52))


def test_merg_render_from_the_command_line(speaker, tmp_path: Path) -> None:
    running = speaker
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    recording, out = tmp_path / "cli.merg", tmp_path / "cli.mp4"
    said = runner.invoke(app, ["record", str(recording), "--server", running.endpoint,
                               "--say", "Hi.", "--fps", "30"])  # fmt: skip
    assert said.exit_code == 0, said.output
    assert "turn 1 (done)" in " ".join(said.output.split())  # rich wraps long lines
    done = runner.invoke(app, ["render", str(recording), str(out), "--turn", "1", "--size", "64"])
    assert done.exit_code == 0, done.output
    assert "real time" in " ".join(done.output.split()) and out.stat().st_size > 1000
    missing = runner.invoke(app, ["render", str(recording), str(out), "--turn", "7"])
    assert missing.exit_code != 0 and "turns: 1" in " ".join(missing.output.split())
    bare = write_head(tmp_path / "bare.glb", None)
    refused = runner.invoke(app, ["render", str(recording), str(out), "--head", str(bare)])
    assert refused.exit_code == 1 and "no morph targets" in " ".join(refused.output.split())


def test_the_render_turn_example_writes_a_video(speaker, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "render_turn.py"
    out = tmp_path / "example.mp4"
    args = ["Hello.", "--endpoint", speaker.endpoint, "--out", str(out), "--size", "96"]
    done = subprocess.run(
        [sys.executable, str(example), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "real time" in done.stdout
    with av.open(str(out)) as container:
        assert len(container.streams.video) == len(container.streams.audio) == 1
