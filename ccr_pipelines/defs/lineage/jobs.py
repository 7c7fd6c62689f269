"""The lineage lookups as a Dagster job: the answer is written as an artefact under the tenant's
exports (P3: the write is access-logged). The run config names a lookup REQUEST by its id (a
``lineage_lookups`` row written by the caller, ``ccr lineage … --register-only``), never a call id
or a subject hash: run config lives in Dagster's run storage, which cannot be wiped per subject (P16)."""

import json

import dagster as dg
from pydantic import Field

from ...core.catalog import lineage_export_key
from ...platform import uri_prefix
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource
from ...stores.access import TenantObjects
from ..shared.tenancy import run_actor


class LineageLookupConfig(dg.Config):
    request_id: int = Field(
        description="a lookup registered by `ccr lineage … --register-only` "
        "(lineage_lookups.id); no call id or identifier here"
    )


@dg.op
def lineage_lookup(
    context: dg.OpExecutionContext,
    config: LineageLookupConfig,
    control_store: ControlStoreResource,
    object_store: ObjectStoreResource,
    tenant_registry: TenantRegistryResource,
) -> dg.Output:
    """Answer one lookup request and write it as JSON under exports/<tenant>/lineage/."""
    from ...services import lineage as svc

    control, store = control_store.get(), object_store.get()
    try:
        req = svc.get_lookup(control, config.request_id)
    except svc.LookupError_ as exc:
        raise dg.Failure(str(exc)) from None
    tenant = tenant_registry.get().require(req["tenant_id"], active=False)
    prefix = uri_prefix(store)
    run_id = context.run.run_id
    try:
        if req["lookup"] == "call":
            ans = svc.call_lineage(control, tenant, req["target"], uri_prefix=prefix)
        elif req["lookup"] == "subject_hash":
            ans = svc.subject_lineage(control, tenant, [req["target"]], uri_prefix=prefix)
        else:
            ans = svc.report_lineage(control, tenant, svc.parse_period(req["target"]))
    except ValueError as exc:
        svc.finish_lookup(control, config.request_id, status="failed", export_key=None, run_id=run_id)
        raise dg.Failure(str(exc)) from None
    with TenantObjects(
        store, control, tenant.id, actor=run_actor(context), purpose=f"lineage lookup {req['lookup']}", run_id=run_id
    ) as objects:
        # the key names the request, not its target (a call id in a key would reach the run's metadata)
        key = lineage_export_key(tenant.id, req["lookup"], config.request_id, run_id)
        objects.put_bytes(key, json.dumps(ans, indent=1, default=str).encode("utf-8"), action="export")
    svc.finish_lookup(control, config.request_id, status="answered", export_key=key, run_id=run_id)
    return dg.Output(
        key,
        metadata={
            "tenant_id": tenant.id,
            "lookup": req["lookup"],
            "object": key,
            "artefacts": len(ans.get("artefacts") or ans.get("calls") or []),
        },
    )


@dg.job(
    description="Lineage lookup for an auditor (call, data subject by keyed hash, report period), named by a "
    "lookup request id; the answer is written as a JSON artefact in the tenant's exports (P13, P16)."
)
def lineage_lookup_job():
    lineage_lookup()
