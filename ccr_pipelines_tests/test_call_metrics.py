"""call_metrics from speech regions, computed in DuckDB, checked against a hand-worked call."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ccr_pipelines.services.metrics import compute_metrics

SEG_SCHEMA = pa.schema(
    [
        ("call_id", pa.string()),
        ("speaker", pa.string()),
        ("text", pa.string()),
        ("speech_regions", pa.list_(pa.list_(pa.float64()))),
    ]
)
MAN_SCHEMA = pa.schema(
    [
        ("tenant_id", pa.string()),
        ("call_id", pa.string()),
        ("day", pa.string()),
        ("agent_id", pa.string()),
        ("team", pa.string()),
        ("channels", pa.int8()),
        ("duration_s", pa.float64()),
    ]
)


def _tables(segments, calls):
    return (
        pa.Table.from_pylist(segments, schema=SEG_SCHEMA),
        pa.Table.from_pylist(
            [
                {"tenant_id": "t-1", "day": "2026-11-16", "agent_id": "ag-1", "team": "x", "channels": 2, **c}
                for c in calls
            ],
            schema=MAN_SCHEMA,
        ),
    )


def test_metrics_of_a_hand_worked_stereo_call():
    segs, man = _tables(
        [
            # one agent segment spanning two speech regions (packed window), text of 3 words
            {"call_id": "c-1", "speaker": "agent", "text": "one two three", "speech_regions": [[0, 10], [20, 30]]},
            {"call_id": "c-1", "speaker": "customer", "text": "a b", "speech_regions": [[9, 15]]},
            {"call_id": "c-1", "speaker": "customer", "text": "c", "speech_regions": [[35, 40]]},
        ],
        [{"call_id": "c-1", "duration_s": 60.0}],
    )
    [m] = compute_metrics(segs, man).to_pylist()
    assert (m["agent_talk_s"], m["customer_talk_s"], m["unknown_talk_s"]) == (20, 11, 0)
    assert m["agent_talk_ratio"] == pytest.approx(20 / 31)
    assert m["non_talk_s"] == 30  # union of speech = [0,15] + [20,30] + [35,40]
    assert m["longest_gap_s"] == 20  # the silent tail 40 -> 60
    assert m["overlap_s"] == 1 and m["interruptions"] == 1  # customer starts at 9 while the agent talks to 10
    assert m["turns"] == 3
    assert m["longest_monologue_s"] == 10 and m["longest_monologue_speaker"] == "agent"
    assert m["agent_wpm"] == pytest.approx(9.0) and m["customer_wpm"] == pytest.approx(60 * 3 / 11)
    assert m["words"] == 6 and isinstance(m["words"], int)


def test_consecutive_regions_of_one_speaker_make_one_monologue_and_mono_calls_have_no_overlap():
    segs, man = _tables(
        [
            {"call_id": "c-2", "speaker": "unknown", "text": "hello", "speech_regions": [[1, 5], [5.5, 12]]},
        ],
        [{"call_id": "c-2", "duration_s": 12.0}, {"call_id": "c-3", "duration_s": 5.0}],
    )
    rows = compute_metrics(segs, man).to_pylist()
    assert [r["call_id"] for r in rows] == ["c-2"]  # calls without segments get no metrics row
    [m] = rows
    assert m["unknown_talk_s"] == pytest.approx(10.5) and m["agent_talk_ratio"] is None
    assert m["longest_monologue_s"] == pytest.approx(11.0) and m["turns"] == 0 and m["overlap_s"] == 0
    assert m["longest_gap_s"] == pytest.approx(1.0) and m["non_talk_s"] == pytest.approx(1.5)
