"""asyncio: stream a long line and cut it off after half a second (barge-in).

merg serve &
python examples/interrupt_async.py
"""

from __future__ import annotations

import argparse
import asyncio

from merg_sdk.client import AsyncMergClient, AudioChunk, TurnEnded

STORY = (
    "Long ago, before the river changed its course, the village kept a lantern burning on "
    "the hill, and every traveller who saw it knew that a warm meal was waiting."
)


async def main(endpoint: str) -> None:
    async with AsyncMergClient(endpoint, name="interrupt-example") as client:
        session = await client.open_session(rig="visemes", fps=30, sample_rate=16000)
        turn = await session.say(STORY, emotion="calm")
        heard = 0
        async for event in turn:
            if isinstance(event, AudioChunk):
                heard += len(event.pcm)
                if heard >= session.sample_rate // 2:
                    await session.interrupt()
            elif isinstance(event, TurnEnded):
                print(f"turn {event.turn} ended: {event.reason} after {heard} samples")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:5555")
    asyncio.run(main(parser.parse_args().endpoint))
