"""Motion real-time factor: seconds of speech animated per second of CPU.

Synthetic turns of Piper-like phonemes (40-150 ms, 2 s clauses, 200 ms
pauses) are fed clause by clause, as the server does, and rendered either
in 40 ms steps (frames follow each audio chunk) or a clause at a time.
Goal: >= 500x real time. Run: `.venv/bin/python bench/motion_bench.py`.
"""

from __future__ import annotations

import time

import numpy as np

from merg_sdk.motion import FaceAnimator, load_rig
from merg_sdk.speech.types import PhonemeSpan

SYMBOLS = [
    "p",
    "b",
    "m",
    "f",
    "v",
    "θ",
    "ð",
    "t",
    "d",
    "n",
    "l",
    "s",
    "z",
    "ʃ",
    "k",
    "ɡ",
    "ŋ",
    "h",
    "ɹ",
    "w",
    "j",
    "i",
    "ɪ",
    "e",
    "ɛ",
    "æ",
    "a",
    "ɑ",
    "ɔ",
    "o",
    "ʊ",
    "u",
    "ʌ",
    "ə",
    "ɚ",
    "ɐ",
]
TURN_S = 60.0
CLAUSE_S = 2.0
PAUSE_S = 0.2
STEP_S = 0.04
GOAL = 500.0


def synthetic_clauses(seed: int) -> list[list[PhonemeSpan]]:
    rng = np.random.default_rng(seed)
    clauses, t = [], 0.0
    while t < TURN_S:
        clause, end = [], t + CLAUSE_S
        while t < end:
            dur = float(rng.uniform(0.04, 0.15))
            clause.append(PhonemeSpan(str(rng.choice(SYMBOLS)), t, t + dur))
            t += dur
        clauses.append(clause)
        t += PAUSE_S
    return clauses


def run(rig: str, fps: int, per_chunk: bool, clauses: list[list[PhonemeSpan]]) -> float:
    """Real-time factor of one turn (best of 3)."""
    best = float("inf")
    for _ in range(3):
        anim = FaceAnimator(rig=load_rig(rig), fps=fps, emotion="happy", intensity=0.7, seed=1)
        frames = 0
        start = time.perf_counter()
        for i, clause in enumerate(clauses):
            anim.feed(clause)
            until = clauses[i + 1][0].start_s if i + 1 < len(clauses) else clause[-1].end_s
            steps = np.arange(clause[0].start_s + STEP_S, until, STEP_S) if per_chunk else []
            for t in steps:
                frames += anim.render_until(float(t)).count
            frames += anim.render_until(until).count
        best = min(best, time.perf_counter() - start)
    return clauses[-1][-1].end_s / best


def main() -> None:
    clauses = synthetic_clauses(0)
    print(f"motion RTF over a {clauses[-1][-1].end_s:.0f} s synthetic turn (goal >= {GOAL:.0f}x)")
    print(f"{'rig':<9} {'fps':>4} {'per 40 ms chunk':>16} {'per clause':>11}")
    for rig in ("arkit52", "visemes"):
        for fps in (30, 60, 120):
            chunked = run(rig, fps, True, clauses)
            whole = run(rig, fps, False, clauses)
            flag = "" if min(chunked, whole) >= GOAL else "  below goal"
            print(f"{rig:<9} {fps:>4} {chunked:>15.0f}x {whole:>10.0f}x{flag}")


if __name__ == "__main__":
    main()
