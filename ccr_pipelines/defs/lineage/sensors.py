"""OpenLineage export on run completion (P13): START and COMPLETE/FAIL per asset materialization."""

import dagster as dg

from ...resources import ControlStoreResource, ObjectStoreResource
from .export import export_run


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="openlineage_success_sensor",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def openlineage_success_sensor(
    context: dg.RunStatusSensorContext, control_store: ControlStoreResource, object_store: ObjectStoreResource
):
    """Writes the finished run's OpenLineage events (NDJSON in the object store; HTTP if configured)."""
    export_run(context.instance, context.dagster_run.run_id, control_store.get(), object_store.get())


@dg.run_failure_sensor(
    name="openlineage_failure_sensor", default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=30
)
def openlineage_failure_sensor(
    context: dg.RunFailureSensorContext, control_store: ControlStoreResource, object_store: ObjectStoreResource
):
    """Same for a failed run: START and FAIL for the assets it did not materialize."""
    export_run(context.instance, context.dagster_run.run_id, control_store.get(), object_store.get())
