"""The inbox sensor: new recordings under ``raw/`` -> call_manifest runs."""

from datetime import UTC, datetime, timedelta

import dagster as dg

from ...core.catalog import TENANT_TAG
from ...core.ingest import UNROUTED
from ...core.ingest_sensor import Cursor, key_digest, plan_tick
from ...resources import IngestConfigResource, ObjectStoreResource, TenantRegistryResource
from ...services.ingest import MIN_DAY
from ..shared.intervals import interval_s
from .assets import CALL_MANIFEST_KEY, call_manifest

INBOX_PREFIX = "raw/"
OP_NAME = CALL_MANIFEST_KEY.to_python_identifier()
BATCH_SIZE = 200  # keys per run: keeps run config small and a failed run cheap to retry


def run_config_for(tenant_id: str, keys: list[str], secret: str) -> dict:
    """The batch as keyed digests of its keys: run config is kept by Dagster for good (P17)."""
    return {
        "ops": {
            OP_NAME: {
                "config": {
                    "tenant_id": "" if tenant_id == UNROUTED else tenant_id,
                    "key_digests": [key_digest(secret, k) for k in keys],
                }
            }
        }
    }


@dg.sensor(
    asset_selection=[call_manifest],
    minimum_interval_seconds=interval_s(30),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the inbox (raw/) and requests one call_manifest run per tenant-day batch of new objects.",
)
def raw_recordings_sensor(
    context: dg.SensorEvaluationContext,
    object_store: ObjectStoreResource,
    tenant_registry: TenantRegistryResource,
    ingest_config: IngestConfigResource,
) -> dg.SensorResult | dg.SkipReason:
    registry = tenant_registry.get()
    plan = plan_tick(
        object_store.get().list(INBOX_PREFIX),
        Cursor.from_json(context.cursor),
        known_tenants=set(registry.ids()),
        now=datetime.now(UTC),
        min_day=MIN_DAY,
        limit=ingest_config.sensor_max_objects_per_tick,
        batch_size=BATCH_SIZE,
        straggler_after=timedelta(hours=6),
    )
    if not plan.batches:
        return dg.SkipReason(plan.skip_reason or "nothing to do")
    if plan.pending_after_limit:
        context.log.info(f"{plan.pending_after_limit} new object(s) left for the next tick (limit per tick)")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=b.run_key,
                partition_key=b.day,
                run_config=run_config_for(b.tenant_id, list(b.keys), ingest_config.subject_hash_key),
                tags={TENANT_TAG: b.tenant_id, "ccr/straggler": str(b.straggler).lower()},
            )
            for b in plan.batches
        ],
        cursor=plan.cursor.to_json() if plan.cursor else context.cursor,
    )
