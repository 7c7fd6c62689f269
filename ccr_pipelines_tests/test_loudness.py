"""Loudness per turn, raised voice against the speaker's own baseline, non-talk time and the longest
silence (issue 19): the pure functions the ASR worker runs on the audio it has decoded, on synthetic
signals whose levels are known; and their two datasets, written from the worker's transcript."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ccr_pipelines.core.loudness import FLOOR_DBFS, call_acoustics, dbfs, non_talk, raised_voice
from ccr_pipelines.core.transcripts import Segment
from ccr_pipelines.services.transcribe import ACOUSTICS_DATASET, TURN_LOUDNESS_DATASET, write_tables
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

SR = 16_000


def _tone(amplitude: float, seconds: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_dbfs_of_known_signals():
    assert dbfs(_tone(1.0, 1.0)) == pytest.approx(-3.01, abs=0.02)  # a full-scale sine
    assert dbfs(_tone(0.5, 1.0)) == pytest.approx(-9.03, abs=0.02)  # half the amplitude: -6 dB
    assert dbfs(np.zeros(SR, dtype=np.float32)) == FLOOR_DBFS == dbfs(np.zeros(0))


def test_non_talk_merges_overlaps_and_counts_leading_and_trailing_silence():
    assert non_talk([(1, 2), (1.5, 3), (5, 6)], 10.0) == (7.0, 4.0)  # talk 1-3 and 5-6; last 4 s silent
    assert non_talk([], 12.5) == (12.5, 12.5)
    assert non_talk([(0, 5), (4, 12)], 10.0) == (0.0, 0.0)


def _stereo_call():
    """Agent on the left at amplitude 0.1 for five turns, the fourth at 0.4 (+12 dB: raised); the customer
    on the right at 0.05, steady, with one turn marked no-speech; 2 s of silence between turns."""
    left, right = np.zeros(40 * SR, np.float32), np.zeros(40 * SR, np.float32)
    segs, i = [], 0
    for n, amp in enumerate((0.1, 0.1, 0.1, 0.4, 0.1)):
        a = 1 + 8 * n
        left[a * SR : (a + 3) * SR] = _tone(amp, 3)
        segs.append(Segment(i, "agent", a, a + 3, "x", -0.1, 0.01, 1.0, channel=0, speech_regions=((a, a + 3),)))
        i += 1
        b = a + 4
        right[b * SR : (b + 2) * SR] = _tone(0.05, 2)
        segs.append(
            Segment(
                i,
                "customer",
                b,
                b + 2,
                "y",
                -0.1,
                0.01,
                1.0,
                channel=1,
                speech_regions=((b, b + 2),),
                no_speech=(n == 4),
            )
        )
        i += 1
    return [left, right], segs


def test_a_turn_louder_than_its_speakers_own_baseline_is_a_raised_voice_event():
    channels, segs = _stereo_call()
    ac = call_acoustics(channels, segs, SR)
    assert ac["baseline_dbfs"]["agent"] == pytest.approx(-23.0, abs=0.1)  # 0.1 sine
    assert ac["baseline_dbfs"]["customer"] == pytest.approx(-29.0, abs=0.1)  # quieter, and steady: no event
    [event] = ac["raised_voice"]
    assert (event["speaker"], event["segment_index"], event["start_s"]) == ("agent", 6, 25.0)
    assert event["above_baseline_db"] == pytest.approx(12.0, abs=0.1)
    assert len(ac["turns"]) == 9  # the no-speech segment has no level
    # non-talk: 40 s minus 5 x 3 s agent and 4 x 2 s customer (the no-speech one is silence)
    assert ac["non_talk_s"] == pytest.approx(40 - 15 - 8, abs=0.01)
    assert ac["longest_silence_s"] == pytest.approx(40 - 36, abs=0.01)  # after the last agent turn
    json.dumps(ac)  # plain numbers, written in the transcript as is


def test_a_speaker_with_too_few_turns_has_a_baseline_but_no_event():
    turns = [
        {"segment_index": 0, "speaker": "agent", "start_s": 0, "end_s": 1, "speech_s": 1.0, "dbfs": -30.0},
        {"segment_index": 1, "speaker": "agent", "start_s": 2, "end_s": 3, "speech_s": 1.0, "dbfs": -10.0},
    ]
    baselines, events = raised_voice(turns)
    assert baselines == {"agent": -20.0} and events == []


def test_the_worker_transcripts_acoustics_become_the_call_acoustics_and_turn_loudness_datasets(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    channels, segs = _stereo_call()
    key = "restricted/globex-support/transcripts/2026/11/16/c-1/abc-tiny.json"
    doc = {
        "tenant_id": "globex-support",
        "call_id": "c-1",
        "sha256": "0" * 64,
        "model": {"name": "tiny", "revision": "r", "spec": "s"},
        "compute_type": "int8",
        "device": "cpu",
        "engine_versions": {},
        "language": {"configured": "en", "detected": "en"},
        "audio_seconds": 40.0,
        "processing_seconds": 1.0,
        "speaker_mode": "per_channel",
        "signals": {
            "segments": 10,
            "words": 10,
            "mean_confidence": 0.9,
            "no_speech_share": 0.0,
            "compression_ratio": 1.0,
            "hallucination_suspected": False,
            "language_mismatch": False,
            "words_in_silence_suspected": False,
        },
        "segments": [s.as_row("globex-support", "c-1") for s in segs],
        "acoustics": call_acoustics(channels, segs, SR),
    }
    store.put_bytes(key, json.dumps(doc).encode())
    wh = Warehouse(store)
    out = write_tables(
        store,
        wh,
        "globex-support",
        "2026-11-16",
        [{"call_id": "c-1", "status": "transcribed", "transcript_key": key}],
        "run-1",
    )
    assert out["acoustics_calls"] == 1
    [row] = wh.read_partition(ACOUSTICS_DATASET, "globex-support", "2026-11-16").to_pylist()
    assert (row["agent_raised_voice"], row["customer_raised_voice"]) == (1, 0)
    assert row["non_talk_s"] == pytest.approx(17.0, abs=0.01)
    turns = wh.read_partition(TURN_LOUDNESS_DATASET, "globex-support", "2026-11-16").to_pylist()
    assert [t["segment_index"] for t in turns if t["raised_voice"]] == [6] and len(turns) == 9
    assert "text" not in wh.read_partition(TURN_LOUDNESS_DATASET, "globex-support", "2026-11-16").column_names
