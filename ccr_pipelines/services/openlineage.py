"""OpenLineage export (P13): START and COMPLETE/FAIL RunEvents per asset materialization, built
from the record-level lineage rows the run wrote (so both views tell the same story), with schema,
data-quality and erasure facets. No Dagster import: the sensor in defs/lineage hands in plain data.

Sinks: newline-delimited JSON in the object store (default, ``lineage/openlineage/<day>/<run>.ndjson``)
and optionally HTTP (Marquez-compatible ``POST /api/v1/lineage``; ``OPENLINEAGE_URL``).
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa
import sqlalchemy as sa

from ..core.lineage import iso_utc, ol_dataset, run_event
from ..stores.control_store import ControlStore, lineage
from ..stores.object_store import ObjectStore
from .ingest import MANIFEST_DATASET, MANIFEST_SCHEMA
from .redact import REDACTED_DATASET, REDACTED_SCHEMA
from .score import SCORES_DATASET, SCORES_SCHEMA, STEPS_DATASET, STEPS_SCHEMA
from .transcribe import CALLS_DATASET, CALLS_SCHEMA, SEGMENTS_DATASET, SEGMENTS_SCHEMA

SCHEMAS: dict[str, pa.Schema] = {MANIFEST_DATASET: MANIFEST_SCHEMA, REDACTED_DATASET: REDACTED_SCHEMA,
                                 SCORES_DATASET: SCORES_SCHEMA, STEPS_DATASET: STEPS_SCHEMA,
                                 CALLS_DATASET: CALLS_SCHEMA, SEGMENTS_DATASET: SEGMENTS_SCHEMA}


@dataclass
class AssetRun:
    """One asset materialization (or failed attempt) of a Dagster run, as plain data."""

    asset_key: str
    partition: str | None
    started: datetime
    finished: datetime
    ok: bool
    row_count: int | None = None
    checks: list[tuple[str, bool]] = field(default_factory=list)
    error: str | None = None


def _fields(uri: str) -> list[tuple[str, str]]:
    parts = uri.split("#", 1)[0].split("/")
    for name, schema in SCHEMAS.items():
        if name in parts:
            return [(f.name, str(f.type)) for f in schema]
    return []


def events_for_run(control: ControlStore, dagster_run_id: str, assets: list[AssetRun], *, engine_version: str) -> list[dict]:
    """START + COMPLETE/FAIL per asset, inputs/outputs from the run's lineage rows."""
    with control.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(
            lineage.c.asset_key, lineage.c.artefact_uri, lineage.c.source_uri, lineage.c.deleted_at,
            lineage.c.call_id).where(lineage.c.run_id == dagster_run_id))]
    # P17: an erased call's own artefacts (its audio, its transcript) are not named again; the partitions
    # that held its rows stay, and their erasure facet counts it
    rows = [r for r in rows if not (r["deleted_at"] is not None and r["call_id"]
                                    and r["call_id"] in (r["artefact_uri"] or "").split("#", 1)[0])]
    events = []
    for a in assets:
        mine = [r for r in rows if r["asset_key"] == a.asset_key or
                (a.asset_key.startswith("marts/warehouse/") and r["asset_key"] == "marts/warehouse"
                 and r["artefact_uri"].endswith("." + a.asset_key.rsplit("/", 1)[-1]))]
        outs: dict[str, dict] = {}
        for r in mine:
            base = r["artefact_uri"].split("#", 1)[0]
            o = outs.setdefault(base, {"rows": 0, "deleted": 0, "erased": 0, "deleted_at": None})
            o["rows"] += 1
            if r["deleted_at"] is not None:
                o["deleted"] += 1
                o["erased"] += 1 if r["call_id"] else 0
                o["deleted_at"] = iso_utc(r["deleted_at"])
        ins = sorted({r["source_uri"].split("#", 1)[0] for r in mine if r["source_uri"]} - set(outs))
        inputs = [ol_dataset(u, fields=_fields(u)) for u in ins]
        outputs = [ol_dataset(u, fields=_fields(u), row_count=a.row_count if len(outs) == 1 else None, output=True,
                              assertions=a.checks,
                              erasure={"deleted": o["deleted"] == o["rows"], "deleted_at": o["deleted_at"],
                                       "erased_calls": o["erased"]})
                   for u, o in sorted(outs.items())]
        common = dict(dagster_run_id=dagster_run_id, asset_key=a.asset_key, partition=a.partition,
                      engine_version=engine_version)
        events.append(run_event("START", event_time=a.started, inputs=inputs, outputs=[], **common))
        events.append(run_event("COMPLETE" if a.ok else "FAIL", event_time=a.finished, inputs=inputs,
                                outputs=outputs if a.ok else [], error=None if a.ok else (a.error or "step failed"),
                                **common))
    return events


def event_file_key(dagster_run_id: str, day: str) -> str:
    return f"lineage/openlineage/{day}/{dagster_run_id}.ndjson"


def write_file_sink(store: ObjectStore, dagster_run_id: str, day: str, events: list[dict]) -> str:
    """Default sink: one NDJSON object per run (idempotent: a re-export replaces it)."""
    key = event_file_key(dagster_run_id, day)
    store.put_bytes(key, "".join(json.dumps(e, sort_keys=True) + "\n" for e in events).encode("utf-8"))
    return key


def post_http_sink(url: str, events: list[dict], *, timeout_s: float = 10.0, api_key: str | None = None) -> int:
    """Optional sink: Marquez-compatible ``POST {url}/api/v1/lineage``, one event per request."""
    sent = 0
    for e in events:
        req = urllib.request.Request(url.rstrip("/") + "/api/v1/lineage", data=json.dumps(e).encode("utf-8"),
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {api_key}"} if api_key else {})},
                                     method="POST")
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:  # noqa: S310 - configured endpoint
            if resp.status >= 300:
                raise RuntimeError(f"lineage endpoint answered HTTP {resp.status}")
        sent += 1
    return sent
