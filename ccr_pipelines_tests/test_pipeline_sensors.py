"""The sensors that make the daemon the pipeline after scoring (issue 16): marts after new scores, reports
of the periods new scores fall in. On both instances the daemon runs on (run-sharded SQLite, PostgreSQL)."""

from __future__ import annotations

import dagster as dg

from ccr_pipelines.defs.analyze.assets import CALL_METRICS_KEY, CALL_SCORES_KEY
from ccr_pipelines.defs.reports.sensors import scores_to_reports_sensor
from ccr_pipelines.defs.warehouse.sensors import MARTS_TAG, scores_to_marts_sensor
from ccr_pipelines.resources import TenantRegistryResource


def _scored(instance, tenant: str, day: str, calls: int = 2) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(CALL_SCORES_KEY, partition=day, metadata={"tenant_id": tenant, "calls": calls})
    )


def test_new_scores_request_one_marts_build_and_the_reports_of_their_periods(dagster_instance, tenants_file):
    instance = dagster_instance
    resources = {"tenant_registry": TenantRegistryResource(path=str(tenants_file))}

    def tick(sensor, cursor):
        with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as ctx:
            return sensor(ctx)

    assert isinstance(tick(scores_to_marts_sensor, None), dg.SkipReason)  # nothing scored yet
    _scored(instance, "acme-energie", "2026-11-16")
    _scored(instance, "acme-energie", "2026-11-17")
    _scored(instance, "globex-support", "2026-11-30")  # the last day of November, in ISO week 49
    _scored(instance, "initech-paused", "2026-11-16")  # suspended: held (P12)
    _scored(instance, "globex-support", "2026-11-18", calls=0)  # nothing scored: no report
    marts = tick(scores_to_marts_sensor, None)
    [build] = marts.run_requests
    assert build.tags == {MARTS_TAG: "rebuild"}
    assert isinstance(tick(scores_to_marts_sensor, marts.cursor), dg.SkipReason)  # built from these already
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            CALL_METRICS_KEY, partition="2026-11-17", metadata={"tenant_id": "acme-energie", "calls": 1}
        )
    )
    assert len(tick(scores_to_marts_sensor, marts.cursor).run_requests) == 1  # new metrics: another build

    reports = tick(scores_to_reports_sensor, None)
    got = sorted(
        (r.tags["ccr/tenant"], r.tags["ccr/period"], r.asset_selection[0].path[-1]) for r in reports.run_requests
    )
    assert got == [
        ("acme-energie", "2026-11", "tenant_monthly_reports"),
        ("acme-energie", "2026-W47", "tenant_weekly_reports"),
        ("globex-support", "2026-11", "tenant_monthly_reports"),
        ("globex-support", "2026-W49", "tenant_weekly_reports"),
    ]
    assert all(
        r.run_config["ops"][r.asset_selection[0].to_python_identifier()]["config"]["tenant_id"] == r.tags["ccr/tenant"]
        for r in reports.run_requests
    )
    again = tick(scores_to_reports_sensor, reports.cursor)
    assert not again.run_requests and '"initech-paused"' in again.cursor  # held, not dropped
