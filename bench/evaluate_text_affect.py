"""Evaluate the text affect reader on held-out sentences; report honestly.

Prints motion-emotion accuracy, valence-sign accuracy, a confusion matrix,
the negation and intensity checks, and milliseconds per sentence, for the
full reader (trained motion head + centroids + lexicon) and ablations:
centroids and lexicon without the trained head (the reader before it),
embedding only, lexicon only. The held-out
set (tests/data/text_affect_eval.yaml) was written apart from the prototypes
and was not used to choose settings; `--loo` prints the leave-one-out
accuracy over the prototypes themselves, the criterion the settings were
chosen by.

    HF_HUB_OFFLINE=1 python bench/evaluate_text_affect.py [--loo]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import yaml
from rich.console import Console
from rich.table import Table

from merg_sdk.perception import MOTION_EMOTIONS, TextAffect
from merg_sdk.perception.emotion_adapter import EmotionAdapter
from merg_sdk.perception.head import PrototypeHead
from merg_sdk.perception.text_affect import Settings

EVAL_FILE = Path(__file__).resolve().parent.parent / "tests" / "data" / "text_affect_eval.yaml"
POSITIVE = {"happy", "calm", "caring", "surprised"}
NEUTRAL_BAND = 0.15  # |valence| below this reads as neutral
console = Console()

_LEXICON_WEIGHTS = (
    "word_boost",
    "negated_penalty",
    "valence_pull",
    "neutral_penalty",
    "lexicon_vad_share",
)
#: name -> (settings, which trained readers join: "all" (the mpnet head and the tuned
#: pair reader), "head" (the mpnet head alone), "frozen" (the frozen-MiniLM head), "none")
ABLATIONS = {
    "full": (Settings(), "all"),
    "no tuned reader": (Settings(), "head"),
    "frozen MiniLM head": (Settings(), "frozen"),
    "no trained head": (Settings(), "none"),
    "embedding only": (Settings(**dict.fromkeys(_LEXICON_WEIGHTS, 0.0)), "none"),
    "lexicon only": (Settings(temperature=1e9), "none"),
}


def with_settings(reader: TextAffect, settings: Settings, trained: str = "all") -> TextAffect:
    classifier = reader.classifier if trained != "none" else None
    adapter = reader.adapter if trained in ("all", "head") else None
    if adapter is not None and trained == "head":
        adapter = EmotionAdapter(adapter.encoder, adapter.head)
    return TextAffect(
        reader.encoder,
        reader.prototypes,
        reader.lexicon,
        reader.head,
        settings,
        classifier,
        adapter,
    )


def sign(valence: float) -> str:
    return "neu" if abs(valence) < NEUTRAL_BAND else ("pos" if valence > 0 else "neg")


def expected_sign(item: dict) -> str:
    if "valence" in item:
        return item["valence"]
    if item["emotion"] == "neutral":
        return "neu"
    return "pos" if item["emotion"] in POSITIVE else "neg"


def evaluate(reader: TextAffect, data: dict, key: str) -> dict:
    """Score one reader on the labelled sentences `data[key]` plus the negation and
    intensity checks; returns the numbers, the confusion matrix and the misses."""
    labels = list(MOTION_EMOTIONS)
    confusion = np.zeros((len(labels), len(labels)), dtype=int)
    right = valence_right = 0
    wrong: list[str] = []
    for item in data[key]:
        state = reader.analyze(item["text"])
        confusion[labels.index(item["emotion"]), labels.index(state.emotion)] += 1
        right += state.emotion == item["emotion"]
        valence_right += sign(state.valence) == expected_sign(item)
        if sign(state.valence) != expected_sign(item):
            wrong.append(
                f"valence: {expected_sign(item)} read {state.valence:+.2f} "
                f"({state.emotion}) {item['text']}"
            )
        if state.emotion != item["emotion"]:
            wrong.append(
                f"{item['emotion']:>9} -> {state.emotion:<9} ({state.fine_emotion}) {item['text']}"
            )
    negation_ok = 0
    for item in data["negation"]:
        state = reader.analyze(item["text"])
        ok_valence = (
            state.valence < -NEUTRAL_BAND
            if item["valence"] == "neg"
            else (state.valence > -NEUTRAL_BAND)
        )
        passed = state.emotion != item["not"] and ok_valence
        negation_ok += passed
        if not passed:
            wrong.append(f"negation: {state.emotion} v={state.valence:+.2f} {item['text']}")
    intensity_ok = 0
    for item in data["intensity"]:
        plain, changed = reader.analyze(item["plain"]), reader.analyze(item["changed"])
        up = item["direction"] == "up"
        delta = (changed.arousal - plain.arousal, abs(changed.valence) - abs(plain.valence))
        passed = all(x > 0 for x in delta) if up else all(x < 0 for x in delta)
        intensity_ok += passed
        if not passed:
            wrong.append(
                f"intensity {item['direction']}: da={delta[0]:+.2f} "
                f"d|v|={delta[1]:+.2f} {item['changed']}"
            )
    n = len(data[key])
    return {
        "accuracy": right / n,
        "valence": valence_right / n,
        "negation": negation_ok / len(data["negation"]),
        "intensity": intensity_ok / len(data["intensity"]),
        "confusion": confusion,
        "wrong": wrong,
        "n": n,
    }


def leave_one_out(reader: TextAffect, settings: Settings) -> tuple[float, float]:
    """Motion and fine accuracy on each prototype with it removed from its centroid."""
    protos = reader.prototypes
    matrix = reader.encoder.encode(protos.texts)
    motion_ok = fine_ok = 0
    for i, text in enumerate(protos.texts):
        keep = np.arange(len(protos.texts)) != i
        head = PrototypeHead.fit(matrix[keep], protos.labels[keep], len(protos.names))
        state = TextAffect(reader.encoder, protos, reader.lexicon, head, settings).analyze(text)
        # (without the trained head: it was trained on the prototypes themselves)
        truth = protos.labels[i]
        motion_ok += state.emotion == protos.motion[truth]
        fine_ok += state.fine_emotion == protos.names[truth]
    return motion_ok / len(protos.texts), fine_ok / len(protos.texts)


def timing(reader: TextAffect, texts: list[str]) -> tuple[float, float]:
    """Median and 95th-percentile ms per sentence, cache cleared (every text is new)."""
    reader.encoder.clear_cache()
    if reader.adapter is not None:
        reader.adapter.encoder.clear_cache()
    spent = []
    for text in texts:
        started = time.perf_counter()
        reader.analyze(text)
        spent.append((time.perf_counter() - started) * 1000.0)
    spent.sort()
    return statistics.median(spent), spent[int(0.95 * (len(spent) - 1))]


def print_causes(reader: TextAffect, texts: list[str]) -> None:
    """The cause span of every emotional reading, to judge the extractor by eye."""
    found = 0
    emotional = [(text, reader.analyze(text)) for text in texts]
    emotional = [(text, state) for text, state in emotional if state.emotion != "neutral"]
    for text, state in emotional:
        found += state.cause is not None
        console.print(f"  {state.cause!r:60} <- {text}", highlight=False)
    console.print(f"causes found for {found} of {len(emotional)} emotional readings")


def print_confusion(confusion: np.ndarray) -> None:
    labels = list(MOTION_EMOTIONS)
    table = Table(title="confusion (rows: truth, columns: read as)")
    table.add_column("")
    for name in labels:
        table.add_column(name[:5], justify="right")
    for i, name in enumerate(labels):
        if confusion[i].sum():
            table.add_row(name, *[str(x) if x else "." for x in confusion[i]])
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loo", action="store_true", help="also leave-one-out on prototypes")
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--causes", action="store_true", help="print the cause of each reading")
    args = parser.parse_args()
    data = yaml.safe_load(EVAL_FILE.read_text(encoding="utf-8"))

    started = time.perf_counter()
    reader = TextAffect.load(threads=args.threads)
    load_s = time.perf_counter() - started
    reader.warm_up()

    table = Table(title="text affect: A = items (seen in development), B = fresh (run once)")
    for column in (
        "reader",
        "A emotion",
        "A valence",
        "B emotion",
        "B valence",
        "negation",
        "intensity",
    ):
        table.add_column(column, justify="right")
    if args.loo:
        table.add_column("LOO motion / fine", justify="right")
    results = {}
    for name, (settings, trained) in ABLATIONS.items():
        variant = with_settings(reader, settings, trained)
        a = results[name, "items"] = evaluate(variant, data, "items")
        b = results[name, "fresh"] = evaluate(variant, data, "fresh")
        numbers = (a["accuracy"], a["valence"], b["accuracy"], b["valence"])
        row = [name, *(f"{x:.0%}" for x in (*numbers, a["negation"], a["intensity"]))]
        if args.loo:
            motion, fine = leave_one_out(reader, settings)
            row.append(f"{motion:.0%} / {fine:.0%}")
        table.add_row(*row)
    console.print(table)
    for key, title in (("items", "A"), ("fresh", "B")):
        console.print(f"full reader, set {title} ({len(data[key])} sentences)")
        print_confusion(results["full", key]["confusion"])
    misses = results["full", "items"]["wrong"] + [
        m for m in results["full", "fresh"]["wrong"] if not m.startswith(("negation", "intensity"))
    ]
    console.print(f"misses of the full reader: {len(misses)}")
    for line in misses if args.verbose else misses[:12]:
        console.print(f"  {line}", highlight=False)

    texts = [item["text"] for item in data["items"] + data["fresh"]]
    if args.causes:
        print_causes(reader, texts)
    median, p95 = timing(reader, texts)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(
        f"speed: {median:.1f} ms median, {p95:.1f} ms p95 per sentence (torch threads: "
        f"{args.threads}, load average {os.getloadavg()[0]:.1f}); load {load_s:.1f} s; "
        f"peak RSS {rss_mb:.0f} MB"
    )
    console.print(f"settings: {dataclasses.asdict(Settings())}", highlight=False)


if __name__ == "__main__":
    main()
