"""dbt marts built through Dagster (dagster-dbt) over partitions written by the pipeline's own
steps: dbt tests run as asset checks, and the marts hold the expected per-tenant numbers."""

from __future__ import annotations

import re

import dagster as dg
import duckdb

from ccr_pipelines.defs.warehouse.assets import ccr_dbt_marts
from ccr_pipelines.resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource, _dbt_resource
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .analytics_helpers import write_scored_day

DAY = "2026-11-16"


def _write_day(wh: Warehouse, control: ControlStore, tenant: str, calls: dict[str, str]) -> None:
    write_scored_day(wh, control, "globex-support.v1", tenant, DAY, calls)


def test_marts_build_through_dagster_with_dbt_tests_as_checks(tmp_path, tenants_file):
    store = LocalObjectStore(tmp_path / "var" / "objects")
    wh = Warehouse(store)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    # two tenants sharing call ids and agent ids: marts must keep them apart (P4)
    _write_day(wh, control, "acme-energie", {"c-1": "good", "c-2": "bad"})
    _write_day(wh, control, "globex-support", {"c-1": "good"})
    result = dg.materialize(
        [ccr_dbt_marts],
        resources={
            "dbt": _dbt_resource(),
            "object_store": ObjectStoreResource(kind="local", root=str(store.root)),
            "control_store": ControlStoreResource(url=control.url),
            "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
        },
    )
    assert result.success
    # P13: the run that built the marts recorded one lineage row per tenant and mart, covering its days
    import sqlalchemy as sa

    from ccr_pipelines.stores.control_store import lineage

    marts = control.fetch(sa.select(lineage).where(lineage.c.artefact_kind == "mart"))
    assert {r["tenant_id"] for r in marts} == {"acme-energie", "globex-support"} and len(marts) == 2 * 9
    assert all(
        r["run_id"] == result.run_id and r["period_start"] and r["artefact_uri"].startswith("duckdb://") for r in marts
    )
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    assert (
        len(checks) >= 15
    )  # every dbt test ran as a check (the singular P4 test has no single model, so it runs in the build)
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
    months = dict(con.sql("select tenant_id, calls from mart_tenant_month").fetchall())
    assert months == {"acme-energie": 2, "globex-support": 1}
    rate = con.sql(
        "select compliance_rate from mart_compliance_step where tenant_id = 'acme-energie' "
        "and step = 'recording_disclosure'"
    ).fetchall()[0][0]
    assert rate == 0.5
    backlog = dict(con.sql("select tenant_id, unreviewed_calls from mart_review_backlog").fetchall())
    assert backlog == {"acme-energie": 1}  # the call without disclosure auto-fails and waits for review
    # issue 19: sentiment by agent and week, drivers and categories with the change vs the previous week
    agents = con.sql("select tenant_id, agent_id, calls from mart_sentiment_agent_week order by 1").fetchall()
    assert agents == [("acme-energie", "ag-1", 2), ("globex-support", "ag-1", 1)]
    drivers = dict(con.sql("select tenant_id, sum(driver_calls) from mart_driver_week group by 1").fetchall())
    assert drivers == {"acme-energie": 2, "globex-support": 1}
    assert (
        con.execute("select count(*) from mart_driver_week where change_vs_previous <> driver_calls").fetchone()[0] == 0
    )
    assert con.execute("select count(*) from mart_sentiment_team_week").fetchone()[0] == 2
    con.close()

    # P16: a restricted subject's call leaves the marts at the next build (and comes back when lifted)
    from ccr_pipelines.stores.control_store import subject_calls, subject_restrictions, utcnow

    control.insert(
        subject_calls,
        dict(
            tenant_id="acme-energie",
            subject_hash="h" * 64,
            identifier_type="phone",
            call_id="c-2",
            day=DAY,
            created_at=utcnow(),
        ),
    )
    control.insert(
        subject_restrictions,
        dict(
            tenant_id="acme-energie", subject_hash="h" * 64, identifier_type="phone", actor="t", restricted_at=utcnow()
        ),
    )
    result = dg.materialize(
        [ccr_dbt_marts],
        resources={
            "dbt": _dbt_resource(),
            "object_store": ObjectStoreResource(kind="local", root=str(store.root)),
            "control_store": ControlStoreResource(url=control.url),
            "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
        },
    )
    assert result.success
    # the restricted call's id reaches dbt through a file, never the run's event log (P16, P17)
    events = result.all_events
    assert events and not any(re.search(r"\bc-2\b", str(e)) for e in events)
    con = duckdb.connect(str(tmp_path / "var" / "warehouse.duckdb"), read_only=True)
    assert dict(con.sql("select tenant_id, calls from mart_tenant_month").fetchall()) == {
        "acme-energie": 1,
        "globex-support": 1,
    }
    assert dict(con.sql("select tenant_id, unreviewed_calls from mart_review_backlog").fetchall()) == {}
    con.close()


def test_marts_build_on_an_s3_store_over_a_mirror_and_are_published(tmp_path, tenants_file, s3_bucket, monkeypatch):
    """Issue 16: on the prod (S3) profile the marts asset always failed. dbt-duckdb reads local Parquet, so
    the datasets are mirrored into CCR_MARTS_WORKDIR (changed files only; a deleted partition leaves the
    mirror, P17/P19), the marts are built there and the DuckDB file is published to marts/warehouse.duckdb.
    dbt's own totals (every node, as its "Done. PASS=…" line) come back as an observation."""
    from ccr_pipelines.services.marts import MARTS_KEY
    from ccr_pipelines.stores.object_store import S3ObjectStore

    endpoint, bucket = s3_bucket
    monkeypatch.setenv("CCR_MARTS_WORKDIR", str(tmp_path / "marts_work"))
    store = S3ObjectStore(bucket, region="eu-west-3", endpoint_url=endpoint)
    wh = Warehouse(store)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    _write_day(wh, control, "acme-energie", {"c-1": "good", "c-2": "bad"})
    _write_day(wh, control, "globex-support", {"c-1": "good"})
    resources = {
        "dbt": _dbt_resource(),
        "control_store": ControlStoreResource(url=control.url),
        "object_store": ObjectStoreResource(kind="s3", bucket=bucket, endpoint_url=endpoint),
        "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
    }
    result = dg.materialize([ccr_dbt_marts], resources=resources)
    assert result.success
    [md] = [
        md
        for md in (
            {k: v.value for k, v in o.asset_observation_data.asset_observation.metadata.items()}
            for o in result.get_asset_observation_events()
        )
        if "dbt_total" in md
    ]
    assert md["dbt_total"] == md["dbt_pass"] > md["dbt_tests_total"] == md["dbt_tests_pass"] > 0
    published = tmp_path / "published.duckdb"
    store.download_file(MARTS_KEY, published)
    con = duckdb.connect(str(published), read_only=True)
    assert dict(con.sql("select tenant_id, calls from mart_tenant_month").fetchall()) == {
        "acme-energie": 2,
        "globex-support": 1,
    }
    con.close()

    # a partition deleted from the store (a purge) leaves the mirror and the next build
    for obj in list(store.list("datasets/globex-support/")):
        store.delete(obj.key)
    assert dg.materialize([ccr_dbt_marts], resources=resources).success
    store.download_file(MARTS_KEY, published)
    con = duckdb.connect(str(published), read_only=True)
    assert dict(con.sql("select tenant_id, calls from mart_tenant_month").fetchall()) == {"acme-energie": 2}
    con.close()


def test_the_marts_build_when_a_source_dataset_has_no_file_yet_and_drops_the_placeholder_once_one_exists(tmp_path):
    """A store scored before issue 19 has no call_sentiment / call_categories / call_cards partition:
    dbt's glob over a dataset nobody wrote fails the whole build (and with it a purge or an erasure
    that rebuilds the marts — the erasure benchmark found it). An empty placeholder stands in until a
    tenant's partition exists."""
    import shutil

    import pyarrow.parquet as pq

    from ccr_pipelines.core import catalog
    from ccr_pipelines.services.marts import EMPTY_SOURCES_FOLDER, ensure_mart_sources, rebuild_marts

    store = LocalObjectStore(tmp_path / "objects")
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    _write_day(Warehouse(store), control, "acme-energie", {"c-1": "good", "c-2": "bad"})
    root = store.root / "datasets"
    for name in catalog.CONVERSATION_DATASETS:  # as a store scored before issue 19
        shutil.rmtree(root / "acme-energie" / name, ignore_errors=True)
    rebuild_marts(store.root, control=control)  # raised "No files found that match the pattern" before
    placeholder = root / EMPTY_SOURCES_FOLDER / "call_sentiment" / "day=1970-01-01" / "part.parquet"
    assert pq.ParquetFile(placeholder).read().num_rows == 0
    assert catalog.kind_of_key(str(placeholder.relative_to(store.root))) == "mart_source_placeholder"
    real = root / "acme-energie" / "call_sentiment" / "day=2026-11-16"
    real.mkdir(parents=True)
    pq.write_table(catalog.CALL_SENTIMENT.schema.empty_table(), real / "part.parquet")
    assert "call_sentiment" not in ensure_mart_sources(root) and not placeholder.exists()
    control.dispose()
