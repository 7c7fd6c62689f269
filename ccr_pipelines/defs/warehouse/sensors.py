"""Rebuild the marts after new metrics or scores (the daemon is the pipeline: nothing else asks)."""

import dagster as dg

from ..analyze.assets import CALL_METRICS_KEY, CALL_SCORES_KEY
from ..shared.intervals import interval_s
from .assets import ccr_dbt_marts

MARTS_TAG = "ccr/marts"
UPSTREAM = (CALL_SCORES_KEY, CALL_METRICS_KEY)
_UNFINISHED = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _newest_storage_ids(instance: dg.DagsterInstance) -> dict[str, int]:
    out = {}
    for key in UPSTREAM:
        result = instance.fetch_materializations(key, limit=1, ascending=False)
        if result.records:
            out[key.to_user_string()] = result.records[0].storage_id
    return out


@dg.sensor(
    asset_selection=[ccr_dbt_marts],
    minimum_interval_seconds=interval_s(60),
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When call_scores or call_metrics gained a materialization since the last build, "
    "requests one dbt build of the marts (rebuilt whole over every tenant's partitions); "
    "waits while a build is queued or running (one DuckDB file, one writer).",
)
def scores_to_marts_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    import json

    built_from = json.loads(context.cursor) if context.cursor else {}
    newest = _newest_storage_ids(context.instance)
    if not newest or all(built_from.get(k) == v for k, v in newest.items()):
        return dg.SkipReason("no new scores or metrics since the last marts build")
    if context.instance.get_runs(filters=dg.RunsFilter(tags={MARTS_TAG: "rebuild"}, statuses=_UNFINISHED), limit=1):
        return dg.SkipReason("a marts build is queued or running; new scores wait for the next tick")
    cursor = json.dumps(newest, sort_keys=True)
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key="marts:" + ":".join(str(v) for _, v in sorted(newest.items())), tags={MARTS_TAG: "rebuild"}
            )
        ],
        cursor=cursor,
    )
