"""Transcription, orchestration side (no torch, no Dagster): choose the calls, and turn the
worker's transcript files into the two tenant-day tables.

- ``transcript_calls`` (datasets zone): one row per call — language, model and
  revision, engine versions, seconds, quality signals, status. No text.
- ``transcript_segments`` (restricted zone, P21): one row per segment with the
  text. Only redaction reads it; analytics read the redacted table.
- ``call_acoustics`` and ``turn_loudness`` (datasets zone, issue 19): non-talk time, longest silence,
  each speaker's loudness baseline and raised-voice events; dBFS per turn. Numbers only.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa

from ..core.catalog import CALL_ACOUSTICS, CALL_MANIFEST, TRANSCRIPT_CALLS, TRANSCRIPT_SEGMENTS, TURN_LOUDNESS
from ..core.lineage import LineageContext, row_uri
from ..stores.control_store import ControlStore
from ..stores.object_store import ObjectStore
from ..stores.warehouse import Warehouse, partition_key

MANIFEST_DATASET = CALL_MANIFEST.name
# The datasets this service writes (core/catalog.py); the names stay for callers that used them.
CALLS_DATASET, CALLS_SCHEMA = TRANSCRIPT_CALLS.name, TRANSCRIPT_CALLS.schema
SEGMENTS_DATASET, SEGMENTS_SCHEMA, SEGMENTS_ZONE = (
    TRANSCRIPT_SEGMENTS.name,
    TRANSCRIPT_SEGMENTS.schema,
    TRANSCRIPT_SEGMENTS.zone,
)

# Issue 19: loudness and non-talk (numbers only, no text: datasets zone), from the worker's "acoustics".
ACOUSTICS_DATASET, ACOUSTICS_SCHEMA = CALL_ACOUSTICS.name, CALL_ACOUSTICS.schema
TURN_LOUDNESS_DATASET, TURN_LOUDNESS_SCHEMA = TURN_LOUDNESS.name, TURN_LOUDNESS.schema


def acoustics_rows(tenant_id: str, call_id: str, day: str, ac: dict) -> tuple[dict, list[dict]]:
    """The worker's acoustics block as one call row and one row per turn."""
    base = ac.get("baseline_dbfs") or {}
    raised = {(e["segment_index"]) for e in ac.get("raised_voice") or []}
    call = {
        "tenant_id": tenant_id,
        "call_id": call_id,
        "day": day,
        "acoustics_version": ac.get("version"),
        "duration_s": ac.get("duration_s"),
        "non_talk_s": ac.get("non_talk_s"),
        "longest_silence_s": ac.get("longest_silence_s"),
        "agent_baseline_dbfs": base.get("agent"),
        "customer_baseline_dbfs": base.get("customer"),
        **{
            f"{sp}_raised_voice": sum(1 for e in ac.get("raised_voice") or [] if e["speaker"] == sp)
            for sp in ("agent", "customer")
        },
    }
    turns = [
        {
            "tenant_id": tenant_id,
            "call_id": call_id,
            **{k: t[k] for k in ("segment_index", "speaker", "start_s", "end_s", "speech_s", "dbfs")},
            "above_baseline_db": round(t["dbfs"] - base[t["speaker"]], 2) if t["speaker"] in base else None,
            "raised_voice": t["segment_index"] in raised,
        }
        for t in ac.get("turns") or []
    ]
    return call, turns


def calls_to_transcribe(
    warehouse: Warehouse, tenant_id: str, day: str, call_ids: list[str] | None = None
) -> list[dict]:
    """Manifest rows of the tenant-day (optionally a subset), in the shape the worker takes."""
    table = warehouse.read_partition(MANIFEST_DATASET, tenant_id, day)
    if table is None:
        return []
    wanted = set(call_ids) if call_ids else None
    out = []
    columns = ["call_id", "audio_key", "sha256", "channels", "language", "day", "duration_s", "direction"]
    for r in table.select([c for c in columns if c in table.column_names]).to_pylist():
        if wanted is None or r["call_id"] in wanted:
            out.append(r)
    return out


def _merge(
    warehouse: Warehouse,
    dataset: str,
    tenant_id: str,
    day: str,
    rows: list[dict],
    schema: pa.Schema,
    *,
    zone: str,
    replace_calls: set[str],
):
    existing = warehouse.read_partition(dataset, tenant_id, day, zone=zone)
    kept = [r for r in (existing.to_pylist() if existing is not None else []) if r["call_id"] not in replace_calls]
    merged = sorted(kept + rows, key=lambda r: (r["call_id"], r.get("segment_index", 0)))
    return warehouse.write_partition(dataset, tenant_id, day, pa.Table.from_pylist(merged, schema=schema), zone=zone)


def write_tables(
    store: ObjectStore,
    warehouse: Warehouse,
    tenant_id: str,
    day: str,
    results: list[dict],
    run_id: str,
    *,
    control: ControlStore | None = None,
    lineage: LineageContext | None = None,
) -> dict:
    """Build both tables from the worker's per-call results; returns counts (numbers only).

    With *control* and *lineage*, writes one lineage row per transcribed call (P9: model and
    engine versions; P2: region) right after the tables it describes."""
    now = datetime.now(UTC)
    call_rows, seg_rows, ac_rows, turn_rows = [], [], [], []
    for res in results:
        base = {
            "tenant_id": tenant_id,
            "call_id": res["call_id"],
            "day": day,
            "status": res["status"],
            "failure_reason": res.get("reason"),
            "run_id": run_id,
            "transcribed_at": now,
        }
        if res["status"] == "failed":
            call_rows.append(base)
            continue
        doc = json.loads(store.get_bytes(res["transcript_key"]))
        if doc["tenant_id"] != tenant_id:  # P4: never mix tenants, even on a routing bug
            raise ValueError("a transcript of another tenant was returned for this batch")
        sig = doc["signals"]
        call_rows.append(
            {
                **base,
                "status": "transcribed",
                "sha256": doc["sha256"],
                "transcript_key": res["transcript_key"],
                "model_name": doc["model"]["name"],
                "model_revision": doc["model"]["revision"],
                "compute_type": doc["compute_type"],
                "device": doc["device"],
                "engine_versions": json.dumps(doc["engine_versions"], sort_keys=True),
                "language_configured": doc["language"]["configured"],
                "language_detected": doc["language"]["detected"],
                "speaker_mode": doc["speaker_mode"],
                "role_confidence": (doc.get("diarization") or {}).get("role_confidence"),
                "audio_seconds": doc["audio_seconds"],
                "processing_seconds": doc["processing_seconds"],
                "segments": sig["segments"],
                "words": sig["words"],
                "mean_confidence": sig["mean_confidence"],
                "no_speech_share": sig["no_speech_share"],
                "compression_ratio": sig["compression_ratio"],
                "hallucination_suspected": sig["hallucination_suspected"],
                "language_mismatch": sig["language_mismatch"],
                "words_in_silence_suspected": sig["words_in_silence_suspected"],
            }
        )
        seg_rows.extend(doc["segments"])
        if doc.get("acoustics"):  # transcripts written before issue 19 have none
            ac_call, ac_turns = acoustics_rows(tenant_id, res["call_id"], day, doc["acoustics"])
            ac_rows.append(ac_call)
            turn_rows.extend(ac_turns)
    touched = {r["call_id"] for r in call_rows}
    calls_obj = (
        _merge(
            warehouse, CALLS_DATASET, tenant_id, day, call_rows, CALLS_SCHEMA, zone="datasets", replace_calls=touched
        )
        if call_rows
        else None
    )
    done = {r["call_id"] for r in call_rows if r["status"] == "transcribed"}
    seg_obj = (
        _merge(
            warehouse,
            SEGMENTS_DATASET,
            tenant_id,
            day,
            seg_rows,
            SEGMENTS_SCHEMA,
            zone=SEGMENTS_ZONE,
            replace_calls=done,
        )
        if done
        else None
    )
    if ac_rows:
        _merge(
            warehouse,
            ACOUSTICS_DATASET,
            tenant_id,
            day,
            ac_rows,
            ACOUSTICS_SCHEMA,
            zone="datasets",
            replace_calls={r["call_id"] for r in ac_rows},
        )
        _merge(
            warehouse,
            TURN_LOUDNESS_DATASET,
            tenant_id,
            day,
            turn_rows,
            TURN_LOUDNESS_SCHEMA,
            zone="datasets",
            replace_calls={r["call_id"] for r in ac_rows},
        )
    if control is not None and lineage is not None and done:
        manifest_uri = store.uri(partition_key(MANIFEST_DATASET, tenant_id, day))
        control.record_lineage(
            [
                lineage.row(
                    tenant_id=tenant_id,
                    call_id=r["call_id"],
                    kind="transcript",
                    uri=store.uri(r["transcript_key"]),
                    source_uri=row_uri(manifest_uri, r["call_id"]),
                    model_version=f"{r['model_name']}@{r['model_revision']}"[:200],
                    engine=f"whisperx {r['engine_versions']} on {r['device']}/{r['compute_type']}"[:200],
                    sha256=r["sha256"],
                )
                for r in call_rows
                if r["status"] == "transcribed"
            ]
        )
    return {
        "calls": len(call_rows),
        # counts that count: a call whose transcript already existed (same audio, same model) is
        # "skipped", not transcribed again, though its rows are rewritten
        "transcribed": sum(1 for r in results if r["status"] == "transcribed"),
        "skipped": sum(1 for r in results if r["status"] == "skipped"),
        "failed": sum(1 for r in call_rows if r["status"] == "failed"),
        "segments": len(seg_rows),
        "acoustics_calls": len(ac_rows),
        "calls_object": calls_obj.key if calls_obj else "",
        "segments_object": seg_obj.key if seg_obj else "",
    }
