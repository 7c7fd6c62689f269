"""Retention purge (P19): what is past each tenant's retention goes, the rest stays; killed mid-way
(SIGKILL of the real `ccr purge` process) and run again, it reaches the same end state as an
uninterrupted run, with nothing left behind and nothing extra deleted; a dry run deletes nothing
and records counts; a terminated tenant is purged whole after its grace period, with a proof row."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from ccr_pipelines.core.retention import cutoff, day_of_key, expired, offboarding_due, report_period_end
from ccr_pipelines.core.tenants import TenantRegistry
from ccr_pipelines.services.retention import PurgeEnv, plan_purge, run_purge
from ccr_pipelines.stores.control_store import (
    ControlStore,
    lineage,
    purge_log,
    review_queue,
    subject_calls,
    suppression_list,
    utcnow,
)
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .analytics_helpers import write_scored_day
from .ingest_helpers import names_call

TODAY = date(2026, 11, 20)
REPO = Path(__file__).resolve().parents[1]
RETENTION = {"audio": 60, "raw_transcript": 30, "redacted_transcript": 90, "scores": 90, "reports": 90}
TENANTS = {
    "version": 1,
    "tenants": [
        {
            "id": "acme-energie",
            "display_name": "Acme",
            "languages": ["en"],
            "scorecard": "default.v1",
            "retention_days": RETENTION,
        },
        {"id": "globex-support", "display_name": "Globex", "languages": ["en"], "scorecard": "default.v1"},
        {
            "id": "oldco-services",
            "display_name": "Oldco",
            "languages": ["fr"],
            "scorecard": "default.v1",
            "terminated_on": "2026-09-01",
        },
    ],
}
SCORED_DAYS = ["2026-06-01", "2026-07-15", "2026-08-10", "2026-08-30", "2026-10-01", "2026-11-16"]


def test_retention_rules_cutoffs_days_in_keys_report_periods_and_grace():
    assert cutoff(TODAY, 30) == date(2026, 10, 21)
    assert expired(date(2026, 10, 20), TODAY, 30) and not expired(date(2026, 10, 21), TODAY, 30)
    assert day_of_key("audio/acme-energie/2026/03/09/c-1.flac") == date(2026, 3, 9)
    assert day_of_key("audio/acme-energie/2026/13/09/c-1.flac") is None
    assert report_period_end("reports/acme-energie/weekly/2026-W47/report.html") == date(2026, 11, 22)
    assert report_period_end("reports/acme-energie/monthly/2026-02/kpis.csv") == date(2026, 2, 28)
    assert report_period_end("reports/acme-energie/monthly/2026-12/kpis.csv") == date(2026, 12, 31)
    assert not offboarding_due(date(2026, 11, 1), TODAY) and offboarding_due(date(2026, 10, 21), TODAY)
    assert not offboarding_due(None, TODAY)


def _seed(data: Path) -> None:
    """A data dir as the local profile lays it out: objects, control.db, tenants.yaml."""
    store = LocalObjectStore(data / "objects")
    control = ControlStore(f"sqlite:///{data}/control.db")
    control.migrate()
    wh = Warehouse(store)
    for i, day in enumerate(SCORED_DAYS):  # real manifest/redacted/metrics/scores/steps partitions
        write_scored_day(wh, control, "default.v1", "acme-energie", day, {f"c-{i}a": "good", f"c-{i}b": "bad"})
    write_scored_day(wh, control, "default.v1", "globex-support", "2026-03-02", {"g-1": "good"})
    start = date(2026, 6, 1)
    for n in range(120):  # audio + sidecars and raw transcripts over 170 days
        d = start + timedelta(days=n * 170 // 120)
        y, m, dd = f"{d:%Y}", f"{d:%m}", f"{d:%d}"
        store.put_bytes(f"audio/acme-energie/{y}/{m}/{dd}/c-{n:04d}.flac", b"audio" * 10)
        store.put_bytes(f"audio/acme-energie/{y}/{m}/{dd}/c-{n:04d}.json", b"{}")
        store.put_bytes(f"restricted/acme-energie/transcripts/{y}/{m}/{dd}/c-{n:04d}/t.json", b"{}")
        store.put_bytes(f"audio/globex-support/{y}/{m}/{dd}/g-{n:04d}.flac", b"audio")  # 183 days: all kept
    for week in (20, 30, 36, 40, 47):
        for name in ("report.html", "manifest.json"):
            store.put_bytes(f"reports/acme-energie/weekly/2026-W{week}/{name}", b"r")
    for zone in ("audio", "raw", "reports", "exports", "datasets", "quarantine"):
        store.put_bytes(f"{zone}/oldco-services/2026/08/01/x-1.bin", b"oldco")
    old = datetime(2026, 6, 1, tzinfo=UTC)
    control.insert(
        review_queue,
        [
            dict(tenant_id="acme-energie", call_id=f"old-{i}", reasons=["x"], score=1.0, created_at=old)
            for i in range(5)
        ],
    )
    control.insert(
        subject_calls,
        [
            dict(
                tenant_id="acme-energie",
                subject_hash="h" * 64,
                identifier_type="phone",
                call_id=f"c-{i}a",
                day=d,
                created_at=utcnow(),
            )
            for i, d in enumerate(SCORED_DAYS)
        ]
        + [
            dict(
                tenant_id="oldco-services",
                subject_hash="o" * 64,
                identifier_type="phone",
                call_id="x-1",
                day="2026-08-01",
                created_at=utcnow(),
            )
        ],
    )
    control.insert(
        suppression_list,
        dict(
            tenant_id="oldco-services",
            subject_hash="o" * 64,
            identifier_type="phone",
            reason="t",
            added_by="t",
            added_at=utcnow(),
        ),
    )
    control.dispose()
    (data / "tenants.yaml").write_text(yaml.safe_dump(TENANTS))


def _state(data: Path) -> dict:
    root = data / "objects"
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }
    control = ControlStore(f"sqlite:///{data}/control.db")
    rows = {
        t.name: sorted(
            tuple(sorted((k, str(v)) for k, v in r.items() if k not in ("id", "created_at", "added_at")))
            for r in control.fetch(sa.select(t))
        )
        for t in (review_queue, subject_calls, suppression_list)
    }
    rows["lineage_deleted"] = control.fetch(
        sa.select(sa.func.count()).select_from(lineage).where(lineage.c.deleted_at.is_not(None))
    )[0]["count_1"]
    control.dispose()
    return {"files": files, "rows": rows}


def _cli(data: Path, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "CCR_ENV": "local",
        "CCR_DATA_DIR": str(data),
        "CCR_TENANTS_FILE": str(data / "tenants.yaml"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "ccr_pipelines.cli", "purge", "--today", TODAY.isoformat(), *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("purge") / "seed"
    _seed(data)
    return data


def _copy(seeded: Path, dst: Path) -> Path:
    shutil.copytree(seeded, dst)
    # lineage names the partition by its URI, which depends on where the copy lives
    store = LocalObjectStore(dst / "objects")
    control = ControlStore(f"sqlite:///{dst}/control.db")
    control.record_lineage(
        [
            dict(
                tenant_id="acme-energie",
                artefact_kind="partition",
                artefact_uri=store.uri("datasets/acme-energie/call_scores/day=2026-06-01/part.parquet"),
            )
        ]
    )
    control.dispose()
    return dst


def test_p19_dry_run_records_counts_and_deletes_nothing(seeded, tmp_path):
    data = _copy(seeded, tmp_path / "dry")
    before = _state(data)
    p = _cli(data)  # the CLI's default is a dry run
    out, _ = p.communicate(timeout=300)
    assert p.returncode == 0, out
    assert _state(data) == before
    control = ControlStore(f"sqlite:///{data}/control.db")
    rows = control.fetch(sa.select(purge_log).where(purge_log.c.dry_run.is_(True)))
    by = {(r["tenant_id"], r["data_class"]): r for r in rows}
    assert by[("acme-energie", "audio")]["objects"] > 0 and by[("oldco-services", "offboarding")]["objects"] == 6
    assert "globex-support" not in {r["tenant_id"] for r in rows if r["data_class"] == "audio"}
    control.dispose()


def test_p19_purge_killed_midway_and_rerun_reaches_the_same_end_state_as_one_clean_run(seeded, tmp_path):
    clean = _copy(seeded, tmp_path / "clean")
    killed = _copy(seeded, tmp_path / "killed")
    initial = _state(clean)

    p = _cli(clean, "--execute")
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    reference = _state(clean)

    # nothing left behind, nothing extra: exactly what the rules say is past retention went
    expected_gone = set()
    for key in initial["files"]:
        parts = key.split("/")
        tenant = parts[1]
        if tenant == "oldco-services":
            expected_gone.add(key)
        elif tenant == "acme-energie" and parts[0] in ("audio", "restricted", "reports", "datasets"):
            if parts[0] == "reports":
                gone = expired(report_period_end(key), TODAY, RETENTION["reports"])
            elif parts[0] == "datasets" or (parts[0] == "restricted" and "transcripts" not in key):
                day = date.fromisoformat(key.split("day=")[1][:10])
                cls = (
                    "raw_transcript"
                    if parts[0] == "restricted"
                    else "redacted_transcript"
                    if parts[2] == "redacted_segments"
                    else "scores"
                )
                gone = expired(day, TODAY, RETENTION[cls])
            else:
                gone = expired(day_of_key(key), TODAY, RETENTION["audio" if parts[0] == "audio" else "raw_transcript"])
            if gone:
                expected_gone.add(key)
    assert expected_gone and set(initial["files"]) - set(reference["files"]) == expected_gone
    assert all(reference["files"][k] == v for k, v in initial["files"].items() if k not in expected_gone)
    assert reference["rows"]["review_queue"] == [
        r for r in initial["rows"]["review_queue"] if "old-" not in dict(r)["call_id"]
    ]
    assert not any(
        dict(r)["tenant_id"] == "oldco-services"
        for t in ("subject_calls", "suppression_list")
        for r in reference["rows"][t]
    )
    assert reference["rows"]["lineage_deleted"] == 1
    assert (clean / "warehouse.duckdb").exists()  # the marts were rebuilt from what is left

    # the same purge, SIGKILLed after a few deletions, then run again
    p = _cli(killed, "--execute", "--verbose")
    deleted = 0
    for line in p.stdout:
        if line.startswith("deleted "):
            deleted += 1
            if deleted == 25:
                p.send_signal(signal.SIGKILL)
                break
    p.wait(timeout=60)
    assert p.returncode == -signal.SIGKILL
    half = _state(killed)
    assert half != initial and half != reference  # it really stopped mid-way
    p = _cli(killed, "--execute")
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    assert _state(killed) == reference

    control = ControlStore(f"sqlite:///{killed}/control.db")
    markers = [
        r["data_class"]
        for r in control.fetch(
            sa.select(purge_log.c.data_class).where(purge_log.c.tenant_id == "platform").order_by(purge_log.c.id)
        )
    ]
    assert markers == ["run:started", "run:started", "run:completed"]
    proof = control.fetch(sa.select(purge_log).where(purge_log.c.data_class == "offboarding"))
    assert len(proof) == 1 and proof[0]["tenant_id"] == "oldco-services" and proof[0]["objects"] >= 1
    control.dispose()
    # a third run finds nothing to do and changes nothing
    p = _cli(killed, "--execute")
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0 and '"items": 0' in out, out
    assert _state(killed) == reference


def test_p3_p19_the_purge_discards_partial_writes_of_dead_writers_and_records_them(seeded, tmp_path):
    """A write killed before its rename (SIGKILL, power loss) leaves a temp file no listing reaches;
    ``ccr purge --execute`` discards it when its writer is gone and leaves a live writer's alone."""
    data = _copy(seeded, tmp_path / "partial")
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    folder = data / "objects" / "audio" / "globex-support"
    dead = folder / f".tmp-{finished.pid}-abc"
    live = folder / f".tmp-{os.getpid()}-def"
    for p in (dead, live):
        p.write_bytes(b"partial audio")
    p = _cli(data, "--execute")
    out, _ = p.communicate(timeout=600)
    assert p.returncode == 0, out
    assert not dead.exists() and live.exists()
    control = ControlStore(f"sqlite:///{data}/control.db")
    rows = control.fetch(sa.select(purge_log).where(purge_log.c.data_class == "partial_writes"))
    control.dispose()
    assert [(r["tenant_id"], r["objects"], r["dry_run"]) for r in rows] == [("platform", 1, False)]


def test_p19_purge_plan_lists_every_version_on_a_versioned_s3_bucket(s3_bucket):
    import boto3

    from ccr_pipelines.core.tenants import Tenant
    from ccr_pipelines.stores.object_store import S3ObjectStore

    endpoint, bucket = s3_bucket
    boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3").put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    store = S3ObjectStore(bucket, region="eu-west-3", endpoint_url=endpoint)
    key = "audio/acme-energie/2026/06/01/c-1.flac"
    store.put_bytes(key, b"v1")
    store.put_bytes(key, b"v2")
    store.delete(key)  # a delete marker on top: the versions are still there
    store.put_bytes("audio/acme-energie/2026/11/19/c-2.flac", b"recent")
    control = ControlStore("sqlite://")
    control.migrate()
    registry = TenantRegistry(
        [Tenant(id="acme-energie", display_name="A", languages=["fr"], scorecard="x.v1", retention_days={"audio": 30})]
    )
    env = PurgeEnv(store=store, warehouse=Warehouse(store), control=control, registry=registry, today=TODAY)
    [(item, n)] = plan_purge(env)
    assert item.target == key and n == 3  # two versions and the delete marker
    summary = run_purge(env, dry_run=False)
    assert summary["objects"] == 3
    assert [v.key for v in store.list_versions("audio/")] == ["audio/acme-energie/2026/11/19/c-2.flac"]


def _job_resources(data: Path):
    from ccr_pipelines.resources import (
        AlertingResource,
        ControlStoreResource,
        ObjectStoreResource,
        TenantRegistryResource,
        WarehouseResource,
    )

    store_res = ObjectStoreResource(kind="local", root=str(data / "objects"))
    return {
        "object_store": store_res,
        "warehouse": WarehouseResource(object_store=store_res),
        "control_store": ControlStoreResource(url=f"sqlite:///{data}/control.db"),
        "tenant_registry": TenantRegistryResource(path=str(data / "tenants.yaml")),
        "alerting": AlertingResource(backoff_s=0.01),
    }


def test_p19_the_purge_job_dry_run_in_dagster_reports_counts_only(seeded, tmp_path):
    import dagster as dg

    from ccr_pipelines.defs.retention.jobs import retention_purge_job

    data = _copy(seeded, tmp_path / "job")
    before = _state(data)
    instance = dg.DagsterInstance.ephemeral()
    result = retention_purge_job.execute_in_process(
        run_config={"ops": {"retention_purge": {"config": {"dry_run": True, "today": TODAY.isoformat()}}}},
        resources=_job_resources(data),
        instance=instance,
    )
    assert result.success and result.output_for_node("retention_purge")["objects"] > 0
    assert _state(data) == before
    text = "\n".join(str(e.dagster_event) + (e.user_message or "") for e in instance.all_logs(result.run_id))
    assert not names_call(text, "c-0001") and "audio/acme-energie" not in text  # counts, never keys or call ids


def test_p19_a_failing_purge_raises_an_r11_incident(tmp_path):
    import dagster as dg

    from ccr_pipelines.defs.retention.jobs import retention_purge_job
    from ccr_pipelines.stores.control_store import incidents

    data = tmp_path / "broken"
    store = LocalObjectStore(data / "objects")
    wh = Warehouse(store)
    import pyarrow as pa

    # one expired partition and no other dataset: the marts rebuild after the purge cannot run (dbt fails)
    wh.write_partition(
        "call_scores", "acme-energie", "2025-01-01", pa.table({"tenant_id": ["acme-energie"], "call_id": ["c-1"]})
    )
    (data / "tenants.yaml").write_text(yaml.safe_dump({"version": 1, "tenants": [TENANTS["tenants"][0]]}))
    ControlStore(f"sqlite:///{data}/control.db").migrate()
    result = retention_purge_job.execute_in_process(
        run_config={"ops": {"retention_purge": {"config": {"today": TODAY.isoformat()}}}},
        resources=_job_resources(data),
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    control = ControlStore(f"sqlite:///{data}/control.db")
    [inc] = control.fetch(sa.select(incidents))
    assert inc["rule"] == "R11" and inc["signal"].startswith("purge_failed")
    control.dispose()


def test_p3_p19_the_purge_deletes_expired_access_log_rows_through_a_grant_and_nothing_else_can(control_store, tmp_path):
    from ccr_pipelines.core.tenants import Tenant
    from ccr_pipelines.stores.control_store import access_log, retention_grants

    old, recent = datetime(2025, 1, 5, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    for tenant in ("acme-energie", "globex-support"):
        for at in (old, recent):
            control_store.insert(
                access_log,
                dict(at=at, actor="a", tenant_id=tenant, action="read", purpose="p", object=f"datasets/{tenant}/x"),
            )
    with pytest.raises(sa.exc.DBAPIError):  # without a grant the trail stays append-only
        with control_store.engine.begin() as conn:
            conn.execute(access_log.delete().where(access_log.c.at < datetime(2026, 1, 1, tzinfo=UTC)))
    registry = TenantRegistry([Tenant(id="acme-energie", display_name="A", languages=["fr"], scorecard="x.v1")])
    store = LocalObjectStore(tmp_path / "objects")
    env = PurgeEnv(store=store, warehouse=Warehouse(store), control=control_store, registry=registry, today=TODAY)
    summary = run_purge(env, dry_run=False)
    assert summary["by_class"]["acme-energie/access_log"]["rows"] == 1
    left = sorted((r["tenant_id"], r["at"].year) for r in control_store.fetch(sa.select(access_log)))
    assert left == [("acme-energie", 2026), ("globex-support", 2025), ("globex-support", 2026)]
    # the grant covers acme's expired rows only: a recent row, or another tenant's, is still refused
    for cond in (access_log.c.tenant_id == "acme-energie", access_log.c.tenant_id == "globex-support"):
        with pytest.raises(sa.exc.DBAPIError):
            with control_store.engine.begin() as conn:
                conn.execute(access_log.delete().where(cond))
    assert len(control_store.fetch(sa.select(retention_grants))) == 1
