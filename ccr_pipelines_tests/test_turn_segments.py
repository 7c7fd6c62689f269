"""Turn-level segments (issue 17): the words of a packed decoding window go back to their own speech
regions, so a channel comes back as turns with real times (pure parts; the real-model check is in
test_transcribe.py)."""

from __future__ import annotations

from ccr_pipelines.asr.engine import join_regions, pack_regions, place_spans
from ccr_pipelines.core.transcripts import boundaries_within, turns


def test_words_go_to_the_region_they_were_said_in_and_the_text_is_unchanged():
    window = [(0.0, 2.0), (5.0, 7.0), (7.1, 8.0)]  # packed at 0-2, 2.3-4.3, 4.6-5.5 (0.3 s gaps)
    words = [
        (0.1, 0.5, " Hello"),
        (0.5, 0.6, ","),
        (0.6, 1.9, " there"),
        (2.0, 2.5, "."),
        (2.4, 3.0, " Next"),
        (3.0, 4.2, " turn"),
        (4.7, 5.2, " end"),
    ]
    texts = place_spans(window, words)
    assert texts == [" Hello, there.", " Next turn", " end"]  # the late "." stays with its sentence
    assert "".join(texts) == "".join(w for _, _, w in words)
    # regions 0.1 s apart (the VAD cuts at its window edges) are one stretch of speech
    assert join_regions(window, texts) == [([(0.0, 2.0)], "Hello, there."), ([(5.0, 7.0), (7.1, 8.0)], "Next turn end")]


def test_without_word_times_the_words_are_shared_by_region_duration():
    window = [(0.0, 2.0), (10.0, 14.0)]
    assert place_spans(window, [(0.0, float("inf"), " one two three four five six")]) == [
        " one two",
        " three four five six",
    ]
    assert join_regions(window, ["", " x"]) == [([(10.0, 14.0)], "x")]  # a region without words: no segment
    assert [len(w) for w in pack_regions([(0, 10), (12, 22), (30, 41)])] == [2, 1]


def test_turn_boundaries_are_scored_per_speaker_start_and_end():
    truth = turns(
        [
            {"speaker": "agent", "start_s": 0.3, "end_s": 3.0},
            {"speaker": "agent", "start_s": 3.6, "end_s": 5.0},
            {"speaker": "customer", "start_s": 5.6, "end_s": 8.0},
        ]
    )
    assert truth == [("agent", 0.3, 5.0), ("customer", 5.6, 8.0)]
    assert boundaries_within(truth, [("agent", 0.0, 5.2), ("customer", 6.3, 8.1)], 0.5) == (3, 4)
