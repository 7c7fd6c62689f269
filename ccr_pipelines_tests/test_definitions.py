"""The code location: it loads, its shape is what we expect, and it stays light."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ccr_pipelines.core.settings import ENVIRONMENTS
from ccr_pipelines.definitions import defs
from ccr_pipelines.loaders.settings_files import load_settings
from ccr_pipelines.resources import resources_from_settings

REPO = Path(__file__).resolve().parents[1]

# Snapshot of the asset graph: extend it (sorted) when a domain adds assets.
EXPECTED_ASSETS = sorted(
    [
        "control/platform/tenant_registry",
        "silver/ingest/call_manifest",
        "silver/transcribe/transcripts",
        "silver/analyze/redacted_segments",
        "silver/analyze/call_metrics",
        "silver/analyze/call_scores",
        "silver/analyze/playback_audio",
        "silver/analyze/call_sentiment",
        "silver/analyze/call_categories",
        "silver/analyze/call_cards",
        "gold/reports/tenant_weekly_reports",
        "gold/reports/tenant_monthly_reports",
        # dbt models (dbt-duckdb), one asset each
        *[
            f"marts/warehouse/{m}"
            for m in (
                "stg_call_manifest",
                "stg_call_metrics",
                "stg_call_scores",
                "stg_call_score_steps",
                "mart_agent_day",
                "mart_team_week",
                "mart_tenant_month",
                "mart_compliance_step",
                "mart_review_backlog",
                "stg_call_sentiment",
                "stg_call_categories",
                "stg_call_cards",
                "mart_sentiment_agent_week",
                "mart_sentiment_team_week",
                "mart_driver_week",
                "mart_category_week",
            )
        ],
    ]
)
EXPECTED_SENSORS = sorted(
    [
        "asset_check_failure_sensor",
        "run_failure_alert_sensor",
        "manifest_to_transcripts_sensor",
        "openlineage_failure_sensor",
        "openlineage_success_sensor",
        "raw_recordings_sensor",
        "redacted_to_metrics_sensor",
        "redacted_to_playback_sensor",
        "redacted_to_scores_sensor",
        "scorecard_change_sensor",
        "transcripts_to_redacted_sensor",
        "scores_to_marts_sensor",
        "scores_to_reports_sensor",
        "unusual_access_sensor",
    ]
)
EXPECTED_SCHEDULES = sorted(
    [
        "backup_schedule",
        "data_quality_schedule",
        "tenant_monthly_reports_schedule",
        "tenant_weekly_reports_schedule",
        "retention_purge_schedule",
        "dsr_deadline_schedule",
    ]
)
# Jobs that are not asset jobs: retention purge (P19) and data-subject requests (P16-P18).
_OP_JOBS = [
    "retention_purge_job",
    "dsr_export_job",
    "dsr_erasure_job",
    "dsr_restriction_job",
    "dsr_suppression_job",
    "dsr_deadline_job",
]
EXPECTED_OP_JOBS = sorted(_OP_JOBS)
EXPECTED_JOBS = sorted(
    [
        "backup_job",
        "data_quality_job",
        "lineage_lookup_job",
        "tenant_monthly_reports_job",
        "tenant_weekly_reports_job",
        *_OP_JOBS,
    ]
)
EXPECTED_RESOURCES = sorted(
    [
        "alerting",
        "asr",
        "control_store",
        "dbt",
        "ingest_config",
        "object_store",
        "pipes_client",
        "tenant_registry",
        "warehouse",
    ]
)


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    d = defs()  # @dg.definitions: calling it loads the code location
    assert isinstance(d, dg.Definitions)
    return d


def test_definitions_load_and_validate(definitions):
    dg.Definitions.validate_loadable(definitions)
    assert sorted(definitions.resources) == EXPECTED_RESOURCES


def test_the_asset_graph_matches_the_snapshot(definitions):
    keys = sorted(k.to_user_string() for k in definitions.resolve_asset_graph().get_all_asset_keys())
    assert keys == EXPECTED_ASSETS


def test_the_sensors_match_the_snapshot(definitions):
    sensors = definitions.get_repository_def().sensor_defs
    assert sorted(s.name for s in sensors if s.name != "default_automation_condition_sensor") == EXPECTED_SENSORS


def test_the_jobs_match_the_snapshot(definitions):
    jobs = definitions.get_repository_def().get_all_jobs()
    assert sorted(j.name for j in jobs if not j.name.startswith("__")) == EXPECTED_JOBS


def test_the_schedules_match_the_snapshot(definitions):
    schedules = definitions.get_repository_def().schedule_defs
    assert sorted(s.name for s in schedules) == EXPECTED_SCHEDULES
    # report schedules tick hourly in UTC; the tenant's own timezone is applied per tenant (core.report_periods)
    assert all(
        s.cron_schedule == "0 * * * *" and s.execution_timezone == "UTC" for s in schedules if "reports" in s.name
    )


def test_the_retention_and_dsr_jobs_match_the_snapshot_and_take_no_identifier_in_config(definitions):
    repo = definitions.get_repository_def()
    jobs = sorted(j.name for j in repo.get_all_jobs() if j.name in EXPECTED_OP_JOBS)
    assert jobs == EXPECTED_OP_JOBS
    # P17: run config is kept by Dagster for good; a request is named by its id, never by phone/e-mail
    for name in EXPECTED_OP_JOBS:
        for node in repo.get_job(name).graph.node_defs:
            config_type = node.config_schema.config_type if node.config_schema else None
            fields = set(getattr(config_type, "fields", None) or {})
            assert fields <= {"request_id", "lift", "dry_run", "today"}, (name, fields)


def test_every_asset_has_a_group_owners_kinds_and_a_description(definitions):
    specs = list(definitions.resolve_all_asset_specs())
    assert len(specs) == len(EXPECTED_ASSETS)
    for spec in specs:
        name = spec.key.to_user_string()
        assert spec.group_name and spec.group_name != "default", name
        assert spec.owners and all(o.startswith("team:") or "@" in o for o in spec.owners), name
        assert spec.kinds, name
        assert spec.description and len(spec.description) > 40, name
        assert spec.key.path[0] in ("control", "silver", "gold", "marts"), name


def test_every_asset_check_name_is_a_module_constant(definitions):
    from ccr_pipelines.defs.analyze import assets as analyze
    from ccr_pipelines.defs.ingest import assets as ingest
    from ccr_pipelines.defs.quality import checks as quality
    from ccr_pipelines.defs.reports import assets as reports
    from ccr_pipelines.defs.transcribe import assets as transcribe

    constants = {
        ingest.ACCOUNTING_CHECK,
        ingest.ISOLATION_CHECK,
        transcribe.WORKER_CHECK,
        analyze.NO_PII_LEFT_CHECK,
        reports.REPORT_ISOLATION_CHECK,
        quality.MANIFEST_EXPECTATIONS,
        quality.TRANSCRIPTS_EXPECTATIONS,
        quality.SCORES_EXPECTATIONS,
        quality.VOLUME_CHECK,
        quality.FRESHNESS_CHECK,
        quality.TRANSCRIPT_GATES_CHECK,
    }
    checks = definitions.resolve_asset_graph().asset_check_keys
    names = {k.name for k in checks if k.asset_key.path[0] != "marts"}
    assert names == constants
    # dbt tests become asset checks on the marts (names come from dbt)
    assert {k.name for k in checks if k.asset_key.path[0] == "marts"} >= {"unique_stg_call_scores_call_uid"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_resources_build_from_every_profile_before_its_secrets_exist(env, monkeypatch):
    # Secrets become dg.EnvVar, resolved when a run starts, so the code location loads
    # (and the UI works) even where the run workers alone hold the secrets.
    for var in (
        "CCR_SETTINGS_FILE",
        "CCR_TENANTS_FILE",
        "CCR_S3_BUCKET",
        "CCR_CONTROL_DB_URL",
        "CCR_SUBJECT_HASH_KEY",
        "CCR_KMS_KEY_ID",
        "CCR_SENTRY_DSN",
        "CCR_S3_ENDPOINT_URL",
    ):
        monkeypatch.delenv(var, raising=False)
    resources = resources_from_settings(load_settings(env))
    assert sorted(resources) == EXPECTED_RESOURCES
    store = resources["object_store"]
    assert store.kind == ("local" if env == "local" else "s3")
    if env != "local":
        assert store.region == "eu-west-3" and store.sse in ("AES256", "aws:kms")  # P2, P5


def _run(code: str, cwd: Path = REPO) -> str:
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_prod_launches_the_asr_worker_as_a_gpu_pod_and_local_as_a_subprocess():
    from dagster_k8s import PipesK8sClient

    from ccr_pipelines.resources import AsrResource

    prod = resources_from_settings(load_settings("prod"))
    assert isinstance(prod["pipes_client"], PipesK8sClient)
    assert isinstance(resources_from_settings(load_settings("local"))["pipes_client"], dg.PipesSubprocessClient)
    asr = AsrResource(
        launcher="k8s",
        k8s_image="reg.example/ccr-asr-worker:abc123",
        k8s_namespace="dagster",
        k8s_service_account="ccr-asr-worker",
        k8s_pod_spec_json='{"nodeSelector": {"gpu": "yes"}}',
    )
    args = asr.launch_args("ccr_pipelines.asr.worker")
    assert args["image"] == "reg.example/ccr-asr-worker:abc123" and args["namespace"] == "dagster"
    assert args["command"] == ["python", "-m", "ccr_pipelines.asr.worker"]
    assert args["base_pod_spec"] == {
        "nodeSelector": {"gpu": "yes"},
        "serviceAccountName": "ccr-asr-worker",
        "restartPolicy": "Never",
    }
    assert AsrResource().launch_args("m")["command"][1:] == ["-m", "m"]


def test_the_code_location_never_imports_torch_or_whisperx():
    out = _run(
        "import sys, ccr_pipelines.definitions as m; d = m.defs(); d.resolve_asset_graph(); "
        "print(sorted(x for x in ('torch', 'whisperx', 'faster_whisper', 'ctranslate2', 'pyannote') "
        "if x in sys.modules))"
    )
    assert out == "[]"


def test_the_code_location_never_imports_spacy_or_presidio():
    """The NER model loads in the redaction step only (P21, issue 18): the code location and the ingest
    sensor's key checks (names in call ids use the gazetteer) stay light."""
    out = _run(
        "import sys, ccr_pipelines.definitions as m; from ccr_pipelines.core.ingest import "
        "looks_like_personal_data; assert looks_like_personal_data('customer-john-smith'); "
        "d = m.defs(); d.resolve_asset_graph(); "
        "print(sorted(x for x in ('spacy', 'thinc', 'presidio_analyzer', 'presidio_anonymizer') "
        "if x in sys.modules))"
    )
    assert out == "[]"


@pytest.mark.parametrize("package", ["core", "services", "stores", "loaders"])
def test_the_layers_below_defs_import_no_dagster(package):
    """Issue 20: core, services, stores and loaders import no Dagster, at run time (every module imported
    in a fresh interpreter) or anywhere in their source (a lazy import inside a function included)."""
    mods = sorted(p.stem for p in (REPO / "ccr_pipelines" / package).glob("*.py") if p.stem != "__init__")
    if package == "core":
        assert {"keys", "regions", "settings", "tenants"} <= set(mods)
    code = (
        "import sys, importlib\n"
        f"for m in {mods!r}: importlib.import_module('ccr_pipelines.{package}.' + m)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'torch', 'whisperx')))"
    )
    assert _run(code) == "[]"
    assert _imports_of(package, lambda mod: mod.split(".")[0] == "dagster") == {}


def _imports_of(package: str, match) -> dict[str, list[str]]:
    """Module -> the imported module names that *match*, from the source of ccr_pipelines/<package>."""
    import ast

    out: dict[str, list[str]] = {}
    for path in sorted((REPO / "ccr_pipelines" / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else []
            )
            hits = [n for n in names if match(n)]
            if hits:
                out.setdefault(path.relative_to(REPO).as_posix(), []).extend(hits)
    return out


# Modules outside stores/ that still query the control store's tables, and which: issue 20 moves their
# queries into stores/ (ledger, dsr_log, subjects, review_queue, suspensions, audit_trail, incident_register,
# lineage_log). Shrink this as each moves; a new entry fails the test.
TABLE_IMPORTS_LEFT = {
    # a backup dumps and restores every table of the schema, whatever it holds
    "ccr_pipelines/services/backup.py": {"metadata"},
}


def test_only_stores_import_the_control_stores_tables():
    """Issue 20: the control store is a boundary. Services, assets, sensors, the CLI and the demo ask
    stores/ for what they need; only the allow-list above (work left) still names a table."""
    import ast

    import sqlalchemy as sa

    from ccr_pipelines.stores import control_store

    tables = {n for n, v in vars(control_store).items() if isinstance(v, (sa.Table, sa.MetaData))}
    found: dict[str, set[str]] = {}
    for path in sorted((REPO / "ccr_pipelines").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith("ccr_pipelines/stores/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("control_store"):
                names = {a.name for a in node.names} & tables
                if names:
                    found.setdefault(rel, set()).update(names)
            elif (
                isinstance(node, ast.Attribute)
                and node.attr in tables
                and isinstance(node.value, ast.Name)
                and node.value.id == "control_store"
            ):
                found.setdefault(rel, set()).add(node.attr)
    assert found == TABLE_IMPORTS_LEFT


# Core reads no file (issue 20): loaders/ read, core parses. What is left, with its reason.
CORE_FILE_READS_LEFT = {
    "sentiment.py",  # VADER's lexicon, package data of the vaderSentiment wheel (no path from outside)
    "ingest.py",  # the sidecar's JSON schema, package data shipped with the code (no path from outside)
}
_FILE_CALLS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "getsize"}


def test_core_opens_no_files():
    import ast

    found = set()
    for path in sorted((REPO / "ccr_pipelines" / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                fn = node.func
                name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
                if name in _FILE_CALLS:
                    found.add(path.name)
    assert found == CORE_FILE_READS_LEFT


def test_the_runtime_package_never_imports_the_repository_tooling():
    """ccr_tools/ (secret and PII scans, infra policies, dependency audit, Helm chart rendering) serves
    scripts/ and the tests; the runtime package stays without it."""
    assert _imports_of("", lambda mod: mod.split(".")[0] == "ccr_tools") == {}


def test_errors_raised_on_purpose_belong_to_the_ccr_error_family():
    """Issue 20: one family, so that the CLI has one handler (one line, no traceback; test_cli_fuzz)."""
    import importlib
    import inspect

    from ccr_pipelines.core.errors import CcrError

    outside = {
        "ccr_pipelines.core.ingest.Rejected",  # an ingestion outcome (quarantine reason), never shown as an error
        "ccr_pipelines.core.config_yaml.UnsafeYamlError",  # a YAMLError, re-raised as SettingsError at load
        "ccr_pipelines.asr.models.ModelUnavailable",  # the ASR worker's, in its own process (its exit says why)
        "ccr_pipelines.asr.worker.CallFailed",  # one call of the worker's batch, recorded and skipped
    }
    found = set()
    for path in sorted((REPO / "ccr_pipelines").rglob("*.py")):
        if path.parent.name in ("defs", "demo") or "defs" in path.parts or "migrations" in path.parts:
            continue  # (Alembic's env.py and revisions run inside Alembic, never on import)
        name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
        mod = importlib.import_module(name)
        for obj in vars(mod).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Exception)
                and obj.__module__ == name
                and not issubclass(obj, CcrError)
            ):
                found.add(f"{name}.{obj.__qualname__}")
    assert found == outside


def test_dbt_imports_resolve_to_the_installed_package_from_the_repo_root():
    # A top-level dbt/ folder joins the 'dbt' namespace package when the repo root is on
    # sys.path (as with `python -c` run there); the installed modules must still win.
    out = _run(
        "import sys, dbt.version, dbt.adapters.duckdb; "
        "print(sys.path[0] == '', dbt.version.__file__, dbt.adapters.duckdb.__file__, sep='|')"
    )
    first, version_file, adapter_file = out.split("|")
    assert first == "True"
    for f in (version_file, adapter_file):
        assert "site-packages" in f and not Path(f).is_relative_to(REPO / "dbt"), f
    assert not list((REPO / "dbt").rglob("*.py")), "never add Python files under dbt/"


def test_the_project_names_its_code_location_as_the_workspace_does():
    """Issue 16: without ``[tool.dg.project] code_location_name`` dagster derives the name from the checkout
    folder and, when that folder is not called ccr_pipelines, warns on every load (103 warnings for one
    `dagster definitions validate` of a copy in another folder; none with the setting)."""
    import tomllib

    import yaml

    repo = Path(__file__).resolve().parents[1]
    project = tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["dg"]["project"]
    [location] = yaml.safe_load((repo / "workspace.yaml").read_text())["load_from"]
    assert project["code_location_name"] == location["python_module"]["location_name"] == "ccr_pipelines"
