from __future__ import annotations

from merg_sdk.speech.clauses import split_clauses


def test_sentences_become_clauses() -> None:
    assert split_clauses("Hello there, my friend. Maybe we should buy a map!") == [
        "Hello there, my friend.",
        "Maybe we should buy a map!",
    ]


def test_long_sentences_split_at_commas_so_speech_starts_early() -> None:
    clauses = split_clauses("Welcome to the village, traveller; rest by the fire, and sleep.")
    assert clauses[0] == "Welcome to the village, traveller;"
    assert " ".join(clauses) == "Welcome to the village, traveller; rest by the fire, and sleep."


def test_tiny_pieces_stay_with_a_neighbour() -> None:
    assert split_clauses("Oh, I see.") == ["Oh, I see."]
    assert split_clauses("Yes, of course, come in.") == ["Yes, of course, come in."]


def test_whitespace_is_normalised_and_wordless_text_dropped() -> None:
    assert split_clauses("  So   it\n goes.  ") == ["So it goes."]
    assert split_clauses("... !!") == []
