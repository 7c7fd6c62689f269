"""The composition root (ccr_pipelines/platform.py, issue 20): the one place that builds the stores,
the marts and dbt paths and the service environments from the loaded settings; the Dagster resources,
the CLI, the demo and the ASR worker are adapters over it."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ccr_pipelines import platform
from ccr_pipelines.core.errors import SettingsError
from ccr_pipelines.core.settings import AsrSettings, IngestSettings, parse_settings
from ccr_pipelines.loaders.settings_files import load_settings
from ccr_pipelines.resources import (
    AsrResource,
    ControlStoreResource,
    IngestConfigResource,
    ObjectStoreResource,
    resources_from_settings,
)
from ccr_pipelines.services.marts import DBT_DIR, MARTS_KEY, marts_file, marts_location
from ccr_pipelines.stores.object_store import LocalObjectStore, S3ObjectStore

PACKAGE = Path(platform.__file__).resolve().parent
REPO = PACKAGE.parent


def _sources(*, skip: tuple[str, ...] = ()) -> dict[str, ast.Module]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if not rel.startswith(skip):
            out[rel] = ast.parse(path.read_text(encoding="utf-8"))
    return out


def _calls(tree: ast.Module, names: set[str]) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name in names:
                found.append(name)
    return found


# A scratch SQLite file migrated step by step to list the migrations' tables: not a platform store.
ALLOWED_ELSEWHERE = {("services/backup.py", "ControlStore"): 1}


def test_the_composition_root_is_the_only_place_outside_the_stores_that_constructs_a_store():
    constructors = {"ControlStore", "LocalObjectStore", "S3ObjectStore", "DbtProject", "DbtCliResource"}
    offenders = {}
    for rel, tree in _sources(skip=("stores/", "platform.py")).items():
        for name in _calls(tree, constructors):
            offenders[(rel, name)] = offenders.get((rel, name), 0) + 1
    assert offenders == ALLOWED_ELSEWHERE


def test_the_marts_file_the_dbt_folder_and_the_uri_probe_are_each_computed_in_one_place():
    places = {'"warehouse.duckdb"': set(), '/ "dbt"': set(), 'uri("x")': set(), "parents[2]": set()}
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for needle, where in places.items():
            if needle in text:
                where.add(path.relative_to(PACKAGE).as_posix())
    assert places['"warehouse.duckdb"'] <= {"services/marts.py", "services/dsr.py"}  # dsr: a receipt's label
    assert places['uri("x")'] == {"platform.py"}
    assert places['/ "dbt"'] == {"services/marts.py"}
    assert places["parents[2]"] == {"services/marts.py"}  # the repository root, found once


def test_defs_neither_branch_on_the_object_store_kind_nor_change_the_process_environment():
    for rel, tree in _sources().items():
        if not rel.startswith("defs/"):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "kind" and isinstance(node.value, ast.Name):
                assert node.value.id != "object_store", rel
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("update", "setdefault", "pop")
                and ast.unparse(node.value) == "os.environ"
            ):
                pytest.fail(f"{rel} changes os.environ")
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                assert not any(ast.unparse(t).startswith("os.environ[") for t in targets), rel


def test_importing_the_dbt_assets_runs_no_process_once_the_manifest_is_prepared():
    """The manifest is prepared before the definitions load; the import itself never shells out to dbt."""
    code = (
        "import subprocess\n"
        "real = subprocess.Popen.__init__\n"
        "def guard(self, args, *a, **k):\n"
        "    if 'dbt' in ' '.join(map(str, args if isinstance(args, (list, tuple)) else [args])):\n"
        "        raise SystemExit('dbt was started at import: ' + repr(args))\n"
        "    real(self, args, *a, **k)\n"
        "subprocess.Popen.__init__ = guard\n"
        "import ccr_pipelines.defs.warehouse.assets as m\n"
        "print(len(m.ccr_dbt_marts.keys))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) > 0


def test_the_local_profile_builds_a_local_store_the_marts_beside_it_and_one_migrated_control_store(local_settings_env):
    p = platform.Platform(load_settings())
    try:
        store = p.object_store
        assert isinstance(store, LocalObjectStore)
        assert p.objects_root == Path(store.root).resolve()
        assert p.marts.duckdb_file == p.objects_root.parent / "warehouse.duckdb" == p.marts_file
        assert p.marts.datasets_root == p.objects_root / "datasets" and not p.marts.mirrored
        assert p.dbt_dir == DBT_DIR and (DBT_DIR / "dbt_project.yml").is_file()
        assert p.uri_prefix is not None and store.uri("a/b").startswith(p.uri_prefix)
        control = p.control_store
        assert control is p.control_store  # opened once per process
        assert control.migrate() > 0
        assert p.tenants().ids() == p.file_registry.ids()
    finally:
        p.close()


def test_the_resources_and_the_registry_share_one_control_store(local_settings_env):
    """The registry reads suspensions (P12) through the code location's control store, not a second one."""
    res = resources_from_settings(load_settings())
    control = res["control_store"].get()
    assert res["tenant_registry"].control_store is res["control_store"]
    res["tenant_registry"].get()
    assert res["tenant_registry"].control_store.get() is control
    assert platform.shared_control_store(control.url) is control


def test_a_released_control_store_is_not_handed_out_again(tmp_path):
    url = f"sqlite:///{tmp_path}/c.db"
    first = platform.shared_control_store(url)
    platform.release_control_store(first)
    assert platform.shared_control_store(url) is not first


def _s3_settings(region: str = "eu-west-3", **extra):
    raw = {
        "env": "staging",
        "object_store": {
            "kind": "s3",
            "bucket": {"env": "CCR_TEST_BUCKET"},
            "region": region,
            "endpoint_url": "http://127.0.0.1:9",
            **extra,
        },
        "control_store": {"url": "sqlite:///x.db"},
        "tenants_file": "tenants/staging.yaml",
    }
    return parse_settings(Path("staging.yaml"), raw)


def test_an_s3_profile_resolves_its_environment_references_into_the_store_it_builds(monkeypatch, tmp_path):
    monkeypatch.setenv("CCR_TEST_BUCKET", "ccr-staging-objects")
    monkeypatch.setenv("CCR_MARTS_WORKDIR", str(tmp_path / "marts"))
    s = _s3_settings()
    fields = platform.object_store_fields(s)
    assert fields["bucket"].env == "CCR_TEST_BUCKET"  # unresolved for the Dagster resources (dg.EnvVar)
    spec = platform.object_store_spec(s)
    assert spec["bucket"] == "ccr-staging-objects"
    store = platform.object_store_from_settings(s)
    assert isinstance(store, S3ObjectStore) and store.bucket == "ccr-staging-objects"
    assert platform.region_label(store) == "eu-west-3" and platform.uri_prefix(store) is None
    marts = marts_location(store)
    assert marts.mirrored and marts.publish_key == MARTS_KEY
    assert marts.duckdb_file == tmp_path / "marts" / "warehouse.duckdb"
    monkeypatch.delenv("CCR_DUCKDB_PATH", raising=False)
    assert marts_file(store) is None


def test_p2_the_one_object_store_builder_refuses_a_region_outside_the_eu():
    with pytest.raises(SettingsError, match="us-east-1"):
        platform.build_object_store(kind="s3", bucket="b", region="us-east-1")
    with pytest.raises(ValueError, match="unknown object store kind"):
        platform.build_object_store(kind="ftp")


def test_the_asr_worker_builds_the_store_the_code_location_describes(tmp_path):
    from ccr_pipelines.asr.worker import store_from_config

    spec = ObjectStoreResource(kind="local", root=str(tmp_path / "objects")).spec()
    store = store_from_config(spec)
    assert isinstance(store, LocalObjectStore) and Path(store.root) == tmp_path / "objects"


def test_p16_p17_p19_the_cli_environments_rebuild_the_marts_of_a_local_store_and_keep_the_backup_setting(
    local_settings_env, monkeypatch
):
    from datetime import date

    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    p = platform.Platform(load_settings())
    try:
        env = p.erasure_env("dpo")
        assert env.marts_path == p.marts.duckdb_file and env.rebuild_marts is not None
        assert env.backup_keep_days == p.settings.backups.keep_days and env.region == "local"
        purge = p.purge_env(today=date(2026, 11, 30))
        assert purge.rebuild_marts is not None and purge.backup_keep_days == p.settings.backups.keep_days
        assert purge.store is p.object_store and purge.control is p.control_store
    finally:
        p.close()


def test_the_resources_take_their_defaults_and_bounds_from_the_settings_models():
    """Settings fields are declared once (core/settings.py); a resource configured out of bounds in the
    Dagster UI fails as the profile would."""
    ingest = IngestConfigResource(subject_hash_key="k")
    assert (ingest.max_duration_s, ingest.max_object_bytes, ingest.sensor_max_objects_per_tick) == (
        IngestSettings().max_duration_s,
        IngestSettings().max_object_bytes,
        IngestSettings().sensor_max_objects_per_tick,
    )
    asr = AsrResource()
    assert (asr.model, asr.batch_size, asr.calls_per_launch) == (
        AsrSettings().model,
        AsrSettings().batch_size,
        AsrSettings().calls_per_launch,
    )
    with pytest.raises(Exception, match="batch_size"):
        AsrResource(batch_size=AsrSettings.model_fields["batch_size"].metadata[-1].le + 1)
    with pytest.raises(Exception, match="sensor_max_objects_per_tick"):
        IngestConfigResource(subject_hash_key="k", sensor_max_objects_per_tick=0)
    with pytest.raises(Exception, match="needs asr.k8s_image"):
        AsrResource(launcher="k8s")
    assert ControlStoreResource(url="sqlite://").url == "sqlite://"


def test_core_settings_reads_no_file():
    """Core stays pure: reading the profile, its registry and the file permissions are the loader's."""
    tree = ast.parse((PACKAGE / "core" / "settings.py").read_text(encoding="utf-8"))
    called = {ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    assert not {c for c in called if c.endswith((".read_text", ".chmod", "os.umask", "TenantRegistry.load"))}
