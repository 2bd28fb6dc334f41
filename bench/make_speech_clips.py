"""Synthesise the hearing stage's test clips with voices MERG does not speak with.

The ASR goal is measured on speech the project synthesises with voices it does
not train on, plus noise. The test sentences live in tests/data/hearing/sentences.txt
and a separate development set in dev_sentences.txt: settings are chosen on dev
and test is measured once with them, so the test figure is not tuned to its own
sentences. The voices are Debian's espeak-ng (formant synthesis, three variants) and flite
(diphone/clustergen, four voices), never Piper's 'joe'. Clips are written as
16 kHz mono WAV; noise is added later (and seeded) by the bench and the tests.

    apt-get install -y espeak-ng flite
    python bench/make_speech_clips.py --out /tmp/merg-hearing-clips       # all 210 test clips
    python bench/make_speech_clips.py --sentences dev --out /tmp/merg-hearing-clips-dev
    python bench/make_speech_clips.py --subset --out tests/data/hearing   # the 8 committed
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from merg_sdk.perception.hearing.evaluation import read_wav, write_wav

ROOT = Path(__file__).resolve().parent.parent
SENTENCE_SETS: dict[str, Path] = {
    "test": ROOT / "tests" / "data" / "hearing" / "sentences.txt",
    "dev": ROOT / "tests" / "data" / "hearing" / "dev_sentences.txt",
}
SENTENCES = SENTENCE_SETS["test"]
CLIP_PREFIX = {"test": "s", "dev": "d"}  # dev clips never share a name with test clips

VOICES: tuple[str, ...] = (
    "espeak:en-us+m3",
    "espeak:en+f2",
    "espeak:en-us+Andy",
    "flite:kal",
    "flite:slt",
    "flite:rms",
    "flite:awb",
)
SUBSET: tuple[tuple[str, int], ...] = (  # (voice, sentence index): the clips the tests use
    ("espeak:en-us+m3", 2),
    ("espeak:en+f2", 3),
    ("espeak:en-us+Andy", 10),
    ("flite:kal", 15),
    ("flite:slt", 6),
    ("flite:rms", 19),
    ("flite:awb", 22),
    ("flite:slt", 0),
)


@dataclass(frozen=True, slots=True)
class Clip:
    name: str
    voice: str
    text: str
    audio: np.ndarray  # 16 kHz float32, the engine's own leading/trailing silence trimmed


def load_sentences(path: Path = SENTENCES) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def synthesise(voice: str, text: str) -> np.ndarray:
    engine, name = voice.split(":", 1)
    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "clip.wav"
        if engine == "espeak":
            command = ["espeak-ng", "-v", name, "-s", "160", "-w", str(wav), text]
        elif engine == "flite":
            command = ["flite", "-voice", name, "-t", text, "-o", str(wav)]
        else:
            raise ValueError(f"unknown engine in {voice!r}")
        if shutil.which(command[0]) is None:
            raise SystemExit(f"{command[0]} is missing: apt-get install -y espeak-ng flite")
        subprocess.run(command, check=True, capture_output=True)
        return trim(read_wav(wav))


def trim(audio: np.ndarray, floor: float = 1e-3, margin: int = 800) -> np.ndarray:
    """Cut the engine's silence, keeping 50 ms, so clip edges are speech edges."""
    loud = np.flatnonzero(np.abs(audio) > floor)
    if not len(loud):
        return audio
    return audio[max(0, loud[0] - margin) : loud[-1] + margin]


def clip_name(voice: str, index: int, prefix: str = "s") -> str:
    return f"{prefix}{index:02d}_{voice.replace(':', '_').replace('+', '_').replace('-', '_')}"


def make_clips(
    pairs: list[tuple[str, int]] | None = None, sentence_set: str = "test"
) -> list[Clip]:
    """Every voice speaking every sentence of `sentence_set` ("test" or "dev"), or `pairs`."""
    sentences = load_sentences(SENTENCE_SETS[sentence_set])
    prefix = CLIP_PREFIX[sentence_set]
    if pairs is None:
        pairs = [(voice, index) for index in range(len(sentences)) for voice in VOICES]
    return [
        Clip(
            clip_name(voice, index, prefix),
            voice,
            sentences[index],
            synthesise(voice, sentences[index]),
        )
        for voice, index in pairs
    ]


def write_clips(clips: list[Clip], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = ["# name<TAB>voice<TAB>text, written by bench/make_speech_clips.py"]
    for clip in clips:
        write_wav(out / f"{clip.name}.wav", clip.audio)
        lines.append(f"{clip.name}\t{clip.voice}\t{clip.text}")
    (out / "clips.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--subset", action="store_true", help="only the clips the tests use")
    parser.add_argument(
        "--sentences", choices=sorted(SENTENCE_SETS), default="test", help="which sentence set"
    )
    args = parser.parse_args()
    if args.subset and args.sentences != "test":
        parser.error("--subset names test sentences")
    clips = make_clips(list(SUBSET) if args.subset else None, args.sentences)
    write_clips(clips, args.out)
    seconds = sum(len(clip.audio) for clip in clips) / 16000
    print(f"{len(clips)} clips, {seconds:.0f} s of speech -> {args.out}")


if __name__ == "__main__":
    main()
