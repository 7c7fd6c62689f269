"""Dagster's run storage for the erasure scan (P16, P17): ``services/dsr`` reads it through the
``RunStorage`` protocol, one text per run; this adapter is the only part that imports Dagster."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path


class DagsterRunStorage:
    """A Dagster instance's runs: their config, tags and event log, one text per run."""

    def __init__(self, instance, source: str):
        self.instance = instance
        self.source = source

    def run_texts(self) -> Iterator[str]:
        import dagster as dg

        inst = self.instance
        for record in inst.get_run_records():
            run = record.dagster_run
            texts = [json.dumps(run.run_config, default=str), json.dumps(dict(run.tags), default=str)]
            for entry in inst.all_logs(run.run_id):
                texts.append(entry.user_message or "")
                if entry.dagster_event is not None:
                    texts.append(
                        dg.serialize_value(entry.dagster_event)
                        if hasattr(dg, "serialize_value")
                        else str(entry.dagster_event)
                    )
            yield "\n".join(texts)


def of_running_job(instance) -> DagsterRunStorage:
    """The running job's own instance (the Dagster DSR jobs)."""
    return DagsterRunStorage(instance, "the running job's instance")


def at_home(dagster_home: str | os.PathLike | None = None) -> DagsterRunStorage | None:
    """The instance in *dagster_home* (the embedded default's ``{data_dir}/dagster_home``), else the one in
    ``$DAGSTER_HOME``, when that folder exists; None when there is none (the receipt then says so)."""
    home = dagster_home or os.environ.get("DAGSTER_HOME")
    if not home or not Path(home).is_dir():
        return None
    import dagster as dg

    return DagsterRunStorage(
        dg.DagsterInstance.from_config(str(home)), "DAGSTER_HOME" if not dagster_home else "the data dir's dagster_home"
    )
