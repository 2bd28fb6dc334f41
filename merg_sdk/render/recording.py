"""The `.merg` recording: the protocol's own messages, msgpack-framed, append-only.

A recording is a plain MessagePack stream, so any msgpack library reads it:
first a header map, then one record map per server message, each
`{"t": seconds since the header, "msg": <the message map as received>}`.
The message bytes are written as they came off the socket (not re-encoded),
so a recording can be replayed onto a socket byte for byte, and fields this
version does not know survive. Every record is flushed as it is written: a
recorder killed mid-turn leaves at most one half-written record at the end,
which the reader detects, skips with a warning, and never lets cost the
records before it.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import msgpack
import numpy as np

MAGIC = "merg-recording"
FORMAT_VERSION = 1
SUFFIX = ".merg"


class RecordingError(ValueError):
    """The file is not a MERG recording, or one of a newer format than this reader."""


class TruncatedRecordingWarning(UserWarning):
    """The recording ends in a partial record (the recorder stopped mid-write)."""


def make_header(
    source: str,
    endpoint: str,
    *,
    server: dict[str, Any] | None = None,
    capabilities: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    rig: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The first map of a file. `session` is the raw `session.opened` when the recorder saw
    it open; `rig` ({name, names}) is the fallback for sessions whose opening it never saw."""
    now = time.time()
    return {
        "magic": MAGIC,
        "format": FORMAT_VERSION,
        "created": now,
        "created_utc": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "source": source,
        "endpoint": endpoint,
        "server": server,
        "capabilities": capabilities,
        "session": session,
        "rig": rig,
    }


_T_KEY = msgpack.packb("t")
_MSG_KEY = msgpack.packb("msg")


class RecordingWriter:
    """Appends records to a new file; each record reaches the OS before `write` returns."""

    def __init__(self, path: str | Path, header: dict[str, Any], *, fsync: bool = False) -> None:
        """`fsync=True` also survives a power cut, at a cost per message."""
        self.path = Path(path)
        self._file: BinaryIO = self.path.open("wb")
        self._fsync = fsync
        self._start = time.monotonic()
        self.records = 0
        self._append(msgpack.packb(header, use_bin_type=True))

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def write_payload(self, payload: bytes, t: float | None = None) -> None:
        """One message exactly as received (a MessagePack map); `t` defaults to now."""
        t = time.monotonic() - self._start if t is None else t
        self._append(b"\x82" + _T_KEY + msgpack.packb(float(t)) + _MSG_KEY + payload)
        self.records += 1

    def write(self, message: dict[str, Any], t: float | None = None) -> None:
        self.write_payload(msgpack.packb(message, use_bin_type=True), t)

    def _append(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
        if self._fsync:
            import os

            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


@dataclass(frozen=True, slots=True)
class Record:
    t: float
    """Seconds from the start of the recording to the message's arrival."""
    msg: dict[str, Any]


def read_records(path: str | Path) -> tuple[dict[str, Any], Iterator[Record]]:
    """The header, and a lazy iterator of the records. A partial last record (or garbage
    after the last good record) ends the iteration with a `TruncatedRecordingWarning`."""
    path = Path(path)
    handle = path.open("rb")
    unpacker = msgpack.Unpacker(handle, raw=False, strict_map_key=False, max_buffer_size=1 << 30)
    try:
        header = next(unpacker)
    except (StopIteration, ValueError, msgpack.UnpackException) as exc:
        handle.close()
        raise RecordingError(f"{path}: empty or unreadable recording") from exc
    if not isinstance(header, dict) or header.get("magic") != MAGIC:
        handle.close()
        raise RecordingError(f"{path} is not a MERG recording (no {MAGIC!r} header)")
    if not isinstance(header.get("format"), int) or header["format"] > FORMAT_VERSION:
        handle.close()
        raise RecordingError(
            f"{path} is format {header.get('format')}; this reader knows up to {FORMAT_VERSION}"
        )
    return header, _records(path, handle, unpacker)


def _records(path: Path, handle: BinaryIO, unpacker: msgpack.Unpacker) -> Iterator[Record]:
    size = path.stat().st_size
    index = 0
    try:
        while True:
            try:
                item = next(unpacker)
            except StopIteration:
                break
            except (ValueError, msgpack.UnpackException) as exc:
                _warn_truncated(path, index, unpacker.tell(), size, f"corrupt data ({exc})")
                return
            index += 1
            if not (isinstance(item, dict) and isinstance(item.get("msg"), dict)):
                warnings.warn(
                    f"{path}: record {index} is not a message record; skipped",
                    TruncatedRecordingWarning,
                    stacklevel=3,
                )
                continue
            yield Record(float(item.get("t", 0.0)), item["msg"])
        if unpacker.tell() < size:
            _warn_truncated(path, index, unpacker.tell(), size, "a partial last record")
    finally:
        handle.close()


def _warn_truncated(path: Path, index: int, offset: int, size: int, what: str) -> None:
    warnings.warn(
        f"{path}: {what} after record {index}; {size - offset} bytes skipped "
        "(the recorder stopped mid-write); the records before it are intact",
        TruncatedRecordingWarning,
        stacklevel=4,
    )


@dataclass(slots=True)
class RecordedTurn:
    """One turn, gathered on its own timeline; the same field names as the client's
    `TurnResult`, so renderers take either."""

    sid: str
    turn: int
    source: str | None
    reason: str
    """"done", "interrupted", "error", or "incomplete" when the recording has no turn.end."""
    sample_rate: int
    fps: int
    names: tuple[str, ...]
    audio: np.ndarray
    """int16 mono; sample k plays at k / sample_rate s (gaps, if any, are silence)."""
    weights: np.ndarray
    """float32 [frames, len(names)]; row i shows at i / fps s."""
    head: np.ndarray | None
    eyes: np.ndarray | None
    replies: list[dict[str, Any]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    audio_messages: int = 0
    audio_samples: int = 0
    """Sum of the `audio` messages' lengths (equals len(audio) when the stream is contiguous)."""
    started_t: float = 0.0
    ended_t: float | None = None

    @property
    def audio_s(self) -> float:
        return len(self.audio) / self.sample_rate if self.sample_rate else 0.0

    @property
    def text(self) -> str:
        return " ".join(str(r.get("text", "")) for r in self.replies if r.get("text"))

    def column(self, name: str) -> np.ndarray:
        return self.weights[:, self.names.index(name)]


@dataclass(slots=True)
class _TurnParts:
    sid: str
    turn: int
    started_t: float
    source: str | None = None
    end: dict[str, Any] | None = None
    ended_t: float | None = None
    audio: list[dict[str, Any]] = field(default_factory=list)
    faces: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Recording:
    """A whole recording in memory: header, records, sessions and turns."""

    path: Path
    header: dict[str, Any]
    records: list[Record]

    @classmethod
    def load(cls, path: str | Path) -> Recording:
        header, records = read_records(path)
        return cls(Path(path), header, list(records))

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """Each session's `session.opened` map, from the header or the records."""
        found: dict[str, dict[str, Any]] = {}
        opened = self.header.get("session")
        if isinstance(opened, dict) and isinstance(opened.get("sid"), str):
            found[opened["sid"]] = opened
        for record in self.records:
            msg = record.msg
            if msg.get("type") == "session.opened" and isinstance(msg.get("sid"), str):
                found.setdefault(msg["sid"], msg)
        return found

    def turns(self) -> list[RecordedTurn]:
        """Every turn in the order it started, each gathered on its own timeline."""
        parts: dict[tuple[str, int], _TurnParts] = {}
        for record in self.records:
            msg = record.msg
            sid, number = msg.get("sid"), msg.get("turn")
            if not isinstance(sid, str) or not isinstance(number, int):
                continue
            key = (sid, number)
            part = parts.get(key)
            if part is None:
                part = parts[key] = _TurnParts(sid, number, record.t)
            kind = msg.get("type")
            if kind == "turn.start":
                part.source = msg.get("source")
            elif kind == "audio":
                part.audio.append(msg)
            elif kind == "face":
                part.faces.append(msg)
            elif kind == "reply":
                part.replies.append(msg)
            elif kind == "turn.end":
                part.end, part.ended_t = msg, record.t
        sessions = self.sessions
        return [self._gather(part, sessions.get(part.sid)) for part in parts.values()]

    def turn(self, number: int, sid: str | None = None) -> RecordedTurn:
        """One turn by number (and session, when the recording holds several)."""
        matches = [t for t in self.turns() if t.turn == number and sid in (None, t.sid)]
        if not matches:
            have = ", ".join(str(t.turn) for t in self.turns()) or "none"
            raise KeyError(f"{self.path} has no turn {number} (turns: {have})")
        return matches[0]

    def _names(self, opened: dict[str, Any] | None) -> tuple[str, ...]:
        for rig in ((opened or {}).get("rig"), self.header.get("rig")):
            if isinstance(rig, dict) and isinstance(rig.get("names"), list):
                return tuple(str(n) for n in rig["names"])
        return ()

    def _gather(self, part: _TurnParts, opened: dict[str, Any] | None) -> RecordedTurn:
        names = self._names(opened)
        opened = opened or {}
        sample_rate = _first_int(part.audio, "sample_rate") or int(opened.get("sample_rate", 0))
        fps = _first_int(part.faces, "fps") or int(opened.get("fps", 0))
        audio_len = max((m["t0"] + len(m["pcm"]) // 2 for m in part.audio), default=0)
        audio = np.zeros(audio_len, np.int16)
        samples = 0
        for m in part.audio:
            pcm = np.frombuffer(m["pcm"], dtype="<i2", count=len(m["pcm"]) // 2)
            audio[m["t0"] : m["t0"] + len(pcm)] = pcm
            samples += len(pcm)
        frames = max((m["f0"] + m["count"] for m in part.faces), default=0)
        if part.faces and not names:
            raise RecordingError(
                f"{self.path}: session {part.sid} has face frames but no rig names "
                "(no session.opened recorded and no rig in the header)"
            )
        weights = np.zeros((frames, len(names)), np.float32)
        head = np.zeros((frames, 3), np.float32)
        eyes = np.zeros((frames, 4), np.float32)
        has_head = has_eyes = bool(part.faces)
        for m in part.faces:
            f0, count = m["f0"], m["count"]
            weights[f0 : f0 + count] = _rows(m["weights"], count, len(names))
            if (rows := _rows(m.get("head"), count, 3)) is not None:
                head[f0 : f0 + count] = rows
            else:
                has_head = False
            if (rows := _rows(m.get("eyes"), count, 4)) is not None:
                eyes[f0 : f0 + count] = rows
            else:
                has_eyes = False
        end = part.end or {}
        return RecordedTurn(
            sid=part.sid,
            turn=part.turn,
            source=part.source,
            reason=str(end.get("reason", "incomplete")),
            sample_rate=sample_rate,
            fps=fps,
            names=names,
            audio=audio,
            weights=weights,
            head=head if has_head else None,
            eyes=eyes if has_eyes else None,
            replies=part.replies,
            stats=dict(end.get("stats") or {}),
            audio_messages=len(part.audio),
            audio_samples=samples,
            started_t=part.started_t,
            ended_t=part.ended_t,
        )


def _first_int(messages: list[dict[str, Any]], key: str) -> int:
    return next((int(m[key]) for m in messages if isinstance(m.get(key), int)), 0)


def _rows(payload: Any, count: int, width: int) -> np.ndarray | None:
    if not isinstance(payload, bytes) or len(payload) != count * width * 4:
        return None
    return np.frombuffer(payload, dtype="<f4").reshape(count, width)
