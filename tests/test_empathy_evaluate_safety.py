"""`merg evaluate-safety`: reads both set shapes, scores a detector, refuses bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from merg_sdk.empathy.evaluate_safety import load_labelled_set, report, score
from merg_sdk.empathy.safety import SafetyFlag, check_safety

ROOT = Path(__file__).resolve().parent.parent


def test_both_shapes_load(tmp_path: Path) -> None:
    nested = tmp_path / "nested.yaml"
    nested.write_text(
        "crisis:\n  - {text: 'I want to die', category: suicide, borderline: true}\n"
        "safe:\n  - {text: 'my phone died', theme: devices}\n  - {text: 'hi'}\n"
    )
    items = load_labelled_set(nested)
    assert [(i.category, i.group, i.borderline) for i in items] == [
        ("suicide", "suicide", True),
        ("none", "devices", False),
        ("none", "unspecified", False),
    ]
    held = load_labelled_set(ROOT / "tests" / "data" / "safety_heldout.yaml")
    assert {i.category for i in held} == {"none", "suicide", "self_harm", "abuse", "danger"}


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("crisis:\n  - {text: 'x', category: sadness}\n", "unknown categories"),
        ("crisis: []\nsafe: []\n", "no items"),
        ("crisis:\n  - {text: '', category: abuse}\n", "at least 1 character"),
        ("safe: [oops\n", "cannot read"),
    ],
)
def test_a_bad_set_is_refused_with_the_reason(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ValueError, match=complaint):
        load_labelled_set(path)


def test_scores_count_misses_false_alarms_and_categories(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text(
        "crisis:\n"
        "  - {text: 'I am going to kill myself tonight', category: suicide}\n"
        "  - {text: 'lovely weather for a walk', category: abuse}\n"
        "safe:\n"
        "  - {text: 'the bread is in the oven', theme: cooking}\n"
        "  - {text: 'I want to kill myself, said the character', theme: fiction}\n"
    )
    scores = score(load_labelled_set(path), check_safety)
    assert scores.crisis == {"suicide": 1, "abuse": 1} and scores.caught == {"suicide": 1}
    assert scores.recall == 0.5 and scores.right_category == 1
    assert [m.text for m in scores.misses] == ["lovely weather for a walk"]
    assert scores.safe == {"cooking": 1, "fiction": 1}
    flagged = [item.group for item, _ in scores.false_alarms]
    assert scores.false_alarm_rate == len(flagged) / 2 and "cooking" not in flagged
    console = Console(record=True, width=120)
    report(scores, console, show_items=True)
    text = console.export_text()
    assert "recall, any category" in text and "1 / 2" in text
    assert "missed abuse: lovely weather for a walk" in text


def test_items_stay_hidden_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "set.yaml"
    path.write_text("crisis:\n  - {text: 'secret wording here', category: danger}\n")

    def never(_: str) -> SafetyFlag | None:
        return None

    console = Console(record=True, width=120)
    report(score(load_labelled_set(path), never), console)
    assert "secret wording" not in console.export_text()


def test_the_command_runs_the_servers_detector(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from merg_sdk.cli import app

    path = tmp_path / "set.yaml"
    path.write_text(
        "crisis:\n  - {text: 'I am going to kill myself tonight', category: suicide}\n"
        "safe:\n  - {text: 'what time does the library open', theme: small_talk}\n"
    )
    result = CliRunner().invoke(app, ["evaluate-safety", str(path)])
    assert result.exit_code == 0, result.output
    assert "recall, any category" in result.output and "1 / 1" in result.output
    assert "0 / 1" in result.output  # the library question is not an alarm
    bad = tmp_path / "bad.yaml"
    bad.write_text("crisis:\n  - {text: 'x', category: sadness}\n")
    refused = CliRunner().invoke(app, ["evaluate-safety", str(bad)])
    assert refused.exit_code == 2 and "sadness" in refused.output
