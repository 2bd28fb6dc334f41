"""The `flame` rig end to end, with a synthetic model written in FLAME's own file format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from merg_sdk.client import AudioChunk, FlameParams, MergClient
from merg_sdk.motion.flame.model import FlameModelError
from merg_sdk.motion.flame.synthetic import write_synthetic_flame


@pytest.fixture(scope="module")
def flame_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("flame") / "generic_model.pkl"
    write_synthetic_flame(path, seed=3)
    return path


def test_a_flame_session_streams_parameters_on_the_timeline(
    make_server, flame_file, tmp_path
) -> None:
    running = make_server(flame_model=flame_file, flame_expression=20, flame_cache_dir=tmp_path)
    with MergClient(running.endpoint) as client:
        assert "flame" in client.welcome.capabilities["rigs"]
        session = client.open_session(rig="flame", fps=30, sample_rate=16000)
        assert len(session.names) == 20 and session.names[0] == "expression0"
        events = list(session.say("Open your mouth and say papa."))
    flames = [e for e in events if isinstance(e, FlameParams)]
    samples = sum(len(e.pcm) for e in events if isinstance(e, AudioChunk))
    frame = 0
    for block in flames:
        assert block.f0 == frame and block.expression.shape[1] == 20
        assert block.jaw.shape == (len(block.expression), 3) and block.neck is not None
        frame += len(block.expression)
    assert frame == -(-samples * 30 // 16000)
    jaw_pitch = np.concatenate([b.jaw for b in flames])[:, 0]
    assert np.abs(jaw_pitch).max() > 0.05  # the jaw opens while speaking
    assert np.isfinite(np.concatenate([b.expression for b in flames])).all()


def test_without_a_model_flame_is_unsupported(client: MergClient) -> None:
    from merg_sdk.client import MergError

    assert "flame" not in client.welcome.capabilities["rigs"]
    with pytest.raises(MergError) as caught:
        client.open_session(rig="flame")
    assert caught.value.code == "unsupported"


def test_a_malformed_model_fails_the_start_clearly(tmp_path, tts) -> None:
    from merg_sdk.server import ServerConfig, ServerThread
    from merg_sdk.server.config import EmpathyConfig

    broken = tmp_path / "generic_model.pkl"
    broken.write_bytes(b"not a pickle at all")
    config = ServerConfig(port=0, flame_model=broken, empathy=EmpathyConfig(enabled=False))
    with pytest.raises(FlameModelError):
        ServerThread(config, tts=tts).start()
