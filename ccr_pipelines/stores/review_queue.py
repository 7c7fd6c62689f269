"""The review queue (P15): calls whose automated score needs a human, and the reviewers' decisions."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from .control_store import ControlStore, review_queue, utcnow


def enqueue(control: ControlStore, tenant_id: str, items: list[tuple[str, list[str], float]]) -> int:
    """Queue ``(call_id, reasons, score)`` items; an already reviewed call is left as decided, an
    unreviewed one gets the new reasons and score. Returns the number of new rows.

    Set-wise: one look-up per chunk of calls, then one batched insert and one batched update."""
    new = 0
    now = utcnow()
    with control.engine.begin() as conn:
        for i in range(0, len(items), 5000):
            chunk = items[i : i + 5000]
            existing = {
                r.call_id: r
                for r in conn.execute(
                    sa.select(review_queue.c.id, review_queue.c.call_id, review_queue.c.status).where(
                        review_queue.c.tenant_id == tenant_id, review_queue.c.call_id.in_([c for c, _, _ in chunk])
                    )
                )
            }
            inserts = [
                {
                    "tenant_id": tenant_id,
                    "call_id": c,
                    "reasons": reasons,
                    "score": score,
                    "status": "unreviewed",
                    "created_at": now,
                }
                for c, reasons, score in chunk
                if c not in existing
            ]
            updates = [
                {"row_id": existing[c].id, "reasons": reasons, "score": score}
                for c, reasons, score in chunk
                if c in existing and existing[c].status == "unreviewed"
            ]
            if inserts:
                conn.execute(review_queue.insert(), inserts)
                new += len(inserts)
            if updates:
                conn.execute(
                    review_queue.update()
                    .where(review_queue.c.id == sa.bindparam("row_id"))
                    .values(reasons=sa.bindparam("reasons"), score=sa.bindparam("score")),
                    updates,
                )
    return new


def set_decision(
    control: ControlStore, tenant_id: str, call_id: str, status: str, *, reviewer: str, now: datetime | None = None
) -> dict | None:
    """Record a decision on the call's queue row; returns the row as it was before (``id``, ``status``,
    ``reviewer``), or None when the call has no row."""
    with control.engine.begin() as conn:
        row = conn.execute(
            sa.select(review_queue.c.id, review_queue.c.status, review_queue.c.reviewer).where(
                review_queue.c.tenant_id == tenant_id, review_queue.c.call_id == call_id
            )
        ).first()
        if row is None:
            return None
        now = now or utcnow()
        conn.execute(
            review_queue.update()
            .where(review_queue.c.id == row.id)
            .values(status=status, reviewer=reviewer, decided_at=now if status != "unreviewed" else None)
        )
    return {"id": row.id, "status": row.status, "reviewer": row.reviewer}
