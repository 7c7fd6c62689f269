"""Production deployment files (issue "Production deployment on Kubernetes"): the Terraform
policies derive from the code's zones and retention bounds and say what P2/P3/P5/P19 need, the
Helm values and manifests provide every setting the prod profile reads, the images are pinned,
non-root and health-checked. Terraform formatting is checked with the real terraform binary
(validate needs provider downloads, which this network does not allow)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ccr_pipelines.core.keys import ZONES
from ccr_pipelines.core.tenants import RETENTION_BOUNDS
from ccr_tools.infra_policies import ROLE_ACCESS, zone_expiry_days

from .conftest import require

REPO = Path(__file__).resolve().parents[1]
TF = REPO / "infra" / "terraform"
sys.path.insert(0, str(REPO / "scripts"))


def _doc(name: str) -> dict:
    text = (TF / "policies" / name).read_text()
    return json.loads(text.replace("${bucket_arn}", "arn:aws:s3:::b").replace("${kms_key_arn}", "arn:aws:kms:k"))


def test_committed_policies_are_the_rendered_ones():
    from render_infra_policies import render

    for name, text in render().items():
        assert (TF / "policies" / name).read_text() == text, f"{name} is stale: run scripts/render_infra_policies.py"


def test_p19_lifecycle_backstops_every_zone_no_earlier_than_the_longest_allowed_retention():
    rules = {r["Filter"]["Prefix"].rstrip("/"): r for r in _doc("lifecycle.json")["Rules"]}
    assert set(rules) == set(ZONES)
    for zone, rule in rules.items():
        assert rule["Status"] == "Enabled"
        assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 30  # deleted means gone, soon
        days = zone_expiry_days(zone)
        assert rule["Expiration"] == ({"Days": days} if days else {"ExpiredObjectDeleteMarker": True})
    assert rules["audio"]["Expiration"]["Days"] > RETENTION_BOUNDS["audio"][1]
    assert rules["restricted"]["Expiration"]["Days"] > RETENTION_BOUNDS["raw_transcript"][1]
    assert rules["restricted"]["Expiration"]["Days"] < rules["audio"]["Expiration"]["Days"]


def test_p5_the_bucket_refuses_plain_http_and_unencrypted_writes():
    statements = {s["Sid"]: s for s in _doc("bucket_policy.json")["Statement"]}
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    assert statements["DenyInsecureTransport"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert statements["DenyUnencryptedWrites"]["Condition"]["StringNotEquals"] == {
        "s3:x-amz-server-side-encryption": "aws:kms"
    }
    assert all(s["Effect"] == "Deny" for s in statements.values())


def test_p3_each_role_reaches_only_its_own_prefixes():
    for role, zones in ROLE_ACCESS.items():
        statements = _doc(f"iam_{role}.json")["Statement"]
        for s in statements:
            assert s["Effect"] == "Allow"
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert not any(a.endswith(":*") for a in actions), (role, actions)
        objects = {
            s["Resource"].split("/", 1)[1].rstrip("/*"): set(s["Action"])
            for s in statements
            if s["Resource"].startswith("arn:aws:s3:::b/")
        }
        assert set(objects) == set(zones), role
    asr = {s["Resource"]: set(s["Action"]) for s in _doc("iam_asr_worker.json")["Statement"]}
    assert asr["arn:aws:s3:::b/audio/*"] == {"s3:GetObject", "s3:GetObjectVersion"}
    assert asr["arn:aws:s3:::b/restricted/*"] == {"s3:PutObject"}
    delivery = [s for s in _doc("iam_report_delivery.json")["Statement"] if s["Resource"].startswith("arn:aws:s3:::b/")]
    assert [(s["Resource"], s["Action"]) for s in delivery] == [
        ("arn:aws:s3:::b/reports/*", ["s3:GetObject", "s3:GetObjectVersion"])
    ]


def test_p2_p5_terraform_keeps_data_in_the_eu_encrypted_versioned_private_and_audit_locked():
    hcl = "\n".join(p.read_text() for p in sorted(TF.glob("*.tf")))
    assert re.search(r'variable "region".*?default\s+=\s+"eu-west-3".*?startswith\(var.region, "eu-"\)', hcl, re.S)
    assert hcl.count('status = "Enabled"') >= 2  # versioning on both buckets
    assert hcl.count('sse_algorithm     = "aws:kms"') == 2 and "enable_key_rotation     = true" in hcl
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert len(re.findall(rf"{flag}\s+= true", hcl)) == 2, flag
    assert "object_lock_enabled = true" in hcl and 'mode = "COMPLIANCE"' in hcl
    for name in ("lifecycle.json", "bucket_policy.json"):
        assert f"policies/{name}" in hcl
    assert "policies/iam_${each.key}.json" in hcl


def test_terraform_files_are_formatted():
    terraform = shutil.which("terraform")
    require(terraform is not None, "terraform is not installed")
    out = subprocess.run([terraform, "fmt", "-check", "-recursive", str(TF)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _env_refs(path: Path) -> set[str]:
    return set(re.findall(r"\{env: ([A-Z0-9_]+)\}", path.read_text()))


def _helm() -> tuple[dict, list[dict], dict]:
    values = yaml.safe_load((REPO / "infra" / "helm" / "values.yaml").read_text())
    manifests = list(yaml.safe_load_all((REPO / "infra" / "helm" / "manifests.yaml").read_text()))
    secrets = yaml.safe_load((REPO / "infra" / "helm" / "secrets.required.yaml").read_text())
    return values, manifests, secrets


def _app_config(manifests: list[dict]) -> dict:
    return next(m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "ccr-app-config")


def test_the_helm_deployment_provides_every_setting_the_prod_profile_and_instance_read():
    values, manifests, secrets = _helm()
    config = _app_config(manifests)
    provided = set(config["data"]) | set(secrets["ccr-app-secrets"])
    needed = _env_refs(REPO / "ccr_pipelines" / "config" / "prod.yaml")
    needed.add(
        yaml.safe_load((REPO / "ccr_pipelines" / "config" / "prod.yaml").read_text())["alerting"][
            "default_routing_key_env"
        ]
    )
    assert needed <= provided, needed - provided
    assert config["data"]["CCR_ENV"] == "prod"
    # one place for each value: the instance's PostgreSQL password comes from the chart's secret only,
    # the host from values.yaml only (the chart renders it into the instance ConfigMap)
    assert all(len(keys) == len(set(keys)) for keys in secrets.values())
    assert "DAGSTER_PG_PASSWORD" not in secrets["ccr-app-secrets"] and not any(
        k.startswith("DAGSTER_PG_") for k in config["data"]
    )
    host = values["postgresql"]["postgresqlHost"]
    helm_text = "".join(p.read_text() for p in sorted((REPO / "infra").rglob("*")) if p.is_file())
    assert helm_text.count(host) == 1, "the PostgreSQL host is written in more than one place"

    deployment = values["dagster-user-deployments"]["deployments"][0]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "ccr_pipelines.definitions"]
    assert deployment["image"]["tag"] != "latest" and deployment["securityContext"]["runAsNonRoot"]
    for holder in (deployment, values["runLauncher"]["config"]["k8sRunLauncher"]):
        assert {"name": "ccr-app-secrets"} in holder["envSecrets"]
        assert {"name": "ccr-app-config"} in holder["envConfigMaps"]
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagsterDaemon"]["runMonitoring"]["enabled"] and values["dagsterDaemon"]["runRetries"]["enabled"]
    assert values["postgresql"]["enabled"] is False and values["global"]["postgresqlSecretName"] in secrets
    accounts = {m["metadata"]["name"] for m in manifests if m["kind"] == "ServiceAccount"}
    tf_accounts = set(re.findall(r'(\w+)\s+=\s+"(ccr-[a-z-]+)"', (TF / "variables.tf").read_text()))
    assert accounts == {sa for _, sa in tf_accounts} and {r for r, _ in tf_accounts} == set(ROLE_ACCESS)

    # the ASR worker: a pod per batch on a GPU node, the model mounted read-only, its own IRSA account
    prod_asr = yaml.safe_load((REPO / "ccr_pipelines" / "config" / "prod.yaml").read_text())["asr"]
    assert prod_asr["launcher"] == "k8s" and prod_asr["device"] == "cuda"
    assert prod_asr["k8s_service_account"] in accounts
    pod = prod_asr["k8s_pod_spec"]
    assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    assert pod["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert pod["containers"][0]["volumeMounts"][0] == {"name": "models", "mountPath": "/models", "readOnly": True}
    assert prod_asr["model"].startswith("/models/")


def test_images_are_pinned_non_root_health_checked_and_only_the_worker_has_torch():
    code = (REPO / "infra" / "docker" / "Dockerfile.code-location").read_text()
    worker = (REPO / "infra" / "docker" / "Dockerfile.asr-worker").read_text()
    for text in (code, worker):
        base = re.search(r"^FROM (\S+)", text, re.M).group(1)
        assert ":" in base and not base.endswith(":latest"), base
        assert re.search(r"^USER \d+", text, re.M) and "HEALTHCHECK" in text
    assert "pip install ." in code and "[asr]" not in code
    assert "pip install '.[asr]'" in worker and "HF_HUB_OFFLINE=1" in worker
    # the models the worker would otherwise prepare at its first call are prepared at build (issue 17)
    assert "upgraded_vad_checkpoint" in worker and "segmentation_onnx" in worker and "voice_encoder_onnx" in worker
    assert "pip install --no-deps -r requirements-nodeps.txt" in worker
    assert 'ENTRYPOINT ["python", "-m", "ccr_pipelines.asr.worker"]' in worker


# -- issue 16: the deployment the chart renders comes up ------------------------------------------
def test_the_values_keep_the_chart_rules_that_bit_us_and_the_rules_can_fail():
    """The chart's schema is not shipped in any package: ccr_tools/helm_chart.chart_errors
    encodes the rules (concurrency placement, readinessProbe.enabled, serviceAccount.create)."""
    from ccr_tools.helm_chart import chart_errors

    values, _, _ = _helm()
    assert chart_errors(values) == []
    import copy

    bad = copy.deepcopy(values)  # the values as issue 16 found them
    bad["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"].update(
        maxConcurrentRuns=50, tagConcurrencyLimits=[{"key": "ccr/tenant", "limit": 4}]
    )
    dep = bad["dagster-user-deployments"]["deployments"][0]
    dep["readinessProbe"] = {"exec": {"command": ["dagster"]}, "periodSeconds": 20}
    bad["serviceAccount"]["create"] = True
    errors = "\n".join(chart_errors(bad))
    for needle in (
        "maxConcurrentRuns is set both",
        "tagConcurrencyLimits is set both",
        "readinessProbe needs `enabled`",
        "serviceAccount.create",
    ):
        assert needle in errors, needle


def _rendered_instance(tmp_path: Path, values: dict) -> Path:
    from ccr_tools.helm_chart import render_instance

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(render_instance(values), sort_keys=False))
    return home


def test_the_instance_the_chart_renders_passes_dagsters_own_validation(tmp_path, monkeypatch):
    from dagster._config import process_config
    from dagster._core.errors import DagsterInvalidConfigError
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes.config_class import class_from_code_pointer

    values, _, _ = _helm()
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", "placeholder")
    config, _ = dagster_instance_config(str(_rendered_instance(tmp_path, values)))
    assert config["run_launcher"]["class"] == "K8sRunLauncher"
    assert config["concurrency"]["runs"]["tag_concurrency_limits"][0]["key"] == "ccr/tenant"
    assert "config" not in config["run_coordinator"] or "max_concurrent_runs" not in config["run_coordinator"]["config"]
    assert config["run_storage"]["config"]["postgres_db"]["params"] == {"sslmode": "require"}  # P5
    assert config["run_monitoring"]["max_resume_run_attempts"] == 0 and config["run_retries"]["max_retries"] == 2
    # each configurable class's own config schema, as DagsterInstance would instantiate it
    for section in (
        "run_launcher",
        "run_coordinator",
        "run_storage",
        "event_log_storage",
        "schedule_storage",
        "scheduler",
        "compute_logs",
    ):
        data = config[section]
        cls = class_from_code_pointer(data["module"].replace("dagster.core.", "dagster._core."), data["class"])
        result = process_config(cls.config_type(), data.get("config") or {})
        assert result.success, (section, [e.message for e in result.errors])
    launcher = config["run_launcher"]["config"]
    assert (
        launcher["dagster_home"] == "/opt/dagster/dagster_home"
        and launcher["instance_config_map"] == "dagster-instance"
    )
    assert (
        launcher["service_account_name"] == "ccr-code-location"
        and launcher["postgres_password_secret"] == "ccr-postgres"
    )

    # the check can fail: the values issue 16 found render an instance Dagster refuses
    import copy

    bad = copy.deepcopy(values)
    bad["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"] = bad[
        "concurrency"
    ]["runs"].pop("tagConcurrencyLimits")
    (tmp_path / "bad").mkdir()
    with pytest.raises(DagsterInvalidConfigError, match="tag_concurrency_limits"):
        dagster_instance_config(str(_rendered_instance(tmp_path / "bad", bad)))


def test_the_code_location_loads_with_the_charts_dagster_home_and_environment(tmp_path, pg_url):
    """The code-server pod as the chart builds it: DAGSTER_HOME=/opt/dagster/dagster_home holding the
    chart's instance ConfigMap (mounted by values.yaml), env from the chart, ccr-app-config and the
    secrets (placeholders). A temp dir stands in for the home; the instance's PostgreSQL is pointed at
    a throwaway local database (host, port, database, user and sslmode are the only substitutions)."""
    import copy
    from urllib.parse import urlsplit

    from ccr_tools.helm_chart import CHART_DAGSTER_HOME, code_server_env, instance_config_map, mounted_files

    values, manifests, secrets = _helm()
    deployment = values["dagster-user-deployments"]["deployments"][0]["name"]
    assert mounted_files(values, deployment) == {f"{CHART_DAGSTER_HOME}/dagster.yaml": instance_config_map()}
    pg = urlsplit(pg_url)
    local = copy.deepcopy(values)
    local["postgresql"].update(
        postgresqlHost=pg.hostname,
        postgresqlDatabase=pg.path.lstrip("/"),
        postgresqlUsername=pg.username,
        postgresqlParams={"sslmode": "disable"},
        service={"port": pg.port or 5432},
    )
    home = _rendered_instance(tmp_path, local)
    placeholders = {
        "CCR_CONTROL_DB_URL": f"sqlite:///{tmp_path}/control.db",
        "CCR_SUBJECT_HASH_KEY": "p" * 48,
        "CCR_PAGER_ROUTING_KEY": "placeholder-routing-key",
        "CCR_SENTRY_DSN": "",
    }
    assert set(placeholders) == set(secrets["ccr-app-secrets"])
    env = code_server_env(
        values,
        deployment,
        config_maps={"ccr-app-config": _app_config(manifests)["data"]},
        secrets={"ccr-app-secrets": placeholders, "ccr-postgres": {"postgresql-password": ""}},
    )
    assert env["DAGSTER_HOME"] == CHART_DAGSTER_HOME and env["CCR_ENV"] == "prod"
    env["DAGSTER_HOME"] = str(home)  # the stand-in for the mounted home
    import os

    base = {k: os.environ[k] for k in ("PATH", "HOME", "PYTHONPATH") if k in os.environ}
    # the code server's loader (what `dagster api grpc -m ccr_pipelines.definitions` runs), then the instance
    # (the K8sRunLauncher itself needs a cluster: its class name is read from the instance ref)
    script = (
        "import dagster as dg\n"
        "from dagster._core.workspace.autodiscovery import loadable_targets_from_python_module\n"
        "from dagster._core.definitions.reconstruct import repository_def_from_target_def\n"
        "(target,) = loadable_targets_from_python_module('ccr_pipelines.definitions', working_directory='.')\n"
        "repo = repository_def_from_target_def(target.target_definition)\n"
        "inst = dg.DagsterInstance.get()\n"
        "limits = inst.get_concurrency_config().run_queue_config.tag_concurrency_limits\n"
        "print(type(inst.run_storage).__name__, inst.get_ref().run_launcher_data.class_name, len(limits),\n"
        "      len(repo.get_all_jobs()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    storage, launcher, limits, jobs = out.stdout.split()[-4:]
    assert (storage, launcher, limits) == ("PostgresRunStorage", "K8sRunLauncher", "1") and int(jobs) > 5

    # without the mount (the chart's default) the prod code location refuses to load (P8)
    (home / "dagster.yaml").unlink()
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=300
    )
    assert out.returncode != 0 and "PostgreSQL Dagster instance" in out.stderr


def test_the_webserver_is_reached_through_the_authenticating_proxy_only_and_viewers_get_a_read_only_one():
    values, manifests, _ = _helm()
    web = values["dagsterWebserver"]
    assert web["enableReadOnly"] is True and web["service"]["type"] == "ClusterIP"
    assert values["ingress"]["enabled"] is False  # the chart's ingress would share one set of annotations
    ingresses = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Ingress"}
    backends = {}
    for ing in ingresses.values():
        auth = ing["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"]
        assert auth.startswith("http://oauth2-proxy.") and "/oauth2/auth?allowed_groups=" in auth
        (rule,) = ing["spec"]["rules"]
        assert ing["spec"]["tls"][0]["hosts"] == [rule["host"]] and rule["host"]
        (path,) = rule["http"]["paths"]
        backends[path["backend"]["service"]["name"]] = set(auth.split("allowed_groups=", 1)[1].split(","))
    assert backends == {
        "dagster-webserver": {"ccr-dagster-operators"},
        "dagster-webserver-read-only": {"ccr-dagster-operators", "ccr-dagster-viewers"},
    }
    (policy,) = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    selected = policy["spec"]["podSelector"]["matchExpressions"][0]["values"]
    assert set(selected) == {"dagster-webserver", "dagster-webserver-read-only"}
    assert [f["namespaceSelector"] for f in policy["spec"]["ingress"][0]["from"]] == [
        {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}
    ]
    ops = (REPO / "docs" / "operations.md").read_text()
    assert "oauth2-proxy" in ops and "read-only" in ops


def test_the_model_volume_the_worker_mounts_is_defined_and_filled_by_a_documented_job():
    _, manifests, _ = _helm()
    prod_asr = yaml.safe_load((REPO / "ccr_pipelines" / "config" / "prod.yaml").read_text())["asr"]
    (vol,) = prod_asr["k8s_pod_spec"]["volumes"]
    claim = vol["persistentVolumeClaim"]["claimName"]
    pvcs = {m["metadata"]["name"] for m in manifests if m["kind"] == "PersistentVolumeClaim"}
    assert claim in pvcs
    (job,) = [m for m in manifests if m["kind"] == "Job"]
    pod = job["spec"]["template"]["spec"]
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"] == claim
    command = pod["containers"][0]["command"]
    assert command[:4] == ["python", "-m", "ccr_pipelines.asr.models", "fill"]
    assert command[command.index("--to") + 1] == prod_asr["model"]
    assert "ccr-whisper-models" in (REPO / "docs" / "operations.md").read_text()
