"""Data subjects in the control store, by keyed hash only (P16-P18): the suppression list, restrictions of
processing, and what an erasure removes from the control store and then checks is gone."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .control_store import (
    ControlStore,
    access_log,
    dsr_requests,
    ingest_events,
    lineage,
    lineage_lookups,
    quarantine_subjects,
    review_queue,
    search_segments,
    subject_calls,
    subject_restrictions,
    suppression_list,
    utcnow,
)


def is_suppressed(control: ControlStore, tenant_id: str, hashes: list[str]) -> bool:
    """P18: one of these keyed hashes is on the tenant's suppression list."""
    rows = control.fetch(
        sa.select(suppression_list.c.id)
        .where(suppression_list.c.tenant_id == tenant_id, suppression_list.c.subject_hash.in_(hashes))
        .limit(1)
    )
    return bool(rows)


def add_suppression(
    control: ControlStore, tenant_id: str, subject_hash: str, identifier_type: str, *, reason: str, actor: str
) -> bool:
    """List one keyed hash for the tenant; False when it is listed already (nothing written)."""
    if is_suppressed(control, tenant_id, [subject_hash]):
        return False
    control.insert(
        suppression_list,
        dict(
            tenant_id=tenant_id,
            subject_hash=subject_hash,
            identifier_type=identifier_type,
            reason=reason,
            added_by=actor,
            added_at=utcnow(),
        ),
    )
    return True


def is_restricted(control: ControlStore, tenant_id: str, hashes: list[str]) -> bool:
    """P16: one of these keyed hashes is under an active restriction of processing."""
    return bool(
        control.fetch(
            sa.select(subject_restrictions.c.id)
            .where(
                subject_restrictions.c.tenant_id == tenant_id,
                subject_restrictions.c.lifted_at.is_(None),
                subject_restrictions.c.subject_hash.in_(hashes),
            )
            .limit(1)
        )
    )


def erase_calls(
    control: ControlStore, tenant_id: str, call_ids: list[str], hashes: list[str], *, now: datetime
) -> dict[str, int]:
    """P17, in one transaction: the calls' review-queue and subject-index rows go, their lineage rows get
    ``deleted_at`` (the fact stays, not the content), the subject's quarantine index rows go and lookup
    requests naming a call or hash lose their target. Returns the rows touched per table."""
    with control.engine.begin() as conn:
        n_review = (
            conn.execute(
                review_queue.delete().where(review_queue.c.tenant_id == tenant_id, review_queue.c.call_id.in_(call_ids))
            ).rowcount
            if call_ids
            else 0
        )
        n_index = (
            conn.execute(
                subject_calls.delete().where(
                    subject_calls.c.tenant_id == tenant_id, subject_calls.c.call_id.in_(call_ids)
                )
            ).rowcount
            if call_ids
            else 0
        )
        n_lineage = (
            conn.execute(
                lineage.update()
                .where(
                    lineage.c.tenant_id == tenant_id, lineage.c.call_id.in_(call_ids), lineage.c.deleted_at.is_(None)
                )
                .values(deleted_at=now)
            ).rowcount
            if call_ids
            else 0
        )
        n_quarantine = conn.execute(
            quarantine_subjects.delete().where(
                quarantine_subjects.c.tenant_id == tenant_id, quarantine_subjects.c.subject_hash.in_(hashes)
            )
        ).rowcount
        n_lookups = conn.execute(
            lineage_lookups.update()
            .where(
                lineage_lookups.c.tenant_id == tenant_id,
                sa.or_(lineage_lookups.c.target.in_(call_ids), lineage_lookups.c.target.in_(hashes)),
            )
            .values(target=None, status="erased")
        ).rowcount
        # issue 19: the calls leave the transcript search index in the same transaction
        n_search = (
            conn.execute(
                search_segments.delete().where(
                    search_segments.c.tenant_id == tenant_id, search_segments.c.call_id.in_(call_ids)
                )
            ).rowcount
            if call_ids
            else 0
        )
    return {
        "review_queue": n_review,
        "subject_calls": n_index,
        "lineage": n_lineage,
        "quarantine_subjects": n_quarantine,
        "lineage_lookups": n_lookups,
        "search_segments": n_search,
    }


def set_restriction(
    control: ControlStore,
    tenant_id: str,
    hashes: dict[str, str],
    *,
    lift: bool,
    request_id: int,
    actor: str,
    now: datetime,
) -> int:
    """P16: restrict the subject's keyed hashes (*hashes*: hash -> identifier type), or lift their active
    restriction; rows are lifted, never deleted. Returns how many hashes changed."""
    changed = 0
    with control.engine.begin() as conn:
        for h, identifier_type in hashes.items():
            active = conn.execute(
                sa.select(subject_restrictions.c.id).where(
                    subject_restrictions.c.tenant_id == tenant_id,
                    subject_restrictions.c.subject_hash == h,
                    subject_restrictions.c.lifted_at.is_(None),
                )
            ).first()
            if lift and active:
                conn.execute(
                    subject_restrictions.update().where(subject_restrictions.c.id == active.id).values(lifted_at=now)
                )
                changed += 1
            elif not lift and not active:
                conn.execute(
                    subject_restrictions.insert().values(
                        tenant_id=tenant_id,
                        subject_hash=h,
                        identifier_type=identifier_type,
                        request_id=request_id,
                        actor=actor,
                        restricted_at=now,
                    )
                )
                changed += 1
    return changed


def quarantine_entries(control: ControlStore, tenant_id: str, hashes: list[str]) -> list[str]:
    """P17: the quarantine entries indexed under one of the subject's keyed hashes."""
    return [
        r["entry"]
        for r in control.fetch(
            sa.select(quarantine_subjects.c.entry).where(
                quarantine_subjects.c.tenant_id == tenant_id, quarantine_subjects.c.subject_hash.in_(hashes)
            )
        )
    ]


def runs_of_calls(control: ControlStore, tenant_id: str, call_ids: list[str]) -> set[str]:
    """The run ids of the lineage rows of these calls."""
    return {
        r["run_id"]
        for r in control.fetch(
            sa.select(lineage.c.run_id)
            .distinct()
            .where(lineage.c.tenant_id == tenant_id, lineage.c.call_id.in_(call_ids), lineage.c.run_id.is_not(None))
        )
    }


def audit_references(control: ControlStore, tenant_id: str, call_ids: list[str]) -> dict[str, int]:
    """The append-only trails' pseudonymous references to these calls: ledger rows, access-log rows naming
    one in their object, lineage tombstones."""
    ing = control.fetch(
        sa.select(sa.func.count())
        .select_from(ingest_events)
        .where(ingest_events.c.tenant_id == tenant_id, ingest_events.c.call_id.in_(call_ids))
    )[0]["count_1"]
    acc = 0
    for cid in call_ids:
        acc += control.fetch(
            sa.select(sa.func.count())
            .select_from(access_log)
            .where(access_log.c.tenant_id == tenant_id, access_log.c.object.like(f"%/{cid}%"))
        )[0]["count_1"]
    tomb = control.fetch(
        sa.select(sa.func.count())
        .select_from(lineage)
        .where(lineage.c.tenant_id == tenant_id, lineage.c.call_id.in_(call_ids), lineage.c.deleted_at.is_not(None))
    )[0]["count_1"]
    return {"ingest_events": int(ing), "access_log": int(acc), "lineage_tombstones": int(tomb)}


def leftovers(control: ControlStore, tenant_id: str, call_ids: list[str], hashes: list[str]) -> list[tuple[str, int]]:
    """P17, after an erasure: (table, rows) of every control-store row still naming the calls or the subject."""
    checks = [
        ("quarantine_subjects", quarantine_subjects, quarantine_subjects.c.subject_hash.in_(hashes)),
        ("lineage_lookups", lineage_lookups, lineage_lookups.c.target.in_(call_ids + hashes)),
        ("review_queue", review_queue, review_queue.c.call_id.in_(call_ids)),
        ("search_segments", search_segments, search_segments.c.call_id.in_(call_ids)),
        ("subject_calls", subject_calls, subject_calls.c.call_id.in_(call_ids)),
        ("subject_calls (hashes)", subject_calls, subject_calls.c.subject_hash.in_(hashes)),
        (
            "lineage (not marked deleted)",
            lineage,
            sa.and_(lineage.c.call_id.in_(call_ids), lineage.c.deleted_at.is_(None)),
        ),
    ]
    out = []
    for name, table, cond in checks:
        if not call_ids and name not in ("subject_calls (hashes)", "quarantine_subjects", "lineage_lookups"):
            continue
        n = control.fetch(sa.select(sa.func.count()).select_from(table).where(table.c.tenant_id == tenant_id, cond))[0][
            "count_1"
        ]
        if n:
            out.append((name, n))
    return out


def request_proofs(control: ControlStore, tenant_id: str) -> list[dict]:
    """``id`` and ``proof`` of every data-subject request of the tenant."""
    return control.fetch(
        sa.select(dsr_requests.c.id, dsr_requests.c.proof).where(dsr_requests.c.tenant_id == tenant_id)
    )


def call_ids_named(control: ControlStore, tenant_id: str) -> set[str]:
    """Every call id the tenant's rows name (subject index, review queue, lineage, lookup targets): what a
    restored store may hold of calls erased since its backup."""
    ids: set[str] = set()
    for table in (subject_calls, review_queue, lineage, lineage_lookups):
        col = table.c.target if table is lineage_lookups else table.c.call_id
        ids |= {
            list(r.values())[0]
            for r in control.fetch(sa.select(col).distinct().where(table.c.tenant_id == tenant_id, col.is_not(None)))
        }
    return ids


def reapply_erasures(
    control: ControlStore,
    tenant_id: str,
    call_ids: list[str],
    hashes: list[str],
    receipts: list[tuple[int, dict]],
    *,
    now: datetime,
) -> dict[str, int]:
    """P6, P17, in one transaction: erase again from a restored store what the erasure ledger says is
    erased (the calls' index, queue and lookup rows; lineage marked deleted) and give each request its
    receipt back (*receipts*: request id -> status, proof, completed_at). Returns the rows touched."""
    n: dict[str, int] = {}
    with control.engine.begin() as conn:
        n["subject_calls"] = (
            conn.execute(
                subject_calls.delete().where(
                    subject_calls.c.tenant_id == tenant_id,
                    sa.or_(subject_calls.c.subject_hash.in_(hashes), subject_calls.c.call_id.in_(call_ids)),
                )
            ).rowcount
            or 0
        )
        n["quarantine_subjects"] = (
            conn.execute(
                quarantine_subjects.delete().where(
                    quarantine_subjects.c.tenant_id == tenant_id, quarantine_subjects.c.subject_hash.in_(hashes)
                )
            ).rowcount
            or 0
        )
        n["review_queue"] = (
            conn.execute(
                review_queue.delete().where(review_queue.c.tenant_id == tenant_id, review_queue.c.call_id.in_(call_ids))
            ).rowcount
            or 0
        )
        n["lineage_marked_deleted"] = (
            conn.execute(
                lineage.update()
                .where(
                    lineage.c.tenant_id == tenant_id, lineage.c.call_id.in_(call_ids), lineage.c.deleted_at.is_(None)
                )
                .values(deleted_at=now)
            ).rowcount
            or 0
        )
        n["lineage_lookups"] = (
            conn.execute(
                lineage_lookups.update()
                .where(
                    lineage_lookups.c.tenant_id == tenant_id,
                    sa.or_(lineage_lookups.c.target.in_(call_ids), lineage_lookups.c.target.in_(hashes)),
                )
                .values(target=None, status="erased")
            ).rowcount
            or 0
        )
        for request_id, r in receipts:
            n["requests"] = (
                n.get("requests", 0)
                + conn.execute(
                    dsr_requests.update()
                    .where(
                        dsr_requests.c.id == request_id,
                        dsr_requests.c.tenant_id == tenant_id,
                        sa.or_(dsr_requests.c.status != r["status"], dsr_requests.c.status.is_(None)),
                    )
                    .values(
                        status=r["status"],
                        proof=r["proof"],
                        completed_at=datetime.fromisoformat(r["completed_at"]) if r.get("completed_at") else None,
                    )
                ).rowcount
                or 0
            )
    return n
