"""Redact each tenant-day whose transcripts changed; measure and score each redacted tenant-day;
rescore a tenant whose scorecard changed."""

import json

import dagster as dg

from ...core.catalog import REDACTED_SEGMENTS
from ...core.errors import SettingsError
from ...resources import TenantRegistryResource, WarehouseResource
from ...services.conversation import categories_for
from ...services.score import scorecard_for
from ..shared.fanout import TENANT_TAG, metadata_count, tenant_fanout_sensor
from ..shared.intervals import interval_s
from ..transcribe.assets import TRANSCRIPTS_KEY
from .assets import CALL_SCORES_KEY, REDACTED_KEY, call_metrics, call_scores, playback_audio, redacted_transcripts

transcripts_to_redacted_sensor = tenant_fanout_sensor(
    name="transcripts_to_redacted_sensor",
    upstream=TRANSCRIPTS_KEY,
    downstream=redacted_transcripts,
    had_work=lambda md: metadata_count(md, "transcribed") > 0,
    description="Requests a redacted_segments run for each tenant-day whose transcripts changed.",
)

redacted_to_metrics_sensor = tenant_fanout_sensor(
    name="redacted_to_metrics_sensor",
    upstream=REDACTED_KEY,
    downstream=call_metrics,
    had_work=lambda md: metadata_count(md, "segments") > 0,
    description="Requests a call_metrics run for each tenant-day whose redacted transcripts changed.",
)

redacted_to_playback_sensor = tenant_fanout_sensor(
    name="redacted_to_playback_sensor",
    upstream=REDACTED_KEY,
    downstream=playback_audio,
    had_work=lambda md: metadata_count(md, "segments") > 0,
    description="Requests a playback_audio run (recordings with personal data silenced) for each tenant-day "
    "whose redacted transcripts changed.",
)

redacted_to_scores_sensor = tenant_fanout_sensor(
    name="redacted_to_scores_sensor",
    upstream=REDACTED_KEY,
    downstream=call_scores,
    had_work=lambda md: metadata_count(md, "segments") > 0,
    description="Requests a call_scores run for each tenant-day whose redacted transcripts changed.",
)


@dg.sensor(
    asset_selection=[call_scores],
    minimum_interval_seconds=interval_s(300),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When a tenant's scorecard or categories file changes, rescore that tenant's days (and only "
    "that tenant's).",
)
def scorecard_change_sensor(
    context: dg.SensorEvaluationContext,
    tenant_registry: TenantRegistryResource,
    warehouse: WarehouseResource,
) -> dg.SensorResult | dg.SkipReason:
    seen = json.loads(context.cursor) if context.cursor else {}
    current, requests = {}, []
    for tenant in tenant_registry.get():
        if not tenant.active:
            continue
        try:
            # issue 19: a changed categories file rescores the tenant too (categories, drivers, cards)
            current[tenant.id] = f"{scorecard_for(tenant).version_tag}|{categories_for(tenant).version_tag}"
        except SettingsError as exc:
            context.log.warning(f"tenant {tenant.id}: {exc}")
            continue
        if tenant.id in seen and seen[tenant.id] != current[tenant.id]:
            for day in warehouse.get().partitions(REDACTED_SEGMENTS.name, tenant.id):
                requests.append(
                    dg.RunRequest(
                        run_key=f"rescore:{tenant.id}:{day}:{current[tenant.id]}",
                        partition_key=day,
                        run_config={
                            "ops": {CALL_SCORES_KEY.to_python_identifier(): {"config": {"tenant_id": tenant.id}}}
                        },
                        tags={TENANT_TAG: tenant.id, "ccr/reason": "scorecard_changed"},
                    )
                )
    cursor = json.dumps(current, sort_keys=True)
    if not requests:
        return dg.SensorResult(
            skip_reason=dg.SkipReason("no scorecard changed" if seen else "recorded scorecard versions"), cursor=cursor
        )
    return dg.SensorResult(run_requests=requests, cursor=cursor)
