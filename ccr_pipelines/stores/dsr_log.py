"""The data-subject request log (``dsr_requests``, P16): the queries services need. Identifiers are
never here, only their keyed hashes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .control_store import ControlStore, dsr_requests


def add_request(
    control: ControlStore,
    *,
    tenant_id: str,
    kind: str,
    hashes: dict[str, str],
    received_at: datetime,
    due_at: datetime,
    actor: str,
) -> int:
    """Log a received request; *hashes* maps identifier type -> keyed hash. Returns its id."""
    with control.engine.begin() as conn:
        r = conn.execute(
            dsr_requests.insert().values(
                tenant_id=tenant_id,
                kind=kind,
                subject_hash=sorted(hashes.values())[0],
                status="received",
                requested_at=received_at,
                due_at=due_at,
                subject_hashes=sorted(hashes.values()),
                identifier_types=sorted(hashes),
                actor=actor,
            )
        )
        return int(r.inserted_primary_key[0])


def get_request(control: ControlStore, request_id: int) -> dict | None:
    rows = control.fetch(sa.select(dsr_requests).where(dsr_requests.c.id == request_id))
    return rows[0] if rows else None


def list_requests(control: ControlStore, tenant_id: str | None = None) -> list[dict]:
    """Every request in id order, or one tenant's."""
    q = sa.select(dsr_requests).order_by(dsr_requests.c.id)
    if tenant_id:
        q = q.where(dsr_requests.c.tenant_id == tenant_id)
    return control.fetch(q)


def update_request(control: ControlStore, request_id: int, **values: Any) -> None:
    """Set fields of one request (status, deadline, extension, receipt); JSON values stored as JSON."""
    if "proof" in values and values["proof"] is not None:
        values["proof"] = json.loads(json.dumps(values["proof"], default=str))
    with control.engine.begin() as conn:
        conn.execute(dsr_requests.update().where(dsr_requests.c.id == request_id).values(**values))


def open_requests(control: ControlStore) -> list[dict]:
    """``id``, ``tenant_id``, ``due_at`` of every request not completed."""
    return control.fetch(
        sa.select(dsr_requests.c.id, dsr_requests.c.tenant_id, dsr_requests.c.due_at).where(
            dsr_requests.c.completed_at.is_(None)
        )
    )


def requests_of_kind(control: ControlStore, tenant_id: str, kind: str) -> list[dict]:
    """``id`` and ``subject_hashes`` of the tenant's requests of *kind* (e.g. the exports to erase)."""
    return control.fetch(
        sa.select(dsr_requests.c.id, dsr_requests.c.subject_hashes).where(
            dsr_requests.c.tenant_id == tenant_id, dsr_requests.c.kind == kind
        )
    )
