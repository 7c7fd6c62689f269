"""The lineage lookups as a Dagster job: the answer is written as an artefact under the tenant's
exports (P3: the write is access-logged). A data subject is named by keyed hash only: run config
lives in Dagster's event log, which cannot be wiped per subject (P16)."""

import json
import re
from typing import Literal

import dagster as dg
from pydantic import Field

from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ...stores.access import TenantObjects
from ..shared.tenancy import run_actor

_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


class LineageLookupConfig(dg.Config):
    tenant_id: str
    lookup: Literal["call", "subject_hash", "report"]
    target: str = Field(description="call id | keyed subject hash (64 hex) | report period (2026-W47, 2026-11)")


@dg.op
def lineage_lookup(context: dg.OpExecutionContext, config: LineageLookupConfig, control_store: ControlStoreResource,
                   object_store: ObjectStoreResource, tenant_registry: TenantRegistryResource) -> dg.Output:
    """Answer one lookup and write it as JSON under exports/<tenant>/lineage/."""
    from ...services import lineage as svc

    tenant = tenant_registry.get().require(config.tenant_id, active=False)
    control, store = control_store.get(), object_store.get()
    probe = store.uri("x")
    prefix = None if probe.startswith("s3://") else probe[:-1]
    if config.lookup == "call":
        ans = svc.call_lineage(control, tenant, config.target, uri_prefix=prefix)
    elif config.lookup == "subject_hash":
        if not _HASH_RE.match(config.target):
            raise dg.Failure("subject_hash must be the 64-hex keyed hash, never the identifier")
        ans = svc.subject_lineage(control, tenant, [config.target], uri_prefix=prefix)
    else:
        try:
            ans = svc.report_lineage(control, tenant, svc.parse_period(config.target))
        except ValueError as exc:
            raise dg.Failure(str(exc)) from None
    name = re.sub(r"[^A-Za-z0-9._=+-]", "_", config.target)[:64] if config.lookup != "subject_hash" else config.target[:16]
    run_id = context.run.run_id
    with TenantObjects(store, control, tenant.id, actor=run_actor(context), purpose=f"lineage lookup {config.lookup}",
                       run_id=run_id) as objects:
        key = objects.key("exports", "lineage", f"{config.lookup}-{name}-{run_id[:8]}.json")
        objects.put_bytes(key, json.dumps(ans, indent=1, default=str).encode("utf-8"), action="export")
    return dg.Output(key, metadata={"tenant_id": tenant.id, "lookup": config.lookup, "object": key,
                                    "artefacts": len(ans.get("artefacts") or ans.get("calls") or [])})


@dg.job(description="Lineage lookup for an auditor (call, data subject by keyed hash, report period); "
                    "the answer is written as a JSON artefact in the tenant's exports (P13, P16).")
def lineage_lookup_job():
    lineage_lookup()
