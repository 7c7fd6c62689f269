"""P12 containment: one switch stops a tenant's sensors and schedules from launching work, holds
that work (nothing dropped), and is audited; resuming releases the held work."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import sqlalchemy as sa

from ccr_pipelines.cli import main
from ccr_pipelines.defs.ingest.assets import CALL_MANIFEST_KEY
from ccr_pipelines.defs.reports.schedules import tenant_weekly_reports_schedule
from ccr_pipelines.defs.transcribe.sensors import manifest_to_transcripts_sensor
from ccr_pipelines.loaders.settings_files import load_settings
from ccr_pipelines.resources import ControlStoreResource, TenantRegistryResource
from ccr_pipelines.stores.control_store import ControlStore, audit_log, tenant_suspensions


def _tenants(registry: TenantRegistryResource, requests) -> list[str]:
    return [r.tags["ccr/tenant"] for r in requests]


def test_p12_p20_suspending_a_tenant_holds_its_work_and_resuming_releases_it(local_settings_env, capsys, monkeypatch):
    monkeypatch.setenv("CCR_PRINCIPAL", "oncall@example.org")  # the caller the platform authenticated (P3)
    loaded = load_settings()
    control_url = loaded.settings.control_url()
    registry = TenantRegistryResource(path=loaded.registry.source, control_store=ControlStoreResource(url=control_url))
    instance = dg.DagsterInstance.ephemeral()
    for tenant in ("acme-energie", "globex-support"):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=CALL_MANIFEST_KEY, partition="2026-11-16", metadata={"tenant_id": tenant, "accepted": 2}
            )
        )

    assert (
        main(
            [
                "tenants",
                "suspend",
                "acme-energie",
                "--reason",
                "incident 12: isolation check failed",
                "--incident",
                "12",
            ]
        )
        == 0
    )
    assert registry.get().get("acme-energie").suspended is True

    with dg.build_sensor_context(instance=instance, resources={"tenant_registry": registry}) as ctx:
        first = manifest_to_transcripts_sensor(ctx)
    assert _tenants(registry, first.run_requests) == ["globex-support"]  # acme's day is held, not launched
    assert '"held": [["acme-energie", "2026-11-16"' in first.cursor

    monday_six_paris = datetime(2026, 11, 23, 5, tzinfo=UTC)
    with dg.build_schedule_context(
        scheduled_execution_time=monday_six_paris, resources={"tenant_registry": registry}
    ) as ctx:
        reports = tenant_weekly_reports_schedule(ctx)
    assert isinstance(reports, dg.SkipReason)  # acme (Paris) is suspended; globex (Dublin) is due an hour later

    # a tick while still suspended launches nothing and keeps holding
    with dg.build_sensor_context(
        instance=instance, resources={"tenant_registry": registry}, cursor=first.cursor
    ) as ctx:
        second = manifest_to_transcripts_sensor(ctx)
    assert not second.run_requests and '"acme-energie"' in second.cursor

    assert main(["tenants", "resume", "acme-energie", "--reason", "incident 12 fixed"]) == 0
    with dg.build_sensor_context(
        instance=instance, resources={"tenant_registry": registry}, cursor=second.cursor
    ) as ctx:
        third = manifest_to_transcripts_sensor(ctx)
    assert _tenants(registry, third.run_requests) == ["acme-energie"]
    assert third.run_requests[0].partition_key == "2026-11-16" and '"held": []' in third.cursor

    control = ControlStore(control_url)
    switches = control.fetch(sa.select(tenant_suspensions).order_by(tenant_suspensions.c.id))
    assert [(r["suspended"], r["actor"], r["incident_id"]) for r in switches] == [
        (True, "oncall@example.org", 12),
        (False, "oncall@example.org", None),
    ]
    audits = control.fetch(sa.select(audit_log).where(audit_log.c.entity == "tenant_config"))
    assert [a["change"]["to"] for a in audits] == [True, False]

    capsys.readouterr()
    assert main(["tenants", "list"]) == 0
    assert "acme-energie" in capsys.readouterr().out


def test_p12_a_switch_needs_a_known_tenant_and_a_reason(local_settings_env, capsys):
    assert main(["tenants", "suspend", "no-such-tenant", "--reason", "x"]) == 2
    assert "unknown tenant" in capsys.readouterr().err
    assert main(["tenants", "suspend", "acme-energie"]) == 2
    assert "--reason" in capsys.readouterr().err


def test_issue21_the_transcripts_sensor_asks_one_run_per_day_for_all_its_tenants(local_settings_env):
    loaded = load_settings()
    registry = TenantRegistryResource(
        path=loaded.registry.source, control_store=ControlStoreResource(url=loaded.settings.control_url())
    )
    instance = dg.DagsterInstance.ephemeral()
    for tenant, day in (
        ("acme-energie", "2026-11-16"),
        ("globex-support", "2026-11-16"),
        ("globex-support", "2026-11-17"),
    ):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=CALL_MANIFEST_KEY, partition=day, metadata={"tenant_id": tenant, "accepted": 1}
            )
        )
    with dg.build_sensor_context(instance=instance, resources={"tenant_registry": registry}) as ctx:
        result = manifest_to_transcripts_sensor(ctx)
    by_day = {r.partition_key: r for r in result.run_requests}
    assert sorted(by_day) == ["2026-11-16", "2026-11-17"]
    both = by_day["2026-11-16"].run_config["ops"]["silver__transcribe__transcripts"]["config"]
    assert both == {"tenant_ids": ["acme-energie", "globex-support"]}
    assert by_day["2026-11-16"].tags == {"ccr/tenant_count": "2"}
    alone = by_day["2026-11-17"]
    assert alone.run_config["ops"]["silver__transcribe__transcripts"]["config"] == {"tenant_id": "globex-support"}
    assert alone.tags == {"ccr/tenant": "globex-support"}  # one tenant keeps its tag (alert routing)
    # the same events never ask twice; a later batch of the same day is a new run
    with dg.build_sensor_context(
        instance=instance, resources={"tenant_registry": registry}, cursor=result.cursor
    ) as ctx:
        again = manifest_to_transcripts_sensor(ctx)
    assert not again.run_requests
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=CALL_MANIFEST_KEY, partition="2026-11-16", metadata={"tenant_id": "acme-energie", "accepted": 1}
        )
    )
    with dg.build_sensor_context(
        instance=instance, resources={"tenant_registry": registry}, cursor=result.cursor
    ) as ctx:
        later = manifest_to_transcripts_sensor(ctx)
    [req] = later.run_requests
    assert req.run_key != by_day["2026-11-16"].run_key and req.tags == {"ccr/tenant": "acme-energie"}
