"""Issue 16: "backfills without config fan out over every active tenant", through Dagster's own backfill
machinery. `dagster-webserver` and `dagster-daemon` run as subprocesses on a temporary DAGSTER_HOME with
Dagster's default SQLite storage and the embedded-default ccr settings; a partition backfill of
`silver/ingest/call_manifest` over two day partitions is launched through the webserver's GraphQL API
(`launchPartitionBackfill`, no run config) and the daemon's backfill loop runs it.

Every sensor and schedule is stopped (through GraphQL, before the daemon starts) so that the inbox sensor
cannot race the backfill for the same recordings, and nothing downstream (transcription) starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .audio_helpers import wav_bytes
from .conftest import require
from .ingest_helpers import names_call
from .test_daemon_e2e import _free_port, _stop, _wait

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ASSET = ["silver", "ingest", "call_manifest"]
DAYS = ["2026-11-16", "2026-11-17"]
ACTIVE = ["acme-energie", "globex-support"]
SUSPENDED = "initech-paused"


def _gql(port: int, query: str, variables: dict | None = None) -> dict:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        body = json.loads(resp.read())
    assert not body.get("errors"), body["errors"]
    return body["data"]


INSTIGATORS = """{ repositoriesOrError { __typename ... on RepositoryConnection { nodes {
  sensors { id name sensorState { status } } schedules { id name scheduleState { status } } } } } }"""
STOP_SENSOR = """mutation($id: String) { stopSensor(id: $id) { __typename
  ... on StopSensorMutationResult { instigationState { status } } ... on PythonError { message } } }"""
STOP_SCHEDULE = """mutation($id: String) { stopRunningSchedule(id: $id) { __typename
  ... on ScheduleStateResult { scheduleState { status } } ... on PythonError { message } } }"""
LAUNCH = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on Error { message } } }"""
BACKFILL = """query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename
  ... on PartitionBackfill { status numPartitions error { message }
    runs { runId status runConfigYaml tags { key value } } } ... on PythonError { message } } }"""


def _stop_instigators(port: int) -> int:
    """Stop every sensor and schedule (most are RUNNING by default); returns how many were stopped."""
    repos = _gql(port, INSTIGATORS)["repositoriesOrError"]
    assert repos["__typename"] == "RepositoryConnection", repos
    stopped = 0
    for repo in repos["nodes"]:
        for s in repo["sensors"]:
            if s["sensorState"]["status"] == "RUNNING":
                r = _gql(port, STOP_SENSOR, {"id": s["id"]})["stopSensor"]
                assert r["__typename"] == "StopSensorMutationResult", (s["name"], r)
                stopped += 1
        for s in repo["schedules"]:
            if s["scheduleState"]["status"] == "RUNNING":
                r = _gql(port, STOP_SCHEDULE, {"id": s["id"]})["stopRunningSchedule"]
                assert r["__typename"] == "ScheduleStateResult", (s["name"], r)
                stopped += 1
    after = _gql(port, INSTIGATORS)["repositoriesOrError"]["nodes"]
    assert all(s["sensorState"]["status"] == "STOPPED" for r in after for s in r["sensors"])
    assert all(s["scheduleState"]["status"] == "STOPPED" for r in after for s in r["schedules"])
    return stopped


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 2-3 min on 2 idle cores
def test_a_daemon_backfill_without_config_fans_out_over_active_tenants_only_P4_P12(tmp_path):
    require(
        all((BIN / b).exists() for b in ("dagster", "dagster-daemon", "dagster-webserver")),
        "dagster, dagster-daemon and dagster-webserver executables next to the interpreter",
    )
    data = tmp_path / "var"
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\nnux:\n  enabled: false\nconcurrency:\n  runs:\n    max_concurrent_runs: 2\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CCR_", "DAGSTER_"))}
    env.update(
        CCR_ENV="local",
        CCR_DATA_DIR=str(data),
        CCR_TENANTS_FILE=str(REPO / "ccr_pipelines" / "config" / "tenants" / "local.yaml"),
        DAGSTER_HOME=str(home),
        DAGSTER_DISABLE_TELEMETRY="1",
        PYTHONPATH=str(REPO),
        PYTHONUNBUFFERED="1",
    )
    # the inbox: one small recording per tenant and day (distinct audio, so no duplicate), the suspended one too
    inbox = data / "objects" / "raw"
    for n, (tenant, day) in enumerate((t, d) for t in ACTIVE + [SUSPENDED] for d in DAYS):
        folder = inbox / tenant / day.replace("-", "/")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"c-{5100 + n}.wav").write_bytes(wav_bytes(1.0, seed=n + 1, freq=300.0 + 40 * n))

    started = time.time()
    log = tmp_path / "daemon.log"
    port = _free_port()
    subprocess.run(
        [str(BIN / "dagster"), "instance", "migrate"], cwd=REPO, env=env, check=True, capture_output=True, timeout=300
    )
    procs: list = []
    with open(log, "w") as out:
        procs.append(
            subprocess.Popen(
                [str(BIN / "dagster-webserver"), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                cwd=REPO,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    try:

        def webserver_up():
            try:
                return urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).status == 200
            except OSError:
                return False

        _wait("the webserver", webserver_up, 180, procs, log)
        # sensors off before the daemon exists: the inbox sensor would ingest the same files itself
        assert _stop_instigators(port) > 0
        launched = _gql(
            port,
            LAUNCH,
            {
                "params": {
                    "assetSelection": [{"path": ASSET}],
                    "partitionNames": DAYS,
                    "fromFailure": False,
                    "title": "issue 16 backfill without config",
                }
            },
        )["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        backfill_id = launched["backfillId"]
        with open(log, "a") as out:
            procs.append(
                subprocess.Popen(
                    [str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                    cwd=REPO,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

        def finished():
            b = _gql(port, BACKFILL, {"id": backfill_id})["partitionBackfillOrError"]
            assert b["__typename"] == "PartitionBackfill", b
            return b if b["status"] not in ("REQUESTED", "CANCELING", "FAILING") else None

        backfill = _wait("the backfill", finished, 240, procs, log, step=3)
    finally:
        _stop(procs, home)
    elapsed = time.time() - started
    assert backfill["status"] in ("COMPLETED_SUCCESS", "COMPLETED"), (backfill, log.read_text()[-4000:])

    # one run per day partition, each launched with no run config and nothing personal in its tags
    runs = backfill["runs"]
    assert sorted(t["value"] for r in runs for t in r["tags"] if t["key"] == "dagster/partition") == DAYS
    assert all(r["status"] == "SUCCESS" for r in runs), runs
    for r in runs:
        assert r["runConfigYaml"].strip() in ("{}", ""), r["runConfigYaml"]
        assert {t["key"] for t in r["tags"]}.isdisjoint({"ccr/tenant"})  # a fan-out run names no tenant
        text = json.dumps(r)
        assert not names_call(text, "c-51") and ".wav" not in text and "raw/" not in text, text

    import dagster as dg

    from ccr_pipelines.defs.shared.fanout import metadata_count, tenant_days
    from ccr_pipelines.services.ingest import MANIFEST_DATASET
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        records = instance.fetch_materializations(dg.AssetKey(ASSET), limit=50).records
        assert sorted(r.partition_key for r in records) == DAYS  # each day materialized exactly once
        for rec in records:
            mat = rec.asset_materialization
            assert mat.metadata["tenant_count"].value == 2
            per_tenant = dict(tenant_days(mat))
            assert sorted(per_tenant) == ACTIVE  # the suspended tenant is not in the fan-out (P12)
            assert all(metadata_count(md, "accepted") == 1 for md in per_tenant.values()), per_tenant
            meta_text = json.dumps({k: str(v.value) for k, v in mat.metadata.items()})
            assert not names_call(meta_text, "c-51") and ".wav" not in meta_text, meta_text
    finally:
        instance.dispose()

    # the manifests: each tenant's call in its own tenant-day partition, nothing for the suspended tenant (P4, P12)
    wh = Warehouse(LocalObjectStore(data / "objects"))
    for n, (tenant, day) in enumerate((t, d) for t in ACTIVE + [SUSPENDED] for d in DAYS):
        table = wh.read_partition(MANIFEST_DATASET, tenant, day)
        if tenant == SUSPENDED:
            assert table is None or table.num_rows == 0
            assert (inbox / tenant / day.replace("-", "/") / f"c-{5100 + n}.wav").exists()  # left in its inbox
            continue
        assert table is not None, (tenant, day)
        assert set(table.column("tenant_id").to_pylist()) == {tenant}
        assert table.column("call_id").to_pylist() == [f"c-{5100 + n}"]
    assert sorted(p.relative_to(inbox).parts[0] for p in inbox.rglob("*.wav")) == [SUSPENDED, SUSPENDED]
    print(f"\nbackfill of {len(DAYS)} day partitions through the daemon: {elapsed:.0f} s (webserver start included)")
