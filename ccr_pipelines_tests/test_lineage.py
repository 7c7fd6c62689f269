"""Lineage for audits: record-level rows written by the real assets, lookups, OpenLineage events,
erasure shown in lineage, and the audit evidence pack (P2, P3, P9, P13, P16, P17)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import jsonschema
import pyarrow as pa
import pytest
import sqlalchemy as sa
import yaml

from ccr_pipelines.core.lineage import (
    ERASURE_FACET_NAME,
    dataset_name,
    dataset_partition,
    erasure_facet_fields,
    event_dict,
    retention_until,
    run_event,
)
from ccr_pipelines.core.report_periods import period_containing
from ccr_pipelines.core.subjects import subject_hash
from ccr_pipelines.defs.analyze.assets import call_metrics, call_scores, redacted_transcripts
from ccr_pipelines.defs.lineage.export import export_run
from ccr_pipelines.defs.lineage.jobs import lineage_lookup_job
from ccr_pipelines.defs.reports.assets import tenant_weekly_reports
from ccr_pipelines.resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource, WarehouseResource
from ccr_pipelines.services import lineage as svc
from ccr_pipelines.services.audit_pack import SECTIONS, build_pack, scrub_other_tenants
from ccr_pipelines.services.ingest import MANIFEST_DATASET, MANIFEST_SCHEMA
from ccr_pipelines.services.transcribe import SEGMENTS_DATASET, SEGMENTS_SCHEMA, SEGMENTS_ZONE
from ccr_pipelines.stores.control_store import (
    ControlStore,
    access_log,
    incident_notifications,
    incidents,
    lineage,
    subject_calls,
    utcnow,
)
from ccr_pipelines.stores.warehouse import Warehouse

from .analytics_helpers import TEXTS

SCHEMAS = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "schemas"
RUNEVENT_SUBSET = Path(__file__).parent / "data" / "openlineage_runevent_subset.schema.json"
DAY = "2026-11-16"
WEEK = period_containing("weekly", date(2026, 11, 16))
KEY = "test-subject-key"
PHONE = "+33 6 12 34 56 78"  # fake


# -- pure ------------------------------------------------------------------------------------
def test_retention_date_is_creation_plus_the_tenants_class_retention():
    created = datetime(2026, 1, 1, tzinfo=UTC)
    assert retention_until(created, "audio", {"audio": 10}).date() == date(2026, 1, 11)
    assert retention_until(created, "transcript", {"raw_transcript": 30}).date() == date(2026, 1, 31)
    assert retention_until(created, "unknown-kind", {"audio": 10}) is None


def test_dataset_names_follow_the_openlineage_naming_spec_at_dataset_level_with_the_partition_apart():
    """One convention (docs/lineage.md): <zone>/<tenant>/<dataset>, the day or period a facet."""
    assert dataset_name("s3://bucket/datasets/acme-energie/call_scores/day=2026-11-16/part.parquet#c-1") == (
        "s3://bucket",
        "datasets/acme-energie/call_scores",
    )
    assert (
        dataset_partition("s3://bucket/datasets/acme-energie/call_scores/day=2026-11-16/part.parquet#c-1")[1]
        == "2026-11-16"
    )
    assert dataset_name("file:///srv/objects/audio/acme-energie/2026/11/16/c-1.flac") == (
        "file",
        "/srv/objects/audio/acme-energie",
    )
    assert dataset_partition("s3://b/restricted/acme-energie/transcripts/2026/11/16/c-1/t.json") == (
        "s3://b/restricted/acme-energie/transcripts",
        "2026-11-16",
    )
    assert dataset_partition("s3://b/reports/acme-energie/weekly/2026-W47/report.html") == (
        "s3://b/reports/acme-energie/weekly",
        "2026-W47",
    )
    assert dataset_name("duckdb:///srv/warehouse.duckdb/main.mart_agent_day") == (
        "duckdb:///srv/warehouse.duckdb",
        "main.mart_agent_day",
    )
    with pytest.raises(ValueError):
        dataset_name("http://example.org/x")


def test_a_run_event_refuses_an_unknown_type_and_fail_carries_an_error_facet():
    with pytest.raises(ValueError):
        run_event(
            "DONE",
            event_time=utcnow(),
            dagster_run_id="r",
            asset_key="a",
            partition=None,
            inputs=[],
            outputs=[],
            engine_version="1",
        )
    ev = event_dict(
        run_event(
            "FAIL",
            event_time=utcnow(),
            dagster_run_id="r",
            asset_key="a",
            partition="2026-11-16",
            inputs=[],
            outputs=[],
            engine_version="1",
            error="Failure",
        )
    )
    assert ev["run"]["facets"]["errorMessage"]["message"] == "Failure"
    assert _validator().is_valid(ev)


def test_p17_the_erasure_facet_validates_against_our_published_schema_and_refuses_content():
    schema = json.loads((SCHEMAS / "CcrErasureDatasetFacet.json").read_text())
    facet = {
        "_producer": "https://x.example/p",
        "_schemaURL": "https://x.example/s",
        **erasure_facet_fields(
            deleted=True, deleted_at="2026-11-20T10:00:00+00:00", reason="erasure", erased_calls=2, dsr_request_id=7
        ),
    }
    jsonschema.validate({ERASURE_FACET_NAME: facet}, schema, format_checker=jsonschema.FormatChecker())
    with pytest.raises(jsonschema.ValidationError):  # no free-form content can ride along
        jsonschema.validate({ERASURE_FACET_NAME: facet | {"transcript": "bonjour"}}, schema)


def test_p4_scrub_masks_other_tenant_ids_but_not_longer_ids_that_contain_them():
    text = "acme and acme-energie, globex-support."
    assert scrub_other_tenants(text, ["acme", "globex-support"]) == "[other tenant] and acme-energie, [other tenant]."


# -- the pipeline's own assets write the lineage ---------------------------------------------------
def _validator():
    return jsonschema.Draft202012Validator(
        json.loads(RUNEVENT_SUBSET.read_text()), format_checker=jsonschema.FormatChecker()
    )


def _facet_validator():
    return jsonschema.Draft202012Validator(
        json.loads((SCHEMAS / "CcrErasureDatasetFacet.json").read_text()), format_checker=jsonschema.FormatChecker()
    )


def _copy_of_control(pipeline, tmp_path) -> ControlStore:
    """A copy of the module's control store (SQLite backup API: the WAL is included)."""
    import sqlite3

    src = sqlite3.connect(pipeline["control"].url.split("///", 1)[1])
    dst = sqlite3.connect(tmp_path / "c.db")
    src.backup(dst)
    src.close()
    dst.close()
    return ControlStore(f"sqlite:///{tmp_path}/c.db")


def _seed_day(wh: Warehouse, control: ControlStore, tenant: str, calls: dict[str, str]) -> None:
    """What ingestion and transcription leave: manifest, restricted segments, audio lineage, subject index."""
    manifest, segs = [], []
    for call_id, kind in calls.items():
        manifest.append(
            {
                "tenant_id": tenant,
                "call_id": call_id,
                "day": DAY,
                "source_key": "k",
                "audio_key": "a",
                "etag": "e",
                "sha256": "0" * 64,
                "size_bytes": 1,
                "duration_s": 30.0,
                "sample_rate": 16000,
                "channels": 2,
                "codec": "flac",
                "container": "flac",
                "agent_id": "ag-1",
                "team": "t",
                "subject_hashes": [],
                "has_sidecar": True,
                "ingested_at": utcnow(),
                "run_id": "ingest-run",
            }
        )
        for i, t in enumerate(TEXTS[kind] + ([f"call me on {PHONE}"] if call_id == "c-1" else [])):
            segs.append(
                {
                    "tenant_id": tenant,
                    "call_id": call_id,
                    "segment_index": i,
                    "speaker": "agent",
                    "channel": 0,
                    "start_s": 3.0 * i,
                    "end_s": 3.0 * i + 2.5,
                    "text": t,
                    "avg_logprob": -0.1,
                    "no_speech_prob": 0.0,
                    "compression_ratio": 1.0,
                    "speech_regions": [[3.0 * i, 3.0 * i + 2.5]],
                }
            )
    info = wh.write_partition(MANIFEST_DATASET, tenant, DAY, pa.Table.from_pylist(manifest, schema=MANIFEST_SCHEMA))
    wh.write_partition(
        SEGMENTS_DATASET, tenant, DAY, pa.Table.from_pylist(segs, schema=SEGMENTS_SCHEMA), zone=SEGMENTS_ZONE
    )
    control.record_lineage(
        [
            dict(
                tenant_id=tenant,
                call_id=c,
                artefact_kind=k,
                artefact_uri=uri,
                asset_key="silver/ingest/call_manifest",
                partition_key=DAY,
                run_id="ingest-run",
                code_version="0.1.0",
                engine="pyav",
                region="local",
            )
            for c in calls
            for k, uri in (
                ("audio", wh.store.uri(f"audio/{tenant}/2026/11/16/{c}.flac")),
                ("manifest_row", wh.store.uri(info.key) + f"#{c}"),
            )
        ]
    )
    control.insert(
        subject_calls,
        [
            dict(
                tenant_id=tenant,
                subject_hash=subject_hash(KEY, tenant, "phone", PHONE),
                identifier_type="phone",
                call_id="c-1",
                day=DAY,
                created_at=utcnow(),
            )
        ],
    )


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Two tenants (same call ids), their day through the real redaction, metrics, scoring and
    weekly-report assets in one Dagster instance; the OpenLineage export of every run."""
    tmp = tmp_path_factory.mktemp("lineage")
    store_res = ObjectStoreResource(kind="local", root=str(tmp / "objects"))
    url = f"sqlite:///{tmp}/control.db"
    control = ControlStore(url)
    control.migrate()
    wh = Warehouse(store_res.get())
    registry_file = tmp / "tenants.yaml"
    registry_file.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "tenants": [
                    {
                        "id": t,
                        "display_name": t,
                        "languages": ["en"],
                        "scorecard": "default.v1",
                        "retention_days": {"audio": 90},
                    }
                    for t in ("acme-energie", "globex-support")
                ],
            }
        )
    )
    resources = {
        "object_store": store_res,
        "warehouse": WarehouseResource(object_store=store_res),
        "control_store": ControlStoreResource(url=url),
        "tenant_registry": TenantRegistryResource(path=str(registry_file)),
    }
    instance = dg.DagsterInstance.ephemeral()
    runs = {}
    for tenant in ("acme-energie", "globex-support"):
        _seed_day(wh, control, tenant, {"c-1": "good", "c-2": "bad"})
        for asset in (redacted_transcripts, call_metrics, call_scores):
            op = asset.key.to_python_identifier()
            r = dg.materialize(
                [asset],
                instance=instance,
                resources=resources,
                partition_key=DAY,
                run_config={"ops": {op: {"config": {"tenant_id": tenant}}}},
            )
            runs[(tenant, asset.key.path[-1])] = r.run_id
        op = tenant_weekly_reports.key.to_python_identifier()
        r = dg.materialize(
            [tenant_weekly_reports],
            instance=instance,
            resources=resources,
            partition_key=WEEK.partition_key,
            run_config={"ops": {op: {"config": {"tenant_id": tenant}}}},
        )
        runs[(tenant, "report")] = r.run_id
    return {
        "control": control,
        "wh": wh,
        "instance": instance,
        "runs": runs,
        "resources": resources,
        "registry": resources["tenant_registry"].get(),
        "prefix": store_res.get().uri("x")[:-1],
    }


def test_p13_a_calls_chain_runs_from_audio_to_report_with_versions_runs_and_regions(pipeline):
    control, runs = pipeline["control"], pipeline["runs"]
    tenant = pipeline["registry"].require("acme-energie")
    ans = svc.call_lineage(control, tenant, "c-1", uri_prefix=pipeline["prefix"])
    assert ans["found"] and ans["day"] == DAY
    assert ans["stages"] == [
        "audio",
        "manifest_row",
        "redacted_transcript",
        "call_metrics",
        "call_score",
        "report",
        "report_file",
    ]
    by_kind = {a["kind"]: a for a in ans["artefacts"]}
    assert by_kind["call_score"]["run_id"] == runs[("acme-energie", "call_scores")]
    assert by_kind["call_score"]["scorer_version"] and by_kind["call_score"]["scorecard_version"].startswith(
        "default.v1"
    )
    assert by_kind["redacted_transcript"]["code_version"].endswith("+redaction-5")
    assert by_kind["call_metrics"]["engine"].startswith("duckdb")  # P9
    assert {a["region"] for a in ans["artefacts"]} == {"local"}  # P2
    assert by_kind["report"]["run_id"] == runs[("acme-energie", "report")]
    created = datetime.fromisoformat(by_kind["audio"]["created_at"])
    assert (datetime.fromisoformat(by_kind["audio"]["retention_until"]) - created).days == 90  # tenant's class
    assert all(a["status"] == "present" for a in ans["artefacts"])
    assert {r["action"] for r in ans["accesses"]} >= {"write", "export"}  # P3: the report's writes
    # P4: the other tenant's identical call ids never appear
    assert not any("globex-support" in json.dumps(a) for a in ans["artefacts"] + ans["accesses"])


def test_p13_a_report_lookup_names_its_calls_versions_and_runs(pipeline):
    control, runs = pipeline["control"], pipeline["runs"]
    ans = svc.report_lineage(control, "acme-energie", svc.parse_period(WEEK.key))
    assert ans["found"] and ans["calls"] == ["c-1", "c-2"]
    assert ans["report_runs"] == [runs[("acme-energie", "report")]]
    assert ans["score_runs"] == [runs[("acme-energie", "call_scores")]]
    assert ans["versions"]["scorer_version"]
    assert svc.report_lineage(control, "acme-energie", svc.parse_period("2026-W40"))["found"] is False
    with pytest.raises(ValueError):
        svc.parse_period("last week")


def test_p16_a_subject_lookup_finds_the_subjects_calls_by_keyed_hash_only(pipeline):
    control = pipeline["control"]
    hashes = svc.subject_hashes_for(KEY, "acme-energie", PHONE)
    ans = svc.subject_lineage(control, "acme-energie", hashes)
    assert [c["call_id"] for c in ans["calls"]] == ["c-1"]
    assert {a["kind"] for a in ans["calls"][0]["artefacts"]} >= {"audio", "call_score"}
    assert ans["calls"][0]["reports"]
    dumped = json.dumps(ans)
    assert "612345678" not in dumped and "+33" not in dumped  # the identifier never comes back
    # P4: hashes are tenant-scoped: acme's hashes find nothing in globex, which has its own c-1
    assert svc.subject_lineage(control, "globex-support", hashes)["calls"] == []
    other = svc.subject_lineage(control, "globex-support", svc.subject_hashes_for(KEY, "globex-support", PHONE))
    assert [c["call_id"] for c in other["calls"]] == ["c-1"] and "acme-energie" not in json.dumps(other)


def test_openlineage_events_of_every_run_validate_and_carry_schema_quality_and_erasure_facets(pipeline):
    control, instance = pipeline["control"], pipeline["instance"]
    store = pipeline["wh"].store
    mine = set(pipeline["runs"].values())
    total = sum(export_run(instance, r.run_id, control, store) for r in instance.get_runs() if r.run_id in mine)
    files = [f for f in store.list("lineage/openlineage/") if f.key.rsplit("/", 1)[1].split(".")[0] in mine]
    events = [json.loads(line) for f in files for line in store.get_bytes(f.key).decode().splitlines()]
    checks = [e for e in events if e["job"]["name"].endswith(".checks")]
    assert total == len(events) == 2 * 4 * 2 + len(checks)  # START + COMPLETE, 4 assets, 2 tenants (+ check runs)
    assert all(e["inputs"] or e["outputs"] for e in events if e["eventType"] == "COMPLETE")  # no empty events
    validator, facet_validator = _validator(), _facet_validator()
    for ev in events:
        errors = sorted(validator.iter_errors(ev), key=str)
        assert not errors, errors[0].message
        for ds in ev["outputs"]:
            facet_validator.validate({ERASURE_FACET_NAME: ds["facets"][ERASURE_FACET_NAME]})
            assert "dataQualityAssertions" not in json.dumps(ds)  # an input-dataset facet in the spec
    completes = {
        e["job"]["name"]: e
        for e in events
        if e["eventType"] == "COMPLETE" and "acme-energie" in json.dumps(e["outputs"] + e["inputs"])
    }
    scores = completes["silver/analyze/call_scores"]
    assert sorted(o["name"].rsplit("/", 1)[1] for o in scores["outputs"]) == [
        "call_cards",
        "call_categories",
        "call_score_steps",
        "call_scores",
        "call_sentiment",
        "turn_sentiment",
    ]
    out = next(o for o in scores["outputs"] if o["name"].endswith("/call_scores"))
    assert out["namespace"] == "file" and out["name"].endswith("datasets/acme-energie/call_scores")
    assert out["facets"]["ccr_partitions"]["partitions"] == ["2026-11-16"]
    assert {f["name"] for f in out["facets"]["schema"]["fields"]} >= {"call_id", "score", "scorer_version"}
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert [i["name"].split("/")[-1] for i in scores["inputs"]] == ["redacted_segments"], scores["inputs"]
    (checked,) = completes["silver/analyze/redacted_segments.checks"]["inputs"]
    assert {a["assertion"]: a["success"] for a in checked["inputFacets"]["dataQualityAssertions"]["assertions"]} == {
        "no_pii_left": True
    }
    assert checked["name"] == completes["silver/analyze/redacted_segments"]["outputs"][0]["name"]
    # our facets validate against the definition their _schemaURL's fragment names
    for facet, file in (("ccr_partition", "CcrPartitionRunFacet.json"),):
        schema = json.loads((SCHEMAS / file).read_text())
        for ev in events:
            f = ev["run"]["facets"][facet]
            ref = f["_schemaURL"].split("#", 1)
            assert ref[0] == schema["$id"] and ref[1].startswith("/$defs/")
            jsonschema.validate(f, {**schema, "$ref": "#" + ref[1]}, format_checker=jsonschema.FormatChecker())
    part_schema = json.loads((SCHEMAS / "CcrPartitionsDatasetFacet.json").read_text())
    for ev in events:
        for ds in ev["inputs"] + ev["outputs"]:
            if "ccr_partitions" in ds["facets"]:
                f = ds["facets"]["ccr_partitions"]
                assert f["_schemaURL"].split("#")[0] == part_schema["$id"]
                jsonschema.validate(
                    f,
                    {**part_schema, "$ref": "#" + f["_schemaURL"].split("#")[1]},
                    format_checker=jsonschema.FormatChecker(),
                )
    starts = [e for e in events if e["eventType"] == "START"]
    assert {e["run"]["runId"] for e in starts} == {e["run"]["runId"] for e in events if e["eventType"] == "COMPLETE"}
    assert PHONE not in json.dumps(events)


def test_a_failed_run_emits_start_and_fail(pipeline, tmp_path):
    control, instance = pipeline["control"], pipeline["instance"]
    op = call_scores.key.to_python_identifier()
    r = dg.materialize(
        [call_scores],
        instance=instance,
        resources=pipeline["resources"],
        partition_key=DAY,
        run_config={"ops": {op: {"config": {"tenant_id": "not-a-tenant"}}}},
        raise_on_error=False,
    )
    assert not r.success
    export_run(instance, r.run_id, control, pipeline["wh"].store)
    (f,) = [o for o in pipeline["wh"].store.list("lineage/openlineage/") if r.run_id in o.key]
    events = [json.loads(x) for x in pipeline["wh"].store.get_bytes(f.key).decode().splitlines()]
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    assert events[1]["run"]["facets"]["errorMessage"]["message"]
    assert all(_validator().is_valid(e) for e in events)


def test_p16_the_lookup_job_takes_a_request_id_writes_its_answer_as_a_tenant_export_and_refuses_a_raw_identifier(
    pipeline, tmp_path
):
    """P16 (issue 15): the run config names a lookup request (a control-store row), never a call id or
    a subject hash, and the export's key names the request: nothing about the call reaches Dagster."""
    res = pipeline["resources"]
    control = pipeline["control"]
    instance = dg.DagsterInstance.ephemeral()
    rid = svc.register_lookup(control, "acme-energie", "call", "c-2", actor="auditor")
    ok = lineage_lookup_job.execute_in_process(
        resources={k: res[k] for k in ("control_store", "object_store", "tenant_registry")},
        instance=instance,
        run_config={"ops": {"lineage_lookup": {"config": {"request_id": rid}}}},
    )
    key = ok.output_for_node("lineage_lookup")
    assert key.startswith(f"exports/acme-energie/lineage/call-{rid}-")
    assert json.loads(pipeline["wh"].store.get_bytes(key))["call_id"] == "c-2"
    assert svc.get_lookup(control, rid)["status"] == "answered"
    # Dagster's run storage holds the request id only: no call id, no target, in config, tags or events
    [run] = instance.get_runs()
    stored = (
        json.dumps(run.run_config)
        + json.dumps(dict(run.tags))
        + "".join(dg.serialize_value(e) for e in instance.all_logs(run.run_id))
    )
    assert '"c-2"' not in stored and "call-c-2" not in stored and "/c-2" not in stored
    with pytest.raises(ValueError, match="64-hex"):
        svc.register_lookup(control, "acme-energie", "subject_hash", PHONE, actor="auditor")
    bad = lineage_lookup_job.execute_in_process(
        resources={k: res[k] for k in ("control_store", "object_store", "tenant_registry")},
        raise_on_error=False,
        run_config={"ops": {"lineage_lookup": {"config": {"request_id": 999999}}}},
    )
    assert not bad.success
    # the config schema has no room for a target
    with pytest.raises(dg.DagsterInvalidConfigError):
        lineage_lookup_job.execute_in_process(
            resources={k: res[k] for k in ("control_store", "object_store", "tenant_registry")},
            run_config={"ops": {"lineage_lookup": {"config": {"request_id": rid, "target": "c-2"}}}},
        )


def test_p17_erasure_shows_in_the_lookup_and_in_the_openlineage_erasure_facet(pipeline, tmp_path):
    """Issue 7 sets lineage.deleted_at on erasure; the lookups and the export show it. A copy of the
    control store keeps the module's other tests independent of the order."""
    control = _copy_of_control(pipeline, tmp_path)
    with control.engine.begin() as conn:
        conn.execute(
            lineage.update()
            .where(lineage.c.tenant_id == "acme-energie", lineage.c.call_id == "c-1")
            .values(deleted_at=utcnow())
        )
    ans = svc.call_lineage(control, "acme-energie", "c-1")
    assert ans["deleted"] and all(a["status"] == "deleted" for a in ans["artefacts"] if a["call_id"])
    assert svc.report_lineage(control, "acme-energie", WEEK)["erased_calls"] == ["c-1"]
    instance, store = pipeline["instance"], pipeline["wh"].store
    export_run(instance, pipeline["runs"][("acme-energie", "call_scores")], control, store)
    key = [
        o.key for o in store.list("lineage/openlineage/") if pipeline["runs"][("acme-energie", "call_scores")] in o.key
    ][0]
    complete = [
        e
        for e in (json.loads(x) for x in store.get_bytes(key).decode().splitlines())
        if e["eventType"] == "COMPLETE" and e["outputs"]
    ][0]
    (scores,) = [o for o in complete["outputs"] if o["name"].endswith("/call_scores")]
    facet = scores["facets"][ERASURE_FACET_NAME]
    assert facet["erasedCalls"] == 1 and facet["deleted"] is False and facet["deletedAt"]
    _facet_validator().validate({ERASURE_FACET_NAME: facet})


def test_the_audit_pack_has_every_section_and_names_no_other_tenant(pipeline, tmp_path):
    control = _copy_of_control(pipeline, tmp_path)
    now = utcnow()
    with control.engine.begin() as conn:
        iid = conn.execute(
            incidents.insert().values(
                severity="majeur",
                rule="R1",
                signal="ingest_failure",
                tenants=["acme-energie", "globex-support"],
                counts={"acme-energie": 1, "globex-support": 3},
                is_breach=True,
                detected_at=now,
                root_cause="disk full on the worker shared with globex-support",
            )
        ).inserted_primary_key[0]
        for t in ("acme-energie", "globex-support"):
            conn.execute(
                incident_notifications.insert().values(
                    incident_id=iid, tenant_id=t, language="fr", body=f"Notification pour {t}", created_at=now
                )
            )
    body, manifest = build_pack(
        control, pipeline["registry"], "acme-energie", date(2026, 1, 1), now.date(), actor="auditor"
    )
    zf = zipfile.ZipFile(io.BytesIO(body))
    names = {n.split("/", 1)[1] for n in zf.namelist()}
    assert names == set(SECTIONS)
    everything = "\n".join(zf.read(n).decode() for n in zf.namelist())
    assert "globex-support" not in everything  # P4, P14
    ropa = json.loads(zf.read([n for n in zf.namelist() if n.endswith("ropa.json")][0]))
    for field in ("purposes", "data_categories", "recipients", "sub_processors", "retention_days", "security_measures"):
        assert ropa[field], field
    assert ropa["retention_days"]["audio"] == 90
    evidence = [
        line.split(",")
        for line in zf.read([n for n in zf.namelist() if n.endswith("policy_evidence.csv")][0])
        .decode()
        .splitlines()[1:]
    ]
    assert [e[0] for e in evidence] == [f"P{i}" for i in range(1, 24)]
    found = {e[0]: int(e[3]) for e in evidence}
    assert found["P3"] > 0 and found["P9"] > 0 and found["P10"] == 1 and found["P14"] == 1
    inc = json.loads(zf.read([n for n in zf.namelist() if n.endswith("incidents.json")][0]))
    assert inc[0]["notifications"][0]["body"] == "Notification pour acme-energie" and "tenants" not in inc[0]
    assert manifest["files"]["ropa.json"]
    logged = control.fetch(sa.select(access_log).where(access_log.c.actor == "auditor"))
    assert [r["action"] for r in logged] == ["export"]  # P3: the pack itself is logged


def test_the_cli_answers_a_call_lookup_in_json_and_text(pipeline, local_settings_env, capsys):
    """`ccr lineage call` and `ccr audit pack` on the packaged local profile."""
    from ccr_pipelines import cli
    from ccr_pipelines.loaders.settings_files import load_settings

    loaded = load_settings()
    control = ControlStore(loaded.settings.control_url())
    control.migrate()
    tenant = loaded.registry.active_ids()[0]
    control.record_lineage(
        [
            dict(
                tenant_id=tenant,
                call_id="c-7",
                artefact_kind="audio",
                artefact_uri="file:///x/a.flac",
                partition_key=DAY,
                run_id="r-1",
                region="local",
            )
        ]
    )
    assert cli.main(["lineage", "call", tenant, "c-7", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stages"] == ["audio"] and out["run_ids"] == ["r-1"]
    assert cli.main(["lineage", "call", tenant, "c-404"]) == 1
    assert "no lineage" in capsys.readouterr().out
    assert cli.main(["lineage", "subject", tenant, "+33 6 00 00 00 01"]) == 1  # no call: exit 1, not an error
    pack = local_settings_env / "pack.zip"
    assert (
        cli.main(
            ["audit", "pack", "--tenant", tenant, "--from", "2026-01-01", "--to", "2026-12-31", "--out", str(pack)]
        )
        == 0
    )
    assert len(zipfile.ZipFile(pack).namelist()) == len(SECTIONS)


def test_the_run_status_sensor_writes_the_runs_events_and_posts_them_to_a_marquez_style_endpoint(pipeline, monkeypatch):
    from ccr_pipelines.defs.lineage.sensors import openlineage_success_sensor

    from .receivers import Receiver

    instance, res = pipeline["instance"], pipeline["resources"]
    run_id = pipeline["runs"][("globex-support", "call_metrics")]
    run = instance.get_run_by_id(run_id)
    (success,) = instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
    with Receiver(default_status=201) as marquez:
        monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{marquez.port}")
        ctx = dg.build_run_status_sensor_context(
            sensor_name="openlineage_success_sensor",
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=success.dagster_event,
            resources={"control_store": res["control_store"], "object_store": res["object_store"]},
        )
        openlineage_success_sensor(ctx)
    posted = marquez.json_bodies()
    assert [r["path"] for r in marquez.requests] == ["/api/v1/lineage"] * len(posted) and len(posted) >= 2
    assert [e["eventType"] for e in posted][:2] == ["START", "COMPLETE"]
    assert posted[1]["job"]["name"] == "silver/analyze/call_metrics" and all(_validator().is_valid(e) for e in posted)
    (f,) = [o for o in pipeline["wh"].store.list("lineage/openlineage/") if run_id in o.key]
    assert [json.loads(x) for x in pipeline["wh"].store.get_bytes(f.key).decode().splitlines()] == posted


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_revision_8_adds_the_lineage_lookup_indexes_to_a_store_at_revision_7_and_its_rows_answer(
    engine, tmp_path, request
):
    """The lookup indexes arrive with revision 0008 (Alembic); a lineage row written before them is found
    after. (The period columns are in the baseline: a hand-rolled store older than 13 is not adopted,
    test_schema_migrations.py.)"""
    url = f"sqlite:///{tmp_path}/old.db" if engine == "sqlite" else request.getfixturevalue("pg_url")
    store = ControlStore(url)
    assert store.migrate(target=7) == 7
    assert "ix_lineage_run" not in {i["name"] for i in sa.inspect(store.engine).get_indexes("lineage")}
    with store.engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO lineage (tenant_id, call_id, artefact_kind, artefact_uri, created_at) "
                "VALUES ('acme-energie', 'c-1', 'audio', 'file:///a', CURRENT_TIMESTAMP)"
            )
        )
    assert store.migrate() >= 8
    cols = {c["name"] for c in sa.inspect(store.engine).get_columns("lineage")}
    assert {"period_start", "period_end"} <= cols
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("lineage")}
    assert {"ix_lineage_tenant_kind_partition", "ix_lineage_run"} <= indexes
    assert svc.call_lineage(store, "acme-energie", "c-1")["stages"] == ["audio"]
    store.dispose()


def test_the_openlineage_graph_connects_as_marquez_joins_it_per_tenant(pipeline):
    """Datasets join on (namespace, name) as Marquez joins them: one node per tenant and dataset, so
    each stage's output is the next stage's input. This fixture covers segments → redacted →
    metrics/scores → reports (ingestion, transcription and marts are not run here)."""
    control, instance, store = pipeline["control"], pipeline["instance"], pipeline["wh"].store
    mine = set(pipeline["runs"].values())
    for run_id in mine:
        export_run(instance, run_id, control, store)
    events = [
        json.loads(line)
        for f in store.list("lineage/openlineage/")
        if f.key.rsplit("/", 1)[1][:-7] in mine
        for line in store.get_bytes(f.key).decode().splitlines()
    ]
    edges: dict[tuple, set] = {}
    for e in events:
        if e["eventType"] != "COMPLETE":
            continue
        for i in e["inputs"]:
            for o in e["outputs"]:
                edges.setdefault((i["namespace"], i["name"]), set()).add((o["namespace"], o["name"]))

    def reachable(start):
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for nxt in edges.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return seen

    for tenant in ("acme-energie", "globex-support"):
        (segments,) = [n for n in edges if n[1].endswith(f"restricted/{tenant}/transcript_segments")]
        names = {n[1].split("/objects/", 1)[1] for n in reachable(segments)}
        assert {
            f"datasets/{tenant}/redacted_segments",
            f"datasets/{tenant}/call_metrics",
            f"datasets/{tenant}/call_scores",
            f"reports/{tenant}/weekly",
        } <= names, names
        assert not any(other in n for n in names for other in ("acme-energie", "globex-support") if other != tenant)


@pytest.mark.slow
def test_the_demos_openlineage_events_form_one_graph_from_the_inbox_to_marts_and_reports_per_tenant(demo_run):
    """Issue 16: the demo's events (the same export the run-status sensors do), joined as Marquez joins
    them (namespace + name, a job linking its inputs to its outputs): per tenant one connected path
    inbox → audio → transcripts → redacted → metrics and scores → marts and reports, the manifest
    feeding transcription and the marts; no empty event; every event valid; our facets valid against
    the definition their _schemaURL names; no other tenant's dataset reachable except the shared marts."""
    data_dir, _ = demo_run
    files = sorted((data_dir / "objects" / "lineage" / "openlineage").rglob("*.ndjson"))
    events = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert events
    validator = _validator()
    schemas = {json.loads(p.read_text())["$id"]: json.loads(p.read_text()) for p in SCHEMAS.glob("Ccr*.json")}
    edges: dict[tuple, set] = {}
    for e in events:
        assert validator.is_valid(e)
        for ds in e["inputs"] + e["outputs"]:
            for name, facet in ds["facets"].items():
                if name.startswith("ccr_"):
                    doc, frag = facet["_schemaURL"].split("#", 1)
                    jsonschema.validate(facet, {**schemas[doc], "$ref": "#" + frag})
            assert "dataQualityAssertions" not in json.dumps(ds.get("facets", {}))
        for ds in e["outputs"]:
            assert "dataQualityAssertions" not in json.dumps(ds)
        if e["eventType"] == "COMPLETE":
            assert e["inputs"] or e["outputs"], e["job"]["name"]  # no empty events
            for i in e["inputs"]:
                edges.setdefault((i["namespace"], i["name"]), set()).update(
                    (o["namespace"], o["name"]) for o in e["outputs"]
                )

    def short(node):
        return node[1].split("/objects/", 1)[-1]

    def path(src: str, dst: str) -> list[str] | None:
        start = [n for n in edges if short(n) == src]
        todo, back = list(start), {n: None for n in start}
        while todo:
            node = todo.pop(0)
            if short(node) == dst:
                out = []
                while node is not None:
                    out.append(short(node))
                    node = back[node]
                return out[::-1]
            for nxt in edges.get(node, ()):
                if nxt not in back:
                    back[nxt] = node
                    todo.append(nxt)
        return None

    for tenant in ("acme-energie", "globex-support"):
        chain = [
            f"raw/{tenant}",
            f"audio/{tenant}",
            f"restricted/{tenant}/transcript_segments",
            f"datasets/{tenant}/redacted_segments",
        ]
        for a, b in zip(chain, chain[1:]):
            assert path(a, b) == [a, b], (a, b)
        redacted = chain[-1]
        for stage in ("call_metrics", "call_scores"):
            assert path(redacted, f"datasets/{tenant}/{stage}") == [redacted, f"datasets/{tenant}/{stage}"]
            assert path(f"datasets/{tenant}/{stage}", "main.mart_agent_day")
            for kind in ("weekly", "monthly"):
                assert path(f"datasets/{tenant}/{stage}", f"reports/{tenant}/{kind}")
        assert path(f"datasets/{tenant}/call_manifest", f"restricted/{tenant}/transcript_segments")
        assert path(f"datasets/{tenant}/call_manifest", "main.mart_tenant_month")
        # the whole chain as one path of direct edges: inbox → audio → transcripts → redacted → scores →
        # report, and → metrics → marts
        for walk in (
            chain + [f"datasets/{tenant}/call_scores", f"reports/{tenant}/weekly"],
            chain + [f"datasets/{tenant}/call_metrics", "main.mart_agent_day"],
        ):
            assert all(path(a, b) == [a, b] for a, b in zip(walk, walk[1:])), walk
        other = "globex-support" if tenant == "acme-energie" else "acme-energie"
        reach = {short(n) for n in edges for _ in [0] if path(f"raw/{tenant}", short(n))}
        assert not any(other in n for n in reach), [n for n in reach if other in n]


def test_the_http_transport_retries_a_failing_marquez_then_raises_and_the_file_is_written_first(pipeline, monkeypatch):
    """The client's HTTP transport (api key as a bearer token): a 503 is retried, a lasting failure
    surfaces as an error (the sensor's tick fails, visible), and the object-store file was written
    before, so nothing exported is lost."""
    from .receivers import Receiver

    instance, store = pipeline["instance"], pipeline["wh"].store
    run_id = pipeline["runs"][("acme-energie", "call_metrics")]
    key = [o.key for o in store.list("lineage/openlineage/") if run_id in o.key]
    for k in key:
        store.delete(k)
    with Receiver(statuses=[503], default_status=201) as marquez:
        monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{marquez.port}")
        monkeypatch.setenv("OPENLINEAGE_API_KEY", "test-key")
        n = export_run(instance, run_id, pipeline["control"], store)
    assert [r["status"] for r in marquez.requests] == [503] + [201] * n  # first event retried once
    assert {r["authorization"] for r in marquez.requests} == {"Bearer test-key"}
    with Receiver(default_status=500) as down:
        monkeypatch.setenv("OPENLINEAGE_URL", f"http://127.0.0.1:{down.port}")
        with pytest.raises(Exception):  # noqa: B017 - which error the client's HTTP transport raises is its own
            export_run(instance, run_id, pipeline["control"], store)
    assert [o for o in store.list("lineage/openlineage/") if run_id in o.key]
