"""Tenant reports: per tenant and period, HTML + CSV/Parquet extracts + manifest (P1, P3, P4, P14, P15)."""

import dagster as dg

from ...core.catalog import report_asset
from ...core.report_periods import PERIOD_KINDS, period_from_partition
from ...core.report_render import REPORT_VERSION
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource, WarehouseResource
from ...services.reports import CHECK_RECORD, ISOLATION_CHECK, generate_report
from ..analyze.assets import CALL_METRICS_KEY, CALL_SCORES_KEY
from ..shared.tenancy import require_active_tenant, run_actor
from ..transcribe.assets import TRANSCRIPTS_KEY
from .partitions import PARTITIONS

REPORT_ISOLATION_CHECK = ISOLATION_CHECK


class TenantPeriodConfig(dg.Config):
    """The period is the partition; the tenant is here (as for the per-day assets)."""

    tenant_id: str


def report_key(kind: str) -> dg.AssetKey:
    return dg.AssetKey(report_asset(kind))


def _report_asset(kind: str) -> dg.AssetsDefinition:
    key = report_key(kind)

    @dg.asset(
        key=key,
        deps=[CALL_SCORES_KEY, CALL_METRICS_KEY, TRANSCRIPTS_KEY],
        partitions_def=PARTITIONS[kind],
        group_name="reports",
        kinds={"duckdb", "html", "parquet"},
        owners=["team:data-platform"],
        code_version=REPORT_VERSION,
        description=(
            f"The tenant's {kind} call-quality report: KPIs with change vs the previous period, "
            "trend charts, team/agent/step tables, review backlog, lowest-scoring call ids, data-quality "
            "notes and the automated-scores notice (P15); CSV/Parquet extracts and a manifest of every "
            "call and version used, under the tenant's own prefix."
        ),
        check_specs=[
            dg.AssetCheckSpec(
                REPORT_ISOLATION_CHECK,
                asset=key,
                blocking=True,
                description="read back from staging before publication: the report, extracts "
                "and manifest name only this tenant's calls, agents and teams, and "
                "no other tenant; only a report that passes is published and "
                "linkable (P4, P14)",
            )
        ],
    )
    def _asset(
        context: dg.AssetExecutionContext,
        config: TenantPeriodConfig,
        warehouse: WarehouseResource,
        control_store: ControlStoreResource,
        tenant_registry: TenantRegistryResource,
        object_store: ObjectStoreResource,
    ) -> dg.MaterializeResult:
        tenant = require_active_tenant(tenant_registry, config.tenant_id)
        period = period_from_partition(kind, context.partition_key)
        wh = warehouse.get()
        registry = tenant_registry.get()
        # staging -> blocking isolation check -> publication (services.reports.generate_report, P4, P14)
        out = generate_report(
            wh,
            control_store.get(),
            tenant,
            period,
            run_id=context.run.run_id,
            actor=run_actor(context),
            region=object_store.region_label,
            registry=registry,
        )
        problems = out["problems"]
        # The link itself is a bearer credential (presigned URL): it goes to the access log's
        # holder, not into Dagster metadata.
        return dg.MaterializeResult(
            metadata={
                "tenant_id": tenant.id,
                "period": period.key,
                "calls": out["calls"],
                "files": out["files"],
                "language": out["language"],
                "report_prefix": out["prefix"],
                "published": out["published"],
                "link_expires_s": out["link_expires_s"],
                "dagster/row_count": out["calls"],
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=REPORT_ISOLATION_CHECK,
                    passed=not problems,
                    severity=dg.AssetCheckSeverity.ERROR,
                    metadata={
                        "problems": len(problems),
                        "published": out["published"],
                        "check_record": f"{out['prefix']}/{CHECK_RECORD}" if out["published"] else "",
                        "detail": "; ".join(problems)[:500],
                    },
                )
            ],
        )

    return _asset


tenant_weekly_reports, tenant_monthly_reports = (_report_asset(k) for k in PERIOD_KINDS)
