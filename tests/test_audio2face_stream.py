"""AudioFaceStream: chunking never changes the face, frame counts, odd input, bad input."""

from __future__ import annotations

import math
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from merg_sdk.motion import load_rig
from merg_sdk.motion.audio2face import AudioFaceModel, AudioFaceStream, default_model

RATES = [16000, 22050, 24000, 44100, 48000]
FPS = [30, 60, 120]


def babble(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """Speech-like test audio: voiced buzz with syllable-rate loudness and formant sweeps."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(pitch) / rate))
    formant = np.sin(2 * np.pi * (500 + 400 * np.sin(2 * np.pi * 3 * t)) * t)
    envelope = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, 1) ** 2
    audio = (0.4 * buzz * formant + 0.02 * rng.standard_normal(len(t))) * envelope
    return np.clip(audio * 20000, -32768, 32767).astype(np.int16)


def run(stream: AudioFaceStream, pcm: np.ndarray, sizes: list[int] | None = None) -> np.ndarray:
    """Feed `pcm` in chunks of `sizes` (cycled), or whole when None; then finish."""
    out, i, k = [], 0, 0
    while i < len(pcm):
        n = len(pcm) if sizes is None else sizes[k % len(sizes)]
        out.append(stream.push(pcm[i : i + n]))
        i, k = i + n, k + 1
    out.append(stream.finish())
    return np.concatenate(out)


@pytest.mark.parametrize("rate", RATES)
def test_streaming_equals_whole_clip(rate: int) -> None:
    pcm = babble(2.3, rate, seed=rate)
    whole = run(AudioFaceStream(60, rate), pcm)
    sizes = [int(n) for n in np.random.default_rng(rate).integers(0, rate // 10, size=97)]
    chunked = run(AudioFaceStream(60, rate), pcm, sizes)
    one_by_one = run(AudioFaceStream(60, rate), pcm[: rate // 5], [1])
    assert chunked.shape == whole.shape
    np.testing.assert_allclose(chunked, whole, atol=1e-5, rtol=0)
    np.testing.assert_allclose(one_by_one, run(AudioFaceStream(60, rate), pcm[: rate // 5]),
                               atol=1e-5, rtol=0)  # fmt: skip


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("fps", FPS)
def test_frame_count_is_ceil_of_duration(rate: int, fps: int) -> None:
    rng = np.random.default_rng(rate + fps)
    for n in [
        0,
        1,
        2,
        rate // fps - 1,
        rate // fps,
        rate // fps + 1,
        *rng.integers(3, 3 * rate, 4),
    ]:
        pcm = babble(n / rate + 1e-9, rate)[:n]
        assert len(pcm) == n
        expected = math.ceil(n * fps / rate)
        assert len(run(AudioFaceStream(fps, rate), pcm)) == expected
        sizes = [int(s) for s in rng.integers(1, rate // 20, size=13)]
        assert len(run(AudioFaceStream(fps, rate), pcm, sizes)) == expected


def test_frames_leave_within_the_look_ahead() -> None:
    """While audio arrives, a frame at time t is out once audio reaches t + lookahead_ms."""
    for fps in FPS:
        stream = AudioFaceStream(fps, 16000)
        assert stream.lookahead_ms <= 80.0
        produced = 0
        for step in range(1, 100):
            produced += len(stream.push(babble(0.01, 16000, seed=step)))
            heard_s = step * 0.01
            due = math.floor((heard_s - stream.lookahead_ms / 1000) * fps + 1e-9) + 1
            assert produced >= max(0, due)


def test_outputs_are_arkit_mouth_names_in_range() -> None:
    stream = AudioFaceStream(60, 22050)
    assert "jawOpen" in stream.names and "mouthClose" in stream.names
    assert set(stream.names) <= set(load_rig("arkit52").names)
    frames = run(stream, babble(1.0, 22050))
    assert frames.dtype == np.float32 and frames.shape == (60, len(stream.names))
    assert np.isfinite(frames).all() and frames.min() >= 0 and frames.max() <= 1


@pytest.mark.parametrize("rate", [16000, 48000])
def test_silence_keeps_the_mouth_closed(rate: int) -> None:
    frames = run(AudioFaceStream(60, rate), np.zeros(3 * rate, np.int16), [rate // 50])
    jaw = frames[:, list(AudioFaceStream(60, rate).names).index("jawOpen")]
    assert len(frames) == 180 and jaw.max() < 0.05
    assert frames.max() < 0.15


@pytest.mark.parametrize(
    "kind", ["empty", "clipped", "full_scale_square", "white_noise", "quiet_noise", "dc", "click"]
)
def test_odd_audio_gives_finite_weights(kind: str) -> None:
    rate, rng = 22050, np.random.default_rng(1)
    pcm = {
        "empty": np.zeros(0, np.int16),
        "clipped": np.clip(babble(2.0, rate).astype(np.int32) * 8, -32768, 32767).astype(np.int16),
        "full_scale_square": np.where(np.arange(2 * rate) % 100 < 50, 32767, -32768).astype(
            np.int16
        ),
        "white_noise": rng.integers(-32768, 32767, 2 * rate).astype(np.int16),
        "quiet_noise": rng.integers(-3, 4, 2 * rate).astype(np.int16),
        "dc": np.full(2 * rate, 20000, np.int16),
        "click": np.eye(1, 2 * rate, rate, dtype=np.int16)[0] * 32767,
    }[kind]
    frames = run(AudioFaceStream(60, rate), pcm, [441])
    assert len(frames) == math.ceil(len(pcm) * 60 / rate)
    assert np.isfinite(frames).all() and (frames >= 0).all() and (frames <= 1).all()


def test_ten_minutes_streamed_in_bounded_memory() -> None:
    rate, chunk = 16000, 1600
    stream = AudioFaceStream(60, rate)
    block = babble(10.0, rate)
    total, peaks = 0, []
    tracemalloc.start()
    try:
        for i in range(600 * rate // chunk):
            start = (i * chunk) % len(block)
            frames = stream.push(block[start : start + chunk])
            total += len(frames)
            assert np.isfinite(frames).all()
            if i % 600 == 599:
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.reset_peak()
    finally:
        tracemalloc.stop()
    total += len(stream.finish())
    assert total == 600 * 60
    assert max(peaks) < 4_000_000  # the state stays tiny: nothing grows with the clip
    assert peaks[-1] < 2 * peaks[0] + 500_000


@pytest.mark.parametrize(
    "pcm",
    [np.zeros(100, np.float32), np.zeros(100, np.int32), np.zeros((100, 2), np.int16),
     np.zeros((2, 3, 4), np.int16), [0, 1, 2], b"\x00\x01\x02"],
    ids=["float32", "int32", "stereo", "3d", "list", "odd_bytes"],
)  # fmt: skip
def test_bad_pcm_is_a_clear_value_error(pcm: object) -> None:
    with pytest.raises(ValueError, match=r"int16|PCM|mono"):
        AudioFaceStream(60, 16000).push(pcm)


def test_bytes_and_column_arrays_are_accepted() -> None:
    pcm = babble(0.5, 16000)
    a = run(AudioFaceStream(60, 16000), pcm)
    b = AudioFaceStream(60, 16000)
    assert np.array_equal(np.concatenate([b.push(pcm.tobytes()), b.finish()]), a)
    assert np.array_equal(run(AudioFaceStream(60, 16000), pcm[:, None]), a)


@pytest.mark.parametrize(
    "fps, rate", [(0, 16000), (-30, 16000), (29.97, 16000), ("60", 16000), (60, 0),
                  (60, 7999), (60, 16000.5), (60, 10**6), (True, 16000)]
)  # fmt: skip
def test_bad_settings_are_clear_value_errors(fps: object, rate: object) -> None:
    with pytest.raises(ValueError, match=r"fps|sample_rate"):
        AudioFaceStream(fps, rate)  # type: ignore[arg-type]


def test_finish_ends_the_turn_and_reset_starts_a_new_one() -> None:
    stream = AudioFaceStream(30, 24000)
    first = run(stream, babble(1.0, 24000))
    with pytest.raises(RuntimeError, match="reset"):
        stream.push(np.zeros(10, np.int16))
    with pytest.raises(RuntimeError, match="reset"):
        stream.finish()
    stream.reset()
    assert stream.frames_out == 0
    np.testing.assert_array_equal(run(stream, babble(1.0, 24000)), first)


def test_streams_share_one_model_but_not_state() -> None:
    a, b = AudioFaceStream(60, 16000), AudioFaceStream(60, 16000)
    assert a.model is b.model is default_model()
    loud, quiet = babble(1.0, 16000), np.zeros(16000, np.int16)
    first = a.push(loud[:8000])
    b.push(quiet[:8000])
    out_a = np.concatenate([first, a.push(loud[8000:]), a.finish()])
    np.testing.assert_allclose(out_a, run(AudioFaceStream(60, 16000), loud), atol=1e-5)


def test_missing_model_file_is_reported(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        AudioFaceModel(tmp_path / "absent.onnx")


def test_inference_does_not_import_torch() -> None:
    code = (
        "import sys, numpy as np\n"
        "from merg_sdk.motion.audio2face import AudioFaceStream\n"
        "s = AudioFaceStream(60, 16000); s.push(np.zeros(1600, np.int16)); s.finish()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
