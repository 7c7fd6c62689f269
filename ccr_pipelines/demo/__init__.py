"""``ccr demo``: a thin convenience over the definitions the Dagster daemon runs.

Drops the committed demo recordings (``demo/fixtures/raw``) into the local
inbox like an SFTP/S3 upload would, lists one suppressed subject (P18), then
ticks the *same sensors* the daemon ticks under ``make ui`` — inbox, the
tenant fan-outs, ``scores_to_marts_sensor``, ``scores_to_reports_sensor`` — and
executes the runs they request in this process (faster than launching each run
as a subprocess) against the persistent Dagster instance in
``$CCR_DATA_DIR/dagster_home``, the one ``make ui`` opens. Under ``make ui`` the
daemon does all of this by itself; the demo only saves waiting for its ticks.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from importlib import resources
from pathlib import Path

from ..core.catalog import TENANT_TAG, report_key
from ..core.redaction import TYPES as PII_TYPES

# A demo subject who objected: its recordings must be blocked at ingestion (P18).
# A fake number, reserved for the demo.
DEMO_SUPPRESSED_PHONE = "+33 6 00 00 00 99"


# The demo prints a summary; the per-event log is in the Dagster UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def fixtures_dir() -> Path:
    return Path(str(resources.files("ccr_pipelines.demo").joinpath("fixtures")))


def _prepare_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "dagster.yaml"
    if not cfg.exists():
        cfg.write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home.resolve())
    return home


def _seed_inbox(objects_root: Path, control, secret: str) -> int:
    """Copy the fixture tree into the inbox as files (bad keys included, as an uploader could)."""
    from ..core.subjects import subject_hash
    from ..stores.subjects import add_suppression

    src = fixtures_dir() / "raw"
    n = 0
    for path in sorted(src.rglob("*")):
        if path.is_file():
            dst = objects_root / "raw" / path.relative_to(src)
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dst)
            n += 1
    # One recording of the suppressed subject: same audio as a demo call, new call id.
    audio = next(p for p in sorted(src.rglob("*")) if p.suffix in (".flac", ".wav", ".ogg") and p.stat().st_size > 1000)
    day_dir = objects_root / "raw" / "acme-energie" / "2026" / "11" / "17"
    day_dir.mkdir(parents=True, exist_ok=True)
    (day_dir / "c-0990.json").write_text(
        json.dumps(
            {
                "agent_id": "ag-17",
                "direction": "inbound",
                "language": "fr",
                "started_at": "2026-11-17T10:00:00+01:00",
                "customer_phone": DEMO_SUPPRESSED_PHONE,
            }
        )
    )
    shutil.copyfile(audio, day_dir / f"c-0990{audio.suffix}")
    n += 2
    h = subject_hash(secret, "acme-energie", "phone", DEMO_SUPPRESSED_PHONE)
    add_suppression(control, "acme-energie", h, "phone", reason="objection (demo)", actor="ccr demo")
    control.audit(
        actor="ccr demo",
        entity="suppression_list",
        entity_id=f"acme-energie:{h[:16]}",
        change={"action": "add", "identifier_type": "phone"},
    )
    return n


def _wait_for_uploads_to_settle(inbox: Path, settle_s: float = 5.5) -> None:
    """The inbox sensor leaves objects younger than 5 s for its next tick (an upload may still be
    in flight): before ticking it, wait until the newest upload is that old — e.g. a demo killed
    right after seeding, resumed at once."""
    newest = max((p.stat().st_mtime for p in inbox.rglob("*") if p.is_file()), default=None) if inbox.exists() else None
    if newest is not None:
        time.sleep(max(0.0, min(settle_s, newest + settle_s - time.time())))


def run_demo(*, reset: bool = False, quiet: bool = False, resume: bool = False, verbose: bool = False) -> int:
    """Seed the inbox and run every stage; ``resume=True`` seeds nothing and processes what is there:
    new uploads in the inbox, and the work of a demo that was killed part-way."""
    import warnings

    warnings.filterwarnings("ignore", message=".*is currently in preview.*")

    import dagster as dg

    from ..platform import Platform
    from ..services.marts import prepare_dbt_manifest

    platform = Platform.load()
    s = platform.settings
    if s.env != "local" or s.object_store.kind != "local":
        print("ccr demo runs on the embedded default only (CCR_ENV=local)")
        return 2
    if resume and reset:
        print("ccr demo: --resume continues the data dir; it cannot be combined with --reset")
        return 2
    data_dir = platform.data_dir.resolve()
    if reset and data_dir.exists():
        shutil.rmtree(data_dir)  # before any store is opened
    data_dir.mkdir(parents=True, exist_ok=True)
    home = _prepare_home(platform.dagster_home)
    prepare_dbt_manifest()  # the marts assets are built from it (parsed once, offline)
    try:
        objects_root = platform.objects_root
        if resume:
            print(
                f"resume: no demo files seeded; processing what the inbox holds and finishing owed runs in {data_dir}",
                flush=True,
            )
            _wait_for_uploads_to_settle(objects_root / "raw")
            # a stage killed mid-write left a temp file beside its target: its writer is gone (P3)
            discarded = platform.object_store.discard_partial_writes()
            if discarded and not quiet:
                print(f"resume: discarded {discarded} partial write(s) of the killed run", flush=True)
        else:
            seeded = _seed_inbox(objects_root, platform.control_store, platform.subject_hash_key())
            if not quiet:
                print(f"seeded {seeded} file(s) into the inbox {objects_root / 'raw'}", flush=True)
            time.sleep(5.5)  # the sensor leaves objects younger than 5 s for the next tick

        from ..definitions import defs as load_defs
        from ..defs.platform.assets import tenant_registry

        definitions = load_defs()
        instance = dg.DagsterInstance.get()
        ok = dg.materialize(
            [tenant_registry], instance=instance, resources=definitions.resources, run_config=QUIET
        ).success
        log_path = data_dir / "logs" / "dbt.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        failed = 0
        report_paths: list[Path] = []
        stages, by_key = _stages()
        for stage in stages:
            outcome = _run_stage(
                stage,
                by_key,
                instance=instance,
                definitions=definitions,
                log_path=log_path,
                verbose=verbose,
                objects_root=objects_root,
            )
            failed += outcome["failures"]
            report_paths += outcome["report_paths"]
            print(_stage_line(stage, outcome, log_path), flush=True)
        events = _export_openlineage(instance, definitions.resources)
        _print_outputs(platform, home, events, report_paths)
    finally:
        platform.close()
    return 0 if ok and failed == 0 else 1


def _stages():
    """Each stage: its name, the sensor that starts it under the daemon, the asset its runs materialize
    by default and the metadata counters its summary adds up; and every stage asset by key."""
    from ..defs.analyze.assets import call_metrics, call_scores, playback_audio, redacted_transcripts
    from ..defs.analyze.sensors import (
        redacted_to_metrics_sensor,
        redacted_to_playback_sensor,
        redacted_to_scores_sensor,
        transcripts_to_redacted_sensor,
    )
    from ..defs.ingest.assets import call_manifest
    from ..defs.ingest.sensors import raw_recordings_sensor
    from ..defs.reports.assets import tenant_monthly_reports, tenant_weekly_reports
    from ..defs.reports.sensors import scores_to_reports_sensor
    from ..defs.transcribe.assets import transcripts
    from ..defs.transcribe.sensors import manifest_to_transcripts_sensor
    from ..defs.warehouse.assets import ccr_dbt_marts
    from ..defs.warehouse.sensors import scores_to_marts_sensor

    stages = [
        ("ingest", raw_recordings_sensor, call_manifest, ("accepted", "quarantined", "duplicate", "suppressed")),
        ("transcribe", manifest_to_transcripts_sensor, transcripts, ("transcribed", "failed", "segments")),
        (
            "redact",
            transcripts_to_redacted_sensor,
            redacted_transcripts,
            ("segments", *(f"pii_{t}" for t in PII_TYPES)),
        ),
        ("playback", redacted_to_playback_sensor, playback_audio, ("calls", "silenced_calls")),
        ("metrics", redacted_to_metrics_sensor, call_metrics, ("calls",)),
        (
            "score",
            redacted_to_scores_sensor,
            call_scores,
            ("calls", "needs_review", "auto_failed", "negative_end", "category_hits"),
        ),
        ("marts", scores_to_marts_sensor, ccr_dbt_marts, ()),
        ("reports", scores_to_reports_sensor, None, ()),
    ]
    by_key = {
        k.to_user_string(): a
        for a in (
            call_manifest,
            transcripts,
            redacted_transcripts,
            playback_audio,
            call_metrics,
            call_scores,
            ccr_dbt_marts,
            tenant_weekly_reports,
            tenant_monthly_reports,
        )
        for k in a.keys
    }
    return stages, by_key


def _tick(sensor, state: dict, *, instance, definitions) -> list[dict]:
    """One sensor tick, as the daemon does it: its run requests are stored with its cursor (a run is
    dropped from them only once it has ended, so a demo killed part-way re-executes the interrupted
    runs when resumed; production: run_retries). Returns the requests, [] when it asked for none."""
    import dagster as dg

    with dg.build_sensor_context(
        instance=instance, resources=definitions.resources, definitions=definitions, cursor=state["cursor"]
    ) as ctx:
        result = sensor(ctx)
        cursor = ctx.cursor
    if isinstance(result, dg.SkipReason):
        return []
    if not result.run_requests:
        _save_sensor_state(instance, sensor.name, result.cursor or cursor or state["cursor"], [])
        return []
    pending = [
        {
            "partition_key": rr.partition_key,
            "run_config": rr.run_config,
            "tags": rr.tags,
            "run_key": rr.run_key,
            "assets": sorted({k.to_user_string() for k in rr.asset_selection or []}),
        }
        for rr in result.run_requests
    ]
    _save_sensor_state(instance, sensor.name, result.cursor or state["cursor"], pending)
    return pending


def _run_stage(
    stage, by_key: dict, *, instance, definitions, log_path: Path, verbose: bool, objects_root: Path
) -> dict:
    """Tick the stage's sensor and execute the runs it requests, in this process, until it asks for none."""
    import contextlib

    import dagster as dg

    name, sensor, default, counters = stage
    totals: Counter = Counter()
    runs = failures = 0
    dbt_summary: dict = {}
    report_paths: list[Path] = []
    while True:
        state = _sensor_state(instance, sensor.name)
        pending = state["pending"] or _tick(sensor, state, instance=instance, definitions=definitions)
        if not pending:
            break
        while pending:
            rr = pending[0]
            assets = list({id(by_key[k]): by_key[k] for k in rr.get("assets") or []}.values()) or [default]
            with contextlib.ExitStack() as stack:
                if name == "marts" and not verbose:  # dbt prints its whole log on stdout: to var/logs/dbt.log
                    stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(log_path, "a"))))
                r = dg.materialize(
                    assets,
                    instance=instance,
                    resources=definitions.resources,
                    partition_key=rr["partition_key"],
                    run_config={**rr["run_config"], **QUIET},
                    tags={**rr["tags"], "dagster/run_key": rr["run_key"]},
                    raise_on_error=False,
                )
            runs += 1
            failures += 0 if r.success else 1
            for ev in r.get_asset_materialization_events():
                md = ev.materialization.metadata
                for c in counters:
                    totals[c] += md[c].value if c in md else 0
            for ev in r.get_asset_observation_events():
                dbt_summary = {
                    k[4:]: v.value
                    for k, v in ev.asset_observation_data.asset_observation.metadata.items()
                    if k.startswith("dbt_")
                } or dbt_summary
            if name == "reports":
                kind = "weekly" if "weekly" in rr["assets"][0] else "monthly"
                report_paths.append(
                    objects_root / report_key(rr["tags"][TENANT_TAG], kind, rr["tags"]["ccr/period"], "report.html")
                )
            pending = pending[1:]
            _save_sensor_state(instance, sensor.name, _sensor_state(instance, sensor.name)["cursor"], pending)
    return {"runs": runs, "failures": failures, "totals": totals, "dbt": dbt_summary, "report_paths": report_paths}


def _stage_line(stage, outcome: dict, log_path: Path) -> str:
    name, counters = stage[0], stage[3]
    runs, failures = outcome["runs"], outcome["failures"]
    if name == "marts":
        if not runs:
            return "marts: up to date (no new scores since the last build)"
        if failures:
            return f"marts: FAILED (dbt log: {log_path})"
        d = outcome["dbt"]
        return (
            f"marts: built; dbt build PASS={d.get('pass')} WARN={d.get('warn')} ERROR={d.get('error')} "
            f"SKIP={d.get('skip')} TOTAL={d.get('total')} (tests passed {d.get('tests_pass')}/"
            f"{d.get('tests_total')}); dbt log: {log_path}"
        )
    if name == "reports":
        return (
            f"reports: {runs} run(s); {runs - failures} delivered (HTML + CSV/Parquet extracts + manifest.json; "
            "sections: KPIs, trends, call drivers, sentiment, categories, compliance, review)"
        )
    return f"{name}: {runs} run(s); " + ", ".join(f"{k}={outcome['totals'][k]}" for k in counters)


def _print_outputs(platform, home: Path, events: int, report_paths: list[Path]) -> None:
    objects_root = platform.objects_root
    print(
        f"lineage: {events} OpenLineage event(s) under {objects_root / 'lineage' / 'openlineage'}; "
        "try: ccr lineage call acme-energie <call id>"
    )
    print(f"outputs under {platform.data_dir.resolve()}:")
    print(f"  manifest (Parquet)  {objects_root / 'datasets'}")
    print(f"  accepted audio      {objects_root / 'audio'}")
    print(f"  quarantine          {objects_root / 'quarantine'}  (reason.json beside each object)")
    print(f"  transcripts         {objects_root / 'restricted'}  (restricted zone: transcript text)")
    print(f"  redacted segments   {objects_root / 'datasets'}/*/redacted_segments  (what analytics read)")
    print(f"  call metrics        {objects_root / 'datasets'}/*/call_metrics")
    print(
        f"  call scores         {objects_root / 'datasets'}/*/call_scores  (automated, unreviewed; review queue in the control store)"
    )
    print(
        f"  sentiment           {objects_root / 'datasets'}/*/turn_sentiment, call_sentiment  (per turn and per call, FR/EN)"
    )
    print(f"  categories, drivers {objects_root / 'datasets'}/*/call_categories  (each hit with its time points)")
    print(f"  call cards          {objects_root / 'datasets'}/*/call_cards  (driver, outcome, the agent's commitments)")
    print(f"  marts (DuckDB)      {platform.marts.duckdb_file}")
    print(f"  control store       {platform.settings.control_url()}")
    print("  tenant reports      (automated scores, unvalidated until reviewed)")
    for path in report_paths:
        print(f"    {path}")
    print("see the ledger: .venv/bin/ccr ingest status")
    print(f"open the Dagster UI: make ui   (DAGSTER_HOME={home}; http://127.0.0.1:3000)")


def _state_path(instance, sensor_name: str) -> Path:
    return Path(instance.root_directory) / f"demo_sensor_{sensor_name}.json"


def _sensor_state(instance, sensor_name: str) -> dict:
    """The demo's stand-in for the daemon's tick storage: the sensor cursor and the runs it
    requested that have not ended yet."""
    p = _state_path(instance, sensor_name)
    return json.loads(p.read_text()) if p.exists() else {"cursor": None, "pending": []}


def _save_sensor_state(instance, sensor_name: str, cursor: str | None, pending: list[dict]) -> None:
    p = _state_path(instance, sensor_name)
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps({"cursor": cursor, "pending": pending}))
    os.replace(tmp, p)  # atomic: a kill leaves the old state or the new one


def _export_openlineage(instance, resources_) -> int:
    """What the run-status sensors do under the daemon: each run's OpenLineage events (P13)."""
    from ..defs.lineage.export import export_run

    control, store = resources_["control_store"].get(), resources_["object_store"].get()
    return sum(export_run(instance, r.run_id, control, store) for r in instance.get_runs())
