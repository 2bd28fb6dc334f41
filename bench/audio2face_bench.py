"""Audio-to-face speed on one core: 10 s of audio in 20 ms chunks at 16 and 48 kHz.

The process is pinned to one core and onnxruntime runs with
intra_op_num_threads=1. Reports x real time (audio seconds per second of
this process's CPU time, which other programs on a shared machine cannot
inflate, and per second of wall-clock time), the wall time per chunk
(median, p99, max) and how late frames leave when audio arrives in real
time (frame time -> arrival of the chunk that completes it: the model's
look-ahead, the 20 ms chunking and, at 48 kHz, the resampler's buffering).
Goal: >= 200x real time. Run: `.venv/bin/python bench/audio2face_bench.py`.
"""

from __future__ import annotations

import os
import time

import numpy as np

from merg_sdk.motion.audio2face import AudioFaceModel, AudioFaceStream

SECONDS, CHUNK_S, FPS, REPEATS = 10.0, 0.02, 60, 5


def speechlike(rate: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(SECONDS * rate)) / rate
    buzz = np.sign(np.sin(2 * np.pi * np.cumsum(120 + 30 * np.sin(2 * np.pi * 0.7 * t)) / rate))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, 1) ** 2
    audio = 0.3 * buzz * np.sin(2 * np.pi * 700 * t) + 0.01 * rng.standard_normal(len(t))
    return np.clip(audio * envelope * 30000, -32768, 32767).astype(np.int16)


def run(model: AudioFaceModel, rate: int) -> dict:
    pcm, step = speechlike(rate), int(rate * CHUNK_S)
    best, best_cpu, per_chunk, late = float("inf"), float("inf"), [], []
    for _ in range(REPEATS):
        stream, times, lateness = AudioFaceStream(FPS, rate, model), [], []
        started, cpu = time.perf_counter(), time.process_time()
        for k, i in enumerate(range(0, len(pcm), step)):
            t0 = time.perf_counter()
            frames = stream.push(pcm[i : i + step])
            times.append(time.perf_counter() - t0)
            arrived_s = (k + 1) * CHUNK_S
            first = stream.frames_out - len(frames)
            lateness.extend(arrived_s - np.arange(first, stream.frames_out) / FPS)
        stream.finish()
        elapsed, best_cpu = time.perf_counter() - started, min(best_cpu, time.process_time() - cpu)
        if elapsed < best:
            best, per_chunk, late = elapsed, times, lateness
    whole = float("inf")
    for _ in range(REPEATS):
        cpu = time.process_time()
        stream = AudioFaceStream(FPS, rate, model)
        stream.push(pcm)
        stream.finish()
        whole = min(whole, time.process_time() - cpu)
    us = np.array(per_chunk) * 1e6
    return {
        "rate": rate,
        "x_realtime_20ms": SECONDS / best_cpu,
        "x_realtime_20ms_wall": SECONDS / best,
        "x_realtime_whole": SECONDS / whole,
        "chunk_us_median": float(np.median(us)),
        "chunk_us_p99": float(np.percentile(us, 99)),
        "chunk_us_max": float(us.max()),
        "frame_late_ms_median": 1000 * float(np.median(late)),
        "frame_late_ms_max": 1000 * float(np.max(late)),
    }


def main() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    model = AudioFaceModel(threads=1)
    print(f"look-ahead at {FPS} fps: {AudioFaceStream(FPS, 16000, model).lookahead_ms:.1f} ms")
    print("| rate | x real time, 20 ms chunks (CPU / wall) | whole clip | us/chunk median | "
          "p99 | max | frame late median ms | max ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for rate in (16000, 48000):
        r = run(model, rate)
        print(f"| {rate} | {r['x_realtime_20ms']:.0f} / {r['x_realtime_20ms_wall']:.0f} | "
              f"{r['x_realtime_whole']:.0f} | "
              f"{r['chunk_us_median']:.0f} | {r['chunk_us_p99']:.0f} | {r['chunk_us_max']:.0f} | "
              f"{r['frame_late_ms_median']:.1f} | {r['frame_late_ms_max']:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
