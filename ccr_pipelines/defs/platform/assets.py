"""Platform assets: the tenant registry as a versioned, audited snapshot."""

import dagster as dg

from ...core.catalog import TENANT_REGISTRY_ASSET
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ...services import tenant_registry as registry_service
from ..shared.tenancy import run_actor


@dg.asset(
    key=list(TENANT_REGISTRY_ASSET),
    group_name="platform",
    kinds={"yaml", "sqlite"},
    owners=["team:data-platform"],
    automation_condition=dg.AutomationCondition.on_cron("*/15 * * * *"),
)
def tenant_registry(
    context: dg.AssetExecutionContext,
    tenant_registry: TenantRegistryResource,
    object_store: ObjectStoreResource,
    control_store: ControlStoreResource,
) -> dg.MaterializeResult:
    """The validated tenant registry of this environment, snapshotted by content hash; every
    change is written to the append-only audit log (P20) and suspensions take effect (P12)."""
    registry = tenant_registry.get()
    store = object_store.get()
    snap = registry_service.snapshot(
        store, control_store.get(), registry, actor=run_actor(context), warn=context.log.warning
    )
    if snap.changed:
        diff = snap.diff
        context.log.info(
            f"tenant registry changed: {len(diff['added'])} added, {len(diff['removed'])} removed, "
            f"{len(diff['changed'])} changed"
        )
    return dg.MaterializeResult(
        metadata={
            "tenants": len(registry),
            "active_tenants": len(registry.active_ids()),
            "suspended_tenants": dg.MetadataValue.json(sorted(t.id for t in registry if t.suspended)),
            "digest": registry.digest,
            "changed": snap.changed,
            "snapshot": dg.MetadataValue.path(store.uri(snap.key)),
        },
        data_version=dg.DataVersion(registry.digest),
    )
