"""Shared fixtures: real stores only — a local directory, a real S3 endpoint on loopback
(moto's threaded server), SQLite and the PostgreSQL server on 127.0.0.1:5432."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("CCR_TEST_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def require(condition: bool, reason: str) -> None:
    """Skip on a laptop that lacks a service; fail in CI, where skipping would hide a gap."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


SLOW_TIMEOUT_S = 1200  # tests marked slow (whole demos, benchmarks at small sizes, fault injection)


def pytest_configure(config):
    """The dbt manifest the marts assets are built from, prepared once before any test module imports
    them (importing the assets never runs dbt: a fresh clone parses here, as ``make check`` does)."""
    from ccr_pipelines.services.marts import prepare_dbt_manifest

    prepare_dbt_manifest()


def pytest_collection_modifyitems(items):
    """Tests marked ``slow`` get SLOW_TIMEOUT_S instead of pyproject's default (300 s), unless they
    name their own limit with ``@pytest.mark.timeout``."""
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT_S))


@pytest.fixture(scope="session", autouse=True)
def dagster_home(tmp_path_factory):
    """Every Dagster instance the tests make lives in a temp home, telemetry and pop-ups off."""
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    old = {k: os.environ.get(k) for k in ("DAGSTER_HOME", "DBT_SEND_ANONYMOUS_USAGE_STATS")}
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    yield home
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


AWS_TEST_ENV = dict(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="eu-west-3",
)


@pytest.fixture(scope="session")
def moto_server():
    """A real S3 endpoint (moto's threaded server) on loopback; yields its URL."""
    old = {k: os.environ.get(k) for k in AWS_TEST_ENV}
    os.environ.update(AWS_TEST_ENV)  # fake credentials first: nothing may reach a real account
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()  # the port the OS bound for port=0
    yield f"http://{host}:{port}"
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def s3_bucket(moto_server):
    """A fresh, uniquely named bucket in eu-west-3 on the moto server; yields (endpoint_url, bucket)."""
    import boto3

    bucket = "ccr-test-" + uuid.uuid4().hex[:12]
    client = boto3.client("s3", endpoint_url=moto_server, region_name="eu-west-3")
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    yield moto_server, bucket


@pytest.fixture(params=["local", "s3"], ids=["local", "s3"])
def object_store(request, tmp_path):
    """Each object-store implementation in turn: a local directory, then S3 on the moto server."""
    from ccr_pipelines.stores.object_store import LocalObjectStore, S3ObjectStore

    if request.param == "local":
        yield LocalObjectStore(tmp_path / "objects")
        return
    endpoint, bucket = request.getfixturevalue("s3_bucket")
    yield S3ObjectStore(bucket, region="eu-west-3", endpoint_url=endpoint)


def _pg_admin_engine():
    import sqlalchemy as sa

    engine = sa.create_engine(
        PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any connection failure means "no server"
        engine.dispose()
        return None
    return engine


def plain_pg_url(url: str) -> str:
    """``postgresql+psycopg2://…`` -> ``postgresql://…`` (the form dagster-postgres takes)."""
    return "postgresql://" + url.split("://", 1)[1]


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database ``ccr_test_<random>`` (SQLAlchemy ``postgresql+psycopg2://`` URL),
    dropped afterwards. No server: skipped with the reason on a laptop, a failure in CI (CI=true)."""
    import sqlalchemy as sa

    engine = _pg_admin_engine()
    require(
        engine is not None, f"PostgreSQL is not reachable at {PG_ADMIN_URL} (start it, or set CCR_TEST_PG_ADMIN_URL)"
    )
    name = "ccr_test_" + uuid.uuid4().hex[:10]
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with engine.connect() as conn:
            # Connections a test left open (pools, a Dagster instance) must not keep the database alive.
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite", "postgres"])
def control_store(request, tmp_path):
    """A migrated control store on a SQLite file, then on a fresh PostgreSQL database."""
    from ccr_pipelines.stores.control_store import ControlStore

    url = f"sqlite:///{tmp_path}/control.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = ControlStore(url)
    store.migrate()
    yield store
    store.dispose()


TENANTS_YAML = """\
version: 1
tenants:
  - id: acme-energie
    display_name: Acme Énergie
    languages: [fr]
    timezone: Europe/Paris
    scorecard: acme-energie.v1
  - id: globex-support
    display_name: Globex Support
    languages: [en]
    timezone: Europe/Dublin
    scorecard: globex-support.v1
  - id: initech-paused
    display_name: Initech
    languages: [fr, en]
    scorecard: default.v1
    suspended: true
"""


@pytest.fixture
def tenants_file(tmp_path) -> Path:
    """A valid registry: two active tenants and one suspended (``initech-paused``)."""
    path = tmp_path / "tenants.yaml"
    path.write_text(TENANTS_YAML)
    return path


@pytest.fixture
def local_settings_env(monkeypatch, tmp_path) -> Path:
    """The packaged local profile with its data dir in tmp_path/var; returns that dir."""
    data = tmp_path / "var"
    monkeypatch.setenv("CCR_DATA_DIR", str(data))
    monkeypatch.setenv("CCR_ENV", "local")
    monkeypatch.delenv("CCR_SETTINGS_FILE", raising=False)
    monkeypatch.delenv("CCR_TENANTS_FILE", raising=False)
    return data


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``ccr demo --reset`` once for the session, as a newcomer runs it (a few minutes on 2 cores):
    test_security scans what it leaves, test_lineage joins its OpenLineage events."""
    work = tmp_path_factory.mktemp("demo")
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    dbt_log = repo / "dbt" / "logs" / "dbt.log"
    dbt_offset = dbt_log.stat().st_size if dbt_log.exists() else 0
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "CCR_SETTINGS_FILE", "CCR_TENANTS_FILE")}
    env.update(
        PYTHONPATH=str(repo),
        CCR_DATA_DIR=str(work / "var"),
        CCR_ENV="local",
        DAGSTER_DISABLE_TELEMETRY="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "ccr_pipelines.cli", "demo", "--reset"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    captured = {"demo stdout": proc.stdout, "demo stderr": proc.stderr}
    if dbt_log.exists():
        with open(dbt_log, encoding="utf-8", errors="replace") as fh:
            fh.seek(dbt_offset)
            captured["dbt/logs/dbt.log (this run)"] = fh.read()
    return work / "var", captured


@pytest.fixture(params=["sqlite", "postgres"], ids=["sqlite-instance", "postgres-instance"])
def dagster_instance(request, tmp_path):
    """A persistent Dagster instance: Dagster's default SQLite storage (run-sharded event log, what
    `make ui` / `ccr demo` use), then dagster-postgres on a fresh database (production)."""
    import dagster as dg

    home = tmp_path / "instance_home"
    home.mkdir()
    text = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
    if request.param == "postgres":
        text = f"storage:\n  postgres:\n    postgres_url: {plain_pg_url(request.getfixturevalue('pg_url'))}\n" + text
    (home / "dagster.yaml").write_text(text)
    from dagster._core.instance.ref import InstanceRef

    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(home))) as instance:
        yield instance
