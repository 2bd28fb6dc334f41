"""Piper's per-symbol sample counts -> phonemes a face can articulate.

Piper times every symbol it feeds the network, including ones that are not
sounds: stress marks (their time belongs to the vowel they mark), the length
mark (belongs to the vowel before), word spaces (shared by the neighbours),
and sentence/pause symbols (silence). This folds them into real phonemes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from merg_sdk.speech.base import TimedPhoneme

STRESS_MARKS = frozenset("ˈˌ")
LENGTH_MARKS = frozenset("ːˑ")
PAUSES = frozenset("^$.,;:!?…—–-\"'()[]")
WORD_SPACE = " "


def fold_alignments(symbols: Iterable[tuple[str, int]]) -> tuple[TimedPhoneme, ...]:
    """Turn (symbol, sample count) pairs into contiguous phonemes and pauses ("")."""
    units: list[list] = []  # [phoneme, samples, stressed]
    stress_carry = 0
    stressed_next = False
    for symbol, samples in symbols:
        samples = int(samples)
        if symbol in STRESS_MARKS:
            stress_carry += samples
            stressed_next = stressed_next or symbol == "ˈ"
        elif symbol in LENGTH_MARKS or (units and unicodedata.combining(symbol[:1] or " ")):
            _grow_last(units, samples)
        elif symbol == WORD_SPACE:
            units.append([WORD_SPACE, samples, False])
        elif symbol in PAUSES or not symbol.strip():
            units.append(["", samples + stress_carry, False])
            stress_carry, stressed_next = 0, False
        else:
            units.append([symbol, samples + stress_carry, stressed_next])
            stress_carry, stressed_next = 0, False
    if stress_carry:
        _grow_last(units, stress_carry)
    return _to_spans(_share_word_spaces(units))


def _grow_last(units: list[list], samples: int) -> None:
    if units:
        units[-1][1] += samples
    else:
        units.append(["", samples, False])


def _share_word_spaces(units: list[list]) -> list[list]:
    """A space between two sounds is coarticulation time: split it between them."""
    shared: list[list] = []
    for index, unit in enumerate(units):
        if unit[0] != WORD_SPACE:
            shared.append(unit)
            continue
        before = shared[-1] if shared else None
        after = units[index + 1] if index + 1 < len(units) else None
        if before is not None and before[0] and after is not None and after[0] not in ("",):
            half = unit[1] // 2
            before[1] += half
            after[1] += unit[1] - half
        elif before is not None and not before[0]:
            before[1] += unit[1]
        else:
            shared.append(["", unit[1], False])
    merged: list[list] = []
    for unit in shared:
        if merged and not unit[0] and not merged[-1][0]:
            merged[-1][1] += unit[1]
        else:
            merged.append(unit)
    return merged


def _to_spans(units: list[list]) -> tuple[TimedPhoneme, ...]:
    spans = []
    position = 0
    for phoneme, samples, stressed in units:
        spans.append(TimedPhoneme(phoneme, position, position + samples, stressed))
        position += samples
    return tuple(spans)
