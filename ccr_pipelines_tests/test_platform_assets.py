"""The tenant_registry asset on real stores, and a Dagster run on a PostgreSQL instance."""

from __future__ import annotations

import json

import dagster as dg
import sqlalchemy as sa

from ccr_pipelines.defs.platform.assets import tenant_registry
from ccr_pipelines.loaders.config_files import load_tenant_registry
from ccr_pipelines.resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ccr_pipelines.services.tenant_registry import REGISTRY_SNAPSHOT_PREFIX
from ccr_pipelines.stores.control_store import ControlStore, audit_log
from ccr_pipelines.stores.object_store import LocalObjectStore

from .conftest import plain_pg_url

ASSET_KEY = dg.AssetKey(["control", "platform", "tenant_registry"])


def _resources(tmp_path, tenants_file, control_url=None, object_store=None):
    return {
        "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
        "object_store": object_store or ObjectStoreResource(kind="local", root=str(tmp_path / "objects")),
        "control_store": ControlStoreResource(url=control_url or f"sqlite:///{tmp_path}/control.db"),
    }


def _audits(url: str) -> list[dict]:
    store = ControlStore(url)
    try:
        return store.fetch(sa.select(audit_log).where(audit_log.c.entity == "tenant_config").order_by(audit_log.c.id))
    finally:
        store.dispose()


def _materialize(resources, **kw) -> tuple[dg.ExecuteInProcessResult, dict]:
    result = dg.materialize([tenant_registry], resources=resources, **kw)
    assert result.success
    [event] = result.get_asset_materialization_events()
    mat = event.materialization
    assert mat.asset_key == ASSET_KEY
    return result, {k: v.value for k, v in mat.metadata.items()} | {"_tags": mat.tags or {}}


def test_p20_the_first_materialization_snapshots_the_registry_and_audits_it(tmp_path, tenants_file):
    url = f"sqlite:///{tmp_path}/control.db"
    result, md = _materialize(_resources(tmp_path, tenants_file))
    registry = load_tenant_registry(tenants_file)
    assert (md["tenants"], md["active_tenants"]) == (3, 2)
    assert md["suspended_tenants"] == ["initech-paused"]  # P12
    assert md["digest"] == registry.digest and md["changed"] is True
    assert md["_tags"].get("dagster/data_version") == registry.digest

    snapshot_key = f"{REGISTRY_SNAPSHOT_PREFIX}/{registry.digest}.json"
    store = LocalObjectStore(tmp_path / "objects")
    assert json.loads(store.get_bytes(snapshot_key)) == registry.as_dicts()
    assert md["snapshot"] == store.uri(snapshot_key)

    [audit] = _audits(url)
    assert audit["entity_id"] == registry.digest and audit["actor"] == f"dagster-run:{result.run_id}"
    assert audit["change"] == {
        "previous": None,
        "added": ["acme-energie", "globex-support", "initech-paused"],
        "removed": [],
        "changed": {},
    }


def test_p20_an_unchanged_registry_adds_no_audit_row_and_a_change_adds_one_with_the_diff(tmp_path, tenants_file):
    url = f"sqlite:///{tmp_path}/control.db"
    _materialize(_resources(tmp_path, tenants_file))
    first_digest = load_tenant_registry(tenants_file).digest

    _, md = _materialize(_resources(tmp_path, tenants_file))
    assert md["changed"] is False
    assert len(_audits(url)) == 1  # unchanged registry: no new audit row

    tenants_file.write_text(tenants_file.read_text().replace("    suspended: true\n", "    suspended: false\n"))
    result, md = _materialize(_resources(tmp_path, tenants_file))
    assert md["changed"] is True and md["suspended_tenants"] == [] and md["active_tenants"] == 3
    audits = _audits(url)
    assert len(audits) == 2
    assert audits[-1]["change"] == {
        "previous": first_digest,
        "added": [],
        "removed": [],
        "changed": {"initech-paused": {"suspended": {"from": True, "to": False}}},
    }
    assert audits[-1]["actor"] == f"dagster-run:{result.run_id}"
    assert audits[-1]["entity_id"] == md["digest"] != first_digest
    assert len(list(LocalObjectStore(tmp_path / "objects").list(REGISTRY_SNAPSHOT_PREFIX + "/"))) == 2

    # going back to the first version is a change too, and is audited as such
    tenants_file.write_text(tenants_file.read_text().replace("    suspended: false\n", "    suspended: true\n"))
    _materialize(_resources(tmp_path, tenants_file))
    audits = _audits(url)
    assert len(audits) == 3 and audits[-1]["entity_id"] == first_digest
    assert audits[-1]["change"]["changed"] == {"initech-paused": {"suspended": {"from": False, "to": True}}}


def test_an_invalid_registry_fails_the_run_and_writes_nothing(tmp_path, tenants_file):
    tenants_file.write_text(tenants_file.read_text().replace("Europe/Dublin", "Mars/Olympus"))
    result = dg.materialize([tenant_registry], resources=_resources(tmp_path, tenants_file), raise_on_error=False)
    assert not result.success
    assert result.get_asset_materialization_events() == []
    assert list(LocalObjectStore(tmp_path / "objects").list("")) == []


def test_the_registry_asset_runs_on_s3_and_a_postgresql_control_store(tmp_path, tenants_file, s3_bucket, pg_url):
    endpoint, bucket = s3_bucket
    store = ObjectStoreResource(kind="s3", bucket=bucket, region="eu-west-3", endpoint_url=endpoint)
    resources = _resources(tmp_path, tenants_file, control_url=pg_url, object_store=store)
    _, md = _materialize(resources)
    assert md["snapshot"].startswith(f"s3://{bucket}/{REGISTRY_SNAPSHOT_PREFIX}/")
    _, md = _materialize(resources)
    assert md["changed"] is False
    [audit] = _audits(pg_url)
    assert audit["change"]["added"] == ["acme-energie", "globex-support", "initech-paused"]


def test_a_dagster_run_succeeds_on_the_postgresql_instance(tmp_path, tenants_file, pg_url):
    url = plain_pg_url(pg_url)  # dagster-postgres takes a plain postgresql:// URL
    home = tmp_path / "pg_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        f"storage:\n  postgres:\n    postgres_url: {url}\ntelemetry:\n  enabled: false\nnux:\n  enabled: false\n"
    )
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        result, md = _materialize(_resources(tmp_path, tenants_file), instance=instance)
        record = instance.get_latest_materialization_event(ASSET_KEY)
        assert record is not None and record.run_id == result.run_id
        assert record.asset_materialization.metadata["tenants"].value == 3
        run = instance.get_run_by_id(result.run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
    # and it is really in PostgreSQL, not in a file beside it
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(sa.text("SELECT run_id, status FROM runs")).all()
            mats = conn.execute(
                sa.text(
                    "SELECT count(*) FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION' "
                    "AND run_id = :r AND asset_key = :k"
                ),
                {"r": result.run_id, "k": ASSET_KEY.to_string()},
            ).scalar()
    finally:
        engine.dispose()
    assert runs == [(result.run_id, "SUCCESS")]
    assert mats == 1
    assert not list(home.rglob("*.db"))
