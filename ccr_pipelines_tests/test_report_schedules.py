"""Report periods and schedules: the right period, in the tenant's timezone, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest
import yaml

from ccr_pipelines.core.report_periods import due_periods, period_containing, period_from_partition
from ccr_pipelines.defs.reports.schedules import tenant_monthly_reports_schedule, tenant_weekly_reports_schedule
from ccr_pipelines.resources import TenantRegistryResource

UTC = UTC


def test_periods_are_iso_weeks_and_calendar_months_with_stable_keys():
    week = period_containing("weekly", date(2026, 11, 19))
    assert (week.start, week.end, week.key, week.partition_key) == (
        date(2026, 11, 16),
        date(2026, 11, 23),
        "2026-W47",
        "2026-11-16",
    )
    assert len(week.days()) == 7 and week.previous().key == "2026-W46"
    # ISO week 1 of 2027 starts on Monday 2027-01-04; the days before belong to 2026-W53
    assert period_containing("weekly", date(2027, 1, 2)).key == "2026-W53"
    feb = period_containing("monthly", date(2028, 2, 10))
    assert (feb.key, len(feb.days()), feb.previous().key) == ("2028-02", 29, "2028-01")
    assert period_containing("monthly", date(2026, 1, 5)).previous().key == "2025-12"
    assert period_from_partition("weekly", "2026-11-16") == week
    with pytest.raises(ValueError, match="does not start"):
        period_from_partition("weekly", "2026-11-17")


def _due(tz: str, at: datetime, **kw) -> list[str]:
    args = dict(weekly=True, monthly=True, weekday=0, hour=6) | kw
    return [f"{p.kind}:{p.key}" for p in due_periods(timezone_name=tz, at=at, **args)]


def test_monday_six_am_paris_is_four_utc_in_summer_time_and_five_in_winter_time():
    # Europe/Paris leaves summer time on Sunday 2026-10-25.
    assert _due("Europe/Paris", datetime(2026, 10, 19, 4, tzinfo=UTC)) == ["weekly:2026-W42"]
    assert _due("Europe/Paris", datetime(2026, 10, 19, 5, tzinfo=UTC)) == []
    assert _due("Europe/Paris", datetime(2026, 10, 26, 4, tzinfo=UTC)) == []
    assert _due("Europe/Paris", datetime(2026, 10, 26, 5, tzinfo=UTC)) == ["weekly:2026-W43"]
    # the monthly report on the 1st, 06:00 local
    assert _due("Europe/Paris", datetime(2026, 11, 1, 5, tzinfo=UTC)) == ["monthly:2026-10"]
    assert _due("Europe/Paris", datetime(2027, 2, 1, 5, tzinfo=UTC)) == ["weekly:2027-W04", "monthly:2027-01"]


def test_a_local_hour_that_does_not_exist_or_happens_twice_fires_exactly_once():
    # Paris, 2026-03-29: 02:00 -> 03:00. 2026-10-25: 03:00 -> 02:00. A Sunday 02:00 report:
    kw = dict(weekday=6, hour=2, monthly=False)
    fired_spring = [
        h for h in range(24) if _due("Europe/Paris", datetime(2026, 3, 28, 22, tzinfo=UTC) + timedelta(hours=h), **kw)
    ]
    fired_autumn = [
        h for h in range(26) if _due("Europe/Paris", datetime(2026, 10, 24, 22, tzinfo=UTC) + timedelta(hours=h), **kw)
    ]
    assert len(fired_spring) == 1 and len(fired_autumn) == 1


@pytest.mark.parametrize(
    "tz", ["Europe/Paris", "Europe/Dublin", "America/Montreal", "Pacific/Auckland", "Asia/Kolkata"]
)
def test_over_a_year_of_hourly_ticks_every_period_is_due_exactly_once_in_order(tz):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    seen: dict[str, list] = {"weekly": [], "monthly": []}
    for h in range(365 * 24):  # 2026 in UTC: every tenant reaches twelve 1sts of the month in it
        for p in due_periods(
            timezone_name=tz, weekly=True, monthly=True, weekday=0, hour=6, at=start + timedelta(hours=h)
        ):
            seen[p.kind].append(p)
    for kind, periods in seen.items():
        # each once, and each the one right after the previous: no gap, no double
        assert all(b.previous() == a for a, b in zip(periods, periods[1:])), (kind, [p.key for p in periods])
    assert len(seen["weekly"]) in (52, 53) and len(seen["monthly"]) == 12


TENANTS = [
    {"id": "acme-energie", "display_name": "Acme", "languages": ["fr"], "timezone": "Europe/Paris"},
    {"id": "globex-support", "display_name": "Globex", "languages": ["en"], "timezone": "Europe/Dublin"},
    {"id": "initech-paused", "display_name": "Initech", "languages": ["fr"], "suspended": True},
    {"id": "umbrella-gone", "display_name": "Umbrella", "languages": ["en"], "terminated_on": "2026-09-30"},
    {"id": "wayne-monthly", "display_name": "Wayne", "languages": ["en"], "report_schedule": {"weekly": False}},
]


@pytest.fixture
def registry(tmp_path) -> TenantRegistryResource:
    path = tmp_path / "tenants.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "tenants": [{"scorecard": "default.v1", **t} for t in TENANTS]}))
    return TenantRegistryResource(path=str(path))


def _evaluate(schedule, at: datetime, registry):
    with dg.build_schedule_context(scheduled_execution_time=at, resources={"tenant_registry": registry}) as ctx:
        return schedule(ctx)


def test_the_weekly_schedule_asks_one_run_per_active_tenant_in_its_own_timezone_across_dst(registry):
    # Before the change (summer time): Paris is due at 04:00 UTC, Dublin at 05:00 UTC.
    before = {
        at.hour: _evaluate(tenant_weekly_reports_schedule, at, registry)
        for at in (datetime(2026, 10, 19, h, tzinfo=UTC) for h in (4, 5, 6))
    }
    after = {
        at.hour: _evaluate(tenant_weekly_reports_schedule, at, registry)
        for at in (datetime(2026, 10, 26, h, tzinfo=UTC) for h in (4, 5, 6))
    }

    def tenants(result):
        return [] if isinstance(result, dg.SkipReason) else [r.tags["ccr/tenant"] for r in result]

    assert [tenants(before[h]) for h in (4, 5, 6)] == [["acme-energie"], ["globex-support"], []]
    assert [tenants(after[h]) for h in (4, 5, 6)] == [[], ["acme-energie"], ["globex-support"]]
    rr = after[5][0]
    assert rr.partition_key == "2026-10-19"  # the last complete week, Monday 19 to Sunday 25 October
    assert rr.run_key == "weekly-report:acme-energie:2026-W43"
    assert rr.run_config["ops"]["gold__reports__tenant_weekly_reports"]["config"] == {"tenant_id": "acme-energie"}
    assert isinstance(before[6], dg.SkipReason) and "no active tenant" in before[6].skip_message


def test_p12_the_monthly_schedule_skips_suspended_and_terminated_tenants(registry):
    result = _evaluate(tenant_monthly_reports_schedule, datetime(2026, 11, 1, 5, tzinfo=UTC), registry)
    assert sorted(r.tags["ccr/tenant"] for r in result) == ["acme-energie", "wayne-monthly"]
    assert {r.partition_key for r in result} == {"2026-10-01"}
    # wayne-monthly has weekly reports off
    weekly = _evaluate(tenant_weekly_reports_schedule, datetime(2026, 11, 2, 5, tzinfo=UTC), registry)
    assert [r.tags["ccr/tenant"] for r in weekly] == ["acme-energie"]
