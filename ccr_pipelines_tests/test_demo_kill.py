"""The demo pipeline killed (SIGKILL, the whole process group: ASR worker included) during every
stage, each time resumed, ends in the same state as an unkilled run: same ledger, manifest,
transcripts, redacted segments, metrics, scores and reports — nothing lost, nothing doubled (P3, P6).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from ccr_pipelines.services.ingest import MANIFEST_DATASET
from ccr_pipelines.services.metrics import METRICS_DATASET
from ccr_pipelines.services.redact import REDACTED_DATASET
from ccr_pipelines.services.score import SCORES_DATASET
from ccr_pipelines.services.transcribe import CALLS_DATASET
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .fault_helpers import record_figures

REPO = Path(__file__).resolve().parents[1]
TENANTS = ("acme-energie", "globex-support")


# When to kill: (stage, the line whose appearance starts the clock, seconds after it) — the
# demo prints a stage's line when the stage is done, so a kill shortly after lands inside the
# next stage — or (stage, a first side effect of that stage to wait for, 0).
def _ledger_has_rows(data_dir: Path) -> bool:
    try:
        with sqlite3.connect(data_dir / "control.db", timeout=1) as db:
            return db.execute("SELECT count(*) FROM ingest_events").fetchone()[0] > 0
    except sqlite3.Error:
        return False


def _a_transcript_exists(data_dir: Path) -> bool:
    return any(p.is_file() for p in (data_dir / "objects" / "restricted").rglob("*"))


def _a_partition_of(dataset: str):
    """A predicate: the first tenant-day of *dataset* is written (metrics and scoring take < 1 s a
    run: a kill timed from the previous stage's line would land after them)."""

    def written(data_dir: Path) -> bool:
        return any(p.is_file() for p in (data_dir / "objects" / "datasets").glob(f"*/{dataset}/**/*"))

    return written


KILL_POINTS = [
    ("seed", "seeded ", 1.0),  # during the inbox settle wait, nothing ingested yet
    ("ingest", _ledger_has_rows, 0),  # the first ingest batch committed, others not yet
    ("transcribe", _a_transcript_exists, 0),  # the ASR worker has written its first transcript
    ("redact", "transcribe:", 1.0),
    ("metrics", _a_partition_of("call_metrics"), 0),  # the first tenant-day's metrics written
    ("score", _a_partition_of("call_scores"), 0),  # the first tenant-day's scores written
    ("marts", "score:", 1.0),
    ("reports", "marts:", 0.5),
]


def _sensor_names() -> dict[str, str]:
    from ccr_pipelines.defs.analyze.sensors import (
        redacted_to_metrics_sensor,
        redacted_to_scores_sensor,
        transcripts_to_redacted_sensor,
    )
    from ccr_pipelines.defs.ingest.sensors import raw_recordings_sensor
    from ccr_pipelines.defs.transcribe.sensors import manifest_to_transcripts_sensor

    return {
        "ingest": raw_recordings_sensor.name,
        "transcribe": manifest_to_transcripts_sensor.name,
        "redact": transcripts_to_redacted_sensor.name,
        "metrics": redacted_to_metrics_sensor.name,
        "score": redacted_to_scores_sensor.name,
    }


def _at_kill(data_dir: Path) -> dict:
    """Where the killed demo stood: the runs each stage still owed, the report files written."""
    home = data_dir / "dagster_home"
    owed = {}
    for stage, sensor in _sensor_names().items():
        state = home / f"demo_sensor_{sensor}.json"
        owed[stage] = len(json.loads(state.read_text())["pending"]) if state.exists() else None  # None: never ticked
    reports = data_dir / "objects" / "reports"
    return {
        "owed": owed,
        "report_files": len([p for p in reports.rglob("*") if p.is_file()]) if reports.exists() else 0,
    }


def _interrupted(stage: str, at: dict, reference_reports: int) -> bool:
    """Did the kill land inside *stage* (its work begun or due, not finished)?"""
    owed = at["owed"]
    order = list(_sensor_names())
    if stage == "seed":
        return owed["ingest"] is None
    if stage in order:
        earlier_done = all(owed[s] == 0 for s in order[: order.index(stage)])
        return earlier_done and owed[stage] != 0  # None (tick not stored yet) or runs still owed
    if stage == "marts":
        return all(v == 0 for v in owed.values()) and at["report_files"] == 0
    return 0 < at["report_files"] < reference_reports or (
        at["report_files"] == 0 and all(v == 0 for v in owed.values())
    )


def _env(data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCR_", "DAGSTER_HOME"))}
    return {
        **env,
        "CCR_ENV": "local",
        "CCR_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(REPO),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "PYTHONUNBUFFERED": "1",
    }


def _demo(data_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "ccr_pipelines.cli", "demo", *args],
        cwd=REPO,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _run_killed(data_dir: Path, args: list[str], trigger, delay: float) -> bool:
    """Run the demo; SIGKILL its process group *delay* s after *trigger* (a line prefix, or a
    predicate on the data dir). True if the process died by that signal."""
    proc = _demo(data_dir, *args)
    fired = threading.Event()

    def kill():
        fired.set()
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)

    def watch():
        while proc.poll() is None and not fired.is_set():
            if trigger(data_dir):
                kill()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch if callable(trigger) else lambda: None, daemon=True)
    watcher.start()
    killer = None
    for line in proc.stdout:
        if not callable(trigger) and killer is None and line.startswith(trigger):
            killer = threading.Thread(target=kill, daemon=True)
            killer.start()
    proc.wait(timeout=900)
    watcher.join()
    if killer:
        killer.join()
    return proc.returncode == -signal.SIGKILL


def _state(data_dir: Path) -> dict:
    """Everything the demo produces, in comparable form (no timestamps, no run ids)."""
    objects = data_dir / "objects"
    wh = Warehouse(LocalObjectStore(objects))
    state: dict = {}
    with sqlite3.connect(data_dir / "control.db") as db:
        state["ledger"] = Counter(
            db.execute(
                "SELECT tenant_id, partition_key, source_key, outcome, reason, call_id FROM ingest_events"
            ).fetchall()
        )
        state["suppression_rows"] = db.execute("SELECT count(*) FROM suppression_list").fetchone()[0]
    for dataset, column in (
        (MANIFEST_DATASET, "call_id"),
        (CALLS_DATASET, "status"),
        (REDACTED_DATASET, "call_id"),
        (METRICS_DATASET, "call_id"),
        (SCORES_DATASET, "score"),
    ):
        rows = []
        for tenant in TENANTS:
            for day in wh.partitions(dataset, tenant):
                table = wh.read_partition(dataset, tenant, day)
                rows += [(tenant, day, r["call_id"], r[column]) for r in table.to_pylist()]
        state[dataset] = Counter(rows)
    state["inbox"] = sorted(str(p.relative_to(objects)) for p in (objects / "raw").rglob("*") if p.is_file())
    state["audio"] = sorted(str(p.relative_to(objects)) for p in (objects / "audio").rglob("*") if p.is_file())
    state["quarantined"] = len([p for p in (objects / "quarantine").rglob("*") if p.is_file()])
    state["reports"] = sorted(str(p.relative_to(objects)) for p in (objects / "reports").rglob("*") if p.is_file())
    return state


@pytest.mark.slow
def test_the_demo_killed_in_every_stage_and_resumed_ends_like_an_unkilled_run(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference = _demo(reference_dir, "--reset", "--quiet")  # runs alongside the killed chain
    kills = []
    for i, (stage, trigger, delay) in enumerate(KILL_POINTS):
        args = ["--reset"] if i == 0 else ["--resume"]
        kills.append((stage, _run_killed(killed_dir, args, trigger, delay), _at_kill(killed_dir)))
    final = _demo(killed_dir, "--resume")
    out, _ = final.communicate(timeout=900)
    ref_out, _ = reference.communicate(timeout=900)
    assert reference.returncode == 0, ref_out[-3000:]
    assert final.returncode == 0, out[-3000:]
    assert all(killed for _stage, killed, _at in kills), [(s, k) for s, k, _a in kills]  # each died by SIGKILL

    ref, got = _state(reference_dir), _state(killed_dir)
    for stage, _killed, at in kills:  # and each kill landed inside its stage
        assert _interrupted(stage, at, len(ref["reports"])), (stage, at)
    for part in ref:
        assert got[part] == ref[part], part
    # and the reference itself is whole: every call once per dataset, the inbox empty
    assert ref["inbox"] == [] and ref["suppression_rows"] == 1
    for dataset in (MANIFEST_DATASET, CALLS_DATASET, REDACTED_DATASET, METRICS_DATASET, SCORES_DATASET):
        assert (
            max(Counter((t, d, c) for t, d, c, _ in ref[dataset] if dataset != REDACTED_DATASET).values(), default=1)
            == 1
        )
    outcomes = Counter()
    for (_t, _p, _k, outcome, _r, _c), n in ref["ledger"].items():
        outcomes[outcome] += n
    record_figures(
        "demo_killed_every_stage",
        kills=len(kills),
        stages=[s for s, _k, _a in kills],
        at_each_kill={s: a for s, _k, a in kills},
        ledger_rows=sum(ref["ledger"].values()),
        ledger_outcomes=dict(outcomes),
        manifest_rows=sum(ref[MANIFEST_DATASET].values()),
        transcript_calls=sum(ref[CALLS_DATASET].values()),
        redacted_segments=sum(ref[REDACTED_DATASET].values()),
        metrics_rows=sum(ref[METRICS_DATASET].values()),
        scores_rows=sum(ref[SCORES_DATASET].values()),
        report_files=len(ref["reports"]),
        identical_end_state=True,
    )
