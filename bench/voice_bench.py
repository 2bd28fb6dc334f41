"""Voice in, measured end to end: end of the user's speech -> first reply audio, and barge-in.

A real server (VAD, Whisper tiny.en, the embedded LLM, Piper) on loopback; the
user is played by the committed test clips (voices MERG does not speak with),
streamed in 20 ms chunks at real-time pace, as a microphone would deliver them.
"End of speech" is the clip's last sample above -40 dB of its peak, so the
trailing-silence wait of end-of-turn detection is inside the figure, as a user
would feel it.

    python bench/voice_bench.py            # 8 clips, both measures (~2 min on 2 cores)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from merg_sdk.client import (
    AsyncMergClient,
    AudioChunk,
    ReplyText,
    SpeechHeard,
    TranscriptHeard,
    TurnEnded,
    VoiceTurn,
)
from merg_sdk.perception.hearing.evaluation import read_wav
from merg_sdk.server import ServerConfig, ServerThread

CLIPS = Path(__file__).resolve().parent.parent / "tests" / "data" / "hearing"
RATE = 16_000
CHUNK_S = 0.02
LEAD_S = 0.3
TAIL_S = 2.0


def speech_end_s(pcm: np.ndarray) -> float:
    frame = int(RATE * 0.02)
    level = np.array(
        [
            np.sqrt(np.mean(pcm[i : i + frame].astype(np.float64) ** 2))
            for i in range(0, len(pcm), frame)
        ]
    )
    loud = np.flatnonzero(level > level.max() * 10 ** (-40 / 20))
    return (loud[-1] + 1) * frame / RATE if len(loud) else 0.0


async def stream(session, pcm: np.ndarray, delay_s: float = 0.0) -> float:
    """Send in real time (after `delay_s`); returns the wall time the stream started."""
    await asyncio.sleep(delay_s)
    samples = np.concatenate(
        [np.zeros(int(LEAD_S * RATE), "<i2"), pcm, np.zeros(int(TAIL_S * RATE), "<i2")]
    )
    started = time.perf_counter()
    await session.send_audio(samples, RATE, chunk_ms=int(CHUNK_S * 1000), realtime=True)
    return started


async def one_voice_turn(session, pcm: np.ndarray) -> dict[str, float]:
    end_s = speech_end_s(pcm)
    sender = asyncio.create_task(stream(session, pcm))
    marks: dict[str, float] = {}
    turn = None
    while turn is None:
        event = await session.next_heard(60)
        now = time.perf_counter()
        if isinstance(event, SpeechHeard) and event.state == "ended":
            marks.setdefault("ended", now)
        elif isinstance(event, VoiceTurn):
            turn = event.turn
    async for event in turn:
        now = time.perf_counter()
        if isinstance(event, TranscriptHeard):
            marks.setdefault("transcript", now)
        elif isinstance(event, AudioChunk):
            marks.setdefault("first_audio", now)
            if "words" in marks:
                marks.setdefault("first_words", now)
        elif isinstance(event, ReplyText) and event.text and event.source != "opener":
            marks.setdefault("words", now)
        elif isinstance(event, TurnEnded):
            break
    started = await sender
    spoke_until = started + LEAD_S + end_s
    while not session.heard.empty():  # anything late from this utterance
        session.heard.get_nowait()
    return {k: (v - spoke_until) * 1000 for k, v in marks.items() if k != "words"}


async def one_barge_in(session, pcm: np.ndarray) -> dict[str, float]:
    """The user speaks 0.5 s into a long line. The client is told to stop either by
    `turn.end interrupted` (the turn was still being sent) or by `user.speech started`
    naming the turn (it was sent in full and still playing): whichever comes first."""
    turn = await session.say("Let me tell you a long story about the sea. " * 6)
    sender = waiter = None
    async for event in turn:
        if isinstance(event, AudioChunk) and sender is None:
            sender = asyncio.create_task(stream(session, pcm, delay_s=0.5))
            waiter = asyncio.create_task(_speech_started(session))
        if isinstance(event, TurnEnded):
            ended_at, reason = time.perf_counter(), event.reason
            break
    heard_at, cut = await waiter
    started = await sender
    while not session.heard.empty():
        session.heard.get_nowait()
    if cut != turn.number:
        return {"not_cut": 1.0}
    stop_at = min(ended_at, heard_at) if reason == "interrupted" else heard_at
    return {
        "onset_to_stop": max(0.0, stop_at - heard_at) * 1000,
        "speech_to_stop": (stop_at - started - LEAD_S) * 1000,
        "sent_in_full": float(reason != "interrupted"),
    }


async def _speech_started(session) -> tuple[float, int | None]:
    while True:
        event = await session.next_heard(60)
        if isinstance(event, SpeechHeard) and event.state == "started":
            return time.perf_counter(), event.interrupts


def _clip(path: Path) -> np.ndarray:
    return (np.clip(read_wav(path), -1, 1) * 32767).astype("<i2")


def _row(table: Table, name: str, values: list[float], goal: str = "") -> None:
    if not values:
        table.add_row(name, "0", "-", "-", goal)
        return
    p95 = float(np.percentile(values, 95))
    table.add_row(name, str(len(values)), f"{statistics.median(values):.0f}", f"{p95:.0f}", goal)


async def main(limit: int) -> None:
    clips = sorted(CLIPS.glob("*.wav"))[:limit]
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    console = Console()
    with console.status("starting a server (VAD, Whisper, LLM, voice)"):
        server = ServerThread(ServerConfig(port=0))
        server.start()
    load = os.getloadavg()
    turns: dict[str, list[float]] = {}
    barge: dict[str, list[float]] = {}
    try:
        async with AsyncMergClient(server.endpoint, timeout_s=120) as client:
            session = await client.open_session()
            warm = _clip(clips[0])
            await one_voice_turn(session, warm)  # warm-up, not counted
            for path in clips:
                pcm = _clip(path)
                console.log(f"voice turn: {path.name}")
                for key, value in (await one_voice_turn(session, pcm)).items():
                    turns.setdefault(key, []).append(value)
            for path in clips[: max(3, limit // 2)]:
                pcm = _clip(path)
                console.log(f"barge-in: {path.name}")
                for key, value in (await one_barge_in(session, pcm)).items():
                    barge.setdefault(key, []).append(value)
    finally:
        server.stop()
    table = Table(title=f"user.audio on {os.cpu_count()} CPUs (load {load[0]:.2f} at start), ms")
    for column in ("measure", "n", "median", "p95", "goal"):
        table.add_column(column)
    _row(table, "end of speech -> user.speech ended", turns.get("ended", []))
    _row(table, "end of speech -> final transcript", turns.get("transcript", []))
    _row(table, "end of speech -> first reply audio", turns.get("first_audio", []), "<= 900")
    _row(table, "end of speech -> first audio of the LLM's words", turns.get("first_words", []))
    _row(
        table,
        "onset detected -> client told to stop the turn",
        barge.get("onset_to_stop", []),
        "<= 100",
    )
    _row(table, "speech begins -> client told to stop", barge.get("speech_to_stop", []))
    console.print(table)
    cut = barge.get("sent_in_full", [])
    missed = len(barge.get("not_cut", []))
    console.print(
        f"barge-ins: {len(cut)} cut the turn ({int(sum(cut))} of them after it was sent in"
        f" full, while it still played); {missed} did not cut it"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=8, help="clips to use")
    asyncio.run(main(parser.parse_args().limit))
