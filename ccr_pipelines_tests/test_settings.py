"""Settings profiles (P8) and the tenant registry: valid ones load, bad ones fail at load in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from ccr_pipelines.core.errors import SettingsError, TenantError
from ccr_pipelines.core.settings import (
    CONFIG_DIR,
    ENVIRONMENTS,
    EnvRef,
    S3ObjectStoreSettings,
    parse_settings,
    resolve,
)
from ccr_pipelines.core.tenants import DEFAULT_RETENTION_DAYS, RETENTION_BOUNDS, diff_registries
from ccr_pipelines.loaders.config_files import load_tenant_registry
from ccr_pipelines.loaders.settings_files import load_settings
from ccr_pipelines.platform import object_store_from_settings
from ccr_pipelines.stores.object_store import LocalObjectStore, S3ObjectStore

from .conftest import TENANTS_YAML


def _env_refs(node) -> list[EnvRef]:
    """Every ``{env: VAR}`` reference in a settings model, however deep."""
    if isinstance(node, EnvRef):
        return [node]
    if isinstance(node, BaseModel):
        return [r for name in type(node).model_fields for r in _env_refs(getattr(node, name))]
    if isinstance(node, (list, tuple)):
        return [r for item in node for r in _env_refs(item)]
    return []


@pytest.fixture
def clean_env(monkeypatch):
    """No override and none of the variables the packaged profiles reference."""
    for var in ("CCR_SETTINGS_FILE", "CCR_TENANTS_FILE", "CCR_DATA_DIR", "CCR_ENV"):
        monkeypatch.delenv(var, raising=False)
    for env in ENVIRONMENTS:
        raw = yaml.safe_load((CONFIG_DIR / f"{env}.yaml").read_text())
        for ref in _env_refs(parse_settings(Path(f"{env}.yaml"), raw)):
            monkeypatch.delenv(ref.env, raising=False)
    return monkeypatch


# -- packaged profiles -----------------------------------------------------------
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_p8_every_packaged_profile_loads_without_its_environment_variables(env, clean_env):
    loaded = load_settings(env)
    assert loaded.settings.env == env
    assert loaded.source == CONFIG_DIR / f"{env}.yaml"
    assert Path(loaded.registry.source) == CONFIG_DIR / "tenants" / f"{env}.yaml"
    if env != "local":  # secrets and per-deployment names are references, never values
        assert {r.env for r in _env_refs(loaded.settings)} >= {
            "CCR_S3_BUCKET",
            "CCR_CONTROL_DB_URL",
            "CCR_SUBJECT_HASH_KEY",
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_packaged_profile_resolves_once_its_variables_are_set(env, clean_env, tmp_path):
    s = load_settings(env).settings
    refs = _env_refs(s)
    for ref in refs:
        with pytest.raises(SettingsError, match=f"^environment variable {ref.env} is not set$"):
            ref.resolve()
    values = {
        "CCR_S3_BUCKET": "ccr-test-bucket",
        "CCR_S3_ENDPOINT_URL": "http://127.0.0.1:9",
        "CCR_KMS_KEY_ID": "alias/ccr",
        "CCR_CONTROL_DB_URL": "postgresql+psycopg2://ccr@db:5432/ccr",
        "CCR_SUBJECT_HASH_KEY": "k" * 32,
        "CCR_SENTRY_DSN": "https://key@sentry.example/1",
    }
    for ref in refs:
        clean_env.setenv(ref.env, values.get(ref.env, "set-by-test"))
    for ref in refs:
        assert resolve(ref) == values.get(ref.env, "set-by-test")
    store = object_store_from_settings(s) if s.object_store.kind == "s3" else None
    if env == "local":
        clean_env.setenv("CCR_DATA_DIR", str(tmp_path / "var"))
        s = load_settings(env).settings
        assert isinstance(object_store_from_settings(s), LocalObjectStore)
        assert s.control_url() == f"sqlite:///{tmp_path}/var/control.db"
    else:
        assert isinstance(store, S3ObjectStore) and store.bucket == "ccr-test-bucket" and store.region == "eu-west-3"
        assert store.sse in ("AES256", "aws:kms")  # P5
        assert s.control_url() == "postgresql+psycopg2://ccr@db:5432/ccr"


def test_the_local_profile_and_its_registry_load_with_everything_under_the_data_dir(local_settings_env):
    loaded = load_settings()
    s = loaded.settings
    assert s.env == "local" and s.data_dir == str(local_settings_env)
    assert s.control_url() == f"sqlite:///{local_settings_env}/control.db"
    assert s.expand(s.object_store.root) == f"{local_settings_env}/objects"
    reg = loaded.registry
    assert reg.ids() == ["acme-energie", "globex-support", "initech-paused"]
    assert reg.active_ids() == ["acme-energie", "globex-support"]
    with pytest.raises(TenantError, match="suspended"):
        reg.require("initech-paused")
    assert reg.require("initech-paused", active=False).suspended


def test_settings_and_tenants_files_can_be_overridden_by_environment(tmp_path, clean_env, tenants_file):
    profile = tmp_path / "custom.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "env": "staging",
                "object_store": {"kind": "local", "root": "{data_dir}/o"},
                "control_store": {"url": "sqlite:///{data_dir}/c.db"},
                "tenants_file": "does-not-exist.yaml",
                "ingest": {"subject_hash_key": "x"},
            }
        )
    )
    clean_env.setenv("CCR_SETTINGS_FILE", str(profile))
    with pytest.raises(SettingsError, match="does-not-exist.yaml: cannot read tenant registry"):
        load_settings()
    clean_env.setenv("CCR_TENANTS_FILE", str(tenants_file))
    loaded = load_settings("prod")  # the file override wins over the environment name
    assert loaded.source == profile and loaded.settings.env == "staging"
    assert loaded.registry.source == str(tenants_file)


def test_an_unknown_environment_is_refused(clean_env):
    with pytest.raises(SettingsError, match="^CCR_ENV='qa' is not one of local, staging, prod$"):
        load_settings("qa")


def test_a_missing_or_broken_settings_file_is_one_line(tmp_path, clean_env):
    clean_env.setenv("CCR_SETTINGS_FILE", str(tmp_path / "none.yaml"))
    with pytest.raises(SettingsError, match="none.yaml: cannot read settings"):
        load_settings()
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: local\nobject_store: [\n")
    clean_env.setenv("CCR_SETTINGS_FILE", str(bad))
    with pytest.raises(SettingsError, match="bad.yaml: not valid YAML$"):
        load_settings()
    bad.write_text("- a list\n")
    with pytest.raises(SettingsError, match=r"bad.yaml: field '\(root\)': expected a mapping"):
        load_settings()


# -- tenant registry -----------------------------------------------------------------
def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _registry_error(tmp_path, text: str) -> str:
    with pytest.raises(SettingsError) as exc:
        load_tenant_registry(_write(tmp_path, "tenants.yaml", text))
    msg = str(exc.value)
    assert "\n" not in msg, msg
    assert msg.startswith(str(tmp_path / "tenants.yaml") + ": "), msg
    return msg


def _with_field(tenant_id: str, line: str) -> str:
    """TENANTS_YAML with *line* added to *tenant_id*'s entry."""
    anchor = f"  - id: {tenant_id}\n"
    assert anchor in TENANTS_YAML
    return TENANTS_YAML.replace(anchor, anchor + f"    {line}\n")


def test_a_valid_registry_loads_with_defaults(tenants_file):
    reg = load_tenant_registry(tenants_file)
    assert reg.ids() == ["acme-energie", "globex-support", "initech-paused"] and len(reg) == 3
    assert reg.active_ids() == ["acme-energie", "globex-support"]
    acme = reg.require("acme-energie")
    assert acme.retention("audio") == DEFAULT_RETENTION_DAYS["audio"] and acme.channel_roles == ("agent", "customer")
    assert acme.storage_region == "eu-west-3" and acme.timezone == "Europe/Paris"
    assert len(reg.digest) == 64
    with pytest.raises(TenantError, match="unknown tenant"):
        reg.require("umbrella-corp")


def test_a_registry_unknown_field_names_file_tenant_and_field(tmp_path):
    msg = _registry_error(tmp_path, _with_field("globex-support", "colour: red"))
    assert msg == f"{tmp_path / 'tenants.yaml'}: tenant 'globex-support': field 'colour': unknown field"


def test_a_nested_unknown_field_is_named_with_its_path(tmp_path):
    msg = _registry_error(tmp_path, _with_field("acme-energie", "report_schedule: {weekly: true, hourly: true}"))
    assert "tenant 'acme-energie'" in msg and "field 'report_schedule.hourly'" in msg and "unknown field" in msg


@pytest.mark.parametrize("bad_id", ["Acme_Energie", "../etc", "acme'; --", "\u0430cme-energie", "x" * 41])
def test_an_invalid_tenant_id_is_refused_and_named(tmp_path, bad_id):
    text = TENANTS_YAML.replace("id: acme-energie", f"id: {yaml.safe_dump(bad_id).strip().removesuffix('...').strip()}")
    msg = _registry_error(tmp_path, text)
    assert "field 'id'" in msg and "slug" in msg


def test_a_tenant_id_with_a_trailing_newline_is_refused(tmp_path):
    msg = _registry_error(tmp_path, TENANTS_YAML.replace("id: acme-energie", 'id: "acme-energie\\n"'))
    assert "tenant 'acme-energie\\n': field 'id'" in msg  # escaped: the message stays one line


def test_a_huge_invalid_tenant_id_is_not_echoed(tmp_path):
    msg = _registry_error(tmp_path, TENANTS_YAML.replace("id: acme-energie", "id: " + "x" * 10_000))
    assert "field 'id'" in msg and len(msg) < 400


def test_a_bad_timezone_is_refused_and_named(tmp_path):
    msg = _registry_error(tmp_path, TENANTS_YAML.replace("Europe/Dublin", "Europe/Dublinn"))
    assert (
        "tenant 'globex-support'" in msg
        and "field 'timezone'" in msg
        and "unknown IANA timezone 'Europe/Dublinn'" in msg
    )


@pytest.mark.parametrize("data_class", sorted(RETENTION_BOUNDS))
def test_retention_outside_its_bounds_is_refused(tmp_path, data_class):
    lo, hi = RETENTION_BOUNDS[data_class]
    for days in (lo - 1, hi + 1):
        msg = _registry_error(tmp_path, _with_field("acme-energie", f"retention_days: {{{data_class}: {days}}}"))
        assert "tenant 'acme-energie'" in msg and "field 'retention_days'" in msg
        assert f"{data_class}={days} days is outside the allowed {lo}..{hi}" in msg
    for days in (lo, hi):  # the bounds themselves are allowed
        reg = load_tenant_registry(
            _write(tmp_path, "ok.yaml", _with_field("acme-energie", f"retention_days: {{{data_class}: {days}}}"))
        )
        assert reg.require("acme-energie").retention(data_class) == days


def test_an_unknown_data_class_in_retention_is_refused(tmp_path):
    msg = _registry_error(tmp_path, _with_field("acme-energie", "retention_days: {voicemail: 10}"))
    assert "field 'retention_days.voicemail" in msg


def test_a_duplicate_tenant_id_is_refused(tmp_path):
    msg = _registry_error(tmp_path, TENANTS_YAML.replace("id: globex-support", "id: acme-energie"))
    assert msg.endswith("tenant 'acme-energie': field 'id': duplicate tenant id")


def test_broken_registry_files_are_refused_in_one_line(tmp_path):
    assert "not valid YAML at line" in _registry_error(tmp_path, "version: 1\ntenants: [\n")
    assert "field 'version'" in _registry_error(tmp_path, "version: 2\ntenants: []\n")
    assert "field '(root)'" in _registry_error(tmp_path, "- just a list\n")
    assert "tenant #0" in _registry_error(tmp_path, "version: 1\ntenants: [not-a-mapping]\n")
    assert "channel_roles must name 'agent' and 'customer'" in _registry_error(
        tmp_path, _with_field("acme-energie", "channel_roles: [agent, agent]")
    )
    with pytest.raises(SettingsError, match="cannot read tenant registry"):
        load_tenant_registry(tmp_path / "missing.yaml")


def test_p2_a_tenant_hosted_outside_the_eu_needs_a_reason(tmp_path, clean_env):
    reg = _write(tmp_path, "t.yaml", _with_field("globex-support", "storage_region: us-east-1"))
    clean_env.setenv("CCR_TENANTS_FILE", str(reg))
    with pytest.raises(SettingsError) as exc:
        load_settings("local")
    assert str(exc.value) == (
        f"{reg}: tenant 'globex-support': field 'storage_region': region 'us-east-1' is "
        "outside the EU (P2); set 'region_override_reason' to host there deliberately"
    )
    reg.write_text(
        _with_field("globex-support", "storage_region: us-east-1\n    region_override_reason: contract US-7")
    )
    assert load_settings("local").registry.require("globex-support").storage_region == "us-east-1"


# -- profile validation (P2, P8) ---------------------------------------------------------
def _profile(env: str = "prod", **changes) -> dict:
    raw = yaml.safe_load((CONFIG_DIR / f"{env}.yaml").read_text())
    for dotted, value in changes.items():
        node = raw
        *path, last = dotted.split(".")
        for p in path:
            node = node[p]
        node[last] = value
    return raw


def test_p2_a_non_eu_object_store_is_refused_at_load():
    with pytest.raises(SettingsError) as exc:
        parse_settings(Path("prod.yaml"), _profile(**{"object_store.region": "us-east-1"}))
    assert str(exc.value) == (
        "prod.yaml: field 'object_store.region': region 'us-east-1' is outside the EU (P2); "
        "set 'region_override_reason' to host there deliberately"
    )
    ok = parse_settings(
        Path("prod.yaml"),
        _profile(**{"object_store.region": "us-east-1", "object_store.region_override_reason": "US tenant, DPA 7"}),
    )
    assert isinstance(ok.object_store, S3ObjectStoreSettings) and ok.object_store.region == "us-east-1"


def test_p2_a_non_eu_object_store_in_a_settings_file_fails_load_settings(tmp_path, clean_env):
    profile = tmp_path / "prod.yaml"
    raw = _profile(**{"object_store.region": "eu-west-2", "tenants_file": str(CONFIG_DIR / "tenants/prod.yaml")})
    profile.write_text(yaml.safe_dump(raw))
    clean_env.setenv("CCR_SETTINGS_FILE", str(profile))
    with pytest.raises(SettingsError, match=f"^{profile}: field 'object_store.region': region 'eu-west-2'"):
        load_settings("prod")


P8_UNSAFE = {
    "local-object-store": ({"object_store": {"kind": "local", "root": "/tmp/x"}}, "prod must use the s3 object store"),
    "sqlite-control-store": ({"control_store.url": "sqlite:///x.db"}, "prod control store must be PostgreSQL"),
    "sentry-pii": ({"sentry_send_default_pii": True}, "prod must not send PII to Sentry"),
}


@pytest.mark.parametrize("change,needle", P8_UNSAFE.values(), ids=P8_UNSAFE.keys())
def test_p8_prod_refuses_unsafe_settings(change, needle, tmp_path, clean_env):
    raw = _profile(**{k: v for k, v in change.items() if "." in k})
    raw.update({k: v for k, v in change.items() if "." not in k})
    with pytest.raises(SettingsError) as exc:
        parse_settings(Path("prod.yaml"), raw)
    assert needle in str(exc.value) and "\n" not in str(exc.value)
    # the same profile written to a file fails load_settings, naming that file
    raw["tenants_file"] = str(CONFIG_DIR / "tenants/prod.yaml")
    profile = tmp_path / "unsafe-prod.yaml"
    profile.write_text(yaml.safe_dump(raw))
    clean_env.setenv("CCR_SETTINGS_FILE", str(profile))
    with pytest.raises(SettingsError, match=f"^{profile}: field '\\(root\\)': .*{needle}"):
        load_settings("prod")


@pytest.mark.parametrize(
    "change",
    [
        {"object_store": {"kind": "local", "root": "/tmp/x"}},
        {"control_store.url": "sqlite:///x.db"},
        {"sentry_send_default_pii": True},
    ],
    ids=["local-object-store", "sqlite-control-store", "sentry-pii"],
)
def test_p8_the_same_variants_are_allowed_outside_prod(change):
    raw = _profile("staging", **{k: v for k, v in change.items() if "." in k})
    raw.update({k: v for k, v in change.items() if "." not in k})
    assert parse_settings(Path("staging.yaml"), raw).env == "staging"


BAD_PROFILES = {
    "unknown-top-field": ({"colour": "red"}, "field 'colour': unknown field"),
    "unknown-store-field": ({"object_store.colour": "red"}, "field 'object_store.colour': unknown field"),
    "kms-without-key": ({"object_store.kms_key_id": None}, "sse 'aws:kms' needs kms_key_id"),
    "bad-sse": ({"object_store.sse": "rot13"}, "field 'object_store.sse'"),
    "bad-env-name": ({"control_store.url": {"env": "lower_case"}}, "field 'control_store.url"),
    "bad-env-key": ({"control_store.url": {"envv": "X"}}, "field 'control_store.url"),
    "bad-env": ({"env": "qa"}, "field 'env'"),
    "zero-duration": ({"ingest.max_duration_s": 0}, "field 'ingest.max_duration_s'"),
    "bad-device": ({"asr.device": "tpu"}, "field 'asr.device'"),
    "k8s-without-image": ({"asr.k8s_image": None}, "asr.launcher 'k8s' needs asr.k8s_image"),
    "bad-launcher": ({"asr.launcher": "ssh"}, "field 'asr.launcher'"),
    "bad-store-kind": ({"object_store": {"kind": "ftp", "root": "/x"}}, "field 'object_store'"),
}


@pytest.mark.parametrize("change,needle", BAD_PROFILES.values(), ids=BAD_PROFILES.keys())
def test_a_bad_profile_fails_in_one_line_naming_file_and_field(change, needle):
    raw = _profile(**{k: v for k, v in change.items() if "." in k})
    raw.update({k: v for k, v in change.items() if "." not in k})
    with pytest.raises(SettingsError) as exc:
        parse_settings(Path("conf/prod.yaml"), raw)
    msg = str(exc.value)
    assert msg.startswith("conf/prod.yaml: ") and needle in msg and "\n" not in msg, msg


# -- P20: registry diffs ------------------------------------------------------------------
def test_p20_registry_diff_names_tenants_and_fields_only():
    old = [{"id": "a-1", "suspended": False, "timezone": "Europe/Paris"}, {"id": "b-1"}]
    new = [{"id": "a-1", "suspended": True, "timezone": "Europe/Paris"}, {"id": "c-1"}]
    diff = diff_registries(old, new)
    assert diff == {
        "added": ["c-1"],
        "removed": ["b-1"],
        "changed": {"a-1": {"suspended": {"from": False, "to": True}}},
    }


def test_p20_registry_diff_of_real_registries(tmp_path, tenants_file):
    before = load_tenant_registry(tenants_file).as_dicts()
    after_file = _write(
        tmp_path,
        "after.yaml",
        TENANTS_YAML.replace("    suspended: true\n", "").replace("Europe/Dublin", "Europe/Paris") + _NEW_TENANT,
    )
    after = load_tenant_registry(after_file).as_dicts()
    diff = diff_registries(before, after)
    assert diff["added"] == ["umbrella-corp"] and diff["removed"] == []
    assert diff["changed"] == {
        "globex-support": {"timezone": {"from": "Europe/Dublin", "to": "Europe/Paris"}},
        "initech-paused": {"suspended": {"from": True, "to": False}},
    }
    assert diff_registries(before, before) == {"added": [], "removed": [], "changed": {}}
    assert diff_registries([], before)["added"] == ["acme-energie", "globex-support", "initech-paused"]


_NEW_TENANT = """\
  - id: umbrella-corp
    display_name: Umbrella
    languages: [en]
    scorecard: default.v1
"""


def test_p8_prod_refuses_the_sqlite_dagster_instance_and_accepts_the_repositorys_postgres_one():
    from ccr_pipelines.core.settings import check_prod_instance

    repo_instance = (Path(__file__).resolve().parents[1] / "dagster.yaml").read_text()
    check_prod_instance(repo_instance, "dagster.yaml")  # storage: postgres
    check_prod_instance("run_storage:\n  module: dagster_postgres.run_storage\n  class: PostgresRunStorage\n", "x")
    for sqlite_like in (None, "", "telemetry:\n  enabled: false\n", "storage:\n  sqlite:\n    base_dir: /tmp/x\n"):
        with pytest.raises(SettingsError, match="prod needs a PostgreSQL Dagster instance"):
            check_prod_instance(sqlite_like, "home/dagster.yaml")


# -- P5: the embedded default's files are the operator's alone ------------------------------------------
def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root.parent)): p.stat().st_mode & 0o777 for p in [root, *root.rglob("*")]}


def test_p5_the_embedded_default_creates_its_stores_0600_and_its_folders_0700(local_settings_env):
    import os

    import duckdb

    from ccr_pipelines.demo import _prepare_home
    from ccr_pipelines.services.marts import duckdb_path, write_restricted_calls
    from ccr_pipelines.stores.control_store import ControlStore

    old = os.umask(0o022)  # as a login shell leaves it
    try:
        # a data dir left world-readable by an earlier version: tightened at the next load
        local_settings_env.mkdir(mode=0o755)
        s = load_settings().settings
        assert os.umask(0o077) == 0o077  # the process's new files are private from here on
        assert (local_settings_env.stat().st_mode & 0o777) == 0o700
        control = ControlStore(s.control_url())
        control.migrate()
        control.log_access(actor="t", tenant_id="acme-energie", action="read", purpose="p", obj="x")
        store = object_store_from_settings(s)
        store.put_bytes("restricted/acme-energie/2026/11/16/c-1.json", b"{}")
        marts = duckdb_path(store.root)
        write_restricted_calls(control, marts)
        con = duckdb.connect(str(marts))
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        con.close()
        control.dispose()
        home = _prepare_home(local_settings_env / "dagster_home")
        import dagster as dg

        instance = dg.DagsterInstance.from_config(str(home))
        instance.dispose()
        modes = _modes(local_settings_env)
        names = {Path(k).name for k in modes}
        assert {
            "control.db",
            "warehouse.duckdb",
            "restricted_calls.parquet",
            "dagster_home",
            "dagster.yaml",
            "c-1.json",
            "objects",
        } <= names, names
        assert any(k.startswith("var/dagster_home/history") for k in modes), sorted(modes)  # the instance's storage
        loose = {
            k: oct(m) for k, m in modes.items() if m != (0o700 if (local_settings_env.parent / k).is_dir() else 0o600)
        }
        assert not loose, loose
        # a store file left 0644 by an earlier version is tightened at the next load
        (local_settings_env / "control.db").chmod(0o644)
        (local_settings_env / "objects").chmod(0o755)
        load_settings()
        assert (local_settings_env / "control.db").stat().st_mode & 0o777 == 0o600
        assert (local_settings_env / "objects").stat().st_mode & 0o777 == 0o700
    finally:
        os.umask(old)


# -- P3, P5: secrets ---------------------------------------------------------------------------------
def _prod_profile(tmp_path: Path, **ingest) -> Path:
    raw = yaml.safe_load((CONFIG_DIR / "prod.yaml").read_text())
    raw["ingest"] = {**raw["ingest"], **ingest}
    raw["tenants_file"] = str(CONFIG_DIR / "tenants" / "prod.yaml")
    path = tmp_path / "prod-custom.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_p5_prod_refuses_a_subject_hash_key_written_in_the_profile(tmp_path, clean_env):
    literal = "a-literal-key-that-is-long-enough-0123456789"
    clean_env.setenv("CCR_SETTINGS_FILE", str(_prod_profile(tmp_path, subject_hash_key=literal)))
    with pytest.raises(SettingsError) as exc:
        load_settings()
    msg = str(exc.value)
    assert "must read ingest.subject_hash_key from the environment" in msg and "\n" not in msg
    assert literal not in msg


@pytest.mark.parametrize("key, ok", [("x", False), ("k" * 31, False), ("é" * 16, True), ("k" * 32, True)])
def test_p5_prod_refuses_a_subject_hash_key_shorter_than_32_bytes(key, ok, clean_env):
    clean_env.setenv("CCR_SUBJECT_HASH_KEY", key)
    if ok:
        assert resolve(load_settings("prod").settings.ingest.subject_hash_key) == key
        return
    with pytest.raises(SettingsError) as exc:
        load_settings("prod")
    msg = str(exc.value)
    assert msg == (
        f"{CONFIG_DIR / 'prod.yaml'}: field 'ingest.subject_hash_key': CCR_SUBJECT_HASH_KEY holds "
        f"{len(key)} byte(s); prod needs a key of at least 32 random bytes (P5)"
    )
    clean_env.delenv("CCR_SUBJECT_HASH_KEY")  # unset: the profile loads; resolving it is what fails
    with pytest.raises(SettingsError, match="^environment variable CCR_SUBJECT_HASH_KEY is not set$"):
        resolve(load_settings("prod").settings.ingest.subject_hash_key)


def test_p5_the_local_profile_keeps_its_fixed_key_but_ccr_settings_never_prints_it(local_settings_env, capsys):
    import json

    from ccr_pipelines.cli import main

    loaded = load_settings()
    assert resolve(loaded.settings.ingest.subject_hash_key) == "local-demo-subject-hash-key"  # the demo still hashes
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    shown = json.loads(out)
    assert shown["ingest"]["subject_hash_key"] == "***" and "local-demo-subject-hash-key" not in out
    assert shown["control_store"]["url"] == "sqlite:///{data_dir}/control.db"  # no secret in it: shown as is


def test_p5_ccr_settings_masks_every_secret_value_and_shows_environment_references_by_name(
    tmp_path, clean_env, tenants_file, capsys
):
    import json

    from ccr_pipelines.cli import main

    secrets = {
        "pw": "Sup3r-s3cret-pw",
        "hash": "literal-subject-hash-key-in-a-file",
        "dsn_key": "0123456789abcdef0123456789abcdef",
        "routing": "R0ut1ngKeyR0ut1ngKeyR0ut1ngKey12",
        "s3pw": "minio-secret-99",
        "token": "tok-" + "z" * 30,
    }
    profile = tmp_path / "staging-custom.yaml"
    profile.write_text(
        yaml.safe_dump(
            {
                "env": "staging",
                "object_store": {
                    "kind": "s3",
                    "bucket": {"env": "CCR_S3_BUCKET"},
                    "endpoint_url": f"http://minio:{secrets['s3pw']}@minio.internal:9000",
                },
                "control_store": {"url": f"postgresql+psycopg2://ccr:{secrets['pw']}@db.internal:5432/ccr"},
                "tenants_file": str(tenants_file),
                "ingest": {"subject_hash_key": secrets["hash"]},
                "sentry_dsn": f"https://{secrets['dsn_key']}@o1.ingest.sentry.io/42",
                "alerting": {"pager_url": {"env": "CCR_PAGER_URL"}, "default_routing_key_env": "CCR_PAGER_ROUTING_KEY"},
                "asr": {
                    "k8s_pod_spec": {
                        "containers": [
                            {
                                "env": [
                                    {"name": "PAGERDUTY_ROUTING_KEY", "routing_key": secrets["routing"]},
                                    {"name": "API_TOKEN", "value": f"token: '{secrets['token']}'"},
                                ]
                            }
                        ]
                    }
                },
            }
        )
    )
    clean_env.setenv("CCR_SETTINGS_FILE", str(profile))
    clean_env.setenv("CCR_PAGER_URL", "https://events.eu.pagerduty.com/v2/enqueue")
    assert main(["settings"]) == 0
    out = capsys.readouterr().out
    for label, value in secrets.items():
        assert value not in out, label
    shown = json.loads(out)
    assert shown["control_store"]["url"] == "postgresql+psycopg2://ccr:***@db.internal:5432/ccr"
    assert shown["object_store"]["endpoint_url"] == "http://minio:***@minio.internal:9000"
    assert shown["ingest"]["subject_hash_key"] == "***" and shown["sentry_dsn"] == "***"
    assert shown["object_store"]["bucket"] == {"env": "CCR_S3_BUCKET"}  # a reference: its name, never resolved
    assert shown["alerting"]["pager_url"] == {"env": "CCR_PAGER_URL"} and "events.eu.pagerduty" not in out
    assert shown["alerting"]["default_routing_key_env"] == "CCR_PAGER_ROUTING_KEY"


def test_p5_ccr_settings_as_a_subprocess_prints_no_key(tmp_path):
    import os
    import subprocess
    import sys

    repo = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k not in ("CCR_SETTINGS_FILE", "CCR_TENANTS_FILE", "CCR_ENV")}
    env.update(PYTHONPATH=str(repo), CCR_DATA_DIR=str(tmp_path / "var"))
    proc = subprocess.run(
        [sys.executable, "-m", "ccr_pipelines.cli", "settings"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr[-2000:]
    assert '"subject_hash_key": "***"' in proc.stdout and "local-demo-subject-hash-key" not in proc.stdout
