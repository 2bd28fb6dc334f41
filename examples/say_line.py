"""Say one line and print what a renderer would receive, as it arrives.

merg serve &                       # in another terminal
python examples/say_line.py "Hello there, traveller." --emotion happy
"""

from __future__ import annotations

import argparse

from merg_sdk.client import AudioChunk, FaceFrames, MergClient, ReplyText, TurnEnded


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("text")
    parser.add_argument("--emotion", default="neutral")
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    args = parser.parse_args()

    with MergClient(args.endpoint, name="say-line-example") as client:
        session = client.open_session(rig="arkit52", fps=60, sample_rate=48000)
        for event in session.say(args.text, emotion=args.emotion, intensity=0.8):
            match event:
                case ReplyText(text=text):
                    print(f"caption: {text}")
                case FaceFrames(f0=f0, weights=weights):
                    jaw = event.column("jawOpen")
                    print(
                        f"face   frames {f0}..{f0 + len(weights) - 1}, jawOpen max {jaw.max():.2f}"
                    )
                case AudioChunk(t0=t0, pcm=pcm):
                    print(f"audio  {t0 / event.sample_rate:6.3f} s, {len(pcm)} samples")
                case TurnEnded(reason=reason, stats=stats):
                    print(f"turn ended: {reason}, first audio after {stats['first_audio_ms']} ms")


if __name__ == "__main__":
    main()
