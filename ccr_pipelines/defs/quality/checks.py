"""Data-quality sweep checks (P4, P7): GX suites, volume, freshness, transcript gates.

These checks look across every active tenant's recent partitions, so they run
on their own (``data_quality_job``, every 15 minutes) rather than inside one
tenant-day's run; a failure is picked up by ``asset_check_failure_sensor``
with the failing tenants in metadata. The per-run gates that must stop a bad
partition from flowing on (accounting, tenant isolation, no PII left, report
isolation) stay blocking checks on the assets themselves. ERROR here pages
(rules R4/R5), WARN opens a ticket (R6); a freshness miss is its own signal (R9/R10).
"""

from datetime import UTC, datetime

import dagster as dg

from ...core.catalog import CALL_MANIFEST, CALL_SCORES, TRANSCRIPT_CALLS
from ...resources import TenantRegistryResource, WarehouseResource
from ...services import quality
from ..analyze.assets import CALL_SCORES_KEY
from ..ingest.assets import CALL_MANIFEST_KEY
from ..transcribe.assets import TRANSCRIPTS_KEY

MANIFEST_EXPECTATIONS = "manifest_expectations"
TRANSCRIPTS_EXPECTATIONS = "transcripts_expectations"
SCORES_EXPECTATIONS = "scores_expectations"
VOLUME_CHECK = "volume_vs_trailing_median"
FRESHNESS_CHECK = "freshness"
TRANSCRIPT_GATES_CHECK = "transcript_quality_gates"


def _result(out: dict, severity: dg.AssetCheckSeverity, **extra) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=not out["failed_tenants"], severity=severity, metadata={"failed_tenants": out["failed_tenants"], **extra}
    )


def _suite_check(asset_key: dg.AssetKey, name: str, dataset: str, what: str):
    @dg.asset_check(
        asset=asset_key,
        name=name,
        description=f"Great Expectations suite on each active tenant's last {quality.RECENT_PARTITIONS} "
        f"{what} partitions: schema, nulls, ranges, accepted values, uniqueness, own tenant "
        "only (P4). ERROR.",
    )
    def _check(warehouse: WarehouseResource, tenant_registry: TenantRegistryResource) -> dg.AssetCheckResult:
        out = quality.sweep_suite(warehouse.get(), tenant_registry.get(), dataset)
        return _result(
            out,
            dg.AssetCheckSeverity.ERROR,
            tenants_checked=out["tenants_checked"],
            rows=out["rows"],
            failed_expectations=dg.MetadataValue.json(out["failed_expectations"]),
        )

    return _check


manifest_expectations = _suite_check(CALL_MANIFEST_KEY, MANIFEST_EXPECTATIONS, CALL_MANIFEST.name, "manifest")
transcripts_expectations = _suite_check(TRANSCRIPTS_KEY, TRANSCRIPTS_EXPECTATIONS, TRANSCRIPT_CALLS.name, "transcript")
scores_expectations = _suite_check(CALL_SCORES_KEY, SCORES_EXPECTATIONS, CALL_SCORES.name, "score")


@dg.asset_check(
    asset=CALL_MANIFEST_KEY,
    name=VOLUME_CHECK,
    description="Each tenant's calls on its newest day vs the median of its previous 14 days "
    "(below 30 % or above 3x). WARN.",
)
def volume_vs_trailing_median(warehouse: WarehouseResource, tenant_registry: TenantRegistryResource):
    out = quality.sweep_volume(warehouse.get(), tenant_registry.get())
    return _result(out, dg.AssetCheckSeverity.WARN, direction=dg.MetadataValue.json(out["direction"]))


@dg.asset_check(
    asset=CALL_MANIFEST_KEY,
    name=FRESHNESS_CHECK,
    description="Each active tenant's newest recordings are at most 2 days old. WARN.",
)
def freshness(warehouse: WarehouseResource, tenant_registry: TenantRegistryResource):
    out = quality.sweep_freshness(warehouse.get(), tenant_registry.get(), datetime.now(UTC).date())
    return _result(out, dg.AssetCheckSeverity.WARN, max_days_late=out["max_days_late"])


@dg.asset_check(
    asset=TRANSCRIPTS_KEY,
    name=TRANSCRIPT_GATES_CHECK,
    description="Share of each tenant's recent calls with low ASR confidence, suspected hallucination "
    "or a language other than expected, against gates (20 %, 10 %, 10 %). WARN.",
)
def transcript_quality_gates(warehouse: WarehouseResource, tenant_registry: TenantRegistryResource):
    out = quality.sweep_transcript_gates(warehouse.get(), tenant_registry.get())
    return _result(out, dg.AssetCheckSeverity.WARN, shares_over_gate=dg.MetadataValue.json(out["shares_over_gate"]))


QUALITY_CHECKS = [
    manifest_expectations,
    transcripts_expectations,
    scores_expectations,
    volume_vs_trailing_median,
    freshness,
    transcript_quality_gates,
]
data_quality_job = dg.define_asset_job(
    "data_quality_job",
    selection=dg.AssetSelection.checks(*QUALITY_CHECKS),
    description="The data-quality sweep over every active tenant's recent partitions.",
)
data_quality_schedule = dg.ScheduleDefinition(
    name="data_quality_schedule",
    job=data_quality_job,
    cron_schedule="*/15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
