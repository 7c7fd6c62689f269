"""Record-level lineage model and OpenLineage events (P2, P9, P13, P16, P17). Pure: no Dagster, no I/O.

A lineage row links one artefact (an object, or a call's row in a Parquet
partition written ``<partition uri>#<call id>``) to its source call id, the
run, asset key and partition, the code / model / scorer / scorecard versions,
the engine that processed it and the region where it is stored. Rows of
partition-level artefacts (marts, reports) carry no call id but the days they
cover (``period_start`` .. ``period_end``, end exclusive), so a call's chain
reaches them through its day. No personal data: call ids and URIs only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attr
from openlineage.client import event_v2 as olev
from openlineage.client import facet_v2 as olf

# The chain of a call, upstream first; the data class gives the retention (core/tenants.py).
CALL_KINDS: tuple[str, ...] = (
    "audio",
    "manifest_row",
    "transcript",
    "redacted_transcript",
    "playback_audio",
    "call_metrics",
    "call_score",
)
PERIOD_KINDS: tuple[str, ...] = ("mart", "report", "report_file")
DATA_CLASS: dict[str, str] = {
    "audio": "audio",
    "manifest_row": "scores",
    "transcript": "raw_transcript",
    "redacted_transcript": "redacted_transcript",
    "playback_audio": "audio",
    "call_metrics": "scores",
    "call_score": "scores",
    "mart": "marts",
    "report": "reports",
    "report_file": "reports",
}
STAGE_ORDER = {k: i for i, k in enumerate(CALL_KINDS + PERIOD_KINDS)}


@dataclass(frozen=True)
class LineageContext:
    """What every lineage row of one materialization shares (the writer passes it to the service)."""

    run_id: str | None
    asset_key: str
    partition_key: str | None
    code_version: str
    region: str
    engine: str

    def row(
        self,
        *,
        tenant_id: str,
        kind: str,
        uri: str,
        source_uri: str | None = None,
        call_id: str | None = None,
        **extra: Any,
    ) -> dict:
        row = dict(
            tenant_id=tenant_id,
            call_id=call_id,
            artefact_kind=kind,
            artefact_uri=uri[:1100],
            source_uri=(source_uri or None) and source_uri[:1100],
            asset_key=self.asset_key,
            partition_key=self.partition_key,
            run_id=self.run_id,
            code_version=self.code_version[:64],
            engine=self.engine,
            region=self.region,
        )
        row.update(extra)  # a per-row engine (e.g. whisperx with its versions) overrides the step's
        row["engine"] = (row["engine"] or "")[:200] or None
        return row


def row_uri(partition_uri: str, call_id: str) -> str:
    """A call's row in a per-day Parquet partition."""
    return f"{partition_uri}#{call_id}"


def retention_until(created_at: datetime, kind: str, retention_days: Mapping[str, int]) -> datetime | None:
    """When the artefact falls due for purge under the tenant's retention class (P19)."""
    cls = DATA_CLASS.get(kind)
    if cls is None or cls not in retention_days:
        return None
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return created_at + timedelta(days=retention_days[cls])


def artefact_view(row: Mapping[str, Any], retention_days: Mapping[str, int]) -> dict:
    """One artefact as the lookups show it: versions, run, where, retention and deletion status."""
    created = row["created_at"]
    until = retention_until(created, row["artefact_kind"], retention_days)
    return {
        "kind": row["artefact_kind"],
        "uri": row["artefact_uri"],
        "source_uri": row.get("source_uri"),
        "call_id": row.get("call_id"),
        "asset_key": row.get("asset_key"),
        "partition": row.get("partition_key"),
        "period": ([row["period_start"], row["period_end"]] if row.get("period_start") else None),
        "run_id": row.get("run_id"),
        "code_version": row.get("code_version"),
        "model_version": row.get("model_version"),
        "scorer_version": row.get("scorer_version"),
        "scorecard_version": row.get("scorecard_version"),
        "engine": row.get("engine"),
        "region": row.get("region"),
        "sha256": row.get("sha256"),
        "created_at": iso_utc(created),
        "retention_until": iso_utc(until),
        "deleted_at": iso_utc(row.get("deleted_at")),
        "status": "deleted" if row.get("deleted_at") else "present",
    }


def order_chain(artefacts: Iterable[dict]) -> list[dict]:
    """Upstream first (audio → … → report), then by time: the order an auditor reads a chain in."""
    return sorted(artefacts, key=lambda a: (STAGE_ORDER.get(a["kind"], 99), a["created_at"] or "", a["uri"]))


def covers(row: Mapping[str, Any], day: str) -> bool:
    return bool(row.get("period_start")) and row["period_start"] <= day < (row.get("period_end") or "9999-12-31")


def iso_utc(v: Any) -> str | None:
    """ISO 8601 with a zone (SQLite hands back naive UTC datetimes)."""
    if v is None:
        return None
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=UTC)
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


# ---------------------------------------------------------------------------
# OpenLineage (spec 2-0-2 RunEvent), built with the official client's classes (openlineage-python:
# typed run/job/dataset facets, its serialiser). Namespaces follow the spec's dataset naming: local
# files "file" + path, S3 "s3://bucket" + key; the DuckDB marts "duckdb://<file>" + schema.table.
OL_SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
PRODUCER = "https://callcenterrate.example/ccr_pipelines"
JOB_NAMESPACE = "ccr_pipelines"
# Our own facet (P17): erasure / deletion state of a dataset, versioned; its JSON Schema ships in
# ccr_pipelines/schemas/ and is what this URL names.
ERASURE_FACET_VERSION = "1-0-0"
ERASURE_FACET_URL = (
    f"https://callcenterrate.example/spec/facets/{ERASURE_FACET_VERSION}/"
    "CcrErasureDatasetFacet.json#/$defs/CcrErasureDatasetFacet"
)
ERASURE_FACET_NAME = "ccr_erasure"


PARTITIONS_FACET_URL = (
    "https://callcenterrate.example/spec/facets/1-0-0/CcrPartitionsDatasetFacet.json#/$defs/CcrPartitionsDatasetFacet"
)
PARTITIONS_FACET_NAME = "ccr_partitions"
PARTITION_FACET_URL = (
    "https://callcenterrate.example/spec/facets/1-0-0/CcrPartitionRunFacet.json#/$defs/CcrPartitionRunFacet"
)
_ZONES = (
    "raw",
    "audio",
    "quarantine",
    "playback",
    "restricted",
    "datasets",
    "reports",
    "exports",
    "control",
    "lineage",
)


def _split_key(path: str) -> tuple[str, list[str]]:
    """(root, key parts) of a path: the key starts at the rightmost zone folder."""
    parts = path.split("/")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _ZONES and i + 1 < len(parts):
            return "/".join(parts[:i]), parts[i:]
    return "", parts


def dataset_partition(uri: str) -> tuple[str, str | None]:
    """The dataset-level address of an artefact and the partition it lies in (issue 16, one
    convention, docs/lineage.md): ``<zone>/<tenant>/<dataset>`` for every object of a dataset,
    the day (``day=`` folder, or ``YYYY/MM/DD`` folders) or report period as its partition."""
    uri = uri.split("#", 1)[0]
    if uri.startswith("duckdb://"):
        return uri, None
    scheme, sep, rest = uri.partition("://")
    if not sep:
        raise ValueError("not an object-store or warehouse address")
    if scheme == "file":
        from urllib.parse import unquote

        rest = unquote(rest)  # Path.as_uri() writes '=' as %3D
    root, parts = _split_key(rest)
    zone = parts[0]
    if zone not in _ZONES or len(parts) < 2:
        return uri, None
    tenant, tail = parts[1], parts[2:]
    for i, part in enumerate(tail):
        if part.startswith("day="):
            return (
                f"{scheme}://{'/'.join([root, zone, tenant, *tail[:i]]).lstrip('/') if scheme != 'file' else '/'.join([root, zone, tenant, *tail[:i]])}",
                part[4:],
            )
        if len(part) == 4 and part.isdigit() and len(tail) >= i + 3 and tail[i + 1].isdigit() and tail[i + 2].isdigit():
            base = "/".join([root, zone, tenant, *tail[:i]])
            return f"{scheme}://{base if scheme == 'file' else base.lstrip('/')}", f"{part}-{tail[i + 1]}-{tail[i + 2]}"
    if zone == "reports" and len(tail) >= 3:  # reports/<tenant>/<kind>/<period>/<file>
        base = "/".join([root, zone, tenant, tail[0]])
        return f"{scheme}://{base if scheme == 'file' else base.lstrip('/')}", tail[1]
    base = "/".join([root, zone, tenant, *tail])  # already a dataset-level address (idempotent)
    return f"{scheme}://{base if scheme == 'file' else base.lstrip('/')}", None


def dataset_name(uri: str) -> tuple[str, str]:
    """(namespace, name) of the dataset an address belongs to, per the OpenLineage naming spec
    (``file`` + path, ``s3://bucket`` + key, ``duckdb://<file>`` + ``schema.table``), at dataset
    level: every day of a tenant's dataset is the same node, so outputs and inputs join."""
    uri = dataset_partition(uri)[0]
    if uri.startswith("s3://"):
        bucket, _, key = uri[5:].partition("/")
        return f"s3://{bucket}", key
    if uri.startswith("file://"):
        from urllib.parse import unquote

        return "file", unquote(uri[len("file://") :])  # a path, not a URI: '=' stays '='
    if uri.startswith("duckdb://"):
        path, _, table = uri[len("duckdb://") :].rpartition("/")
        return f"duckdb://{path}", table
    raise ValueError("not an object-store or warehouse address")


# Our facets as client facet classes (openlineage-python): typed, serialised by the client's Serde,
# each _schemaURL naming a definition (`#/$defs/...`) in the JSON Schema shipped in ccr_pipelines/schemas/.
@attr.define
class CcrErasureDatasetFacet(olf.DatasetFacet):
    """P17: a dataset's deletion state, as counts and ids only (never the erased content)."""

    # `deleted` (ours) vs the base class's `_deleted` (delete-this-facet marker): same init name, so ours is
    # passed as `all_deleted=`; it is serialised as `deleted`, as the schema names it
    deleted: bool = attr.field(alias="all_deleted")
    erasedCalls: int = 0  # noqa: N815 - the spec's camelCase
    deletedAt: str | None = None  # noqa: N815
    reason: str | None = None
    dsrRequestId: int | None = None  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return ERASURE_FACET_URL


@attr.define
class CcrPartitionsDatasetFacet(olf.DatasetFacet):
    """The days (or report periods) of a dataset-level dataset that the run read or wrote."""

    partitions: list[str]

    @staticmethod
    def _get_schema() -> str:
        return PARTITIONS_FACET_URL


@attr.define
class CcrPartitionRunFacet(olf.RunFacet):
    """The Dagster partition and run id behind an OpenLineage run."""

    partition: str
    dagsterRunId: str  # noqa: N815

    @staticmethod
    def _get_schema() -> str:
        return PARTITION_FACET_URL


def ol_dataset(
    uri: str,
    *,
    fields: Iterable[tuple[str, str]] = (),
    row_count: int | None = None,
    assertions: Iterable[tuple[str, bool]] = (),
    erasure: Mapping[str, Any] | None = None,
    output: bool = False,
    partitions: Iterable[str] = (),
) -> olev.InputDataset | olev.OutputDataset:
    """An input or output dataset (client classes) with schema, partition, data-quality and erasure
    facets where known. ``dataQualityAssertions`` is an input-dataset facet in the spec: only inputs
    carry it."""
    namespace, name = dataset_name(uri)
    facets: dict[str, Any] = {}
    fields = list(fields)
    if fields:
        facets["schema"] = olf.schema_dataset.SchemaDatasetFacet(
            fields=[olf.schema_dataset.SchemaDatasetFacetFields(name=n, type=t) for n, t in fields], producer=PRODUCER
        )
    partitions = sorted(set(partitions))
    if partitions:
        facets[PARTITIONS_FACET_NAME] = CcrPartitionsDatasetFacet(partitions=partitions, producer=PRODUCER)
    if erasure is not None:
        fields_ = erasure_facet_fields(**erasure)
        facets[ERASURE_FACET_NAME] = CcrErasureDatasetFacet(
            all_deleted=fields_.pop("deleted"), **fields_, producer=PRODUCER
        )
    assertions = list(assertions)
    if output:
        if assertions:
            raise ValueError("dataQualityAssertions is an input-dataset facet")
        out_facets = (
            {}
            if row_count is None
            else {
                "outputStatistics": (
                    olf.output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
                        rowCount=int(row_count), producer=PRODUCER
                    )
                )
            }
        )
        return olev.OutputDataset(namespace=namespace, name=name, facets=facets, outputFacets=out_facets)
    in_facets: dict[str, Any] = {}
    if assertions:
        in_facets["dataQualityAssertions"] = olf.data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(
            assertions=[
                olf.data_quality_assertions_dataset.Assertion(assertion=a, success=bool(ok)) for a, ok in assertions
            ],
            producer=PRODUCER,
        )
    if row_count is not None:
        in_facets["dataQualityMetrics"] = olf.data_quality_metrics_input_dataset.DataQualityMetricsInputDatasetFacet(
            columnMetrics={}, rowCount=int(row_count), producer=PRODUCER
        )
    return olev.InputDataset(namespace=namespace, name=name, facets=facets, inputFacets=in_facets)


def erasure_facet_fields(
    *,
    deleted: bool,
    deleted_at: str | None = None,
    reason: str | None = None,
    erased_calls: int = 0,
    dsr_request_id: int | None = None,
) -> dict:
    """P17: a dataset's deletion state, as counts and ids only (never the erased content)."""
    out: dict[str, Any] = {"deleted": bool(deleted), "erasedCalls": int(erased_calls)}
    if deleted_at:
        out["deletedAt"] = deleted_at
    if reason:
        out["reason"] = reason
    if dsr_request_id is not None:
        out["dsrRequestId"] = int(dsr_request_id)
    return out


def ol_run_id(dagster_run_id: str, asset_key: str, partition: str | None, tenant: str | None = None) -> str:
    """One OpenLineage run per asset materialization (a Dagster run may materialize several), and per
    tenant when the materialization covered several (a day's transcription, a backfill): one
    tenant's run never links another tenant's datasets (P4)."""
    name = f"ccr:{dagster_run_id}:{asset_key}:{partition or ''}" + (f":{tenant}" if tenant else "")
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


CHECKS_JOB_SUFFIX = ".checks"


def run_event(
    event_type: str,
    *,
    event_time: datetime,
    dagster_run_id: str,
    asset_key: str,
    partition: str | None,
    inputs: list,
    outputs: list,
    engine_version: str,
    error: str | None = None,
    tenant: str | None = None,
) -> olev.RunEvent:
    """A RunEvent (START, COMPLETE or FAIL) for one asset materialization, as the client's class."""
    if event_type not in ("START", "COMPLETE", "FAIL"):
        raise ValueError(f"unsupported event type {event_type!r}")
    run_facets: dict[str, Any] = {
        "processing_engine": olf.processing_engine_run.ProcessingEngineRunFacet(
            version=engine_version, name="dagster", openlineageAdapterVersion="ccr-1", producer=PRODUCER
        ),
    }
    if error:
        run_facets["errorMessage"] = olf.error_message_run.ErrorMessageRunFacet(
            message=error[:500], programmingLanguage="python", producer=PRODUCER
        )
    if partition:
        run_facets["ccr_partition"] = CcrPartitionRunFacet(
            partition=partition, dagsterRunId=dagster_run_id, producer=PRODUCER
        )
    return olev.RunEvent(
        eventType=olev.RunState[event_type],
        eventTime=event_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        run=olev.Run(runId=ol_run_id(dagster_run_id, asset_key, partition, tenant), facets=run_facets),
        job=olev.Job(namespace=JOB_NAMESPACE, name=asset_key),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def event_dict(event: olev.RunEvent) -> dict:
    """The event as the spec's JSON object (the client's serialiser: None fields left out)."""
    from openlineage.client.serde import Serde

    return Serde.to_dict(event)
