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
    jobs = [
        (tenant, calls)
        for tenant in run_tenants(tenant_registry, config.tenant_id, config.tenant_ids)
        if (calls := calls_to_transcribe(warehouse.get(), tenant.id, day, None))
    ]
    # Issue 21: the run's tenants share launches (each model loaded once per launch, not per
    # tenant); the worker keeps every tenant's calls apart and names the tenant of each result.
    results: dict[str, list[dict]] = {tenant.id: [] for tenant, _ in jobs}
    launch_md: dict[str, dict] = {tenant.id: {} for tenant, _ in jobs}
    checks: list[dg.AssetCheckResult] = []
    for launch in launches_of(jobs, asr.calls_per_launch):
        invocation = pipes_client.run(
            **asr.launch_args(WORKER_MODULE),
            context=context,
            extras={
                "store": object_store.spec(),
                "asr": asr.worker_config(),
                "tenants": [
                    {
                        "tenant_id": tenant.id,
                        "channel_roles": list(tenant.channel_roles),
                        "default_language": tenant.languages[0],
                        "hotwords": tenant.hotwords,  # issue 19: custom vocabulary
                        "calls": calls,
                    }
                    for tenant, calls in launch
                ],
            },
            env={
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "PYTHONUNBUFFERED": "1",
                **_worker_log(context, asr),
            },
        )
        mine = split_results(invocation.get_custom_messages(), [tenant.id for tenant, _ in launch])
        for tid, rs in mine.items():
            results[tid] += rs
        for r in invocation.get_results():
            if isinstance(r, dg.AssetCheckResult):
                checks.append(r)
            else:
                share_launch_metadata(launch_md, mine, r.metadata or {})
    per_tenant, all_models, failed_tenants, failed_total, calls_total = {}, set(), [], 0, 0
    for tenant, _calls in jobs:
        mine = results[tenant.id]
        counts = write_tables(
            object_store.get(),
            warehouse.get(),
            tenant.id,
            day,
            mine,
            context.run.run_id,
            control=control_store.get(),
            lineage=lineage_context(context, region=object_store.region_label, engine="whisperx"),
        )
        failed = sum(1 for r in mine if r["status"] == "failed")
        if failed:
            failed_tenants.append(tenant.id)
        models = sorted({f"{r['model']}@{r['model_revision']}" for r in mine if r.get("model")})
        all_models.update(models)
        failed_total, calls_total = failed_total + failed, calls_total + len(mine)
        worker = worker_counts(mine) | launch_md[tenant.id]
        seconds = worker.get("processing_seconds", 0.0)
        worker["real_time_factor"] = round(worker["audio_seconds"] / seconds, 2) if seconds else 0.0
        per_tenant[tenant.id] = {
            **worker,
            **counts,
            "models": ", ".join(models),
            "dagster/row_count": counts["calls"],
        }
    launches = len(checks)  # one worker check per launch
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


def launches_of(jobs: list, calls_per_launch: int) -> list[list]:
    """The run's (tenant, calls) jobs cut into launches of at most *calls_per_launch* calls, in order:
    small tenant-days share a launch, a large one is split across several."""
    out, current, room = [], [], calls_per_launch
    for tenant, calls in jobs:
        at = 0
        while at < len(calls):
            take = calls[at : at + room]
            current.append((tenant, take))
            at, room = at + len(take), room - len(take)
            if room == 0:
                out.append(current)
                current, room = [], calls_per_launch
    if current:
        out.append(current)
    return out


def split_results(messages: list, tenant_ids: list[str]) -> dict[str, list[dict]]:
    """The worker's per-call results by tenant. A result naming a tenant outside the launch, or none,
    fails the run before anything is written (P4: never mix tenants)."""
    out: dict[str, list[dict]] = {t: [] for t in tenant_ids}
    for m in messages:
        tid = m.get("tenant_id") if isinstance(m, dict) else None
        if tid not in out:
            raise ValueError("the ASR worker returned a result for a tenant outside this launch")
        out[tid].append(m)
    return out


WORKER_COUNTS = ("transcribed", "skipped", "failed")


def worker_counts(results: list[dict]) -> dict:
    """One tenant's counts from its per-call results (numbers only)."""
    out = {
        "worker_calls": len(results),
        **{f"worker_{k}": sum(r["status"] == k for r in results) for k in WORKER_COUNTS},
    }
    out["audio_seconds"] = round(sum(r.get("audio_seconds", 0.0) for r in results), 1)
    reasons: dict[str, int] = {}
    for r in results:
        if r["status"] == "failed":
            reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    out["failure_reasons"] = dg.MetadataValue.json(reasons)
    return out


def share_launch_metadata(acc: dict[str, dict], mine: dict[str, list[dict]], md: dict) -> None:
    """A launch's wall time and model-load time, charged to its tenants by their share of its audio
    (of its calls when no audio was transcribed); a one-tenant run gets the launch's own figures."""
    audio = {t: sum(r.get("audio_seconds", 0.0) for r in rs) for t, rs in mine.items()}
    total_audio, total_calls = sum(audio.values()), sum(len(rs) for rs in mine.values())
    for tid, rs in mine.items():
        share = audio[tid] / total_audio if total_audio else (len(rs) / total_calls if total_calls else 0.0)
        for key in ("processing_seconds", "model_load_seconds"):
            val = getattr(md.get(key), "value", md.get(key)) or 0.0
            acc[tid][key] = round(acc[tid].get(key, 0.0) + float(val) * share, 3)


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
