"""Call scoring step (P15, P23): redacted segments + scorecard -> call_scores, review queue."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..core.batch_scoring import score_segments
from ..core.catalog import CALL_MANIFEST, CALL_SCORE_STEPS, CALL_SCORES, REDACTED_SEGMENTS, TRANSCRIPT_CALLS
from ..core.conversation import CALL_SENTIMENT_DATASET, NEGATIVE_END_REASON
from ..core.diarization import ROLE_REVIEW_BELOW, ROLES_INFERRED_REASON
from ..core.lineage import LineageContext, row_uri
from ..core.scorecards import Scorecard
from ..core.tenants import Tenant
from ..loaders.config_files import load_scorecard
from ..stores import review_queue
from ..stores.control_store import ControlStore
from ..stores.warehouse import Warehouse, partition_key
from .conversation import analyse_partition, categories_for, write_partition

MANIFEST_DATASET, REDACTED_DATASET, CALLS_DATASET = CALL_MANIFEST.name, REDACTED_SEGMENTS.name, TRANSCRIPT_CALLS.name
# The datasets this service writes (core/catalog.py); the names stay for callers that used them.
SCORES_DATASET, SCORES_SCHEMA = CALL_SCORES.name, CALL_SCORES.schema
STEPS_DATASET, STEPS_SCHEMA = CALL_SCORE_STEPS.name, CALL_SCORE_STEPS.schema
PACKAGED_SCORECARDS = Path(__file__).resolve().parents[1] / "config" / "scorecards"


def scorecards_dir() -> Path:
    return Path(os.environ.get("CCR_SCORECARDS_DIR") or PACKAGED_SCORECARDS)


def scorecard_for(tenant: Tenant) -> Scorecard:
    return load_scorecard(scorecards_dir() / f"{tenant.scorecard}.yaml")


def score_partition(
    warehouse: Warehouse, control: ControlStore, tenant: Tenant, day: str, *, lineage: LineageContext | None = None
) -> dict:
    """Score a tenant-day with the vectorised scorer (core/batch_scoring.py): the same results as
    ``score_call`` per call (tested), without a Python loop per call. With *lineage*, one lineage
    row per call with model, scorer and scorecard versions (P13, P15)."""
    card = scorecard_for(tenant)
    cats = categories_for(tenant)  # a bad categories file fails the step before anything is written
    segs = warehouse.read_partition(REDACTED_DATASET, tenant.id, day)
    if segs is None:
        return {"calls": 0, "scorecard_version": card.version_tag}
    if segs.num_rows and pc.any(pc.fill_null(pc.not_equal(segs.column("tenant_id"), tenant.id), True)).as_py():  # P4
        raise ValueError("redacted partition holds another tenant's rows")
    calls_meta = warehouse.read_partition(CALLS_DATASET, tenant.id, day)
    meta = calls_meta.select(["call_id", "mean_confidence", "model_revision"]) if calls_meta is not None else None
    inferred = _roles_inferred(calls_meta)
    asr = dict(zip(meta.column("call_id").to_pylist(), meta.column("mean_confidence").to_pylist())) if meta else {}
    manifest = warehouse.read_partition(MANIFEST_DATASET, tenant.id, day)
    notice = (
        dict(zip(manifest.column("call_id").to_pylist(), manifest.column("recording_notice").to_pylist()))
        if manifest is not None and "recording_notice" in manifest.column_names
        else {}
    )
    scores, steps = score_segments(
        card, segs, uses_virtual_agents=tenant.uses_virtual_agents, asr_confidence=asr, recording_notice=notice
    )
    # issue 19: sentiment, categories and call cards of the same redacted segments; a customer who
    # ends strongly negative is a review reason (P15)
    language_of = (
        {
            c: lang
            for c, lang in zip(manifest.column("call_id").to_pylist(), manifest.column("language").to_pylist())
            if lang
        }
        if manifest is not None and "language" in manifest.column_names
        else {}
    )
    conversation = analyse_partition(tenant, day, segs, language_of=language_of, steps=steps, cats=cats)
    scores = add_review_reason(scores, conversation[CALL_SENTIMENT_DATASET], "negative_end", NEGATIVE_END_REASON)
    scores = add_review_reason(scores, inferred, "roles_inferred", ROLES_INFERRED_REASON)  # issue 17
    n = scores.num_rows
    if meta is not None and n:
        revisions = dict(zip(meta.column("call_id").to_pylist(), meta.column("model_revision").to_pylist()))
        model_revision = [revisions.get(c) for c in scores.column("call_id").to_pylist()]
    else:
        model_revision = [None] * n
    asr_col = [asr.get(c) for c in scores.column("call_id").to_pylist()]
    const = lambda v: pa.array([v] * n, pa.string())
    score_table = pa.table(
        {
            "tenant_id": const(tenant.id),
            "call_id": scores["call_id"],
            "day": const(day),
            **{
                k: scores[k]
                for k in ("score", "auto_failed", "needs_review", "review_reasons", "review_status", "confidence")
            },
            "asr_confidence": pa.array(asr_col, pa.float64()),
            "scorer_version": scores["scorer_version"],
            "scorecard_version": scores["scorecard_version"],
            "model_revision": pa.array(model_revision, pa.string()),
            "results_json": scores["results_json"],
        },
        schema=SCORES_SCHEMA,
    )
    m = steps.num_rows
    step_table = pa.table(
        {
            "tenant_id": pa.array([tenant.id] * m, pa.string()),
            "call_id": steps["call_id"],
            "day": pa.array([day] * m, pa.string()),
            **{
                k: steps[k]
                for k in (
                    "question",
                    "step",
                    "section",
                    "status",
                    "points",
                    "possible",
                    "evidence_segment",
                    "evidence_start_s",
                    "similarity",
                )
            },
            "scorecard_version": pa.array([card.version_tag] * m, pa.string()),
        },
        schema=STEPS_SCHEMA,
    )
    info = warehouse.write_partition(SCORES_DATASET, tenant.id, day, score_table)
    warehouse.write_partition(STEPS_DATASET, tenant.id, day, step_table)
    write_partition(warehouse, tenant.id, day, conversation)
    review = score_table.filter(score_table.column("needs_review"))
    queue = list(
        zip(
            review.column("call_id").to_pylist(),
            review.column("review_reasons").to_pylist(),
            review.column("score").to_pylist(),
        )
    )
    queued = _enqueue(control, tenant.id, queue)
    if lineage is not None:
        out_uri = warehouse.store.uri(info.key)
        src_uri = warehouse.store.uri(partition_key(REDACTED_DATASET, tenant.id, day))
        cols = score_table.select(["call_id", "model_revision", "scorer_version", "scorecard_version"]).to_pylist()
        control.record_lineage(
            [
                lineage.row(
                    tenant_id=tenant.id,
                    call_id=r["call_id"],
                    kind="call_score",
                    uri=row_uri(out_uri, r["call_id"]),
                    source_uri=row_uri(src_uri, r["call_id"]),
                    model_version=r["model_revision"],
                    scorer_version=r["scorer_version"],
                    scorecard_version=r["scorecard_version"],
                )
                for r in cols
            ]
        )
    return {
        "calls": n,
        "needs_review": len(queue),
        "queued_new": queued,
        "auto_failed": pc.sum(scores["auto_failed"].cast(pa.int64())).as_py() or 0,
        "mean_score": round(sum(scores["score"].to_pylist()) / n, 2) if n else 0.0,
        "scorecard_version": card.version_tag,
        "categories_version": cats.version_tag,
        "negative_end": pc.sum(conversation[CALL_SENTIMENT_DATASET]["negative_end"].cast(pa.int64())).as_py() or 0,
        "category_hits": conversation["call_categories"].num_rows,
    }


def _roles_inferred(calls: pa.Table | None) -> pa.Table:
    """call_id, roles_inferred: the mono calls diarized on weak evidence (role confidence under
    ROLE_REVIEW_BELOW: the speaking order alone, or one phrase and no direction), scored by inferred
    roles, so a person should look (P15). Set-wise. Transcripts before issue 17 have no role_confidence."""
    if calls is None or "role_confidence" not in calls.column_names:
        return pa.table({"call_id": pa.array([], pa.string()), "roles_inferred": pa.array([], pa.bool_())})
    weak = pc.and_(
        pc.equal(calls.column("speaker_mode"), "diarized"), pc.less(calls.column("role_confidence"), ROLE_REVIEW_BELOW)
    )
    return pa.table({"call_id": calls.column("call_id"), "roles_inferred": pc.fill_null(weak, False)})


def add_review_reason(scores: pa.Table, flags: pa.Table, column: str, reason: str) -> pa.Table:
    """Append *reason* to the review reasons of the calls whose *column* is true in *flags* (a table
    keyed by call_id), and mark them as needing review (P15). Set-wise: no loop per call."""
    if not scores.num_rows or not flags.num_rows:
        return scores
    at = pc.index_in(scores.column("call_id"), value_set=flags.column("call_id").combine_chunks())
    flag = pc.fill_null(pc.take(flags.column(column).combine_chunks(), at), False).to_numpy(zero_copy_only=False)
    if not flag.any():
        return scores
    import numpy as np

    old = scores.column("review_reasons").combine_chunks()
    lengths = pc.fill_null(pc.list_value_length(old), 0).to_numpy()
    new_len = lengths + flag
    new_off = np.concatenate([[0], np.cumsum(new_len)])
    old_off = np.concatenate([[0], np.cumsum(lengths)])
    parent = np.repeat(np.arange(len(lengths)), lengths)
    pos_old = np.arange(old_off[-1]) - old_off[parent] + new_off[parent]
    pos_new = new_off[1:][flag.astype(bool)] - 1
    values = pa.concat_arrays([pc.list_flatten(old), pa.array([reason] * len(pos_new), pa.string())])
    order = np.argsort(np.concatenate([pos_old, pos_new]), kind="stable")
    reasons = pa.ListArray.from_arrays(pa.array(new_off, pa.int32()), values.take(pa.array(order)))
    scores = scores.set_column(scores.schema.get_field_index("review_reasons"), "review_reasons", reasons)
    needs = pc.or_(scores.column("needs_review"), pa.array(flag.astype(bool)))
    return scores.set_column(scores.schema.get_field_index("needs_review"), "needs_review", needs)


def _enqueue(control: ControlStore, tenant_id: str, items: list[tuple[str, list[str], float]]) -> int:
    """P15: calls needing a human land in review_queue; an already reviewed call is left as decided."""
    return review_queue.enqueue(control, tenant_id, items)
