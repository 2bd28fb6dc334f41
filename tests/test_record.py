"""Recordings: real turns from a real server, written as they arrive and read back as turns."""

from __future__ import annotations

import shutil
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import msgpack
import numpy as np
import pytest

from merg_sdk.client import MergClient
from merg_sdk.render import (
    Recording,
    RecordingError,
    RecordingWriter,
    TruncatedRecordingWarning,
    read_records,
    record_observer,
    record_turn,
)
from merg_sdk.render.recorder import discover_observer, observer_endpoint
from merg_sdk.render.recording import MAGIC, make_header
from merg_sdk.server import ServerConfig, ServerThread
from merg_sdk.server.config import EmpathyConfig


def frames_for(samples: int, sample_rate: int, fps: int) -> int:
    """ceil(audio_s * fps), in integers."""
    return -(-samples * fps // sample_rate)


@pytest.fixture(scope="module")
def speaker(tts) -> Iterator[ServerThread]:
    """A server that says lines (no LLM to load) and republishes sessions for watchers."""
    config = ServerConfig(port=0, observer=True, empathy=EmpathyConfig(enabled=False))
    with ServerThread(config, tts=tts) as running:
        yield running


def test_a_said_turn_is_recorded_and_read_back(speaker, tmp_path: Path) -> None:
    path = tmp_path / "hello.merg"
    turn = record_turn(
        path, "Hello there. Open wide!", endpoint=speaker.endpoint, fps=30, sample_rate=24000
    )
    header, records = read_records(path)
    records = list(records)
    assert header["magic"] == MAGIC and header["format"] == 1 and header["source"] == "client"
    assert header["server"]["name"] and header["session"]["sid"] == turn.sid
    assert len(header["session"]["rig"]["names"]) == 52
    kinds = [r.msg["type"] for r in records]
    assert kinds[0] == "turn.start" and "turn.end" in kinds and kinds[-1] == "session.closed"
    assert all(r.msg["sid"] == turn.sid for r in records)
    assert [r.t for r in records] == sorted(r.t for r in records)

    assert (turn.turn, turn.source, turn.reason) == (1, "say", "done")
    assert turn.text == "Hello there. Open wide!"
    assert turn.audio_messages > 1 and len(turn.audio) == turn.audio_samples
    assert turn.audio_s == pytest.approx(turn.stats["audio_s"], abs=1e-3)
    assert len(turn.weights) == frames_for(len(turn.audio), 24000, 30) == turn.stats["frames"]
    assert turn.head is not None and turn.head.shape == (len(turn.weights), 3)
    assert turn.eyes is not None and turn.eyes.shape == (len(turn.weights), 4)
    assert turn.column("jawOpen").max() > 0.2  # the mouth moved


def test_the_observer_recording_equals_what_the_client_got(speaker, tmp_path: Path) -> None:
    path = tmp_path / "watched.merg"
    with MergClient(speaker.endpoint, timeout_s=30) as client:
        observer = client.welcome.capabilities["observer"]
        assert observer == discover_observer(speaker.endpoint)  # a random port, as port is 0
        session = client.open_session(fps=60, sample_rate=22050)
        ready, done = threading.Event(), {}

        def watch() -> None:
            done["summary"] = record_observer(path, observer, sid=session.sid, turns=2, ready=ready)

        watcher = threading.Thread(target=watch)
        watcher.start()
        assert ready.wait(10), "the observer never described the session"  # subscription live
        said = [session.say(line).collect() for line in ("One line.", "And one more line.")]
        watcher.join(30)
    summary = done["summary"]
    assert (summary.turns, summary.stopped_by, summary.sessions) == (2, "turns", {session.sid})

    recording = Recording.load(path)
    assert recording.header["source"] == "observer" and recording.header["session"] is None
    assert recording.sessions[session.sid]["rig"]["names"] == list(session.names)
    turns = recording.turns()
    assert [t.turn for t in turns] == [r.turn for r in said] == [1, 2]
    for got, sent in zip(turns, said, strict=True):
        assert got.reason == "done" and got.fps == 60 and got.sample_rate == 22050
        np.testing.assert_array_equal(got.audio, sent.audio)
        np.testing.assert_array_equal(got.weights, sent.weights)
        np.testing.assert_array_equal(got.head, sent.head)
        assert len(got.weights) == frames_for(len(got.audio), 22050, 60)


def test_a_truncated_recording_keeps_every_whole_record(speaker, tmp_path: Path) -> None:
    whole = tmp_path / "whole.merg"
    record_turn(whole, "A line cut short.", endpoint=speaker.endpoint, fps=30)
    _, records = read_records(whole)
    complete = list(records)
    size = whole.stat().st_size

    cut = tmp_path / "cut.merg"
    shutil.copyfile(whole, cut)
    with cut.open("r+b") as handle:
        handle.truncate(size - 5)  # the recorder died inside its last record
    with pytest.warns(TruncatedRecordingWarning, match="intact"):
        recording = Recording.load(cut)
    assert [r.msg for r in recording.records] == [r.msg for r in complete[:-1]]
    turn = recording.turns()[0]
    assert turn.reason == "done" and len(turn.audio) > 0  # only session.closed was lost

    midturn = tmp_path / "midturn.merg"
    shutil.copyfile(whole, midturn)
    end = next(i for i, r in enumerate(complete) if r.msg["type"] == "turn.end")
    with midturn.open("r+b") as handle:  # cut in the middle of the turn.end record
        handle.truncate(_offset_of(whole, end + 1) + 7)
    with pytest.warns(TruncatedRecordingWarning):
        turn = Recording.load(midturn).turns()[0]
    assert turn.reason == "incomplete" and len(turn.audio) == turn.audio_samples > 0


def _offset_of(path: Path, index: int) -> int:
    """Byte offset of object `index` (0 = header) in a recording."""
    with path.open("rb") as handle:
        unpacker = msgpack.Unpacker(handle, raw=False)
        for _ in range(index):
            unpacker.unpack()
        return unpacker.tell()


def test_the_observer_port_is_the_server_port_plus_one_by_default() -> None:
    assert observer_endpoint("tcp://127.0.0.1:5555") == "tcp://127.0.0.1:5556"
    assert observer_endpoint("tcp://[::1]:6000") == "tcp://[::1]:6001"
    with pytest.raises(ValueError, match="no port"):
        observer_endpoint("ipc:///tmp/merg")


def test_a_server_without_an_observer_says_so(tts) -> None:
    config = ServerConfig(port=0, empathy=EmpathyConfig(enabled=False))
    with ServerThread(config, tts=tts) as plain, pytest.raises(RuntimeError, match="--observer"):
        discover_observer(plain.endpoint)


def test_garbage_after_the_records_is_skipped_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "garbage.merg"
    with RecordingWriter(path, make_header("client", "tcp://x:1")) as writer:
        writer.write({"v": 1, "type": "turn.start", "sid": "s", "turn": 1, "source": "say"})
    with path.open("ab") as handle:
        handle.write(b"\xc1\xc1\xc1")  # 0xc1 is never valid MessagePack
    with pytest.warns(TruncatedRecordingWarning):
        recording = Recording.load(path)
    assert len(recording.records) == 1


def test_a_file_that_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other.merg"
    other.write_bytes(msgpack.packb({"hello": "world"}))
    with pytest.raises(RecordingError, match="not a MERG recording"):
        read_records(other)
    empty = tmp_path / "empty.merg"
    empty.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty"):
        read_records(empty)
    newer = tmp_path / "newer.merg"
    newer.write_bytes(msgpack.packb({"magic": MAGIC, "format": 99}))
    with pytest.raises(RecordingError, match="format 99"):
        read_records(newer)


def test_a_clean_recording_reads_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "clean.merg"
    with RecordingWriter(path, make_header("client", "tcp://x:1")) as writer:
        writer.write({"v": 1, "type": "turn.end", "sid": "s", "turn": 1, "reason": "done"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recording = Recording.load(path)
    assert recording.turns()[0].reason == "done"
