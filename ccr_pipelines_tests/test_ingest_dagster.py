"""The inbox sensor and the call_manifest asset, run by Dagster against real stores
(a local directory and a real S3 endpoint on loopback)."""

from __future__ import annotations

import re
import time

import dagster as dg
import pytest

from ccr_pipelines.core.ingest_sensor import key_digest
from ccr_pipelines.defs.ingest.assets import ACCOUNTING_CHECK, ISOLATION_CHECK, call_manifest
from ccr_pipelines.defs.ingest.sensors import raw_recordings_sensor
from ccr_pipelines.resources import (
    ControlStoreResource,
    IngestConfigResource,
    ObjectStoreResource,
    TenantRegistryResource,
    WarehouseResource,
)
from ccr_pipelines.stores.object_store import LocalObjectStore

from .audio_helpers import wav_bytes
from .ingest_helpers import SECRET, names_call, sidecar


def _store_resource(store) -> ObjectStoreResource:
    if isinstance(store, LocalObjectStore):
        return ObjectStoreResource(kind="local", root=str(store.root))
    return ObjectStoreResource(
        kind="s3", bucket=store.bucket, region=store.region, endpoint_url=store.client.meta.endpoint_url
    )


@pytest.fixture
def resources(object_store, tenants_file, tmp_path):
    os_res = _store_resource(object_store)
    return {
        "object_store": os_res,
        "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
        "warehouse": WarehouseResource(object_store=os_res),
        "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
        "ingest_config": IngestConfigResource(
            subject_hash_key=SECRET, sensor_max_objects_per_tick=500, max_duration_s=600.0
        ),
    }


def _tick(instance, resources, cursor):
    with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as ctx:
        return raw_recordings_sensor(ctx)


def test_sensor_sees_every_object_once_over_pages_ticks_and_a_restart(object_store, resources):
    for i in range(1200):  # more than one ListObjectsV2 page
        tenant = "acme-energie" if i % 3 else "globex-support"
        object_store.put_bytes(f"raw/{tenant}/2026/11/16/c-{i:05d}.wav", b"x")
    object_store.put_bytes("raw/acme-energie/2026/11/16/c-00001.json", b"{}")  # sidecar: not a run of its own
    time.sleep(5.2)  # objects younger than 5 s wait for the next tick
    instance = dg.DagsterInstance.ephemeral()
    seen, cursor, ticks = [], None, 0
    while True:
        result = _tick(instance, resources, cursor)
        if isinstance(result, dg.SkipReason):
            assert "no new objects" in result.skip_message
            break
        ticks += 1
        assert (
            sum(
                len(r.run_config["ops"]["silver__ingest__call_manifest"]["config"]["key_digests"])
                for r in result.run_requests
            )
            <= 500
        )  # bounded work per tick
        for rr in result.run_requests:
            assert rr.partition_key == "2026-11-16" and rr.tags["ccr/tenant"] in ("acme-energie", "globex-support")
            seen += rr.run_config["ops"]["silver__ingest__call_manifest"]["config"]["key_digests"]
        cursor = result.cursor  # a restarted daemon gets only this string back
    assert ticks == 3 and len(seen) == 1200 and len(set(seen)) == 1200

    object_store.put_bytes("raw/globex-support/2026/11/17/c-new.wav", b"x")
    time.sleep(5.2)
    result = _tick(instance, resources, cursor)
    [rr] = result.run_requests
    assert rr.run_config["ops"]["silver__ingest__call_manifest"]["config"]["key_digests"] == [
        key_digest(SECRET, "raw/globex-support/2026/11/17/c-new.wav")
    ]
    assert rr.partition_key == "2026-11-17"
    assert isinstance(_tick(instance, resources, result.cursor), dg.SkipReason)


PHONE = "+33 6 12 34 56 78"
EMAIL = "jean.dupont@example.fr"


def test_sensor_runs_ingest_with_passing_checks_and_no_personal_data_in_dagster(object_store, resources):
    day = "raw/acme-energie/2026/11/16/"
    object_store.put_bytes(day + "c-1.json", sidecar(customer_phone=PHONE, customer_email=EMAIL))
    object_store.put_bytes(day + "c-1.wav", wav_bytes(1.0, channels=2, seed=1))
    object_store.put_bytes(day + "c-2.wav", b"")
    object_store.put_bytes(day + "0612345678.wav", wav_bytes(1.0, seed=2))
    object_store.put_bytes("raw/nobody-known/2026/11/16/c-3.wav", wav_bytes(1.0, seed=3))
    time.sleep(5.2)
    instance = dg.DagsterInstance.ephemeral()
    result = _tick(instance, resources, None)
    assert len(result.run_requests) == 2
    totals = {"accepted": 0, "quarantined": 0}
    for rr in result.run_requests:
        run = dg.materialize(
            [call_manifest],
            instance=instance,
            resources=resources,
            partition_key=rr.partition_key,
            run_config=rr.run_config,
            tags=rr.tags,
        )
        assert run.success
        checks = {e.check_name: e.passed for e in run.get_asset_check_evaluations()}
        assert checks == {ACCOUNTING_CHECK: True, ISOLATION_CHECK: True}
        [mat] = run.get_asset_materialization_events()
        for k in totals:
            totals[k] += mat.materialization.metadata[k].value
        # nothing personal in Dagster's event log, which cannot be wiped per partition
        text = "\n".join(str(e.dagster_event) + " " + (e.user_message or "") for e in instance.all_logs(run.run_id))
        text += str(rr.tags) + str(rr.partition_key)
        # nor in run storage (P17): the run config names the batch by keyed digests only
        text += str(instance.get_run_by_id(run.run_id).run_config) + str(rr.run_config)
        assert (
            "0612345678" not in text and not names_call(text, "c-1") and "12 34 56 78" not in text and EMAIL not in text
        )
        assert not re.search(r"\+33\d{9}", text)
    assert totals == {"accepted": 1, "quarantined": 3}


def test_a_config_cannot_name_another_tenants_keys_nor_any_key_in_clear(object_store, resources):
    """P4, P17 (issue 15): run config takes keys only as keyed digests, resolved inside the tenant-day's
    inbox: another tenant's object cannot be reached, and a key (a call id, a file name) in clear is refused."""
    instance = dg.DagsterInstance.ephemeral()
    other = "raw/globex-support/2026/11/16/c-1.wav"
    object_store.put_bytes(other, b"RIFF")
    run = dg.materialize(
        [call_manifest],
        instance=instance,
        resources=resources,
        partition_key="2026-11-16",
        run_config={
            "ops": {
                "silver__ingest__call_manifest": {
                    "config": {"tenant_id": "acme-energie", "key_digests": [key_digest(SECRET, other)]}
                }
            }
        },
        raise_on_error=False,
    )
    assert object_store.exists(other)  # untouched: the digest matched nothing in acme's inbox
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.materialize(
            [call_manifest],
            instance=instance,
            resources=resources,
            partition_key="2026-11-16",
            run_config={
                "ops": {"silver__ingest__call_manifest": {"config": {"tenant_id": "acme-energie", "keys": [other]}}}
            },
        )
    assert run is not None


def test_a_retried_batch_reports_the_keys_its_first_attempt_already_moved_out_of_the_inbox(object_store, resources):
    """Runs get keyed digests of their keys (P17). An attempt that committed and emptied the inbox, then
    died, is retried with the same config: the retry finds the handled keys in the ledger and reports them
    as finished, so the materialization (and what downstream sensors see) is the same as the first's."""
    prefix = "raw/acme-energie/2026/11/16/"
    keys = [prefix + "c-1.wav", prefix + "c-2.wav"]
    for i, k in enumerate(keys):
        object_store.put_bytes(k, wav_bytes(1.0, seed=20 + i))
    config = {
        "ops": {
            "silver__ingest__call_manifest": {
                "config": {"tenant_id": "acme-energie", "key_digests": [key_digest(SECRET, k) for k in keys]}
            }
        }
    }
    instance = dg.DagsterInstance.ephemeral()
    first = dg.materialize(
        [call_manifest], instance=instance, resources=resources, partition_key="2026-11-16", run_config=config
    )
    assert not any(object_store.exists(k) for k in keys)  # moved out of the inbox
    retry = dg.materialize(
        [call_manifest], instance=instance, resources=resources, partition_key="2026-11-16", run_config=config
    )
    meta = [r.asset_materializations_for_node("silver__ingest__call_manifest")[0].metadata for r in (first, retry)]
    assert meta[0]["received"].value == meta[1]["received"].value == 2
    assert meta[0]["accepted"].value == meta[1]["accepted"].value == 2
    assert meta[1]["dagster/row_count"].value == 2


@pytest.mark.parametrize("object_store", ["local"], indirect=True)
def test_a_backfill_over_day_partitions_needs_no_config_and_fans_out_over_active_tenants(object_store, resources):
    """docs/partitioning.md: "a normal Dagster backfill over the day partitions". A backfill launches one
    run per partition with the job's default config (no tenant): each run ingests the day's inbox of
    every active tenant, skips the suspended one (P12), and its materialization lists the tenants with
    work so the fan-out sensors carry each of them downstream; tenant_ids narrows it."""
    from ccr_pipelines.defs.shared.fanout import metadata_count, tenant_days

    for tenant in ("acme-energie", "globex-support", "initech-paused"):
        for d in ("16", "17"):
            object_store.put_bytes(f"raw/{tenant}/2026/11/{d}/c-{d}1.wav", wav_bytes(1.0, seed=int(d)))
    instance = dg.DagsterInstance.ephemeral()
    job = dg.Definitions(
        assets=[call_manifest],
        resources=resources,
        jobs=[
            dg.define_asset_job(
                "ingest_backfill", selection=[call_manifest], partitions_def=call_manifest.partitions_def
            )
        ],
    ).resolve_job_def("ingest_backfill")
    for day in ("2026-11-16", "2026-11-17"):
        run = job.execute_in_process(instance=instance, partition_key=day)  # what a backfill launches: no config
        assert run.success
        assert {e.check_name: e.passed for e in run.get_asset_check_evaluations()} == {
            ACCOUNTING_CHECK: True,
            ISOLATION_CHECK: True,
        }
        [mat] = run.get_asset_materialization_events()
        per_tenant = dict(tenant_days(mat.materialization))
        assert sorted(per_tenant) == ["acme-energie", "globex-support"]
        assert all(metadata_count(md, "accepted") == 1 for md in per_tenant.values())
    remaining = sorted(o.key for o in object_store.list("raw/"))
    assert remaining == ["raw/initech-paused/2026/11/16/c-161.wav", "raw/initech-paused/2026/11/17/c-171.wav"]

    object_store.put_bytes("raw/globex-support/2026/11/18/c-181.wav", wav_bytes(1.0, seed=5))
    object_store.put_bytes("raw/acme-energie/2026/11/18/c-181.wav", wav_bytes(1.0, seed=6))
    narrowed = job.execute_in_process(
        instance=instance,
        partition_key="2026-11-18",
        run_config={"ops": {"silver__ingest__call_manifest": {"config": {"tenant_ids": ["globex-support"]}}}},
    )
    [mat] = narrowed.get_asset_materialization_events()
    assert [t for t, _ in tenant_days(mat.materialization)] == ["globex-support"]
    assert "raw/acme-energie/2026/11/18/c-181.wav" in {o.key for o in object_store.list("raw/")}
    refused = job.execute_in_process(
        instance=instance,
        partition_key="2026-11-18",
        raise_on_error=False,
        run_config={"ops": {"silver__ingest__call_manifest": {"config": {"tenant_ids": ["initech-paused"]}}}},
    )
    assert not refused.success  # a suspended tenant named explicitly is refused, not silently skipped (P12)
