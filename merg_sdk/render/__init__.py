"""Record sessions to `.merg` files and render their faces to MP4, offscreen on the CPU.

`record_turn` / `record_observer` write recordings (`recording.py` describes the
format), `Recording` reads them back as turns, and `render_turns` draws a glTF
head with ARKit morph targets (the reference head by default) and muxes the voice.
Rendering needs the `render` extra: moderngl (with Mesa's EGL), PyAV and pygltflib.
"""

from merg_sdk.render.head import HeadError, MissingTargetsWarning, MorphHead, load_head
from merg_sdk.render.recorder import (
    RecordSummary,
    arecord_turn,
    observer_endpoint,
    record_observer,
    record_turn,
)
from merg_sdk.render.recording import (
    Record,
    RecordedTurn,
    Recording,
    RecordingError,
    RecordingWriter,
    TruncatedRecordingWarning,
    read_records,
)
from merg_sdk.render.video import RenderStats, render_frames, render_turns

__all__ = [
    "HeadError",
    "MissingTargetsWarning",
    "MorphHead",
    "Record",
    "RecordSummary",
    "RecordedTurn",
    "Recording",
    "RecordingError",
    "RecordingWriter",
    "RenderStats",
    "TruncatedRecordingWarning",
    "arecord_turn",
    "load_head",
    "observer_endpoint",
    "read_records",
    "record_observer",
    "record_turn",
    "render_frames",
    "render_turns",
]
