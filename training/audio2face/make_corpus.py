"""Make the audio-to-face corpus: synthetic speech, its phoneme timings and the teacher's face.

Training: the joe Piper voice (random pace and expressiveness) and many
espeak-ng voices (accents x variants, speeds, pitches), each clip twice with
different augmentation, stored as log-mel features (the runtime's own code)
plus teacher frames at 100 Hz. Test: held-out sentences, and voices never
trained on (four espeak-ng voices, five flite voices), stored as int16
audio at the voice's own rate with their phoneme spans, clean and noisy.

Run: `python -m training.audio2face.make_corpus` (5-13 minutes on 2 cores, as busy as
they are).
Output goes to $MERG_A2F_DATA (default /tmp/merg_audio2face), never to git.
"""

from __future__ import annotations

import os
import pickle
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

from merg_sdk.motion.audio2face.features import log_mel
from training.audio2face.augment import augment
from training.audio2face.teacher import teacher_closure, teacher_frames
from training.audio2face.texts import sentences
from training.audio2face.voices import Espeak, Piper, Utterance, flite

DATA_DIR = Path(os.environ.get("MERG_A2F_DATA", "/tmp/merg_audio2face"))
SEED = 20260501
SPARE_FRAMES = 10  # features kept past the last teacher frame (look-ahead up to 100 ms)
N_PIPER, N_ESPEAK, VERSIONS = 1000, 2400, 2
ESPEAK_BASES = ["en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
                "en-gb-x-gbclan", "en-gb-x-gbcwmd"]  # fmt: skip
ESPEAK_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m7", "m8", "f1", "f2", "f3", "f5", "klatt",
                   "klatt2", "klatt4", "klatt5", "croak", "whisper", "Alex", "Annie", "adam",
                   "belinda", "david", "edward", "iven", "john", "linda", "max", "norbert", "paul",
                   "steph", "travis", "zac", "aunty", "benjamin", "grandma"]  # fmt: skip
HELD_OUT_ESPEAK = ["en-us+f4", "en-gb-x-rp+m6", "en-us+klatt3", "en-029+Andy"]
HELD_OUT_FLITE = ["kal16", "awb", "rms", "slt", "kal"]
TEST_SETS = {  # name -> (engine, voices, clips)
    "joe/held-out sentences": ("piper", ["joe"], 40),
    "espeak train voices/held-out sentences": ("espeak", None, 40),
    **{f"espeak {v}": ("espeak", [v], 15) for v in HELD_OUT_ESPEAK},
    **{f"flite {v}": ("flite", [v], 25 if v != "kal" else 15) for v in HELD_OUT_FLITE},
}
NOISY_COPIES = ("joe/held-out sentences", "flite slt", "flite rms")

_engines: dict[str, object] = {}  # one per worker process, made on first use


def _engine(name: str):  # -> Piper | Espeak
    if name not in _engines:
        _engines[name] = Piper() if name == "piper" else Espeak()
    return _engines[name]


def _synthesize(engine: str, voice: str, text: str, rng: np.random.Generator | None) -> Utterance:
    """One clip; `rng` varies pace, pitch and expressiveness (None: the voice's defaults)."""
    if engine == "piper":
        if rng is None:
            return _engine("piper").synthesize(text, 1.0, 0.667, 0.8)
        pace, noise, noise_w = rng.uniform(0.75, 1.35), rng.uniform(0.4, 0.9), rng.uniform(0.5, 1)
        return _engine("piper").synthesize(text, pace, noise, noise_w)
    if engine == "espeak":
        wpm, pitch, span = (
            (175, 50, 50) if rng is None else rng.integers([120, 15, 20], [270, 85, 90])
        )
        return _engine("espeak").synthesize(text, voice, int(wpm), int(pitch), int(span))
    return flite(text, voice)


def _features_and_teacher(audio, rate, spans):
    """Features, and targets [n, 13]: the teacher's channels, then its lip-closure depth."""
    pcm = np.round(np.clip(audio, -1, 1) * 32767) / 32768.0  # the runtime hears int16
    duration = len(audio) / rate
    target = teacher_frames(spans, duration, 100.0)
    target = np.column_stack([target, teacher_closure(spans, len(target), 100.0)])
    feats = log_mel(pcm.astype(np.float32), rate, min_frames=len(target) + SPARE_FRAMES)
    return feats[: len(target) + SPARE_FRAMES].astype(np.float16), target.astype(np.float16)


def train_job(job: tuple) -> list[tuple]:
    engine, voice, text, seed = job
    rng = np.random.default_rng(seed)
    utt = _synthesize(engine, voice, text, rng)
    out = []
    for version in range(VERSIONS):
        audio, spans = augment(utt.audio, utt.sample_rate, utt.spans, rng, heavy=version > 0)
        out.append((*_features_and_teacher(audio, utt.sample_rate, spans), engine, voice))
    return out


def test_job(job: tuple) -> list[dict]:
    name, engine, voice, text, seed = job
    rng = np.random.default_rng(seed)
    utt = _synthesize(engine, voice, text, None if engine == "piper" else rng)
    clips = [(name, utt.audio, utt.spans)]
    if name in NOISY_COPIES:
        audio, spans = augment(utt.audio, utt.sample_rate, utt.spans, rng, heavy=True)
        clips.append((f"{name} +noise/reverb", audio, spans))
    return [
        {"set": set_name, "voice": voice, "text": text, "rate": utt.sample_rate,
         "pcm": np.round(np.clip(audio, -1, 1) * 32767).astype(np.int16),
         "spans": [(s.phoneme, s.start_s, s.end_s) for s in spans]}
        for set_name, audio, spans in clips
    ]  # fmt: skip


def _texts(rng: np.random.Generator, pool: list[str], count: int) -> list[str]:
    return [
        " ".join(rng.choice(pool, size=rng.integers(1, 4), replace=False)) for _ in range(count)
    ]


def plan(seed: int = SEED) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    train_sentences = sentences(3000, seed=1)
    test_sentences = sentences(400, seed=2, held_out=True, exclude=set(train_sentences))
    train = [
        ("piper", "joe", t, int(rng.integers(1 << 31)))
        for t in _texts(rng, train_sentences, N_PIPER)
    ]
    for text in _texts(rng, train_sentences, N_ESPEAK):
        base, variant = rng.choice(ESPEAK_BASES), rng.choice(ESPEAK_VARIANTS)
        voice = f"{base}+{variant}" if variant else base
        train.append(("espeak", voice, text, int(rng.integers(1 << 31))))
    test = []
    for name, (engine, voices, count) in TEST_SETS.items():
        for text in _texts(rng, test_sentences, count):
            if voices is None:
                voice = f"{rng.choice(ESPEAK_BASES)}+{rng.choice(ESPEAK_VARIANTS[1:])}"
            else:
                voice = voices[int(rng.integers(len(voices)))]
            test.append((name, engine, voice, text, int(rng.integers(1 << 31))))
    return train, test


def main() -> None:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    train_jobs, test_jobs = plan()
    started = time.perf_counter()
    with Pool(min(2, os.cpu_count() or 1)) as pool:
        test = [c for clips in pool.imap(test_job, test_jobs, chunksize=4) for c in clips]
        with (DATA_DIR / "test.pkl").open("wb") as f:
            pickle.dump(test, f)
        print(f"test: {len(test)} clips in {time.perf_counter() - started:.0f} s", flush=True)
        feats, targets, voices = [], [], []
        for i, versions in enumerate(pool.imap_unordered(train_job, train_jobs, chunksize=8)):
            for f, t, engine, voice in versions:
                feats.append(f), targets.append(t), voices.append(f"{engine}:{voice}")
            if i % 500 == 0:
                print(
                    f"train {i}/{len(train_jobs)} {time.perf_counter() - started:.0f} s", flush=True
                )
    lengths = np.array([len(t) for t in targets])
    np.savez(DATA_DIR / "train.npz", feats=np.concatenate(feats), targets=np.concatenate(targets),
             lengths=lengths, voices=np.array(voices))  # fmt: skip
    hours = lengths.sum() / 100 / 3600
    print(
        f"train: {len(lengths)} clips, {hours:.2f} h, {time.perf_counter() - started:.0f} s total"
    )


if __name__ == "__main__":
    main()
