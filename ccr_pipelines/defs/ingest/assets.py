"""Ingestion: inbox objects -> validated call manifest (P1, P3, P4, P18)."""

import dagster as dg
from pydantic import Field

from ... import __version__
from ...core.catalog import CALL_MANIFEST, CALL_MANIFEST_ASSET
from ...core.ingest import UNROUTED
from ...core.keys import TENANT_ID_RE
from ...resources import (
    ControlStoreResource,
    IngestConfigResource,
    ObjectStoreResource,
    TenantRegistryResource,
    WarehouseResource,
)
from ...services.ingest import IngestEnv, ingest_batch, resolve_key_digests
from ..shared.tenancy import fold_metadata, run_tenants
from .partitions import daily_partitions

CALL_MANIFEST_KEY = dg.AssetKey(CALL_MANIFEST_ASSET)
# Check names are constants: alerting rules and runbooks refer to them.
ACCOUNTING_CHECK = "received_equals_outcomes"
ISOLATION_CHECK = "single_tenant_partition"
MAX_KEYS_PER_RUN = 1000


class CallManifestConfig(dg.Config):
    """Which received objects this run ingests."""

    tenant_id: str = Field(default="", description="tenant of the batch; empty for the unroutable batch")
    key_digests: list[str] = Field(
        default_factory=list,
        description="the sensor's batch: keyed digests of inbox keys (no call id or "
        "file name in run storage, P17); resolved by listing the inbox",
    )
    rebuild: bool = Field(default=False, description="also rebuild the day's manifest from accepted audio")
    tenant_ids: list[str] = Field(
        default_factory=list,
        description="no tenant_id and no keys (a backfill): the tenants whose inbox day "
        "is processed; empty = every active tenant",
    )


def _validate_config(config: CallManifestConfig, day: str) -> None:
    """Config is an entry point too: refuse anything that could touch another tenant (P4)."""
    if len(config.key_digests) > MAX_KEYS_PER_RUN:
        raise dg.Failure(f"at most {MAX_KEYS_PER_RUN} keys per run (got {len(config.key_digests)})")
    if config.tenant_id:
        if not TENANT_ID_RE.match(config.tenant_id) or config.tenant_id == UNROUTED:
            raise dg.Failure("config tenant_id is not a valid tenant id")
    elif config.key_digests:
        if config.rebuild:
            raise dg.Failure("the unroutable batch needs explicit key digests and no rebuild")


@dg.asset(
    key=CALL_MANIFEST_KEY,
    partitions_def=daily_partitions,
    group_name="ingest",
    kinds={"parquet", "duckdb"},
    owners=["team:data-platform"],
    check_specs=[
        dg.AssetCheckSpec(
            ACCOUNTING_CHECK,
            asset=CALL_MANIFEST_KEY,
            blocking=True,
            description="received = accepted + quarantined + duplicates + suppressed: nothing lost",
        ),
        dg.AssetCheckSpec(
            ISOLATION_CHECK,
            asset=CALL_MANIFEST_KEY,
            blocking=True,
            description="the tenant-day manifest holds only that tenant's rows (P4)",
        ),
    ],
)
def call_manifest(
    context: dg.AssetExecutionContext,
    config: CallManifestConfig,
    object_store: ObjectStoreResource,
    control_store: ControlStoreResource,
    warehouse: WarehouseResource,
    tenant_registry: TenantRegistryResource,
    ingest_config: IngestConfigResource,
) -> dg.MaterializeResult:
    """One row per accepted call recording (duration, format, sha256, sidecar metadata with
    identifiers only as keyed hashes); every received file is accounted for as accepted,
    quarantined with a reason, duplicate or suppressed."""
    day = context.partition_key
    _validate_config(config, day)
    env = IngestEnv(
        store=object_store.get(),
        control=control_store.get(),
        warehouse=warehouse.get(),
        registry=tenant_registry.get(),
        secret=ingest_config.subject_hash_key,
        run_id=context.run.run_id,
        max_duration_s=ingest_config.max_duration_s,
        max_object_bytes=ingest_config.max_object_bytes,
        region=object_store.region_label,
        code_version=__version__,
        log=context.log.info,
    )
    # keys only ever as keyed digests, resolved inside the tenant-day's inbox (P4, P17: no key, call id or file
    # name in run storage; a digest cannot name another tenant's object)
    if config.tenant_id or config.key_digests:
        batches = [
            (
                config.tenant_id or None,
                resolve_key_digests(
                    env.store,
                    env.control,
                    config.tenant_id or None,
                    day,
                    config.key_digests,
                    ingest_config.subject_hash_key,
                )
                if config.key_digests
                else None,
            )
        ]
    else:  # a backfill run (no config): the day's inbox of every active tenant, or of those listed
        batches = [(t.id, None) for t in run_tenants(tenant_registry, "", config.tenant_ids)]
    per_tenant, accounting, failed_accounting, failed_isolation, isolation_meta = {}, {}, [], [], {}
    for tenant_id, keys in batches:
        result = ingest_batch(env, keys, tenant_id=tenant_id, day=day if tenant_id else None, rebuild=config.rebuild)
        context.log.info(
            f"ingested {result.received} object(s) for {result.tenant_id or UNROUTED}/{day}: "
            + ", ".join(f"{k}={v}" for k, v in sorted(result.outcomes.items()))
        )
        if result.tenant_id:
            table = env.warehouse.read_partition(CALL_MANIFEST.name, result.tenant_id, day)
            tenants = sorted(set(table.column("tenant_id").to_pylist())) if table is not None else []
            if tenants not in ([], [result.tenant_id]):
                failed_isolation.append(result.tenant_id)
            isolation_meta["tenants_in_partition"] = max(isolation_meta.get("tenants_in_partition", 0), len(tenants))
        if not result.accounting_ok:
            failed_accounting.append(result.tenant_id or UNROUTED)
        for k, v in result.accounting.items():
            accounting[k] = accounting.get(k, 0) + v if isinstance(v, (int, float)) else v
        meta = result.metadata()
        per_tenant[result.tenant_id or UNROUTED] = {
            **{k: v for k, v in meta.items() if k not in ("quarantine_reasons", "tenant_id")},
            "quarantine_reasons": dg.MetadataValue.json(meta["quarantine_reasons"]),
            "dagster/row_count": result.manifest_rows,
            "partition_object": result.partition_object or "",
        }
    metadata = fold_metadata(per_tenant) if per_tenant else {"received": 0, "tenant_count": 0}
    if len(batches) > 1:
        accounting = {**accounting, **({"failed_tenants": failed_accounting} if failed_accounting else {})}
        if failed_isolation:
            isolation_meta["failed_tenants"] = failed_isolation
    return dg.MaterializeResult(
        metadata=metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name=ACCOUNTING_CHECK,
                passed=not failed_accounting,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=accounting,
            ),
            dg.AssetCheckResult(
                check_name=ISOLATION_CHECK,
                passed=not failed_isolation,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata=isolation_meta,
            ),
        ],
    )
