"""The phoneme map: coverage of Piper's en-us symbols, classes, fallbacks."""

from pathlib import Path

import pytest

from merg_sdk.motion import load_rig
from merg_sdk.motion.phonemes import load_phoneme_map, load_phoneme_map_file

PIPER_EN_US = [
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
    "ʒ",
    "tʃ",
    "dʒ",
    "k",
    "ɡ",
    "g",
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
    "ɜ",
    "ᵻ",
    "ɾ",
    "ʔ",
]
VISEMES = load_rig("visemes").names


def viseme(symbol: str) -> str:
    return VISEMES[load_phoneme_map().lookup(symbol).viseme]


def test_every_piper_en_us_symbol_is_mapped() -> None:
    pmap = load_phoneme_map()
    assert [s for s in PIPER_EN_US if s not in pmap] == []


def test_key_visemes() -> None:
    assert [viseme(s) for s in ["p", "b", "m", "f", "v", "θ", "s", "ʃ", "k", "ɹ"]] == [
        "PP", "PP", "PP", "FF", "FF", "TH", "SS", "CH", "kk", "RR",
    ]  # fmt: skip
    assert [viseme(s) for s in ["a", "ɑ", "æ", "ʌ", "i", "ɪ", "ɛ", "o", "u", "ʊ", "w"]] == [
        "aa", "aa", "aa", "aa", "ih", "ih", "E", "oh", "ou", "ou", "ou",
    ]  # fmt: skip


def test_classes_encode_articulation() -> None:
    look = load_phoneme_map().lookup
    p, f, a, u, h, schwa, t = (look(s) for s in ["p", "f", "a", "u", "h", "ə", "t"])
    assert p.closure and look("m").closure and not f.closure
    assert p.strength > f.strength > a.strength  # lips must close; lip-teeth strong
    assert p.rate > a.rate > u.rate  # bilabials narrow; rounding spreads wide
    assert max(h.strength, schwa.strength) < t.strength  # weak: take neighbours' shape
    assert all(look(s).open_jaw for s in ["a", "ɑ", "æ", "ʌ", "ɔ"])
    assert not look("i").open_jaw


def test_unknown_and_marked_symbols_never_raise() -> None:
    pmap = load_phoneme_map()
    assert pmap.lookup("ʘ") == pmap.default
    assert pmap.lookup("") == pmap.silence and pmap.silence.silence
    assert pmap.lookup("ˈa") == pmap.lookup("a") == pmap.lookup("aː")
    assert pmap.lookup("ˈ") == pmap.silence


def test_map_file_with_unknown_viseme_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "map.yaml"
    path.write_text(
        "default: {viseme: DD, class: c}\n"
        "classes:\n"
        "  s: {strength: 1, rate: 1, silence: true, phonemes: {'': sil}}\n"
        "  c: {strength: 1, rate: 1, phonemes: {p: PPP}}\n"
    )
    with pytest.raises(ValueError, match="'PPP' is not a viseme"):
        load_phoneme_map_file(path)
