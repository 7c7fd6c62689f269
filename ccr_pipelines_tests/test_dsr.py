"""Data-subject requests on real stores (P16, P17, P18, P20): export bundle against its JSON
Schema, restriction out of reports and back, suppression at ingestion, the DSR log's deadline,
extension and R12 incident, erasure on a versioned S3 bucket, the Dagster jobs' config."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import jsonschema
import pytest
import sqlalchemy as sa

from ccr_pipelines.core.report_periods import period_containing
from ccr_pipelines.core.retention import add_months, dsr_due
from ccr_pipelines.core.subjects import subject_hash
from ccr_pipelines.core.tenants import Tenant, TenantRegistry
from ccr_pipelines.services import dsr
from ccr_pipelines.services.reports import generate_report
from ccr_pipelines.stores.control_store import (
    ControlStore,
    audit_log,
    dsr_requests,
    incidents,
    subject_calls,
    suppression_list,
    utcnow,
)
from ccr_pipelines.stores.object_store import LocalObjectStore, S3ObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .analytics_helpers import write_scored_day
from .ingest_helpers import names_call

SECRET = "test-subject-hash-key"
T = "acme-energie"
DAY = "2026-11-16"
PHONE, EMAIL = "+33 6 11 22 33 44", "marie@example.fr"


def _registry() -> TenantRegistry:
    return TenantRegistry(
        [
            Tenant(id=T, display_name="Acme", languages=["en"], scorecard="default.v1"),
            Tenant(id="globex-support", display_name="Globex", languages=["en"], scorecard="default.v1"),
        ]
    )


def _world(store, control: ControlStore) -> dsr.DsrEnv:
    """Three calls of acme on DAY; c-1 and c-3 are the subject's (by phone, by e-mail); c-2 someone else's."""
    wh = Warehouse(store)
    write_scored_day(wh, control, "default.v1", T, DAY, {"c-1": "good", "c-2": "bad", "c-3": "bad"})
    for cid, kind, value in (("c-1", "phone", PHONE), ("c-3", "email", EMAIL), ("c-2", "phone", "+33 6 99 99 99 99")):
        control.insert(
            subject_calls,
            dict(
                tenant_id=T,
                subject_hash=subject_hash(SECRET, T, kind, value),
                identifier_type=kind,
                call_id=cid,
                day=DAY,
                created_at=utcnow(),
            ),
        )
        store.put_bytes(f"audio/{T}/2026/11/16/{cid}.flac", b"fLaC" + cid.encode())
        store.put_bytes(
            f"audio/{T}/2026/11/16/{cid}.json", json.dumps({"agent_id": "ag-1", f"customer_{kind}": value}).encode()
        )
        store.put_bytes(f"restricted/{T}/transcripts/2026/11/16/{cid}/abc-tiny.json", b'{"segments": []}')
    return dsr.DsrEnv(store=store, warehouse=wh, control=control, registry=_registry(), secret=SECRET, actor="test")


@pytest.fixture
def world(tmp_path):
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    yield _world(LocalObjectStore(tmp_path / "objects"), control)
    control.dispose()


def test_p16_one_month_deadline_clamps_to_the_month_end_and_extension_adds_two():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    received = datetime(2026, 11, 20, 9, tzinfo=UTC)
    assert dsr_due(received) == datetime(2026, 12, 20, 9, tzinfo=UTC)
    assert dsr_due(received, extended=True) == datetime(2027, 2, 20, 9, tzinfo=UTC)


def test_p16_export_bundle_validates_against_the_documented_schema_and_holds_the_subjects_calls_only(world):
    generate_report(
        world.warehouse,
        world.control,
        world.registry.get(T),
        period_containing("weekly", date(2026, 11, 16)),
        run_id=None,
        actor="test",
    )
    rid = dsr.register(world, T, "export", {"phone": PHONE, "email": EMAIL})
    bundle = dsr.export(world, rid)
    stored = json.loads(world.store.get_bytes(f"exports/{T}/dsr-{rid}/bundle.json"))
    schema = json.loads(dsr.SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(stored, schema)
    assert sorted(c["call_id"] for c in stored["calls"]) == ["c-1", "c-3"]
    c1 = next(c for c in stored["calls"] if c["call_id"] == "c-1")
    assert c1["score"]["call_id"] == "c-1" and c1["redacted_segments"] and c1["reports"] == ["weekly:2026-W47"]
    assert c1["retention_until"]["audio"] == (date(2026, 11, 16) + timedelta(days=183)).isoformat()
    for f in c1["files"]:
        assert world.store.exists(f"exports/{T}/dsr-{rid}/{f}")
    assert stored["reports"] == [{"kind": "weekly", "period": "2026-W47", "retention_until": "2027-11-22"}]
    assert bundle == stored
    # the schema is strict: a bundle with something unexpected does not validate
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**stored, "extra": 1}, schema)
    req = world.control.fetch(sa.select(dsr_requests).where(dsr_requests.c.id == rid))[0]
    assert req["status"] == "completed" and PHONE not in json.dumps(req, default=str)


def test_p16_restricted_calls_leave_the_report_until_lifted_with_an_audit_trail(world):
    period = period_containing("weekly", date(2026, 11, 16))
    tenant = world.registry.get(T)

    def report_calls():
        generate_report(world.warehouse, world.control, tenant, period, run_id=None, actor="test")
        manifest = json.loads(world.store.get_bytes(f"reports/{T}/weekly/{period.key}/manifest.json"))
        return sorted(c["call_id"] for c in manifest["calls"])

    assert report_calls() == ["c-1", "c-2", "c-3"]
    rid = dsr.register(world, T, "restriction", {"email": EMAIL})
    dsr.restrict(world, rid)
    assert report_calls() == ["c-1", "c-2"]
    assert world.store.exists(f"audio/{T}/2026/11/16/c-3.flac")  # kept, only not processed
    dsr.restrict(world, rid, lift=True)
    assert report_calls() == ["c-1", "c-2", "c-3"]
    changes = [
        r["change"]
        for r in world.control.fetch(
            sa.select(audit_log).where(audit_log.c.entity == "subject_restriction").order_by(audit_log.c.id)
        )
    ]
    assert [(c["before"], c["after"]) for c in changes] == [("none", "restricted"), ("restricted", "none")]


def test_p18_a_suppression_request_blocks_the_next_import_of_that_subject(world, tmp_path):
    from ccr_pipelines.services.ingest import IngestEnv, ingest_batch

    from .audio_helpers import wav_bytes
    from .ingest_helpers import sidecar

    rid = dsr.register(world, T, "suppression", {"phone": "06 11 22 33 44"})
    assert dsr.suppress(world, rid) == {"added": 1}
    assert dsr.suppress(world, rid) == {"added": 0}  # idempotent
    audit = world.control.fetch(sa.select(audit_log).where(audit_log.c.entity == "suppression_list"))
    assert len(audit) == 1 and audit[0]["change"]["after"] == "listed" and audit[0]["actor"] == "test"
    world.store.put_bytes(
        f"raw/{T}/2026/11/18/c-9.json", sidecar(customer_phone=PHONE, started_at="2026-11-18T09:00:00+01:00")
    )
    world.store.put_bytes(f"raw/{T}/2026/11/18/c-9.wav", wav_bytes(1.0, seed=4))
    env = IngestEnv(
        store=world.store,
        control=world.control,
        warehouse=world.warehouse,
        registry=world.registry,
        secret=SECRET,
        run_id="r",
        today=date(2026, 11, 20),
        max_duration_s=600.0,
    )
    result = ingest_batch(env, None, tenant_id=T, day="2026-11-18")
    assert result.outcomes.get("suppressed") == 1 and not result.outcomes.get("accepted")


def test_p16_overdue_requests_raise_an_r12_incident_and_an_extension_moves_the_deadline(world):
    from ccr_pipelines.services.alerting import AlertSettings

    old = datetime.now(UTC) - timedelta(days=40)
    late = dsr.register(world, T, "export", {"phone": PHONE}, received_at=old)
    extended = dsr.register(world, T, "export", {"email": EMAIL}, received_at=old)
    due = dsr.extend(world, extended, "complex request: many recordings")
    assert due > datetime.now(UTC)
    with pytest.raises(dsr.DsrError):
        dsr.extend(world, extended, "again")
    assert dsr.check_overdue(world, alert_settings=AlertSettings(env={})) == [late]
    [inc] = world.control.fetch(sa.select(incidents))
    assert inc["rule"] == "R12" and inc["severity"] == "majeur" and inc["tenants"] == [T]


def test_p17_erasure_on_a_versioned_s3_bucket_removes_every_version_and_keeps_the_other_subject(s3_bucket, tmp_path):
    import boto3

    endpoint, bucket = s3_bucket
    boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-3").put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    store = S3ObjectStore(bucket, region="eu-west-3", endpoint_url=endpoint)
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    env = _world(store, control)
    store.put_bytes(f"audio/{T}/2026/11/16/c-1.json", b'{"customer_phone": "+33611223344", "v": 2}')  # 2 versions
    rid = dsr.register(env, T, "erasure", {"phone": PHONE})
    proof = dsr.erase(env, rid)
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    assert [v for v in store.list_versions(f"audio/{T}/") if "c-1" in v.key] == []
    # the rewritten partitions keep one version each, without c-1, with c-2 and c-3
    for v in store.list_versions(f"datasets/{T}/"):
        assert v.is_latest
    scores = env.warehouse.read_partition("call_scores", T, DAY)
    assert sorted(scores.column("call_id").to_pylist()) == ["c-2", "c-3"]
    assert store.exists(f"audio/{T}/2026/11/16/c-2.flac") and store.exists(f"audio/{T}/2026/11/16/c-3.json")
    h = subject_hash(SECRET, T, "phone", PHONE)
    assert control.fetch(sa.select(suppression_list).where(suppression_list.c.subject_hash == h))
    # a second run is harmless (idempotent) and still verifies
    rid2 = dsr.register(env, T, "erasure", {"phone": PHONE})
    assert dsr.erase(env, rid2)["scan"]["passed"]
    control.dispose()


def test_p16_the_dsr_jobs_take_only_a_request_id_and_run_in_dagster(world, tmp_path):
    from ccr_pipelines.defs.retention.jobs import DsrConfig, RestrictionConfig, dsr_export_job
    from ccr_pipelines.resources import (
        ControlStoreResource,
        IngestConfigResource,
        ObjectStoreResource,
        TenantRegistryResource,
        WarehouseResource,
    )

    assert set(DsrConfig.model_fields) == {"request_id"}
    assert set(RestrictionConfig.model_fields) == {"request_id", "lift"}
    reg = tmp_path / "tenants.yaml"
    reg.write_text(json.dumps({"version": 1, "tenants": [t.model_dump(mode="json") for t in world.registry]}))
    store_res = ObjectStoreResource(kind="local", root=str(world.store.root))
    rid = dsr.register(world, T, "export", {"phone": PHONE})
    instance = dg.DagsterInstance.ephemeral()
    result = dsr_export_job.execute_in_process(
        run_config={"ops": {"dsr_export": {"config": {"request_id": rid}}}},
        instance=instance,
        resources={
            "object_store": store_res,
            "warehouse": WarehouseResource(object_store=store_res),
            "control_store": ControlStoreResource(url=world.control.url),
            "tenant_registry": TenantRegistryResource(path=str(reg)),
            "ingest_config": IngestConfigResource(subject_hash_key=SECRET),
        },
    )
    assert result.success
    text = "\n".join(str(e.dagster_event) + (e.user_message or "") for e in instance.all_logs(result.run_id))
    text += json.dumps(instance.get_run_by_id(result.run_id).run_config)
    assert not names_call(text, "c-1") and "33 6 11" not in text and "+33611223344" not in text


def test_p20_a_review_decision_is_audited_with_before_after_and_actor_and_no_call_id(world):
    from ccr_pipelines.services.review import decide
    from ccr_pipelines.stores.control_store import review_queue

    # the scorer queued c-2 ("bad": missing disclosure) for a human
    assert world.control.fetch(sa.select(review_queue).where(review_queue.c.call_id == "c-2"))
    out = decide(world.control, T, "c-2", "confirmed", reviewer="qa-lead")
    assert out["before"]["status"] == "unreviewed" and out["after"]["status"] == "confirmed"
    [row] = world.control.fetch(sa.select(audit_log).where(audit_log.c.entity == "review_decision"))
    assert row["actor"] == "qa-lead" and row["change"]["before"]["status"] == "unreviewed"
    assert not names_call(json.dumps(row, default=str), "c-2")
    with pytest.raises(ValueError):
        decide(world.control, T, "c-2", "maybe", reviewer="qa-lead")
    with pytest.raises(sa.exc.DatabaseError):  # the audit trail is append-only
        with world.control.engine.begin() as conn:
            conn.execute(audit_log.delete())


def test_p16_p17_the_ccr_dsr_commands_export_erase_and_show_the_receipt(local_settings_env, capsys, monkeypatch):
    from ccr_pipelines.cli import main
    from ccr_pipelines.core.settings import resolve
    from ccr_pipelines.loaders.settings_files import load_settings
    from ccr_pipelines.platform import object_store_from_settings

    loaded = load_settings()
    store = object_store_from_settings(loaded.settings)
    control = ControlStore(loaded.settings.control_url())
    control.migrate()
    global SECRET
    saved, SECRET = SECRET, resolve(loaded.settings.ingest.subject_hash_key)
    try:
        _world(store, control)
    finally:
        SECRET = saved
    assert main(["dsr", "export", T, "--phone", PHONE]) == 0
    assert main(["access", "grant", "dpo", "dpo", "--reason", "DPO of the tenant"]) == 0  # by the local admin
    monkeypatch.setenv("CCR_PRINCIPAL", "dpo")  # the caller is who the platform authenticated, not a flag (P3)
    assert main(["dsr", "erase", T, "--phone", "0611223344"]) == 0
    out = capsys.readouterr().out
    assert "verification passed" in out and PHONE not in out and not names_call(out, "c-1")
    rid = int(out.strip().splitlines()[-2].split()[1])  # "request N registered (erasure, …)"
    assert main(["dsr", "receipt", str(rid)]) == 0
    receipt = json.loads(capsys.readouterr().out)
    assert receipt["scan"]["passed"] and any(d["store"] == "marts" for d in receipt["deleted"])
    assert not store.exists(f"exports/{T}/dsr-1/bundle.json")  # the subject's earlier export went too
    assert main(["dsr", "list"]) == 0
    listing = capsys.readouterr().out
    assert "export" in listing and "erasure" in listing and "completed" in listing
    assert main(["dsr", "erase", T]) == 2  # no identifier: a one-line error
    assert "at least one identifier" in capsys.readouterr().err
    control.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_revision_7_gives_a_version_6_store_the_dsr_index_and_restrictions(backend, tmp_path, request):
    """The DSR columns hand-rolled migration 7 added to older stores come with revision 0001 under Alembic
    (as they did for a new store then); a hand-rolled store below 13 is refused, not patched
    (test_schema_migrations.py)."""
    url = f"sqlite:///{tmp_path}/c.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    control = ControlStore(url)
    assert control.migrate(6) == 6
    new = ("subject_hashes", "identifier_types", "extended_at", "extension_reason", "actor", "run_id")
    insp = sa.inspect(control.engine)
    assert set(new) <= {c["name"] for c in insp.get_columns("dsr_requests")}
    assert not insp.has_table("subject_restrictions")
    assert control.migrate() >= 7
    insp = sa.inspect(control.engine)
    assert insp.has_table("subject_restrictions")
    assert "ix_dsr_requests_status" in {i["name"] for i in insp.get_indexes("dsr_requests")}
    control.dispose()


def test_p17_the_verification_scan_finds_a_row_a_hash_a_report_or_an_old_version_left_behind(world):
    import pyarrow as pa

    generate_report(
        world.warehouse,
        world.control,
        world.registry.get(T),
        period_containing("weekly", date(2026, 11, 16)),
        run_id=None,
        actor="test",
    )
    before = {ds: world.warehouse.read_partition(ds, T, DAY) for ds in ("call_scores", "call_manifest")}
    rid = dsr.register(world, T, "erasure", {"phone": PHONE})
    proof = dsr.erase(world, rid)
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    calls, h = [{"call_id": "c-1", "day": DAY}], [subject_hash(SECRET, T, "phone", PHONE)]
    # a score row put back
    world.warehouse.write_partition("call_scores", T, DAY, before["call_scores"])
    assert any("rows of the calls" in f for f in dsr.verify_erasure(world, T, calls, h))
    world.warehouse.write_partition(
        "call_scores",
        T,
        DAY,
        before["call_scores"].filter(pa.compute.not_equal(before["call_scores"].column("call_id"), "c-1")),
    )
    # the subject's keyed hash left in another manifest row
    m = world.warehouse.read_partition("call_manifest", T, DAY)
    world.warehouse.write_partition(
        "call_manifest",
        T,
        DAY,
        m.set_column(
            m.schema.get_field_index("subject_hashes"),
            "subject_hashes",
            pa.array([h] * m.num_rows, pa.list_(pa.string())),
        ),
    )
    assert any("hash" in f for f in dsr.verify_erasure(world, T, calls, h))
    world.warehouse.write_partition("call_manifest", T, DAY, m)
    # a report still listing the call
    key = f"reports/{T}/weekly/2026-W47/manifest.json"
    doc = json.loads(world.store.get_bytes(key))
    world.store.put_bytes(key, json.dumps({**doc, "calls": doc["calls"] + [{"call_id": "c-1"}]}).encode())
    assert any("manifest.json" in f for f in dsr.verify_erasure(world, T, calls, h))
    world.store.put_bytes(key, json.dumps(doc).encode())
    assert dsr.verify_erasure(world, T, calls, h) == []


def test_p16_p17_export_restriction_and_erasure_on_a_postgresql_control_store(pg_url, tmp_path):
    control = ControlStore(pg_url)
    control.migrate()
    env = _world(LocalObjectStore(tmp_path / "objects"), control)
    rid = dsr.register(env, T, "export", {"phone": PHONE, "customer_ref": "cust-1"})
    assert [c["call_id"] for c in dsr.export(env, rid)["calls"]] == ["c-1"]
    rid = dsr.register(env, T, "restriction", {"email": EMAIL})
    dsr.restrict(env, rid)
    assert control.restricted_call_ids(T) == {"c-3"}
    rid = dsr.register(env, T, "erasure", {"phone": PHONE})
    proof = dsr.erase(env, rid)
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    assert control.calls_of_subject(T, [subject_hash(SECRET, T, "phone", PHONE)]) == []
    [req] = control.fetch(sa.select(dsr_requests).where(dsr_requests.c.id == rid))
    assert (
        req["status"] == "completed" and req["proof"]["calls"] == 1 and not names_call(json.dumps(req["proof"]), "c-1")
    )
    control.dispose()


def test_p17_a_request_whose_scan_failed_completes_only_after_a_new_scan_that_passes(world):
    """Issue 15: a failed verification is not a completion (no completed_at, still overdue-able); re-running
    the request (``ccr dsr run N``) scans again, and only a passing scan completes it."""
    rid = dsr.register(world, T, "erasure", {"phone": PHONE})
    stray = f"audio/{T}/2026/11/16/c-9999.json"  # another call's sidecar naming the subject: not in the index
    world.store.put_bytes(stray, json.dumps({"customer_phone": "+33611223344"}).encode())
    proof = dsr.erase(world, rid)
    req = dsr.get_request(world, rid)
    assert not proof["scan"]["passed"] and req["status"] == "verification_failed" and req["completed_at"] is None
    assert dsr.check_overdue(world, now=utcnow() + timedelta(days=40)) == [rid]  # still open: the deadline runs
    # re-run with nothing changed: a new scan, the same failure, never "completed"
    dsr.erase(world, rid)
    req = dsr.get_request(world, rid)
    assert req["status"] == "verification_failed" and [s["passed"] for s in req["proof"]["scans"]] == [False, False]
    # the stray removed, the next run's scan passes and only then is the request completed
    world.store.delete(stray)
    proof = dsr.erase(world, rid)
    req = dsr.get_request(world, rid)
    assert proof["scan"]["passed"] and req["status"] == "completed" and req["completed_at"] is not None
    assert [s["passed"] for s in req["proof"]["scans"]] == [False, False, True]
    assert "_pending_calls" not in req["proof"] and any(
        loc.startswith("quarantine ") for loc in req["proof"]["scan"]["locations_read"]
    )


def test_p17_a_quarantined_upload_naming_the_subject_is_erased_and_its_reason_record_holds_no_raw_key(world):
    """Issue 15: quarantined uploads are indexed by the subject's keyed hash (sidecar or key) and erased."""
    from ccr_pipelines.services.ingest import IngestEnv, ingest_batch
    from ccr_pipelines.stores.control_store import quarantine_subjects

    from .audio_helpers import wav_bytes
    from .ingest_helpers import sidecar

    prefix = f"raw/{T}/2026/11/16/"
    world.store.put_bytes(prefix + "0611223344.wav", wav_bytes(1.0))  # the subject's number as a file name
    world.store.put_bytes(prefix + "c-8000.json", sidecar(customer_email=EMAIL))
    world.store.put_bytes(prefix + "c-8000.wav", b"")  # empty: quarantined with its sidecar
    env = IngestEnv(
        store=world.store,
        control=world.control,
        warehouse=world.warehouse,
        registry=world.registry,
        secret=SECRET,
        run_id="r-q",
        today=date(2026, 11, 20),
        max_duration_s=600.0,
    )
    assert ingest_batch(env, None, tenant_id=T, day=DAY).outcomes["quarantined"] == 2
    reasons = [
        world.store.get_bytes(o.key).decode()
        for o in world.store.list(f"quarantine/{T}/")
        if o.key.endswith("reason.json")
    ]
    assert len(reasons) == 2 and not any("0611223344" in r for r in reasons)
    assert len(world.control.fetch(sa.select(quarantine_subjects))) == 2
    rid = dsr.register(world, T, "erasure", {"phone": PHONE, "email": EMAIL})
    proof = dsr.erase(world, rid)
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    assert list(world.store.list(f"quarantine/{T}/")) == []
    assert sum(1 for d in proof["deleted"] if d["store"] == "quarantine") == 2
    assert world.control.fetch(sa.select(quarantine_subjects)) == []
    # the scan can fail: a quarantined sidecar naming the subject put back is found
    world.store.put_bytes(
        f"quarantine/{T}/2026/11/16/feedfacefeedface/sidecar.json",
        json.dumps({"customer_email": EMAIL.upper()}).encode(),
    )
    h = [subject_hash(SECRET, T, "email", EMAIL)]
    assert any(f.startswith("quarantine ") for f in dsr.verify_erasure(world, T, [], h))


def test_p16_p17_the_cli_builds_the_jobs_erasure_env_and_registers_lookups_by_request_id(
    local_settings_env, monkeypatch, capsys
):
    """Issue 15: the CLI's environment reads Dagster's run storage like the job's (the embedded default's
    dagster_home when DAGSTER_HOME is unset), and a lookup for the Dagster job is a request row."""
    from ccr_pipelines.cli import main
    from ccr_pipelines.loaders.settings_files import load_settings
    from ccr_pipelines.platform import Platform
    from ccr_pipelines.stores.control_store import lineage_lookups

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    loaded = load_settings()
    platform = Platform(loaded)  # what `ccr dsr` builds its environment with
    assert platform.erasure_env("t").run_storage is None  # no instance anywhere: none read (the receipt says so)
    (local_settings_env / "dagster_home").mkdir(parents=True)
    env = platform.erasure_env("t")
    assert env.run_storage is not None and env.dagster_source == "the data dir's dagster_home"
    assert env.backup_keep_days == loaded.settings.backups.keep_days == 35
    assert main(["lineage", "call", T, "c-1", "--register-only"]) == 0
    assert main(["lineage", "subject", T, PHONE, "--type", "phone", "--register-only"]) == 0
    out = capsys.readouterr().out
    assert "config request_id=1" in out and "config request_id=2" in out and PHONE not in out
    rows = env.control.fetch(sa.select(lineage_lookups).order_by(lineage_lookups.c.id))
    assert [(r["lookup"], r["target"]) for r in rows] == [
        ("call", "c-1"),
        ("subject_hash", subject_hash(dsr_secret(loaded), T, "phone", PHONE)),
    ]


def dsr_secret(loaded) -> str:
    from ccr_pipelines.core.settings import resolve

    return resolve(loaded.settings.ingest.subject_hash_key)


def _dead_pid() -> int:
    import subprocess
    import sys

    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_p17_a_partial_write_killed_mid_way_is_erased_with_the_subjects_calls(world, tmp_path):
    """A transcript write killed before its rename leaves an unlisted temp file beside the transcript;
    the erasure removes it (its writer is gone) and says so in the receipt, a live writer's stays."""
    folder = tmp_path / "objects" / "restricted" / T / "transcripts" / "2026" / "11" / "16" / "c-1"
    dead = folder / f".tmp-{_dead_pid()}-x1"
    dead.write_bytes(json.dumps({"text": f"my number is {PHONE}"}).encode())
    other = tmp_path / "objects" / "audio" / "globex-support" / f".tmp-{_dead_pid()}-x2"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"another tenant's partial write")
    rid = dsr.register(world, T, "erasure", {"phone": PHONE})
    proof = dsr.erase(world, rid)
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    assert not dead.exists()
    assert any(d["location"] == f"restricted/{T}/ (partial writes)" for d in proof["deleted"]), proof["deleted"]
    assert other.exists()  # the erasure of one tenant's subject does not sweep another tenant's folders
