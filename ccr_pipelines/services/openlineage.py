"""OpenLineage export (P13): START and COMPLETE/FAIL RunEvents per asset materialization, built
from the record-level lineage rows the run wrote (so both views tell the same story), with schema,
data-quality and erasure facets. No Dagster import: the sensor in defs/lineage hands in plain data.

Emitted through the official client (``openlineage-python``): events are its typed classes
(core/lineage.py); transports are newline-delimited JSON in the object store (default,
``lineage/openlineage/<day>/<run>.ndjson``) and optionally the client's HTTP transport
(Marquez-compatible ``POST /api/v1/lineage``; ``OPENLINEAGE_URL``, ``OPENLINEAGE_API_KEY``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunEvent
from openlineage.client.serde import Serde
from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.transport.transport import Config, Transport

from ..core import catalog
from ..core.lineage import CHECKS_JOB_SUFFIX, dataset_partition, iso_utc, ol_dataset, run_event
from ..stores import lineage_log
from ..stores.control_store import ControlStore
from ..stores.object_store import ObjectStore

SCHEMAS: dict[str, pa.Schema] = {d.name: d.schema for d in catalog.DATASETS if d.schema is not None}
MARTS_ASSET = catalog.asset_path(catalog.MARTS_ASSET_PREFIX)


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
    parts = dataset_partition(uri)[0].split("/")
    for name, schema in SCHEMAS.items():
        if name in parts:
            return [(f.name, str(f.type)) for f in schema]
    return []


# What a stage writes or reads besides the artefact its lineage rows name (the rows are per call;
# these are the per-day tables written or read alongside), so the graph has no dangling node:
EXTRA_OUTPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    # transcription writes the transcript JSON (rows) and the per-day call and segment tables
    "transcript": (
        (catalog.TRANSCRIPT_SEGMENTS.zone, catalog.TRANSCRIPT_SEGMENTS.name),
        (catalog.TRANSCRIPT_CALLS.zone, catalog.TRANSCRIPT_CALLS.name),
    ),
    # scoring writes the scores (rows), the per-step results the reports read and the conversation
    # analytics of the same segments (issue 19)
    "call_score": tuple(
        (d.zone, d.name)
        for d in (
            catalog.CALL_SCORE_STEPS,
            catalog.TURN_SENTIMENT,
            catalog.CALL_SENTIMENT,
            catalog.CALL_CATEGORIES,
            catalog.CALL_CARDS,
        )
    ),
}
EXTRA_INPUTS: dict[str, tuple[str, ...]] = {
    "transcript": ("audio",),  # the worker reads the accepted recording; the row names its manifest row
}


def _mart_sources() -> list[str]:
    """The Parquet datasets dbt reads (dbt/models/sources.yml): the inputs of every mart."""
    return sorted(d.name for d in catalog.MART_SOURCES)


def _report_inputs() -> list[str]:
    return sorted(d.name for d in catalog.REPORT_INPUTS)


def _tenant_dataset(datasets_root: str, tenant: str, dataset: str) -> str:
    return f"{datasets_root.rstrip('/')}/{tenant}/{dataset}"


def events_for_run(
    control: ControlStore,
    dagster_run_id: str,
    assets: list[AssetRun],
    *,
    engine_version: str,
    datasets_root: str | None = None,
) -> list[RunEvent]:
    """START + COMPLETE/FAIL per asset, inputs/outputs from the run's lineage rows, named at dataset
    level (core/lineage.dataset_name) with the partitions touched as a facet. Marts get the Parquet
    datasets dbt reads as inputs, reports the datasets the report reads; an asset that read and
    wrote nothing emits no event; check results are a ``<asset>.checks`` run whose input (the
    asset's output) carries ``dataQualityAssertions``, where the spec puts them."""
    rows = lineage_log.rows_of_run(control, dagster_run_id)
    # P17: an erased call's own artefacts (its audio, its transcript) are not named again; the partitions
    # that held its rows stay, and their erasure facet counts it
    rows = [
        r
        for r in rows
        if not (
            r["deleted_at"] is not None and r["call_id"] and r["call_id"] in (r["artefact_uri"] or "").split("#", 1)[0]
        )
    ]
    events = []
    for a in assets:
        mine = [
            r
            for r in rows
            if r["asset_key"] == a.asset_key
            or (
                a.asset_key.startswith(MARTS_ASSET + "/")
                and r["asset_key"] == MARTS_ASSET
                and r["artefact_uri"].endswith("." + a.asset_key.rsplit("/", 1)[-1])
            )
        ]
        tenants = sorted({r["tenant_id"] for r in mine if r["tenant_id"]})
        if len(tenants) > 1:  # one OpenLineage run per tenant: a tenant's run links only its datasets
            for tenant in tenants:
                own = [r for r in mine if r["tenant_id"] == tenant]
                events += _asset_events(a, own, dagster_run_id, engine_version, datasets_root, None, tenant)
        else:
            events += _asset_events(a, mine, dagster_run_id, engine_version, datasets_root, a.row_count)
    return events


def _asset_events(
    a: AssetRun,
    mine: list[dict],
    dagster_run_id: str,
    engine_version: str,
    datasets_root: str | None,
    row_count: int | None,
    tenant: str | None = None,
) -> list[RunEvent]:
    """START + COMPLETE/FAIL (and the checks run) of one asset materialization from its lineage rows
    *mine*; with *tenant*, that tenant's share of a materialization over several (its own run id,
    no row count: the asset's count is the run's)."""
    events: list[RunEvent] = []
    outs: dict[str, dict] = {}
    ins: dict[str, set] = {}
    for r in mine:
        base, part = dataset_partition(r["artefact_uri"])
        o = outs.setdefault(
            base,
            {"rows": 0, "deleted": 0, "erased": 0, "deleted_at": None, "parts": set(), "uri": r["artefact_uri"]},
        )
        o["rows"] += 1
        o["parts"].update([part] if part else [])
        if r["deleted_at"] is not None:
            o["deleted"] += 1
            o["erased"] += 1 if r["call_id"] else 0
            o["deleted_at"] = iso_utc(r["deleted_at"])
        sources: list[tuple[str, str | None]] = []
        if r["artefact_kind"] == "mart" and datasets_root:
            sources = [(_tenant_dataset(datasets_root, r["tenant_id"], d), None) for d in _mart_sources()]
        elif r["artefact_kind"] in ("report", "report_file") and datasets_root:
            sources = [(_tenant_dataset(datasets_root, r["tenant_id"], d), None) for d in _report_inputs()]
        elif r["source_uri"]:
            sources = [dataset_partition(r["source_uri"])]
        for src, spart in sources:
            ins.setdefault(src, set()).update([spart] if spart else [])
        if datasets_root:
            store_root = datasets_root.rsplit("/", 1)[0]
            for zone, ds in EXTRA_OUTPUTS.get(r["artefact_kind"], ()):
                uri = _tenant_dataset(f"{store_root}/{zone}", r["tenant_id"], ds)
                extra = outs.setdefault(
                    uri, {"rows": 0, "deleted": 0, "erased": 0, "deleted_at": None, "parts": set(), "uri": uri}
                )
                extra["parts"].update([part] if part else [])
            for zone in EXTRA_INPUTS.get(r["artefact_kind"], ()):
                ins.setdefault(_tenant_dataset(store_root, zone, r["tenant_id"]), set()).update([part] if part else [])
    for base in list(ins):
        if base in outs:
            del ins[base]
    if a.ok and not outs and not ins:
        return events  # nothing read, nothing written: no event (issue 16)
    inputs = [ol_dataset(u, fields=_fields(u), partitions=p) for u, p in sorted(ins.items())]
    own = [o for o in outs.values() if o["rows"]]  # the asset's row count is its own output's, not side tables
    outputs = [
        ol_dataset(
            o["uri"],
            fields=_fields(o["uri"]),
            row_count=row_count if len(own) == 1 and o["rows"] else None,
            output=True,
            partitions=o["parts"],
            erasure={
                "deleted": o["rows"] > 0 and o["deleted"] == o["rows"],
                "deleted_at": o["deleted_at"],
                "erased_calls": o["erased"],
            },
        )
        for _, o in sorted(outs.items())
    ]
    common = dict(
        dagster_run_id=dagster_run_id, asset_key=a.asset_key, partition=a.partition, engine_version=engine_version
    )
    events.append(run_event("START", event_time=a.started, inputs=inputs, outputs=[], **common))
    events.append(
        run_event(
            "COMPLETE" if a.ok else "FAIL",
            event_time=a.finished,
            inputs=inputs,
            outputs=outputs if a.ok else [],
            error=None if a.ok else (a.error or "step failed"),
            **common,
        )
    )
    if a.ok and a.checks and any(o["rows"] for o in outs.values()):
        checked = [
            ol_dataset(o["uri"], partitions=o["parts"], assertions=a.checks)
            for _, o in sorted(outs.items())
            if o["rows"]
        ]  # the asset's own output, not side tables
        common["asset_key"] = a.asset_key + CHECKS_JOB_SUFFIX
        events.append(run_event("START", event_time=a.finished, inputs=checked, outputs=[], **common))
        events.append(run_event("COMPLETE", event_time=a.finished, inputs=checked, outputs=[], **common))
    return events


def event_file_key(dagster_run_id: str, day: str) -> str:
    return catalog.openlineage_key(dagster_run_id, day)


class ObjectStoreTransport(Transport):
    """The client's file transport for this deployment: the run's events as newline-delimited JSON
    in the object store (``lineage/openlineage/<day>/<run>.ndjson``), written once on ``close``
    so a re-export replaces the object (idempotent)."""

    kind = "ccr_object_store"
    config_class = Config

    def __init__(self, store: ObjectStore, key: str) -> None:
        self.store, self.key, self.lines = store, key, []
        self.name, self.priority = "ccr_object_store", 0

    def emit(self, event: Any) -> None:
        self.lines.append(Serde.to_json(event))

    def close(self, timeout: float = -1) -> bool:  # noqa: ARG002
        self.store.put_bytes(self.key, "".join(line + "\n" for line in self.lines).encode("utf-8"))
        return True


def http_transport(url: str, *, api_key: str | None = None, timeout_s: float = 10.0) -> HttpTransport:
    """Optional sink: Marquez-compatible ``POST {url}/api/v1/lineage`` through the client's HTTP transport
    (5xx retried twice with back-off, then an error: a sensor tick must not hang on a dead endpoint)."""
    auth = ApiKeyTokenProvider({"apiKey": api_key}) if api_key else TokenProvider({})
    return HttpTransport(
        HttpConfig(
            url=url,
            endpoint="api/v1/lineage",
            timeout=timeout_s,
            auth=auth,
            retry={**DEFAULT_RETRY_CONFIG, "total": 2, "read": 2, "connect": 2},
        )
    )


def emit(
    events: list,
    *,
    store: ObjectStore,
    dagster_run_id: str,
    day: str,
    url: str | None = None,
    api_key: str | None = None,
) -> str:
    """Emit the run's events through the OpenLineage client: the object-store file first (the record
    of what was exported), then HTTP when a URL is configured. Returns the file's key."""
    key = event_file_key(dagster_run_id, day)
    sink = ObjectStoreTransport(store, key)
    client = OpenLineageClient(transport=sink)
    for e in events:
        client.emit(e)
    sink.close()
    if url:
        http = OpenLineageClient(transport=http_transport(url, api_key=api_key))
        for e in events:
            http.emit(e)
    return key
