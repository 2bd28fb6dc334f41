"""`merg bench`: the figures the README quotes, measured on this machine.

1. say -> first audio / first face message at the client (server in its own process).
2. Real-time factors of synthesis and of motion alone.
3. N sessions saying lines at once: does each receive its audio faster than it plays?
"""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import time
from dataclasses import dataclass

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from merg_sdk.client import AsyncMergClient, AudioChunk, FaceFrames, TurnEnded
from merg_sdk.motion import FaceAnimator, load_rig
from merg_sdk.server.runner import ServerProcess
from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody
from merg_sdk.speech.resample import Resampler
from merg_sdk.speech.types import PhonemeSpan

LINES = (
    "Welcome back, traveller. The fire is warm tonight.",
    "I heard the news about your brother, and I am so sorry.",
    "Take the north road, it is safer after the rain.",
    "That is wonderful! I knew you could do it.",
    "Tell me more about what happened at the market.",
)


@dataclass(slots=True)
class TurnTiming:
    first_audio_ms: float
    first_face_ms: float
    audio_s: float
    wall_s: float
    worst_slack_ms: float
    """Least margin by which a later audio chunk arrived before it was due, playing from
    the first chunk's arrival with no extra buffer (negative: the listener hears a gap)."""


async def timed_say(session, text: str) -> TurnTiming:
    sent = time.perf_counter()
    turn = await session.say(text)
    first_audio = first_face = None
    playback_start = None
    worst_slack = float("inf")
    samples = 0
    async for event in turn:
        now = time.perf_counter()
        if isinstance(event, FaceFrames) and first_face is None:
            first_face = now
        elif isinstance(event, AudioChunk):
            if first_audio is None:
                first_audio = playback_start = now
            else:
                due = playback_start + event.t0 / event.sample_rate
                worst_slack = min(worst_slack, (due - now) * 1000)
            samples += len(event.pcm)
        elif isinstance(event, TurnEnded):
            break
    done = time.perf_counter()
    return TurnTiming(
        first_audio_ms=(first_audio - sent) * 1000,
        first_face_ms=(first_face - sent) * 1000,
        audio_s=samples / session.sample_rate,
        wall_s=done - sent,
        worst_slack_ms=worst_slack,
    )


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


async def measure_latency(endpoint: str, runs: int) -> list[TurnTiming]:
    async with AsyncMergClient(endpoint, name="bench", timeout_s=120) as client:
        session = await client.open_session(rig="arkit52", fps=60, sample_rate=22050)
        await timed_say(session, "Warming up.")
        timings = []
        for index in track(range(runs), description="say latency"):
            timings.append(await timed_say(session, LINES[index % len(LINES)]))
        return timings


async def measure_concurrency(endpoint: str, sessions: int) -> list[TurnTiming]:
    clients = [AsyncMergClient(endpoint, name=f"bench-{i}", timeout_s=300) for i in range(sessions)]
    await asyncio.gather(*(c.connect() for c in clients))
    opened = await asyncio.gather(
        *(c.open_session(rig="arkit52", fps=60, sample_rate=22050) for c in clients)
    )
    try:
        return await asyncio.gather(
            *(timed_say(s, LINES[i % len(LINES)]) for i, s in enumerate(opened))
        )
    finally:
        await asyncio.gather(*(c.close() for c in clients))


def measure_real_time_factors() -> dict[str, float]:
    """Seconds of work per second of audio (synthesis), and x real time (motion)."""
    tts = PiperTTS()
    tts.warm_up()
    resampler = Resampler(22050)
    synth_s = audio_s = 0.0
    spans: list[PhonemeSpan] = []
    for text in LINES * 2:
        start = time.perf_counter()
        clause = tts.synthesize(text, tts.default_voice, Prosody())
        resampler.to_int16(clause.audio, clause.sample_rate)
        synth_s += time.perf_counter() - start
        offset = audio_s
        spans += [
            PhonemeSpan(p.phoneme, offset + p.start / 22050, offset + p.end / 22050)
            for p in clause.phonemes
        ]
        audio_s += len(clause.audio) / clause.sample_rate
    factors = {"synthesis RTF (lower is faster)": synth_s / audio_s}
    for rig, fps in (("arkit52", 60), ("arkit52", 120), ("visemes", 60)):
        animator = FaceAnimator(rig=load_rig(rig), fps=fps, emotion="happy", seed=1)
        start = time.perf_counter()
        animator.feed(spans)
        for step in np.arange(0.2, audio_s + 0.2, 0.2):  # as the server does: per audio chunk
            animator.render_until(float(step))
        factors[f"motion {rig} @ {fps} fps (x real time)"] = audio_s / (time.perf_counter() - start)
    return factors


def run_bench(*, runs: int, concurrent_sessions: int, console: Console) -> None:
    console.print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    factors = measure_real_time_factors()
    with ServerProcess() as server:
        latency = asyncio.run(measure_latency(server.endpoint, runs))
        with console.status(f"{concurrent_sessions} sessions at once"):
            load = asyncio.run(measure_concurrency(server.endpoint, concurrent_sessions))

    table = Table(title=f"say -> first message at the client ({runs} turns, 60 fps, 22.05 kHz)")
    for column in ("measure", "median ms", "p95 ms", "goal"):
        table.add_column(column)
    for name, values in (
        ("first audio", [t.first_audio_ms for t in latency]),
        ("first face", [t.first_face_ms for t in latency]),
    ):
        table.add_row(
            name, f"{statistics.median(values):.1f}", f"{percentile(values, 95):.1f}", "<= 150"
        )
    console.print(table)

    table = Table(title="real-time factors (one core busy at a time)")
    table.add_column("stage")
    table.add_column("value")
    for name, value in factors.items():
        table.add_row(name, f"{value:.3f}" if value < 10 else f"{value:.0f}")
    console.print(table)

    speeds = [t.audio_s / t.wall_s for t in load]
    table = Table(title=f"{concurrent_sessions} concurrent sessions, one line each")
    for column in ("measure", "min", "median", "max"):
        table.add_column(column)
    rows = (
        ("audio received / wall time (x real time)", speeds, "{:.2f}"),
        ("first audio ms", [t.first_audio_ms for t in load], "{:.0f}"),
        ("worst chunk slack ms (< 0 = gap)", [t.worst_slack_ms for t in load], "{:.0f}"),
    )
    for name, values, fmt in rows:
        table.add_row(
            name,
            fmt.format(min(values)),
            fmt.format(statistics.median(values)),
            fmt.format(max(values)),
        )
    console.print(table)
