"""Say a line and render the avatar saying it to an MP4, straight from the client API.

python examples/render_turn.py "Hello there, traveller." --out hello.mp4
python examples/render_turn.py "Hello." --endpoint tcp://127.0.0.1:5555   # a running server

Without --endpoint it starts a server of its own (no LLM: `say` needs only the voice).
The turn comes from `session.say(...).collect()`, whose `TurnResult` the renderer takes
as it is; `merg record` + `merg render` do the same through a .merg file.
"""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from merg_sdk.client import MergClient
from merg_sdk.render import render_turns
from merg_sdk.server import ServerConfig, ServerThread
from merg_sdk.server.config import EmpathyConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("text")
    parser.add_argument("--emotion", default="happy")
    parser.add_argument("--endpoint", help="a running server; default: start one here")
    parser.add_argument("--out", type=Path, default=Path("turn.mp4"))
    parser.add_argument("--size", type=int, default=640)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--head", type=Path, help="a glTF head with ARKit morph targets")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        endpoint = args.endpoint
        if endpoint is None:
            config = ServerConfig(port=0, empathy=EmpathyConfig(enabled=False))
            endpoint = stack.enter_context(ServerThread(config)).endpoint
        with MergClient(endpoint, name="render-turn-example") as client:
            session = client.open_session(rig="arkit52", fps=60, sample_rate=24000)
            result = session.say(args.text, emotion=args.emotion, intensity=0.8).collect()
    print(f"turn {result.turn}: {result.audio_s:.2f} s of audio, {len(result.weights)} frames")
    stats = render_turns([result], args.out, head=args.head, size=args.size, fps=args.fps)
    print(
        f"wrote {args.out}: {stats.frames} frames at {args.size}x{args.size}, "
        f"{stats.wall_s:.1f} s for {stats.video_s:.1f} s of video ({stats.rtf:.2f}x real time)"
    )


if __name__ == "__main__":
    main()
