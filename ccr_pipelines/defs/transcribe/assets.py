"""Transcription: accepted recordings -> transcripts, through the whisperx worker (P1, P9, P15)."""

import dagster as dg

from ...core.catalog import TRANSCRIPTS_ASSET
from ...resources import (
    AsrResource,
    ControlStoreResource,
    ObjectStoreResource,
    TenantRegistryResource,
    WarehouseResource,
)
from ...services.transcribe import calls_to_transcribe, write_tables
from ..ingest.assets import CALL_MANIFEST_KEY
from ..ingest.partitions import daily_partitions
from ..shared.lineage import lineage_context
from ..shared.tenancy import TenantDayConfig, fold_metadata, run_tenants

TRANSCRIPTS_KEY = dg.AssetKey(TRANSCRIPTS_ASSET)
WORKER_CHECK = "worker_calls_succeeded"
WORKER_MODULE = "ccr_pipelines.asr.worker"


class TranscriptsConfig(TenantDayConfig):
    """The tenant-day only: a subset of calls would put call ids into run storage (P17)."""


@dg.asset(
    key=TRANSCRIPTS_KEY,
    deps=[CALL_MANIFEST_KEY],
    partitions_def=daily_partitions,
    group_name="transcribe",
    kinds={"python", "parquet"},
    owners=["team:data-platform"],
    pool="asr",  # GPU work: the pool limit caps concurrent workers (dagster.yaml / Helm values)
    check_specs=[
        dg.AssetCheckSpec(
            WORKER_CHECK,
            asset=TRANSCRIPTS_KEY,
            description="every call of the batch was transcribed (failed calls are set aside)",
        )
    ],
)
def transcripts(
    context: dg.AssetExecutionContext,
    config: TranscriptsConfig,
    object_store: ObjectStoreResource,
    warehouse: WarehouseResource,
    tenant_registry: TenantRegistryResource,
    asr: AsrResource,
    pipes_client: dg.ResourceParam[dg.PipesClient],
    control_store: ControlStoreResource,
) -> dg.MaterializeResult:
    """Per-call transcripts by whisperx (one speaker per channel for stereo), written to the
    restricted zone; per-call language, model revision, engine versions and quality signals."""
    day = context.partition_key
    per_tenant, all_models, failed_tenants, launches, failed_total, calls_total = {}, set(), [], 0, 0, 0
    for tenant in run_tenants(tenant_registry, config.tenant_id, config.tenant_ids):
        calls = calls_to_transcribe(warehouse.get(), tenant.id, day, None)
        if not calls:
            continue
        results, worker_md, checks = [], {}, []
        for i in range(0, len(calls), asr.calls_per_launch):
            invocation = pipes_client.run(
                **asr.launch_args(WORKER_MODULE),
                context=context,
                extras={
                    "store": object_store.spec(),
                    "tenant_id": tenant.id,
                    "asr": {**asr.worker_config(), "hotwords": tenant.hotwords},  # issue 19: custom vocabulary
                    "channel_roles": list(tenant.channel_roles),
                    "default_language": tenant.languages[0],
                    "calls": calls[i : i + asr.calls_per_launch],
                },
                env={
                    "HF_HUB_OFFLINE": "1",
                    "TRANSFORMERS_OFFLINE": "1",
                    "PYTHONUNBUFFERED": "1",
                    **_worker_log(context, asr),
                },
            )
            results += invocation.get_custom_messages()
            for r in invocation.get_results():
                if isinstance(r, dg.AssetCheckResult):
                    checks.append(r)
                else:
                    for k, v in (r.metadata or {}).items():
                        val = getattr(v, "value", v)
                        worker_md[k] = worker_md.get(k, 0) + val if isinstance(val, (int, float)) else val
        counts = write_tables(
            object_store.get(),
            warehouse.get(),
            tenant.id,
            day,
            results,
            context.run.run_id,
            control=control_store.get(),
            lineage=lineage_context(context, region=object_store.region_label, engine="whisperx"),
        )
        failed = sum(1 for r in results if r["status"] == "failed")
        # The worker's own check results (one per launch), folded into one for the batch.
        if not ((all(c.passed for c in checks) if checks else failed == 0) and failed == 0):
            failed_tenants.append(tenant.id)
        models = sorted({f"{r['model']}@{r['model_revision']}" for r in results if r.get("model")})
        all_models.update(models)
        launches, failed_total, calls_total = launches + len(checks), failed_total + failed, calls_total + len(results)
        per_tenant[tenant.id] = {
            **worker_md,
            **counts,
            "models": ", ".join(models),
            "dagster/row_count": counts["calls"],
        }
    models = sorted(all_models)
    check_md = {"failed": failed_total, "calls": calls_total, "launches": launches}
    if failed_tenants and not config.tenant_id:
        check_md["failed_tenants"] = failed_tenants
    return dg.MaterializeResult(
        metadata=fold_metadata(per_tenant) if per_tenant else {"calls": 0},
        check_results=[
            dg.AssetCheckResult(
                check_name=WORKER_CHECK,
                passed=not failed_tenants,
                severity=dg.AssetCheckSeverity.WARN,
                metadata=check_md,
            )
        ],
        data_version=dg.DataVersion("|".join(models) or "none"),
    )


def _worker_log(context: dg.AssetExecutionContext, asr: AsrResource) -> dict:
    """A local worker's library INFO (whisperx, pyannote, Lightning) goes to ``<DAGSTER_HOME>/logs/
    asr-worker.log``, not the console (asr/engine.route_library_logs); a pod's goes nowhere
    (warnings and errors reach its log either way)."""
    import os

    root = getattr(context.instance, "root_directory", None)
    if asr.launcher != "subprocess" or not root:
        return {}
    os.makedirs(os.path.join(root, "logs"), exist_ok=True)
    return {"CCR_ASR_LOG_FILE": os.path.join(root, "logs", "asr-worker.log")}
