"""Builders shared by the ingestion tests: a registry, an IngestEnv on real stores."""

from __future__ import annotations

import json
import uuid
from datetime import date

import sqlalchemy as sa

from ccr_pipelines.core.subjects import subject_hash
from ccr_pipelines.core.tenants import Tenant, TenantRegistry
from ccr_pipelines.services.ingest import IngestEnv
from ccr_pipelines.stores.control_store import ControlStore, ingest_events, suppression_list, utcnow
from ccr_pipelines.stores.warehouse import Warehouse

SECRET = "test-subject-hash-key"
TODAY = date(2026, 11, 20)
DAY = "2026-11-16"
PREFIX = "raw/acme-energie/2026/11/16/"


def registry() -> TenantRegistry:
    return TenantRegistry(
        [
            Tenant(id="acme-energie", display_name="Acme", languages=["fr"], scorecard="acme.v1"),
            Tenant(id="globex-support", display_name="Globex", languages=["en"], scorecard="globex.v1"),
            Tenant(id="initech-paused", display_name="Initech", languages=["fr"], scorecard="x.v1", suspended=True),
        ]
    )


def make_env(store, control: ControlStore, **kw) -> IngestEnv:
    return IngestEnv(
        store=store,
        control=control,
        warehouse=Warehouse(store),
        registry=registry(),
        secret=SECRET,
        run_id=kw.pop("run_id", str(uuid.uuid4())),
        today=kw.pop("today", TODAY),
        max_duration_s=kw.pop("max_duration_s", 600.0),
        **kw,
    )


def sidecar(**fields) -> bytes:
    base = {
        "agent_id": "ag-1",
        "team": "team-a",
        "direction": "inbound",
        "started_at": "2026-11-16T09:00:00+01:00",
        "language": "fr",
    }
    base.update(fields)
    return json.dumps(base).encode()


def suppress(control: ControlStore, tenant: str, kind: str, value: str) -> None:
    control.insert(
        suppression_list,
        dict(
            tenant_id=tenant,
            subject_hash=subject_hash(SECRET, tenant, kind, value),
            identifier_type=kind,
            reason="objection",
            added_by="test",
            added_at=utcnow(),
        ),
    )


def ledger(control: ControlStore) -> list[dict]:
    return control.fetch(sa.select(ingest_events).order_by(ingest_events.c.id))


def inbox(store) -> list[str]:
    return [o.key for o in store.list("raw/")]


def names_call(text: str, call_id: str) -> bool:
    """Whether ``text`` names ``call_id`` as an identifier: ``c-1`` in ``raw/…/c-1.wav`` or ``"c-1"``,
    not inside a run id (``…b62c-146d…``, where a plain substring test finds it by chance) nor as the
    start of ``c-10``."""
    import re

    return re.search(rf"(?<![0-9A-Za-z]){re.escape(call_id)}(?![0-9A-Za-z])", text) is not None
