"""End to end (P7, P11, P22): bad data for one tenant -> the GX check fails -> the check sensor opens
an incident of the right severity -> a local Events v2 receiver gets the page with the expected
dedup key -> a local Sentry receiver gets the error, with no transcript text, phone or e-mail.

Only the world outside is stood in for (pager and Sentry endpoints on loopback); the stores, the
sweep job, the Dagster instance's event log and both sensors are the real ones.
"""

from __future__ import annotations

import time

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
import yaml

from ccr_pipelines.defs.alerting.sensors import INTERVAL_S, asset_check_failure_sensor, run_failure_alert_sensor
from ccr_pipelines.defs.analyze.assets import CALL_SCORES_KEY
from ccr_pipelines.defs.ingest.assets import CALL_MANIFEST_KEY
from ccr_pipelines.defs.quality.checks import QUALITY_CHECKS, SCORES_EXPECTATIONS, data_quality_job
from ccr_pipelines.defs.transcribe.assets import TRANSCRIPTS_KEY
from ccr_pipelines.resources import (
    AlertingResource,
    ControlStoreResource,
    ObjectStoreResource,
    TenantRegistryResource,
    WarehouseResource,
)
from ccr_pipelines.services import alerting as alerting_service
from ccr_pipelines.services.score import SCORES_DATASET
from ccr_pipelines.stores.control_store import ControlStore, alert_deliveries, incidents
from ccr_pipelines.stores.warehouse import Warehouse

from .analytics_helpers import write_scored_day
from .receivers import Receiver

DAY = "2026-11-16"
PHONE, EMAIL, SPOKEN = "06 12 34 56 78", "jean.dupont@example.fr", "bonjour je voudrais résilier mon contrat"


@pytest.fixture
def sentry_off():
    yield
    import sentry_sdk

    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)
    alerting_service._SENTRY_DSN.clear()


def test_p7_p11_p22_bad_data_to_check_failure_to_incident_to_page_and_scrubbed_sentry(
    tmp_path, monkeypatch, sentry_off, dagster_instance
):
    """On both instances the daemon runs on: Dagster's default SQLite storage, whose run-sharded event
    log refuses a cross-run event query with a storage-id cursor, and dagster-postgres."""
    store_res = ObjectStoreResource(kind="local", root=str(tmp_path / "objects"))
    wh = Warehouse(store_res.get())
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    write_scored_day(wh, control, "default.v1", "acme-energie", DAY, {"c-1": "good", "c-2": "bad"})
    write_scored_day(wh, control, "default.v1", "globex-support", DAY, {"c-1": "good"})
    # The bad data: a bug upstream wrote a score of 250 into acme's partition.
    scores = wh.read_partition(SCORES_DATASET, "acme-energie", DAY)
    bad = scores.set_column(
        scores.schema.get_field_index("score"), "score", pc.add(scores.column("score"), pa.scalar(150.0))
    )
    wh.write_partition(SCORES_DATASET, "acme-energie", DAY, bad)

    registry_file = tmp_path / "tenants.yaml"
    registry_file.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "tenants": [
                    {
                        "id": "acme-energie",
                        "display_name": "Acme",
                        "languages": ["fr"],
                        "scorecard": "default.v1",
                        "alert_routing": {"pager_routing_key_env": "CCR_PAGER_KEY_ACME"},
                    },
                    {"id": "globex-support", "display_name": "Globex", "languages": ["en"], "scorecard": "default.v1"},
                ],
            }
        )
    )
    monkeypatch.setenv("CCR_PAGER_KEY_ACME", "acmeroutingkey0123456789abcdef01")

    with Receiver(statuses=[429]) as pager, Receiver(default_status=200) as sentry:
        resources = {
            "object_store": store_res,
            "warehouse": WarehouseResource(object_store=store_res),
            "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
            "tenant_registry": TenantRegistryResource(path=str(registry_file)),
            "alerting": AlertingResource(pager_url=pager.url, backoff_s=0.2, sentry_dsn=sentry.dsn, environment="test"),
        }

        @dg.asset(key=["silver", "test", "parse_segments"])
        def parse_segments():
            text = SPOKEN  # a transcript in a local variable: local variables are never sent
            raise ValueError(f"cannot parse segment for {EMAIL} / {PHONE} ({len(text)} chars)")

        defs = dg.Definitions(
            assets=[dg.AssetSpec(k) for k in (CALL_MANIFEST_KEY, TRANSCRIPTS_KEY, CALL_SCORES_KEY)] + [parse_segments],
            asset_checks=QUALITY_CHECKS,
            jobs=[data_quality_job],
            resources=resources,
        )
        instance = dagster_instance

        sweep = defs.resolve_job_def("data_quality_job").execute_in_process(instance=instance, raise_on_error=False)
        evaluations = {e.check_name: e for e in sweep.get_asset_check_evaluations()}
        assert not evaluations[SCORES_EXPECTATIONS].passed  # a failed check does not fail the run
        assert evaluations[SCORES_EXPECTATIONS].metadata["failed_tenants"].value == ["acme-energie"]
        checked_at = time.time()

        with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs) as ctx:
            asset_check_failure_sensor(ctx)
            cursor = ctx.cursor
        assert cursor is not None
        page_at = pager.requests[-1]["at"]

        # the same evaluations are not read twice
        with dg.build_sensor_context(instance=instance, resources=resources, definitions=defs, cursor=cursor) as ctx:
            again = asset_check_failure_sensor(ctx)
        assert isinstance(again, dg.SkipReason)

        failed = dg.materialize(
            [parse_segments], instance=instance, tags={"ccr/tenant": "acme-energie"}, raise_on_error=False
        )
        assert not failed.success
        with dg.build_run_status_sensor_context(
            sensor_name=run_failure_alert_sensor.name,
            dagster_event=failed.get_run_failure_event(),
            dagster_instance=instance,
            dagster_run=failed.dagster_run,
            resources=resources,
        ) as run_ctx:
            run_failure_alert_sensor(run_ctx.for_run_failure())
        import sentry_sdk

        sentry_sdk.flush(timeout=10)

    rows = {r["signal"]: r for r in control.fetch(sa.select(incidents))}
    check_incident = rows[f"check_failed:silver/analyze/call_scores:{SCORES_EXPECTATIONS}"]
    assert (check_incident["severity"], check_incident["rule"], check_incident["tenants"]) == (
        "majeur",
        "R5",
        ["acme-energie"],
    )  # ERROR check, one tenant
    run_incident = rows["run_failed:__ephemeral_asset_job__"]
    assert (run_incident["severity"], run_incident["rule"]) == ("mineur", "R8")  # a first failure: a ticket

    pages = [p for p in pager.json_bodies() if p["dedup_key"].startswith("ccr:acme-energie:check_failed")]
    assert len(pages) == 2  # 429, then accepted on the retry
    page = pages[-1]
    assert page["dedup_key"] == f"ccr:acme-energie:check_failed:silver/analyze/call_scores:{SCORES_EXPECTATIONS}"
    assert page["routing_key"] == "acmeroutingkey0123456789abcdef01" and page["event_action"] == "trigger"
    assert set(page["payload"]) >= {"summary", "source", "severity"} and page["payload"]["severity"] == "error"
    assert [
        r["status"]
        for r in control.fetch(
            sa.select(alert_deliveries)
            .where(alert_deliveries.c.dedup_key == page["dedup_key"])
            .order_by(alert_deliveries.c.attempt)
        )
    ] == ["retried", "sent"]
    # the demo data are a week old: the freshness sweep flags both tenants too (rule R9, a separate incident)
    assert rows["freshness_miss:silver/ingest/call_manifest:freshness"]["rule"] == "R9"

    envelopes = b"\n".join(r["body"] for r in sentry.requests)
    assert b"check_failed on silver/analyze/call_scores" in envelopes  # the incident reached Sentry
    assert b"[EMAIL]" in envelopes and b"[PHONE]" in envelopes  # the run failure too, scrubbed
    for leaked in (PHONE, EMAIL, SPOKEN, "Jean"):
        assert leaked.encode() not in envelopes, leaked

    # Check failure to page: the sensor's interval (worst case) plus what this run measured.
    latency = page_at - checked_at
    print(
        f"\ncheck failure -> page delivered: {latency:.2f} s after the sensor tick (incl. one 429 retry); "
        f"worst case with the {INTERVAL_S} s sensor interval: {INTERVAL_S + latency:.1f} s"
    )
    assert INTERVAL_S + latency <= 60
