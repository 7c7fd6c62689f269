"""Platform assets: the tenant registry as a versioned, audited snapshot."""


import json

import dagster as dg
import sqlalchemy as sa

from ...core.catalog import REGISTRY_SNAPSHOT_PREFIX, TENANT_REGISTRY_ASSET
from ...core.tenants import diff_registries
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ...stores.control_store import audit_log
from ...stores.object_store import ObjectNotFound
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
    control = control_store.get()
    snapshot = registry.as_dicts()
    key = f"{REGISTRY_SNAPSHOT_PREFIX}/{registry.digest}.json"

    last = control.fetch(
        sa.select(audit_log.c.entity_id, audit_log.c.change)
        .where(audit_log.c.entity == "tenant_config")
        .order_by(audit_log.c.id.desc())
        .limit(1)
    )
    previous_digest = last[0]["entity_id"] if last else None
    changed = previous_digest != registry.digest
    if changed:
        old: list = []
        if previous_digest:
            try:
                old = json.loads(store.get_bytes(f"{REGISTRY_SNAPSHOT_PREFIX}/{previous_digest}.json"))
            except ObjectNotFound:
                # snapshot purged or lost: the diff is then against nothing, and says so
                context.log.warning("previous tenant registry snapshot is missing; diffing against an empty registry")
        store.put_bytes(key, json.dumps(snapshot, sort_keys=True, indent=1).encode())
        diff = diff_registries(old, snapshot)
        control.audit(actor=run_actor(context), entity="tenant_config",
                      entity_id=registry.digest, change={"previous": previous_digest, **diff})
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
            "changed": changed,
            "snapshot": dg.MetadataValue.path(store.uri(key)),
        },
        data_version=dg.DataVersion(registry.digest),
    )
