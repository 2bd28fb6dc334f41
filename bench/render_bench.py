"""`merg render` costs on this machine: ms per frame to render and to encode, and the
real-time factor, for a real recorded turn at several sizes.

Records one `say` turn from a server started here (no LLM), then renders it with the
reference head. Prints a table; `--still PATH` also saves one frame (mouth open) as a
PNG for the docs.
Run: `.venv/bin/python bench/render_bench.py [--still docs/images/render_frame.png]`.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from merg_sdk.render import Recording, load_head, record_turn, render_frames, render_turns
from merg_sdk.server import ServerConfig, ServerThread
from merg_sdk.server.config import EmpathyConfig

LINE = (
    "Welcome back, traveller. The road from the mountains is long, and you must be tired. "
    "Sit by the fire, and tell me what you saw."
)
CASES = (  # size, fps, MSAA samples, encode on a second thread
    (640, 30, 0, True),
    (640, 30, 0, False),
    (640, 30, 4, True),
    (480, 30, 0, True),
    (320, 30, 0, True),
    (640, 60, 0, True),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--still", type=Path, help="save a mid-turn frame here (PNG)")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as folder:
        recording = Path(folder) / "bench.merg"
        config = ServerConfig(port=0, empathy=EmpathyConfig(enabled=False))
        with ServerThread(config) as server:
            record_turn(recording, LINE, endpoint=server.endpoint, emotion="happy", fps=60,
                        sample_rate=24000)  # fmt: skip
        turn = Recording.load(recording).turns()[0]
        head = load_head()
        rows: list[tuple[str, ...]] = []
        table = Table(title=f"merg render: {turn.audio_s:.1f} s turn, reference head, "
                      f"{os.cpu_count()} CPU cores")  # fmt: skip
        columns = ("size", "fps", "MSAA", "overlap", "frames", "render ms/frame",
                   "encode ms/frame", "total ms/frame", "RTF", "MB/min")  # fmt: skip
        for column in columns:
            table.add_column(column, justify="right")
        for size, fps, samples, overlap in CASES:
            out = Path(folder) / f"bench-{size}-{fps}-{samples}-{overlap}.mp4"
            stats = render_turns([turn], out, head=head, size=size, fps=fps, samples=samples,
                                 overlap=overlap, progress=True)  # fmt: skip
            mb_per_min = out.stat().st_size / 1e6 / stats.video_s * 60
            row = (str(size), str(fps), f"{samples}x" if samples else "off",
                   "yes" if overlap else "no", str(stats.frames), f"{stats.render_ms:.1f}",
                   f"{stats.encode_ms:.1f}", f"{1000 * stats.wall_s / stats.frames:.1f}",
                   f"{stats.rtf:.2f}", f"{mb_per_min:.1f}")  # fmt: skip
            table.add_row(*row)
            rows.append(row)
        console.print(table)
        for row in rows:  # the same, as Markdown for docs/integrations/render.md
            console.print("| " + " | ".join(row) + " |", markup=False)
        console.print(f"load average (1 min) after measuring: {os.getloadavg()[0]:.1f}")
        if args.still is not None:
            jaw = turn.column("jawOpen")
            frame = int(np.argmax(jaw) * 30 / turn.fps)
            start = time.perf_counter()
            (image,) = render_frames(turn, [frame], head=head, size=640, fps=30)
            Image.fromarray(image).save(args.still)
            console.print(f"saved frame {frame} to {args.still} "
                          f"({time.perf_counter() - start:.2f} s incl. context)")  # fmt: skip


if __name__ == "__main__":
    main()
