"""Guard rails on a small LLM's clauses, the streaming clause splitter, and fallbacks."""

from __future__ import annotations

from merg_sdk.empathy.guard import ReplyGuard, fallback_reply
from merg_sdk.empathy.responder import ClauseSplitter
from merg_sdk.empathy.tables import load_strategies


def test_clean_clauses_pass_and_bad_ones_are_named() -> None:
    guard = ReplyGuard("My dog died.", previous_replies=["I am so sorry about your dog."])
    assert guard.check("That must hurt a lot.").ok
    for clause, reason in [
        ("User: tell me more", "prompt or markup leaked"),
        ("(They feel sad. [plan])", "prompt or markup leaked"),
        ("As an AI language model I cannot feel.", "prompt or markup leaked"),
        ("You should kill yourself.", "harmful content"),
        ("so so so sad", "repeats a word"),
        ("I am so sorry about your dog.", "repeats earlier words"),
        ("word " * 45, "clause too long"),
    ]:
        verdict = guard.check(clause)
        assert not verdict.ok and verdict.reason == reason, clause


def test_off_topic_first_clause_is_rejected_with_a_relevance_measure() -> None:
    overlap = lambda a, b: len(set(a.lower().split()) & set(b.lower().split())) / 5  # noqa: E731
    guard = ReplyGuard("I lost my job today", relevance=overlap)
    assert guard.check("The capital of France is Paris.").reason == "off topic"
    assert guard.check("Losing my job today would scare me too.").ok


def test_the_splitter_streams_clauses_as_soon_as_they_end() -> None:
    splitter = ClauseSplitter()
    out: list[str] = []
    for delta in ["I'm", " so", " sorry", " to hear", " that,", " truly", ".", " It", " hurts"]:
        out += splitter.push(delta)
    assert out == ["I'm so sorry to hear that,", "truly."]
    assert splitter.finish() == ["It hurts"]


def test_every_strategy_has_a_fallback_that_fills_its_slots() -> None:
    for strategy in load_strategies().strategies:
        text = fallback_reply(strategy, "sad", "losing your job", seed=1)
        assert "{" not in text and len(text.split()) >= 4
    assert "{" not in fallback_reply("Question", "", None, seed=2)


def test_good_news_gets_a_glad_fallback_and_the_cause_keeps_its_subject() -> None:
    from merg_sdk.empathy.guard import second_person
    from merg_sdk.empathy.tables import load_fallbacks

    assert second_person("got the job at the animal shelter") == (
        "you got the job at the animal shelter"
    )
    assert second_person("my dog died") == "your dog died"
    assert second_person("was fired on Monday") == "you were fired on Monday"
    for strategy, lines in load_fallbacks().items():
        for seed in range(4):
            glad = fallback_reply(strategy, "excited", "got the job", seed, glad=True)
            assert "{" not in glad and "hardest" not in glad and "coping" not in glad
            if lines.glad_with_cause:
                assert glad in {
                    t.format(feeling="excited", cause="you got the job")
                    for t in lines.glad_with_cause
                }
    sad = {fallback_reply("Question", "sad", "lost my job", seed) for seed in range(8)}
    assert any("hardest part since you lost your job" in line for line in sad)


def test_a_short_stock_lead_in_is_dropped_once_but_a_long_detour_ends_the_llm() -> None:
    from merg_sdk.empathy.responder import ReplyOutcome, _skippable

    short = "I see, I understand your perspective,"
    long = "It is a huge responsibility to run a bakery in the old town these days."
    off = ReplyOutcome(rejected=f"off topic: {short!r}")
    assert _skippable(off, spoken=0, skipped=0, clause=short)
    assert not _skippable(off, spoken=0, skipped=1, clause=short)  # only once
    assert not _skippable(off, spoken=1, skipped=0, clause=short)  # only before any clause
    assert not _skippable(ReplyOutcome(rejected=f"off topic: {long!r}"), 0, 0, long)
    assert _skippable(ReplyOutcome(rejected="repeats earlier words: 'x'"), 0, 0, long)
    assert not _skippable(ReplyOutcome(rejected="harmful content: 'x'"), 0, 0, "x y")
