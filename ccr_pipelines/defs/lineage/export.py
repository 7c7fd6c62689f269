"""Read one Dagster run's event log into plain per-asset records for the OpenLineage builder (P13)."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dagster as dg

from ...services.openlineage import AssetRun, emit, events_for_run

DAGSTER_EVENTS = (
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
)


def asset_runs(instance: dg.DagsterInstance, run_id: str) -> list[AssetRun]:
    """Every asset the run planned: materialized (ok) or not (failed), with times, row count, checks."""
    starts: dict[str, float] = {}
    failures: dict[str, tuple[float, str]] = {}
    planned: dict[tuple[str, str | None], str] = {}
    done: dict[tuple[str, str | None], tuple[float, int | None]] = {}
    checks: dict[str, list[tuple[str, bool]]] = {}
    for entry in instance.all_logs(run_id, of_type=set(DAGSTER_EVENTS)):
        ev = entry.dagster_event
        if ev is None:
            continue
        step = ev.step_key or ""
        if ev.event_type == dg.DagsterEventType.STEP_START:
            starts[step] = entry.timestamp
        elif ev.event_type == dg.DagsterEventType.STEP_FAILURE:
            err = ev.step_failure_data.error
            # the error class only: a message may carry values (no personal data in lineage)
            failures[step] = (entry.timestamp, err.cls_name if err else "step failure")
        elif ev.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            data = ev.event_specific_data
            planned[(data.asset_key.to_user_string(), getattr(data, "partition", None))] = step
        elif ev.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = ev.step_materialization_data.materialization
            rc = mat.metadata.get("dagster/row_count")
            done[(mat.asset_key.to_user_string(), mat.partition)] = (
                entry.timestamp,
                int(rc.value) if rc is not None and rc.value is not None else None,
            )
            planned.setdefault((mat.asset_key.to_user_string(), mat.partition), step)
        elif ev.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            data = ev.event_specific_data
            checks.setdefault(data.asset_key.to_user_string(), []).append((data.check_name, bool(data.passed)))
    out = []
    for (key, partition), step in sorted(planned.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        started = _dt(starts.get(step))
        if (key, partition) in done:
            at, rc = done[(key, partition)]
            out.append(AssetRun(key, partition, started or _dt(at), _dt(at), True, rc, checks.get(key, [])))
        else:
            at, err = failures.get(step, (None, "not materialized"))
            out.append(AssetRun(key, partition, started or _dt(at), _dt(at), False, error=err))
    return out


def _dt(ts: float | None) -> datetime:
    return datetime.fromtimestamp(ts, UTC) if ts else datetime.now(UTC)


def export_run(instance: dg.DagsterInstance, run_id: str, control, store) -> int:
    """Build the run's events, write them to the object store (and POST them if OPENLINEAGE_URL is set)."""
    assets = asset_runs(instance, run_id)
    if not assets:
        return 0
    events = events_for_run(
        control, run_id, assets, engine_version=dg.__version__, datasets_root=store.uri("datasets/x")[:-2]
    )
    if not events:
        return 0
    emit(
        events,
        store=store,
        dagster_run_id=run_id,
        day=assets[0].started.date().isoformat(),
        url=os.environ.get("OPENLINEAGE_URL"),
        api_key=os.environ.get("OPENLINEAGE_API_KEY"),
    )
    return len(events)
