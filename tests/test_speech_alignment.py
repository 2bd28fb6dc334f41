"""Piper's symbol timings folded into phonemes: nothing lost, nothing invented."""

from __future__ import annotations

from itertools import pairwise

from merg_sdk.speech.alignment import fold_alignments

HELLO = [("^", 768), ("h", 1024), ("ə", 1280), ("l", 768), ("ˈ", 1024), ("o", 1024),
         ("ʊ", 1280), (" ", 1024), ("ð", 1536), ("ˈ", 1536), ("ɛ", 1792), ("ː", 256),
         ("ɹ", 1280), (".", 1280), ("$", 768)]  # fmt: skip


def test_total_time_is_preserved_and_spans_are_contiguous() -> None:
    spans = fold_alignments(HELLO)
    assert spans[0].start == 0 and spans[-1].end == sum(n for _, n in HELLO)
    for before, after in pairwise(spans):
        assert before.end == after.start


def test_marks_fold_into_real_phonemes() -> None:
    spans = fold_alignments(HELLO)
    assert [s.phoneme for s in spans] == ["", "h", "ə", "l", "o", "ʊ", "ð", "ɛ", "ɹ", ""]
    by_phoneme = {s.phoneme: s for s in spans if s.phoneme}
    assert by_phoneme["o"].stressed and by_phoneme["ɛ"].stressed
    assert not by_phoneme["h"].stressed
    # stress time goes to the vowel it marks; the length mark to the vowel before it
    assert by_phoneme["o"].end - by_phoneme["o"].start == 1024 + 1024
    assert by_phoneme["ɛ"].end - by_phoneme["ɛ"].start == 1536 + 1792 + 256
    # the word space is shared by its neighbours
    assert by_phoneme["ʊ"].end - by_phoneme["ʊ"].start == 1280 + 512
    assert by_phoneme["ð"].end - by_phoneme["ð"].start == 1536 + 512


def test_pauses_merge() -> None:
    spans = fold_alignments([("a", 100), (",", 200), (" ", 50), ("b", 100), (".", 80), ("$", 20)])
    assert [(s.phoneme, s.end - s.start) for s in spans] == [
        ("a", 100),
        ("", 250),
        ("b", 100),
        ("", 100),
    ]
