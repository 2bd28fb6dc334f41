"""Evaluate the motion engine on held-out sentences spoken by the real voice.

Prints a table and writes PNG plots into docs/images/:
- viseme accuracy at phoneme midpoints: bilabial closure, open-vowel jaw,
  rounded-vowel lips, lip-to-teeth on f/v;
- emotion visibility: mean weight of each emotion's key shapes vs intensity;
- blink rate per emotion; motion speed;
- the audio-driven model's agreement with the phoneme-driven teacher, when
  the model is present (training/audio2face reproduces it).

    python bench/evaluate_motion.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from merg_sdk.motion import EMOTIONS, FaceAnimator, load_rig
from merg_sdk.motion.blink import BlinkTrack
from merg_sdk.motion.face import load_emotions
from merg_sdk.speech.backends.piper import PiperTTS
from merg_sdk.speech.base import Prosody
from merg_sdk.speech.types import PhonemeSpan

# Sentences the motion tables were never tuned on (phonetically varied).
HELD_OUT = (
    "Bobby brought a big blue umbrella to the beach party.",
    "My mother made a marvellous plum pie for the family.",
    "Five very brave wolves found food in the valley.",
    "Would you go to the moon with Ruth and Luke?",
    "The farmer's father offered a fair price for the calf.",
    "Please keep the map in your pocket, it might be useful.",
    "Oh no, the old boat floated off across the wide lake.",
    "Cautious foxes rarely cross the frozen river at dawn.",
)
FPS = 60
ARKIT = load_rig("arkit52")
COLUMN = {name: i for i, name in enumerate(ARKIT.names)}


def spoken(tts: PiperTTS, text: str) -> tuple[np.ndarray, int, list[PhonemeSpan]]:
    clause = tts.synthesize(text, tts.default_voice, Prosody())
    rate = clause.sample_rate
    spans = [PhonemeSpan(p.phoneme, p.start / rate, p.end / rate) for p in clause.phonemes]
    return clause.audio, rate, spans


def animate(spans: list[PhonemeSpan], duration_s: float, emotion: str = "neutral") -> np.ndarray:
    animator = FaceAnimator(ARKIT, fps=FPS, emotion=emotion, intensity=0.7, seed=11)
    animator.feed(spans)
    return animator.render_until(duration_s).weights


def midpoint_checks(face: np.ndarray, spans: list[PhonemeSpan]) -> dict[str, list[bool]]:
    """At each phoneme's midpoint: does the face show what the phoneme needs?"""
    checks: dict[str, list[bool]] = {"p/b/m lips closed": [], "open vowel jaw >= 0.3": []}
    checks |= {"rounded vowel pucker+funnel >= 0.2": [], "f/v lower lip to teeth": []}
    for span in spans:
        frame = face[min(round((span.start_s + span.end_s) / 2 * FPS), len(face) - 1)]

        def w(name: str, frame: np.ndarray = frame) -> float:
            return float(frame[COLUMN[name]])

        if span.phoneme in ("p", "b", "m"):
            checks["p/b/m lips closed"].append(w("jawOpen") - w("mouthClose") <= 0.05)
        elif span.phoneme in ("a", "ɑ", "æ", "ʌ", "ɔ") and span.duration_s > 0.06:
            checks["open vowel jaw >= 0.3"].append(w("jawOpen") >= 0.3)
        elif span.phoneme in ("u", "o", "ʊ", "w"):
            checks["rounded vowel pucker+funnel >= 0.2"].append(
                w("mouthPucker") + w("mouthFunnel") >= 0.2
            )
        elif span.phoneme in ("f", "v"):
            checks["f/v lower lip to teeth"].append(
                w("mouthRollLower") + w("mouthUpperUpLeft") >= 0.2
            )
    return checks


def emotion_visibility() -> dict[str, list[float]]:
    """Mean weight of each emotion's key shapes (its strongest overlay channels)."""
    table = load_emotions()
    spans = [PhonemeSpan("", 0.0, 2.0)]
    out: dict[str, list[float]] = {}
    for emotion in EMOTIONS:
        if emotion == "neutral":
            continue
        key = np.argsort(table.pose(emotion))[-4:]
        means = []
        for intensity in (0.25, 0.5, 0.75, 1.0):
            animator = FaceAnimator(ARKIT, fps=FPS, emotion=emotion, intensity=intensity, seed=3)
            animator.feed(spans)
            means.append(float(animator.render_until(2.0).weights[:, key].mean()))
        out[emotion] = means
    return out


def plot_sentence(path: Path, audio: np.ndarray, rate: int, face: np.ndarray, spans) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_audio = np.arange(len(audio)) / rate
    t_face = np.arange(len(face)) / FPS
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 5.5), sharex=True)
    top.plot(t_audio, audio, color="0.6", linewidth=0.5)
    for span in spans:
        if span.phoneme:
            top.text((span.start_s + span.end_s) / 2, 0.8, span.phoneme, ha="center", fontsize=8)
            top.axvline(span.start_s, color="0.9", linewidth=0.5)
    top.set_ylim(-1, 1)
    top.set_ylabel("voice")
    for name in ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "mouthRollLower"):
        bottom.plot(t_face, face[:, COLUMN[name]], label=name)
    bottom.set_ylabel("weight")
    bottom.set_xlabel("seconds")
    bottom.legend(loc="upper right", fontsize=8, ncol=5)
    fig.suptitle("Phoneme-driven lip-sync: ARKit curves over the waveform")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_emotions(path: Path, visibility: dict[str, list[float]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 4))
    for emotion, means in visibility.items():
        axis.plot((0.25, 0.5, 0.75, 1.0), means, marker="o", label=emotion)
    axis.set_xlabel("intensity")
    axis.set_ylabel("mean weight of the emotion's key shapes")
    axis.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def audio_driven(console: Console, tts: PiperTTS) -> None:
    """The audio model against the phoneme teacher on the held-out sentences, plus the
    held-out-voice figures of its training evaluation (training/audio2face)."""
    import json

    from merg_sdk.motion.audio2face import MODEL_PATH, AudioFaceStream

    jaw_teacher, jaw_model, started, seconds = [], [], time.perf_counter(), 0.0
    elapsed = 0.0
    for text in HELD_OUT:
        audio, rate, spans = spoken(tts, text)
        teacher = animate(spans, len(audio) / rate)
        stream = AudioFaceStream(fps=FPS, sample_rate=rate)
        pcm = (audio * 32767).astype(np.int16)
        started = time.perf_counter()
        parts = [stream.push(pcm[i : i + rate // 50]) for i in range(0, len(pcm), rate // 50)]
        frames = np.concatenate([*parts, stream.finish()])
        elapsed += time.perf_counter() - started
        seconds += len(audio) / rate
        column = stream.names.index("jawOpen")
        jaw_teacher.append(teacher[:, COLUMN["jawOpen"]])
        jaw_model.append(frames[:, column])
    r = float(np.corrcoef(np.concatenate(jaw_teacher), np.concatenate(jaw_model))[0, 1])
    table = Table(title="Audio-driven lip-sync vs the phoneme teacher")
    for column_name in ("set", "clips", "jawOpen r", "p/b/m closed"):
        table.add_column(column_name)
    table.add_row("joe, these held-out sentences (now)", str(len(HELD_OUT)), f"{r:.3f}", "")
    metrics = json.loads(MODEL_PATH.with_name("metrics.json").read_text(encoding="utf-8"))
    for name, values in metrics["sets"].items():
        if name.startswith("["):
            table.add_row(
                name.strip("[]"),
                str(values["clips"]),
                f"{values['jawOpen_r']:.3f}",
                f"{values['lips_closed_pbm']:.0%}",
            )
    console.print(table)
    console.print(
        f"audio model: look-ahead {metrics['lookahead_ms']:.0f} ms, "
        f"{seconds / elapsed:.0f}x real time in 20 ms chunks here "
        f"({metrics['speed']['x_realtime_20ms_chunks']:.0f}x on one core at training time)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    console = Console()
    tts = PiperTTS()
    tts.warm_up()

    totals: dict[str, list[bool]] = {}
    audio_s = motion_s = 0.0
    for index, text in enumerate(HELD_OUT):
        audio, rate, spans = spoken(tts, text)
        start = time.perf_counter()
        face = animate(spans, len(audio) / rate)
        motion_s += time.perf_counter() - start
        audio_s += len(audio) / rate
        for name, results in midpoint_checks(face, spans).items():
            totals.setdefault(name, []).extend(results)
        if index == 0:
            plot_sentence(args.out / "lipsync_curves.png", audio, rate, face, spans)

    table = Table(
        title=f"Viseme accuracy at phoneme midpoints ({len(HELD_OUT)} held-out sentences)"
    )
    for column in ("check", "passed", "rate", "goal"):
        table.add_column(column)
    goals = {"p/b/m lips closed": ">= 95%"}
    for name, results in totals.items():
        rate_ok = 100 * np.mean(results) if results else float("nan")
        table.add_row(
            name, f"{sum(results)}/{len(results)}", f"{rate_ok:.1f}%", goals.get(name, "")
        )
    console.print(table)

    visibility = emotion_visibility()
    plot_emotions(args.out / "emotion_intensity.png", visibility)
    table = Table(
        title="Emotion visibility: mean key-shape weight at intensity 0.25 / 0.5 / 0.75 / 1"
    )
    for column in ("emotion", "0.25", "0.5", "0.75", "1.0", "monotone"):
        table.add_column(column)
    for emotion, means in visibility.items():
        monotone = all(b > a for a, b in pairwise(means))
        table.add_row(emotion, *(f"{m:.3f}" for m in means), "yes" if monotone else "NO")
    console.print(table)

    table = Table(title="Blinks per minute (10 simulated minutes)")
    table.add_column("emotion")
    table.add_column("arousal")
    table.add_column("blinks/min")
    emotions = load_emotions()
    for emotion in ("calm", "neutral", "happy", "angry", "surprised"):
        arousal = emotions.arousal(emotion, 1.0)
        blinks = BlinkTrack(seed=4, rate_scale=1.0 + 0.5 * arousal).blinks_until(600.0)
        table.add_row(emotion, f"{arousal:+.1f}", f"{len(blinks) / 10:.1f}")
    console.print(table)
    console.print(f"motion speed: {audio_s / motion_s:.0f}x real time (arkit52, {FPS} fps)")
    audio_driven(console, tts)
    console.print(f"plots: {args.out / 'lipsync_curves.png'}, {args.out / 'emotion_intensity.png'}")


if __name__ == "__main__":
    main()
