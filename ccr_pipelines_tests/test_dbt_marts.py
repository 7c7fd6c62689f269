"""dbt marts built through Dagster (dagster-dbt) over partitions written by the pipeline's own
steps: dbt tests run as asset checks, and the marts hold the expected per-tenant numbers."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg
import duckdb
import pyarrow as pa

from ccr_pipelines.core.tenants import Tenant
from ccr_pipelines.defs.warehouse.assets import ccr_dbt_marts
from ccr_pipelines.resources import ObjectStoreResource, _dbt_resource
from ccr_pipelines.services.ingest import MANIFEST_DATASET, MANIFEST_SCHEMA
from ccr_pipelines.services.metrics import metrics_partition
from ccr_pipelines.services.redact import REDACTED_DATASET, REDACTED_SCHEMA
from ccr_pipelines.services.score import score_partition
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

DAY = "2026-11-16"
TEXTS = {"good": ["Hello, thank you for calling Globex support, my name is Sam.", "This call is recorded.",
                  "How can I help you?", "I will reset your line.", "Thank you for calling, goodbye."],
         "bad": ["Hello.", "Goodbye."]}


def _write_day(wh: Warehouse, control: ControlStore, tenant: str, calls: dict[str, str]) -> None:
    manifest, segs = [], []
    for call_id, kind in calls.items():
        manifest.append({"tenant_id": tenant, "call_id": call_id, "day": DAY, "source_key": "k", "audio_key": "a",
                         "etag": "e", "sha256": "0" * 64, "size_bytes": 1, "duration_s": 30.0, "sample_rate": 16000,
                         "channels": 2, "codec": "flac", "container": "flac", "agent_id": "ag-1", "team": "team-a",
                         "subject_hashes": [], "has_sidecar": True, "ingested_at": datetime.now(timezone.utc), "run_id": "r"})
        for i, t in enumerate(TEXTS[kind]):
            segs.append({"tenant_id": tenant, "call_id": call_id, "segment_index": i, "speaker": "agent", "channel": 0,
                         "start_s": 3.0 * i, "end_s": 3.0 * i + 2.5, "text": t, "avg_logprob": -0.1,
                         "speech_regions": [[3.0 * i, 3.0 * i + 2.5]], "pii_phone": 0, "pii_email": 0, "pii_card": 0,
                         "pii_iban": 0, "pii_nir": 0, "redactor_version": "x"})
    wh.write_partition(MANIFEST_DATASET, tenant, DAY, pa.Table.from_pylist(manifest, schema=MANIFEST_SCHEMA))
    wh.write_partition(REDACTED_DATASET, tenant, DAY, pa.Table.from_pylist(segs, schema=REDACTED_SCHEMA))
    metrics_partition(wh, tenant, DAY)
    score_partition(wh, control, Tenant(id=tenant, display_name=tenant, languages=["en"],
                                        scorecard="globex-support.v1"), DAY)


def test_marts_build_through_dagster_with_dbt_tests_as_checks(tmp_path):
    store = LocalObjectStore(tmp_path / "var" / "objects")
    wh = Warehouse(store)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    # two tenants sharing call ids and agent ids: marts must keep them apart (P4)
    _write_day(wh, control, "acme-energie", {"c-1": "good", "c-2": "bad"})
    _write_day(wh, control, "globex-support", {"c-1": "good"})
    result = dg.materialize([ccr_dbt_marts], resources={
        "dbt": _dbt_resource(), "object_store": ObjectStoreResource(kind="local", root=str(store.root))})
    assert result.success
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    assert len(checks) >= 15  # every dbt test ran as a check (the singular P4 test has no single model, so it runs in the build)
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
    months = dict(con.sql("select tenant_id, calls from mart_tenant_month").fetchall())
    assert months == {"acme-energie": 2, "globex-support": 1}
    rate = con.sql("select compliance_rate from mart_compliance_step where tenant_id = 'acme-energie' "
                   "and step = 'recording_disclosure'").fetchall()[0][0]
    assert rate == 0.5
    backlog = dict(con.sql("select tenant_id, unreviewed_calls from mart_review_backlog").fetchall())
    assert backlog == {"acme-energie": 1}  # the call without disclosure auto-fails and waits for review
    con.close()
