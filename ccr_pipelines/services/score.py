"""Call scoring step (P15, P23): redacted segments + scorecard -> call_scores, review queue."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..core.catalog import CALL_MANIFEST, CALL_SCORE_STEPS, CALL_SCORES, REDACTED_SEGMENTS, TRANSCRIPT_CALLS
from ..core.batch_scoring import score_segments
from ..core.lineage import LineageContext, row_uri
from ..core.scorecards import Scorecard
from ..core.tenants import Tenant
from ..loaders.config_files import load_scorecard
from ..stores import review_queue
from ..stores.control_store import ControlStore
from ..stores.warehouse import Warehouse, partition_key

MANIFEST_DATASET, REDACTED_DATASET, CALLS_DATASET = CALL_MANIFEST.name, REDACTED_SEGMENTS.name, TRANSCRIPT_CALLS.name
# The datasets this service writes (core/catalog.py); the names stay for callers that used them.
SCORES_DATASET, SCORES_SCHEMA = CALL_SCORES.name, CALL_SCORES.schema
STEPS_DATASET, STEPS_SCHEMA = CALL_SCORE_STEPS.name, CALL_SCORE_STEPS.schema
PACKAGED_SCORECARDS = Path(__file__).resolve().parents[1] / "config" / "scorecards"


def scorecards_dir() -> Path:
    return Path(os.environ.get("CCR_SCORECARDS_DIR") or PACKAGED_SCORECARDS)


def scorecard_for(tenant: Tenant) -> Scorecard:
    return load_scorecard(scorecards_dir() / f"{tenant.scorecard}.yaml")


def score_partition(warehouse: Warehouse, control: ControlStore, tenant: Tenant, day: str, *,
                    lineage: LineageContext | None = None) -> dict:
    """Score a tenant-day with the vectorised scorer (core/batch_scoring.py): the same results as
    ``score_call`` per call (tested), without a Python loop per call. With *lineage*, one lineage
    row per call with model, scorer and scorecard versions (P13, P15)."""
    card = scorecard_for(tenant)
    segs = warehouse.read_partition(REDACTED_DATASET, tenant.id, day)
    if segs is None:
        return {"calls": 0, "scorecard_version": card.version_tag}
    if segs.num_rows and pc.any(pc.fill_null(pc.not_equal(segs.column("tenant_id"), tenant.id), True)).as_py():  # P4
        raise ValueError("redacted partition holds another tenant's rows")
    calls_meta = warehouse.read_partition(CALLS_DATASET, tenant.id, day)
    meta = calls_meta.select(["call_id", "mean_confidence", "model_revision"]) if calls_meta is not None else None
    asr = dict(zip(meta.column("call_id").to_pylist(), meta.column("mean_confidence").to_pylist())) if meta else {}
    manifest = warehouse.read_partition(MANIFEST_DATASET, tenant.id, day)
    notice = (dict(zip(manifest.column("call_id").to_pylist(), manifest.column("recording_notice").to_pylist()))
              if manifest is not None and "recording_notice" in manifest.column_names else {})
    scores, steps = score_segments(card, segs, uses_virtual_agents=tenant.uses_virtual_agents, asr_confidence=asr,
                                   recording_notice=notice)
    n = scores.num_rows
    if meta is not None and n:
        revisions = dict(zip(meta.column("call_id").to_pylist(), meta.column("model_revision").to_pylist()))
        model_revision = [revisions.get(c) for c in scores.column("call_id").to_pylist()]
    else:
        model_revision = [None] * n
    asr_col = [asr.get(c) for c in scores.column("call_id").to_pylist()]
    const = (lambda v: pa.array([v] * n, pa.string()))
    score_table = pa.table({
        "tenant_id": const(tenant.id), "call_id": scores["call_id"], "day": const(day),
        **{k: scores[k] for k in ("score", "auto_failed", "needs_review", "review_reasons", "review_status", "confidence")},
        "asr_confidence": pa.array(asr_col, pa.float64()), "scorer_version": scores["scorer_version"],
        "scorecard_version": scores["scorecard_version"], "model_revision": pa.array(model_revision, pa.string()),
        "results_json": scores["results_json"]}, schema=SCORES_SCHEMA)
    m = steps.num_rows
    step_table = pa.table({
        "tenant_id": pa.array([tenant.id] * m, pa.string()), "call_id": steps["call_id"],
        "day": pa.array([day] * m, pa.string()),
        **{k: steps[k] for k in ("question", "step", "section", "status", "points", "possible", "evidence_segment",
                                 "evidence_start_s", "similarity")},
        "scorecard_version": pa.array([card.version_tag] * m, pa.string())}, schema=STEPS_SCHEMA)
    info = warehouse.write_partition(SCORES_DATASET, tenant.id, day, score_table)
    warehouse.write_partition(STEPS_DATASET, tenant.id, day, step_table)
    review = score_table.filter(score_table.column("needs_review"))
    queue = list(zip(review.column("call_id").to_pylist(), review.column("review_reasons").to_pylist(),
                     review.column("score").to_pylist()))
    queued = _enqueue(control, tenant.id, queue)
    if lineage is not None:
        out_uri = warehouse.store.uri(info.key)
        src_uri = warehouse.store.uri(partition_key(REDACTED_DATASET, tenant.id, day))
        cols = score_table.select(["call_id", "model_revision", "scorer_version", "scorecard_version"]).to_pylist()
        control.record_lineage([lineage.row(tenant_id=tenant.id, call_id=r["call_id"], kind="call_score",
                                            uri=row_uri(out_uri, r["call_id"]), source_uri=row_uri(src_uri, r["call_id"]),
                                            model_version=r["model_revision"], scorer_version=r["scorer_version"],
                                            scorecard_version=r["scorecard_version"])
                                for r in cols])
    return {"calls": n, "needs_review": len(queue), "queued_new": queued,
            "auto_failed": pc.sum(scores["auto_failed"].cast(pa.int64())).as_py() or 0,
            "mean_score": round(sum(scores["score"].to_pylist()) / n, 2) if n else 0.0,
            "scorecard_version": card.version_tag}


def _enqueue(control: ControlStore, tenant_id: str, items: list[tuple[str, list[str], float]]) -> int:
    """P15: calls needing a human land in review_queue; an already reviewed call is left as decided."""
    return review_queue.enqueue(control, tenant_id, items)
