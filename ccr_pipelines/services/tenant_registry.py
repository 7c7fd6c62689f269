"""The tenant registry as a versioned, audited snapshot (P20): each new content hash is written under
``control/tenant_registry/`` and its difference from the previous one goes to the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from ..core.catalog import REGISTRY_SNAPSHOT_PREFIX
from ..core.tenants import TenantRegistry, diff_registries
from ..stores import audit_trail
from ..stores.control_store import ControlStore
from ..stores.object_store import ObjectNotFound, ObjectStore

ENTITY = "tenant_config"


@dataclass
class Snapshot:
    key: str  # the snapshot's object key
    changed: bool
    diff: dict = field(default_factory=dict)  # tenant ids and field names only (empty when unchanged)


def snapshot(
    store: ObjectStore,
    control: ControlStore,
    registry: TenantRegistry,
    *,
    actor: str,
    warn: Callable[[str], None] = lambda _msg: None,
) -> Snapshot:
    """Snapshot *registry* by content hash; when it differs from the last audited one, write it and
    append the change (added, removed, changed fields) to the audit log."""
    snapshot_rows = registry.as_dicts()
    key = f"{REGISTRY_SNAPSHOT_PREFIX}/{registry.digest}.json"
    last = audit_trail.last_change(control, ENTITY)
    previous_digest = last["entity_id"] if last else None
    if previous_digest == registry.digest:
        return Snapshot(key=key, changed=False)
    old: list = []
    if previous_digest:
        try:
            old = json.loads(store.get_bytes(f"{REGISTRY_SNAPSHOT_PREFIX}/{previous_digest}.json"))
        except ObjectNotFound:
            # snapshot purged or lost: the diff is then against nothing, and says so
            warn("previous tenant registry snapshot is missing; diffing against an empty registry")
    store.put_bytes(key, json.dumps(snapshot_rows, sort_keys=True, indent=1).encode())
    diff = diff_registries(old, snapshot_rows)
    control.audit(actor=actor, entity=ENTITY, entity_id=registry.digest, change={"previous": previous_digest, **diff})
    return Snapshot(key=key, changed=True, diff=diff)
