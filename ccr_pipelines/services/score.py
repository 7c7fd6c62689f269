"""Call scoring step (P15, P23): redacted segments + scorecard -> call_scores, review queue."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from ..core.lineage import LineageContext, row_uri
from ..core.scorecards import Scorecard, load_scorecard, score_call
from ..core.tenants import Tenant
from ..stores.control_store import ControlStore, review_queue, utcnow
from ..stores.warehouse import Warehouse, partition_key
from .redact import REDACTED_DATASET
from .transcribe import CALLS_DATASET

SCORES_DATASET = "call_scores"
STEPS_DATASET = "call_score_steps"
PACKAGED_SCORECARDS = Path(__file__).resolve().parents[1] / "config" / "scorecards"

SCORES_SCHEMA = pa.schema([
    ("tenant_id", pa.string()), ("call_id", pa.string()), ("day", pa.string()), ("score", pa.float64()),
    ("auto_failed", pa.bool_()), ("needs_review", pa.bool_()), ("review_reasons", pa.list_(pa.string())),
    ("review_status", pa.string()), ("confidence", pa.float64()), ("asr_confidence", pa.float64()),
    ("scorer_version", pa.string()), ("scorecard_version", pa.string()), ("model_revision", pa.string()),
    ("results_json", pa.string()),
])
STEPS_SCHEMA = pa.schema([
    ("tenant_id", pa.string()), ("call_id", pa.string()), ("day", pa.string()), ("question", pa.string()),
    ("step", pa.string()), ("section", pa.string()), ("status", pa.string()), ("points", pa.float64()),
    ("possible", pa.float64()), ("evidence_segment", pa.int32()), ("evidence_start_s", pa.float64()),
    ("similarity", pa.float64()), ("scorecard_version", pa.string()),
])


def scorecards_dir() -> Path:
    return Path(os.environ.get("CCR_SCORECARDS_DIR") or PACKAGED_SCORECARDS)


def scorecard_for(tenant: Tenant) -> Scorecard:
    return load_scorecard(scorecards_dir() / f"{tenant.scorecard}.yaml")


def score_partition(warehouse: Warehouse, control: ControlStore, tenant: Tenant, day: str, *,
                    lineage: LineageContext | None = None) -> dict:
    """Score the tenant-day; with *lineage*, one lineage row per call with model, scorer and
    scorecard versions (P13, P15)."""
    card = scorecard_for(tenant)
    segs = warehouse.read_partition(REDACTED_DATASET, tenant.id, day)
    if segs is None:
        return {"calls": 0, "scorecard_version": card.version_tag}
    calls_meta = warehouse.read_partition(CALLS_DATASET, tenant.id, day)
    meta = {r["call_id"]: r for r in (calls_meta.to_pylist() if calls_meta is not None else [])}
    by_call: dict[str, list[dict]] = defaultdict(list)
    cols = ["tenant_id", "call_id", "segment_index", "speaker", "start_s", "end_s", "text", "speech_regions"]
    for row in segs.select(cols).to_pylist():
        if row["tenant_id"] != tenant.id:  # P4
            raise ValueError("redacted partition holds another tenant's rows")
        by_call[row["call_id"]].append(row)
    score_rows, step_rows, queue = [], [], []
    for call_id in sorted(by_call):
        m = meta.get(call_id, {})
        res = score_call(card, by_call[call_id], uses_virtual_agents=tenant.uses_virtual_agents,
                         asr_confidence=m.get("mean_confidence"))
        score_rows.append({"tenant_id": tenant.id, "call_id": call_id, "day": day, "score": res["score"],
                           "auto_failed": res["auto_failed"], "needs_review": res["needs_review"],
                           "review_reasons": res["review_reasons"], "review_status": res["review_status"],
                           "confidence": res["confidence"], "asr_confidence": m.get("mean_confidence"),
                           "scorer_version": res["scorer_version"], "scorecard_version": res["scorecard_version"],
                           "model_revision": m.get("model_revision"), "results_json": json.dumps(res["results"])})
        for r in res["results"]:
            ev = r.get("evidence") or {}
            step_rows.append({"tenant_id": tenant.id, "call_id": call_id, "day": day, "question": r["question"],
                              "step": r["step"], "section": r["section"], "status": r["status"],
                              "points": r.get("points"), "possible": r.get("possible"),
                              "evidence_segment": ev.get("segment_index"), "evidence_start_s": ev.get("start_s"),
                              "similarity": ev.get("similarity"), "scorecard_version": res["scorecard_version"]})
        if res["needs_review"]:
            queue.append((call_id, res["review_reasons"], res["score"]))
    info = warehouse.write_partition(SCORES_DATASET, tenant.id, day,
                                     pa.Table.from_pylist(score_rows, schema=SCORES_SCHEMA))
    warehouse.write_partition(STEPS_DATASET, tenant.id, day, pa.Table.from_pylist(step_rows, schema=STEPS_SCHEMA))
    queued = _enqueue(control, tenant.id, queue)
    if lineage is not None:
        out_uri = warehouse.store.uri(info.key)
        src_uri = warehouse.store.uri(partition_key(REDACTED_DATASET, tenant.id, day))
        control.record_lineage([lineage.row(tenant_id=tenant.id, call_id=r["call_id"], kind="call_score",
                                            uri=row_uri(out_uri, r["call_id"]), source_uri=row_uri(src_uri, r["call_id"]),
                                            model_version=r["model_revision"], scorer_version=r["scorer_version"],
                                            scorecard_version=r["scorecard_version"])
                                for r in score_rows])
    return {"calls": len(score_rows), "needs_review": len(queue), "queued_new": queued,
            "auto_failed": sum(r["auto_failed"] for r in score_rows),
            "mean_score": round(sum(r["score"] for r in score_rows) / len(score_rows), 2) if score_rows else 0.0,
            "scorecard_version": card.version_tag}


def _enqueue(control: ControlStore, tenant_id: str, items: list[tuple[str, list[str], float]]) -> int:
    """P15: calls needing a human land in review_queue; an already reviewed call is left as decided."""
    new = 0
    with control.engine.begin() as conn:
        for call_id, reasons, score in items:
            row = conn.execute(sa.select(review_queue.c.id, review_queue.c.status).where(
                review_queue.c.tenant_id == tenant_id, review_queue.c.call_id == call_id)).first()
            if row is None:
                conn.execute(review_queue.insert().values(tenant_id=tenant_id, call_id=call_id, reasons=reasons,
                                                          score=score, status="unreviewed", created_at=utcnow()))
                new += 1
            elif row.status == "unreviewed":
                conn.execute(review_queue.update().where(review_queue.c.id == row.id).values(reasons=reasons, score=score))
    return new
