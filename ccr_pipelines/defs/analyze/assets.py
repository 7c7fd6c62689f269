"""Analytics: redacted transcripts (P21), call metrics, call scores and the review queue (P15)."""

import dagster as dg

from ...core.catalog import (
    CALL_CARDS_ASSET,
    CALL_CATEGORIES_ASSET,
    CALL_METRICS_ASSET,
    CALL_SCORES_ASSET,
    CALL_SENTIMENT_ASSET,
    PLAYBACK_AUDIO_ASSET,
    REDACTED_SEGMENTS,
    REDACTED_SEGMENTS_ASSET,
)
from ...core.playback import PLAYBACK_VERSION
from ...core.scorecards import SCORER_VERSION
from ...resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource, WarehouseResource
from ...services import search as search_index
from ...services.metrics import METRICS_VERSION, metrics_partition
from ...services.playback import render_partition
from ...services.redact import REDACTOR_VERSION, redact_partition
from ...services.score import score_partition, scorecard_for
from ..ingest.assets import CALL_MANIFEST_KEY
from ..ingest.partitions import daily_partitions
from ..shared.lineage import lineage_context
from ..shared.tenancy import TenantDayConfig, fold_metadata, run_tenants
from ..transcribe.assets import TRANSCRIPTS_KEY

# Named after the dataset it writes (until issue 20 the key was silver/analyze/redacted_segments).
REDACTED_KEY = dg.AssetKey(REDACTED_SEGMENTS_ASSET)
NO_PII_LEFT_CHECK = "no_pii_left"


@dg.asset(
    key=REDACTED_KEY,
    deps=[TRANSCRIPTS_KEY],
    partitions_def=daily_partitions,
    group_name="analyze",
    kinds={"python", "parquet"},
    owners=["team:data-platform"],
    code_version=REDACTOR_VERSION,
    check_specs=[
        dg.AssetCheckSpec(
            NO_PII_LEFT_CHECK,
            asset=REDACTED_KEY,
            blocking=True,
            description="a second pass of the redactor finds nothing in the output (P21)",
        )
    ],
)
def redacted_transcripts(
    context: dg.AssetExecutionContext,
    config: TenantDayConfig,
    warehouse: WarehouseResource,
    tenant_registry: TenantRegistryResource,
    control_store: ControlStoreResource,
    object_store: ObjectStoreResource,
) -> dg.MaterializeResult:
    """Transcript segments with person names, addresses, dates of birth, spelled letters, phone numbers,
    e-mails, card numbers, IBANs, NIRs and other 7+ digit numbers replaced by typed placeholders — the
    only transcript text analytics may read (P21)."""
    wh = warehouse.get()
    # Verify on what was written, not on what we meant to write.
    from ...core.pii_engine import find_entities_batch  # the same detector (P21); spaCy loads only in this step

    per_tenant, leftovers = {}, {}
    for tenant in run_tenants(tenant_registry, config.tenant_id, config.tenant_ids):
        script = scorecard_for(tenant).heard_script()  # the tenant's script as heard is no name (issue 17)
        counts = redact_partition(
            wh,
            tenant.id,
            context.partition_key,
            control=control_store.get(),
            lineage=lineage_context(
                context, region=object_store.region_label, engine=f"ccr redactor {REDACTOR_VERSION}"
            ),
            script=script,
        )
        written = wh.read_partition(REDACTED_SEGMENTS.name, tenant.id, context.partition_key)
        counts["search_rows"] = search_index.index_partition(
            control_store.get(), tenant.id, context.partition_key, written
        )  # issue 19: the search index follows
        leftovers[tenant.id] = (
            sum(map(len, find_entities_batch(written.column("text").to_pylist(), script))) if written is not None else 0
        )
        per_tenant[tenant.id] = {**counts, "dagster/row_count": counts["segments"]}
    failed = sorted(t for t, n in leftovers.items() if n)
    return dg.MaterializeResult(
        metadata=fold_metadata(per_tenant),
        check_results=[
            dg.AssetCheckResult(
                check_name=NO_PII_LEFT_CHECK,
                passed=not failed,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={
                    "entities_found_in_output": sum(leftovers.values()),
                    **({"failed_tenants": failed} if failed else {}),
                },
            )
        ],
    )


PLAYBACK_KEY = dg.AssetKey(PLAYBACK_AUDIO_ASSET)


@dg.asset(
    key=PLAYBACK_KEY,
    deps=[REDACTED_KEY, dg.AssetKey(["silver", "ingest", "call_manifest"])],
    partitions_def=daily_partitions,
    group_name="analyze",
    kinds={"python", "wav"},
    owners=["team:data-platform"],
    code_version=PLAYBACK_VERSION,
)
def playback_audio(
    context: dg.AssetExecutionContext,
    config: TenantDayConfig,
    warehouse: WarehouseResource,
    tenant_registry: TenantRegistryResource,
    control_store: ControlStoreResource,
    object_store: ObjectStoreResource,
) -> dg.MaterializeResult:
    """The copy of each recording that reviewers and tenants hear: every turn in which the redactor
    found personal data is silenced on every channel (P21). The original stays under audio/."""
    wh = warehouse.get()
    per_tenant = {}
    for tenant in run_tenants(tenant_registry, config.tenant_id, config.tenant_ids):
        per_tenant[tenant.id] = render_partition(
            wh,
            tenant.id,
            context.partition_key,
            control=control_store.get(),
            lineage=lineage_context(context, region=object_store.region_label, engine=f"ccr {PLAYBACK_VERSION}"),
        )
    return dg.MaterializeResult(metadata=fold_metadata(per_tenant))


CALL_METRICS_KEY = dg.AssetKey(CALL_METRICS_ASSET)


@dg.asset(
    key=CALL_METRICS_KEY,
    deps=[REDACTED_KEY, CALL_MANIFEST_KEY],
    partitions_def=daily_partitions,
    group_name="analyze",
    kinds={"duckdb", "parquet"},
    owners=["team:data-platform"],
    code_version=METRICS_VERSION,
)
def call_metrics(
    context: dg.AssetExecutionContext,
    config: TenantDayConfig,
    warehouse: WarehouseResource,
    tenant_registry: TenantRegistryResource,
    control_store: ControlStoreResource,
    object_store: ObjectStoreResource,
) -> dg.MaterializeResult:
    """Per call: talk time per speaker, talk ratio, non-talk time and longest gap, overlap and
    interruptions, speech rate, turns and longest monologue — from exact speech regions, in DuckDB."""
    import duckdb

    per_tenant = {}
    for tenant in run_tenants(tenant_registry, config.tenant_id, config.tenant_ids):
        counts = metrics_partition(
            warehouse.get(),
            tenant.id,
            context.partition_key,
            control=control_store.get(),
            lineage=lineage_context(context, region=object_store.region_label, engine=f"duckdb {duckdb.__version__}"),
        )
        per_tenant[tenant.id] = {**counts, "dagster/row_count": counts["calls"]}
    return dg.MaterializeResult(metadata=fold_metadata(per_tenant))


CALL_SCORES_KEY = dg.AssetKey(CALL_SCORES_ASSET)


@dg.asset(
    key=CALL_SCORES_KEY,
    deps=[REDACTED_KEY, TRANSCRIPTS_KEY],
    partitions_def=daily_partitions,
    group_name="analyze",
    kinds={"python", "parquet"},
    owners=["team:data-platform"],
    code_version=SCORER_VERSION,
)
def call_scores(
    context: dg.AssetExecutionContext,
    config: TenantDayConfig,
    warehouse: WarehouseResource,
    control_store: ControlStoreResource,
    tenant_registry: TenantRegistryResource,
    object_store: ObjectStoreResource,
) -> dg.MaterializeResult:
    """Automated call scores on the tenant's scorecard (0-100, per-step results with evidence,
    scorer and scorecard versions, confidence); unvalidated until a human reviews them, and
    low-confidence, borderline, auto-failed or undisclosed calls go to the review queue (P15, P23)."""
    per_tenant, versions = {}, set()
    tenants = []
    for tenant in run_tenants(tenant_registry, config.tenant_id, config.tenant_ids):
        tenants.append(tenant.id)
        counts = score_partition(
            warehouse.get(),
            control_store.get(),
            tenant,
            context.partition_key,
            lineage=lineage_context(context, region=object_store.region_label, engine=f"ccr scorer {SCORER_VERSION}"),
        )
        versions.add(str(counts["scorecard_version"]))
        per_tenant[tenant.id] = {**counts, "scorer_version": SCORER_VERSION, "dagster/row_count": counts["calls"]}
    # the conversation analytics written by the same step (issue 19): counts only, never call ids
    for key in CONVERSATION_KEYS:
        context.log_event(
            dg.AssetMaterialization(asset_key=key, partition=context.partition_key, metadata={"tenants": len(tenants)})
        )
    return dg.MaterializeResult(
        metadata=fold_metadata(per_tenant),
        data_version=dg.DataVersion("|".join(sorted(versions)) or "none"),
    )


# Issue 19: sentiment, categories and call drivers, call cards — written by the call_scores step
# (services/conversation.py) from the same redacted segments; declared here so that the marts'
# sources and the UI name them, and materialized by call_scores' runs.
CALL_SENTIMENT_KEY = dg.AssetKey(CALL_SENTIMENT_ASSET)
CALL_CATEGORIES_KEY = dg.AssetKey(CALL_CATEGORIES_ASSET)
CALL_CARDS_KEY = dg.AssetKey(CALL_CARDS_ASSET)
CONVERSATION_KEYS = (CALL_SENTIMENT_KEY, CALL_CATEGORIES_KEY, CALL_CARDS_KEY)
_CONVERSATION_DOCS = {
    CALL_SENTIMENT_KEY: "Sentiment per turn (turn_sentiment) and per call (call_sentiment): overall, per speaker, "
    "first vs last third, the customer's change — written by the call_scores step.",
    CALL_CATEGORIES_KEY: "Category and call-driver hits per call with their time points, from the tenant's "
    "versioned categories file — written by the call_scores step.",
    CALL_CARDS_KEY: "Call card per call: driver, outcome (solution step, closing sentiment) and the agent's "
    "commitments with times, extractive — written by the call_scores step.",
}
conversation_specs = [
    dg.AssetSpec(
        key,
        deps=[CALL_SCORES_KEY],
        description=doc,
        group_name="analyze",
        kinds={"python", "parquet"},
        owners=["team:data-platform"],
        partitions_def=daily_partitions,
    )
    for key, doc in _CONVERSATION_DOCS.items()
]
