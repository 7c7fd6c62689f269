"""Data subjects in the control store, by keyed hash only (P16, P18): the suppression list's queries."""

from __future__ import annotations

import sqlalchemy as sa

from .control_store import ControlStore, suppression_list, utcnow


def is_suppressed(control: ControlStore, tenant_id: str, hashes: list[str]) -> bool:
    """P18: one of these keyed hashes is on the tenant's suppression list."""
    rows = control.fetch(sa.select(suppression_list.c.id).where(
        suppression_list.c.tenant_id == tenant_id, suppression_list.c.subject_hash.in_(hashes)).limit(1))
    return bool(rows)


def add_suppression(control: ControlStore, tenant_id: str, subject_hash: str, identifier_type: str, *, reason: str,
                    actor: str) -> bool:
    """List one keyed hash for the tenant; False when it is listed already (nothing written)."""
    if is_suppressed(control, tenant_id, [subject_hash]):
        return False
    control.insert(suppression_list, dict(tenant_id=tenant_id, subject_hash=subject_hash,
                                          identifier_type=identifier_type, reason=reason, added_by=actor,
                                          added_at=utcnow()))
    return True
