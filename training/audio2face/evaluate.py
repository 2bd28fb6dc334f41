"""Evaluate the exported model against the teacher on held-out sentences and voices.

Every test clip is streamed through the real runtime (`AudioFaceStream`,
onnxruntime, one thread) in 20 ms chunks at the voice's own sample rate,
at 60 fps, and compared with the phoneme-driven teacher rendered at 60 fps
from the clip's phoneme timings. Per test set: jawOpen Pearson r (pooled
over frames, and the mean over clips), MAE per channel, how often the lips
are shut at p/b/m midpoints (model and teacher), and jawOpen in silence.
Speed is x real time on one core. Prints a table, writes `metrics.json`
beside the model.

Run: `python -m training.audio2face.evaluate [model.onnx]`.
"""

from __future__ import annotations

import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from merg_sdk.motion.audio2face.model import MODEL_PATH, AudioFaceModel
from merg_sdk.motion.audio2face.stream import AudioFaceStream
from merg_sdk.speech.types import PhonemeSpan
from training.audio2face.make_corpus import DATA_DIR, HELD_OUT_ESPEAK, HELD_OUT_FLITE
from training.audio2face.net import CHANNELS, OUTPUT_NAMES
from training.audio2face.teacher import bilabial_midpoints, lips_closed, teacher_frames

FPS = 60
CHUNK_S = 0.02
HELD_OUT_VOICE_SETS = [f"espeak {v}" for v in HELD_OUT_ESPEAK] + [
    f"flite {v}" for v in HELD_OUT_FLITE
]
GROUPS = {
    "held-out sentences, training voices": ["joe/held-out sentences",
                                            "espeak train voices/held-out sentences"],
    "held-out voices (all)": HELD_OUT_VOICE_SETS,
    "held-out voices, flite only": [f"flite {v}" for v in HELD_OUT_FLITE],
}  # fmt: skip
UNIQUE_COLUMNS = [OUTPUT_NAMES.index(n if n in OUTPUT_NAMES else n + "Left") for n in CHANNELS]


def stream_clip(model: AudioFaceModel, pcm: np.ndarray, rate: int, fps: int = FPS) -> np.ndarray:
    stream = AudioFaceStream(fps, rate, model)
    step = int(rate * CHUNK_S)
    frames = [stream.push(pcm[i : i + step]) for i in range(0, len(pcm), step)]
    return np.concatenate([*frames, stream.finish()])


def clip_result(model: AudioFaceModel, clip: dict) -> dict:
    spans = [PhonemeSpan(p, s, e) for p, s, e in clip["spans"]]
    duration = len(clip["pcm"]) / clip["rate"]
    pred = stream_clip(model, clip["pcm"], clip["rate"])
    teach = teacher_frames(spans, duration, FPS, names=OUTPUT_NAMES)
    n = min(len(pred), len(teach))
    mids = np.clip(np.round(bilabial_midpoints(spans) * FPS).astype(int), 0, n - 1)
    silent = teach[:n].max(axis=1) < 1e-3
    return {"pred": pred[:n], "teacher": teach[:n], "mids": mids, "silent": silent}


def best_lag(results: list[dict], column: int, max_frames: int = 3) -> tuple[float, float]:
    """(lag ms, r) of the shift within +-max_frames that best aligns model and teacher:
    engines place phoneme boundaries differently, and this separates that from error."""
    best = (0.0, -1.0)
    for lag in range(-max_frames, max_frames + 1):
        a = [r["pred"][max(0, lag) : len(r["pred"]) + min(0, lag), column] for r in results]
        b = [r["teacher"][max(0, -lag) : len(r["pred"]) + min(0, -lag), column] for r in results]
        r = float(np.corrcoef(np.concatenate(a), np.concatenate(b))[0, 1])
        best = max(best, (1000.0 * lag / FPS, r), key=lambda x: x[1])
    return best


def summarise(results: list[dict]) -> dict:
    pred = np.concatenate([r["pred"] for r in results])
    teach = np.concatenate([r["teacher"] for r in results])
    jaw = OUTPUT_NAMES.index("jawOpen")
    per_clip = [np.corrcoef(r["pred"][:, jaw], r["teacher"][:, jaw])[0, 1] for r in results
                if r["teacher"][:, jaw].std() > 0]  # fmt: skip
    closed_pred = np.concatenate([lips_closed(r["pred"])[r["mids"]] for r in results])
    closed_teach = np.concatenate([lips_closed(r["teacher"])[r["mids"]] for r in results])
    silent = np.concatenate([r["pred"][r["silent"], jaw] for r in results])
    mae = np.abs(pred - teach).mean(axis=0)
    lag_ms, lag_r = best_lag(results, jaw)
    return {
        "clips": len(results),
        "seconds": round(len(pred) / FPS, 1),
        "jawOpen_r": round(float(np.corrcoef(pred[:, jaw], teach[:, jaw])[0, 1]), 3),
        "jawOpen_r_clip_mean": round(float(np.mean(per_clip)), 3),
        "jawOpen_best_lag_ms": round(lag_ms, 1),  # > 0: the model moves later than the teacher
        "jawOpen_r_best_lag": round(lag_r, 3),
        "mae_mean": round(float(mae[UNIQUE_COLUMNS].mean()), 4),
        "mae": {c: round(float(mae[i]), 4) for c, i in zip(CHANNELS, UNIQUE_COLUMNS, strict=True)},
        "lips_closed_pbm": round(float(closed_pred.mean()), 3) if len(closed_pred) else None,
        "lips_closed_pbm_teacher": round(float(closed_teach.mean()), 3)
        if len(closed_teach)
        else None,
        "bilabials": len(closed_pred),
        "silence_jawOpen_mean": round(float(silent.mean()), 4) if len(silent) else None,
    }


def speed(model: AudioFaceModel, clips: list[dict]) -> dict:
    """x real time on one core (CPU time of this process, onnxruntime on one thread):
    20 ms chunks (live) and whole clips (recorded voice-over), 22.05 kHz in, 60 fps out."""
    audio = [c for c in clips if c["rate"] == 22050][:20]
    seconds = sum(len(c["pcm"]) for c in audio) / 22050
    out = {}
    for label, chunk_s in (("x_realtime_20ms_chunks", CHUNK_S), ("x_realtime_whole_clip", None)):
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            for c in audio:
                stream = AudioFaceStream(FPS, 22050, model)
                step = int(22050 * chunk_s) if chunk_s else len(c["pcm"])
                for i in range(0, len(c["pcm"]), step):
                    stream.push(c["pcm"][i : i + step])
                stream.finish()
            best = min(best, time.process_time() - started)
        out[label] = round(seconds / best, 1)
    return out


def main(path: Path = MODEL_PATH) -> dict:
    model = AudioFaceModel(path, threads=1)
    with (DATA_DIR / "test.pkl").open("rb") as f:
        clips = pickle.load(f)
    by_set: dict[str, list[dict]] = {}
    for clip in clips:
        by_set.setdefault(clip["set"], []).append(clip_result(model, clip))
    rows = {name: summarise(results) for name, results in by_set.items()}
    for group, members in GROUPS.items():
        rows[f"[{group}]"] = summarise([r for m in members for r in by_set[m]])
    metrics = {
        "fps": FPS,
        "chunk_ms": CHUNK_S * 1000,
        "sets": rows,
        "speed": speed(model, clips),
        "lookahead_ms": AudioFaceStream(FPS, 16000, model).lookahead_ms,
        "model": json.loads(model.metadata.get("training", "null")),
    }
    columns = ["test set", "clips", "s", "jawOpen r", "r/clip", "r best lag (ms)", "MAE",
               "lips shut p/b/m (teacher)", "silence jaw"]  # fmt: skip
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    for name, m in rows.items():
        cells = [name, m["clips"], f"{m['seconds']:.0f}", f"{m['jawOpen_r']:.3f}",
                 f"{m['jawOpen_r_clip_mean']:.3f}",
                 f"{m['jawOpen_r_best_lag']:.3f} ({m['jawOpen_best_lag_ms']:+.0f})",
                 f"{m['mae_mean']:.3f}",
                 f"{m['lips_closed_pbm']:.2f} ({m['lips_closed_pbm_teacher']:.2f})",
                 f"{m['silence_jawOpen_mean']:.3f}"]  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")
    lookahead = metrics["lookahead_ms"]
    print(f"speed on one core: {metrics['speed']}; look-ahead at {FPS} fps: {lookahead:.1f} ms")
    out = path.with_name("metrics.json")
    out.write_text(json.dumps(metrics, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return metrics


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:2]))
