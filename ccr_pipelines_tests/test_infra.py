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

import yaml

from ccr_pipelines.core.infra_policies import ROLE_ACCESS, zone_expiry_days
from ccr_pipelines.core.keys import ZONES
from ccr_pipelines.core.tenants import RETENTION_BOUNDS

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
        "s3:x-amz-server-side-encryption": "aws:kms"}
    assert all(s["Effect"] == "Deny" for s in statements.values())


def test_p3_each_role_reaches_only_its_own_prefixes():
    for role, zones in ROLE_ACCESS.items():
        statements = _doc(f"iam_{role}.json")["Statement"]
        for s in statements:
            assert s["Effect"] == "Allow"
            actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
            assert not any(a.endswith(":*") for a in actions), (role, actions)
        objects = {s["Resource"].split("/", 1)[1].rstrip("/*"): set(s["Action"]) for s in statements
                   if s["Resource"].startswith("arn:aws:s3:::b/")}
        assert set(objects) == set(zones), role
    asr = {s["Resource"]: set(s["Action"]) for s in _doc("iam_asr_worker.json")["Statement"]}
    assert asr["arn:aws:s3:::b/audio/*"] == {"s3:GetObject", "s3:GetObjectVersion"}
    assert asr["arn:aws:s3:::b/restricted/*"] == {"s3:PutObject"}
    delivery = [s for s in _doc("iam_report_delivery.json")["Statement"] if s["Resource"].startswith("arn:aws:s3:::b/")]
    assert [(s["Resource"], s["Action"]) for s in delivery] == [("arn:aws:s3:::b/reports/*",
                                                                 ["s3:GetObject", "s3:GetObjectVersion"])]


def test_p2_p5_terraform_keeps_data_in_the_eu_encrypted_versioned_private_and_audit_locked():
    hcl = "\n".join(p.read_text() for p in sorted(TF.glob("*.tf")))
    assert re.search(r'variable "region".*?default\s+=\s+"eu-west-3".*?startswith\(var.region, "eu-"\)', hcl, re.S)
    assert hcl.count('status = "Enabled"') >= 2  # versioning on both buckets
    assert hcl.count('sse_algorithm     = "aws:kms"') == 2 and "enable_key_rotation     = true" in hcl
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert len(re.findall(rf"{flag}\s+= true", hcl)) == 2, flag
    assert 'object_lock_enabled = true' in hcl and 'mode = "COMPLIANCE"' in hcl
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


def test_the_helm_deployment_provides_every_setting_the_prod_profile_and_instance_read():
    values = yaml.safe_load((REPO / "infra" / "helm" / "values.yaml").read_text())
    manifests = list(yaml.safe_load_all((REPO / "infra" / "helm" / "manifests.yaml").read_text()))
    secrets = yaml.safe_load((REPO / "infra" / "helm" / "secrets.required.yaml").read_text())
    config = next(m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "ccr-app-config")
    provided = set(config["data"]) | set(secrets["ccr-app-secrets"])
    needed = _env_refs(REPO / "ccr_pipelines" / "config" / "prod.yaml") | _env_refs(REPO / "dagster.yaml")
    needed.add(yaml.safe_load((REPO / "ccr_pipelines" / "config" / "prod.yaml").read_text())["alerting"][
        "default_routing_key_env"])
    assert needed <= provided, needed - provided
    assert config["data"]["CCR_ENV"] == "prod"

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
    assert 'ENTRYPOINT ["python", "-m", "ccr_pipelines.asr.worker"]' in worker
