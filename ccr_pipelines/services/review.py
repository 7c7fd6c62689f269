"""Review decisions on automated scores (P15), each one audited with before/after and actor (P20).

The audit row names the review-queue row by its id, not the call id: the queue row goes with an
erasure, the audit trail (append-only) then keeps no reference to the call.
"""

from __future__ import annotations

from ..core.errors import InvalidRequest, NotFound
from ..stores import review_queue
from ..stores.control_store import ControlStore

DECISIONS = ("confirmed", "overridden", "dismissed", "unreviewed")


def decide(control: ControlStore, tenant_id: str, call_id: str, status: str, *, reviewer: str) -> dict:
    if status not in DECISIONS:
        raise InvalidRequest(f"unknown review decision {status!r} (one of {', '.join(DECISIONS)})")
    row = review_queue.set_decision(control, tenant_id, call_id, status, reviewer=reviewer)
    if row is None:
        raise NotFound(f"no review-queue entry for this call of tenant '{tenant_id}'")
    change = {
        "before": {"status": row["status"], "reviewer": row["reviewer"]},
        "after": {"status": status, "reviewer": reviewer},
    }
    control.audit(actor=reviewer, entity="review_decision", entity_id=f"{tenant_id}:review-{row['id']}", change=change)
    return {"review_id": row["id"], **change}
