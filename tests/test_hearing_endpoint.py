"""The endpointer as a pure state machine: VAD probabilities in, turn events out."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from merg_sdk.perception.hearing.endpoint import Endpointer, EndpointSettings, EndpointState
from merg_sdk.perception.hearing.events import EndReason, FalseStart, SpeechEnded, SpeechStarted
from merg_sdk.perception.hearing.vad import WINDOW_S


def windows(seconds: float) -> int:
    return round(seconds / WINDOW_S)


def run(endpointer: Endpointer, *runs: tuple[float, float]) -> list[tuple[int, object]]:
    """Feed (probability, seconds) runs; return (window index at emission, event)."""
    emitted = []
    for probability, seconds in runs:
        for _ in range(windows(seconds)):
            event = endpointer.step(probability)
            if event is not None:
                emitted.append((endpointer.windows, event))
    return emitted


def test_onset_is_reported_at_its_start_once_min_speech_is_heard() -> None:
    endpointer = Endpointer(EndpointSettings(sentence_end_silence_ms=None))
    emitted = run(endpointer, (0.0, 0.992), (0.9, 2.016), (0.02, 1.0))
    (onset_at, onset), (end_at, end) = emitted
    assert onset == SpeechStarted(pytest.approx(0.992))
    assert (onset_at - windows(0.992)) * WINDOW_S == pytest.approx(0.256)  # 8 windows heard
    assert end == SpeechEnded(pytest.approx(3.008), EndReason.SILENCE)
    assert (end_at * WINDOW_S - 3.008) == pytest.approx(0.576)  # 550 ms rounded up to windows
    assert endpointer.state is EndpointState.SILENT


def test_a_short_voiced_burst_is_a_false_start_not_an_onset() -> None:
    endpointer = Endpointer()
    emitted = [event for _, event in run(endpointer, (0.0, 0.5), (0.95, 0.16), (0.0, 1.0))]
    assert emitted == [FalseStart(pytest.approx(0.512), pytest.approx(0.16))]


def test_pauses_inside_an_utterance_and_soft_windows_do_not_end_it() -> None:
    endpointer = Endpointer(EndpointSettings(sentence_end_silence_ms=None))
    emitted = run(
        endpointer,
        (0.9, 1.0),
        (0.1, 0.4),  # a thinking pause shorter than end_silence_ms
        (0.9, 0.5),
        (0.4, 1.0),  # between the thresholds: still speech (hysteresis)
        (0.9, 0.3),
        (0.0, 1.0),
    )
    kinds = [type(event) for _, event in emitted]
    assert kinds == [SpeechStarted, SpeechEnded]
    assert emitted[1][1].t_s == pytest.approx(3.2, abs=2 * WINDOW_S)


def test_a_complete_sentence_ends_the_turn_after_the_shorter_silence() -> None:
    endpointer = Endpointer(EndpointSettings(end_silence_ms=600, sentence_end_silence_ms=300))
    run(endpointer, (0.9, 1.0), (0.0, 0.1))
    endpointer.sentence_complete = True
    emitted = run(endpointer, (0.0, 1.0))
    end_at, end = emitted[0]
    assert end.reason is EndReason.SENTENCE_END
    assert (end_at * WINDOW_S - end.t_s) == pytest.approx(0.32)
    # speech after the flag clears it: the next pause waits the full end_silence_ms
    run(endpointer, (0.9, 1.0), (0.0, 0.05))
    endpointer.sentence_complete = True
    run(endpointer, (0.9, 0.1))
    assert not endpointer.sentence_complete


def test_endless_speech_is_cut_at_max_length_and_a_new_utterance_follows() -> None:
    endpointer = Endpointer(EndpointSettings(max_utterance_s=2.0))
    emitted = run(endpointer, (0.9, 5.0))
    kinds = [(type(event), getattr(event, "reason", None)) for _, event in emitted]
    assert kinds[:3] == [
        (SpeechStarted, None),
        (SpeechEnded, EndReason.MAX_LENGTH),
        (SpeechStarted, None),
    ]
    assert emitted[1][1].t_s == pytest.approx(2.0, abs=WINDOW_S)


def test_flush_closes_an_open_utterance_or_onset() -> None:
    endpointer = Endpointer()
    run(endpointer, (0.9, 1.0))
    assert endpointer.flush() == SpeechEnded(pytest.approx(1.0, abs=WINDOW_S), EndReason.STREAM_END)
    run(endpointer, (0.0, 0.2), (0.9, 0.1))
    assert isinstance(endpointer.flush(), FalseStart)
    assert endpointer.flush() is None


def test_settings_are_validated() -> None:
    with pytest.raises(ValidationError):
        EndpointSettings(threshold=0.3, neg_threshold=0.4)
    with pytest.raises(ValidationError):
        EndpointSettings(end_silence_ms=0)
