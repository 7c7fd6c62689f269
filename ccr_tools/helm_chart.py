"""What the official Dagster Helm chart (``dagster/dagster`` 1.13) makes of ``infra/helm/values.yaml``,
for the parts this deployment uses, as pure functions: no helm binary, no cluster, no Dagster import.

* :func:`render_instance` — the ``dagster.yaml`` the chart writes into its ``<release>-instance``
  ConfigMap (``templates/configmap-instance.yaml`` and ``helpers/instance/*.tpl``): PostgreSQL
  run/event/schedule storage, the daemon scheduler, ``K8sRunLauncher``, the queued run coordinator,
  ``concurrency`` (pools and runs), run monitoring, run retries, compute logs, telemetry.
* :func:`code_server_env` — the environment of the user-code (code-server) pod
  (``charts/dagster-user-deployments/templates/deployment-user.yaml``): the chart's shared env
  (``DAGSTER_HOME``), ``DAGSTER_PG_PASSWORD`` from the PostgreSQL secret, then the ConfigMaps and
  Secrets the deployment lists.
* :func:`chart_errors` — the chart's schema and template ``fail`` rules that bit this deployment
  (issue 16), encoded by hand: the chart's JSON schema (``values.schema.json``, generated from the
  chart repository's pydantic models) ships in no Python package, so the rules are written out
  here, each citing what the chart does.

The tests render the instance from the committed values and validate it with Dagster's own
instance-config validation, then load the code location with that instance and this environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RELEASE = "dagster"  # `helm upgrade --install dagster dagster/dagster` (docs/operations.md)
NAMESPACE = "dagster"  # `-n dagster`
# Chart defaults (helm/dagster/values.yaml) of the keys read below when values.yaml leaves them out.
CHART_DAGSTER_HOME = "/opt/dagster/dagster_home"
_DEFAULT_MONITORING = {
    "startTimeoutSeconds": 300,
    "cancelTimeoutSeconds": 300,
    "pollIntervalSeconds": 120,
    "freeSlotsAfterRunEndSeconds": 0,
}


def fullname(release: str = RELEASE) -> str:
    """``dagster.fullname``: the release name when it already contains the chart name."""
    return release if "dagster" in release else f"{release}-dagster"


def instance_config_map(release: str = RELEASE) -> str:
    return f"{fullname(release)}-instance"


def _postgres(values: Mapping[str, Any]) -> dict:
    pg = values.get("postgresql") or {}
    db: dict[str, Any] = {
        "username": (
            {"env": "DAGSTER_PG_USERNAME"}
            if (values.get("global") or {}).get("postgresqlSecretUsernameKey")
            else pg.get("postgresqlUsername")
        ),
        "password": {"env": "DAGSTER_PG_PASSWORD"},  # always from the secret, never from values
        "hostname": pg.get("postgresqlHost"),
        "db_name": pg.get("postgresqlDatabase"),
        "port": (pg.get("service") or {}).get("port", 5432),
        "params": pg.get("postgresqlParams") or {},
    }
    if pg.get("postgresqlScheme"):
        db["scheme"] = pg["postgresqlScheme"]
    return {"postgres_db": db}


def service_account_name(values: Mapping[str, Any], release: str = RELEASE) -> str:
    sa = values.get("serviceAccount") or {}
    return (values.get("global") or {}).get("serviceAccountName") or sa.get("name") or fullname(release)


def _snake(k8s_config: Mapping[str, Any]) -> dict:
    names = {
        "containerConfig": "container_config",
        "podSpecConfig": "pod_spec_config",
        "podTemplateSpecMetadata": "pod_template_spec_metadata",
        "jobSpecConfig": "job_spec_config",
        "jobMetadata": "job_metadata",
        "jobConfig": "job_config",
    }
    return {names.get(k, k): v for k, v in k8s_config.items()}


def _run_launcher(values: Mapping[str, Any], release: str) -> dict:
    """``helpers/instance/_run-launcher.tpl`` (dagsterYaml.runLauncher.k8s)."""
    launcher = values.get("runLauncher") or {}
    if launcher.get("type") != "K8sRunLauncher":
        raise ValueError("only the K8sRunLauncher is rendered here")
    k8s = (launcher.get("config") or {}).get("k8sRunLauncher") or {}
    glob = values.get("global") or {}
    config: dict[str, Any] = {
        "load_incluster_config": k8s.get("loadInclusterConfig", True),
        "job_namespace": k8s.get("jobNamespace") or NAMESPACE,
        "image_pull_policy": k8s.get("imagePullPolicy", "Always"),  # the chart's default
        "service_account_name": service_account_name(values, release),
        "dagster_home": glob.get("dagsterHome", CHART_DAGSTER_HOME),
        "instance_config_map": instance_config_map(release),
        "postgres_password_secret": glob.get("postgresqlSecretName"),
    }
    if k8s.get("kubeconfigFile"):
        config["kubeconfig_file"] = k8s["kubeconfigFile"]
    if values.get("imagePullSecrets"):
        config["image_pull_secrets"] = values["imagePullSecrets"]
    names = [c["name"] for c in k8s.get("envConfigMaps") or [] if isinstance(c, dict) and "name" in c]
    if names:
        config["env_config_maps"] = names
    names = [c["name"] for c in k8s.get("envSecrets") or [] if isinstance(c, dict) and "name" in c]
    if names:
        config["env_secrets"] = names
    for key, name in (
        ("envVars", "env_vars"),
        ("volumeMounts", "volume_mounts"),
        ("volumes", "volumes"),
        ("labels", "labels"),
        ("resources", "resources"),
        ("schedulerName", "scheduler_name"),
        ("securityContext", "security_context"),
    ):
        if k8s.get(key):
            config[name] = k8s[key]
    if k8s.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if k8s.get("runK8sConfig"):
        config["run_k8s_config"] = _snake({k: v for k, v in k8s["runK8sConfig"].items() if v})
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _run_coordinator(daemon: Mapping[str, Any]) -> dict | None:
    rc = daemon.get("runCoordinator") or {}
    if not (daemon.get("enabled") and rc.get("enabled")):
        return None
    if rc.get("type") != "QueuedRunCoordinator":
        raise ValueError("only the QueuedRunCoordinator is rendered here")
    qrc = (rc.get("config") or {}).get("queuedRunCoordinator") or {}
    out: dict[str, Any] = {"module": "dagster.core.run_coordinator", "class": "QueuedRunCoordinator"}
    config: dict[str, Any] = {}
    if qrc.get("maxConcurrentRuns") is not None:
        config["max_concurrent_runs"] = qrc["maxConcurrentRuns"]
    if qrc.get("tagConcurrencyLimits"):
        config["tag_concurrency_limits"] = qrc["tagConcurrencyLimits"]
    if qrc.get("dequeueIntervalSeconds"):
        config["dequeue_interval_seconds"] = qrc["dequeueIntervalSeconds"]
    if qrc.get("dequeueUseThreads"):
        config["dequeue_use_threads"] = qrc["dequeueUseThreads"]
    if qrc.get("dequeueNumWorkers"):
        config["dequeue_num_workers"] = qrc["dequeueNumWorkers"]
    if config:
        out["config"] = config
    return out


def _concurrency(values: Mapping[str, Any]) -> dict | None:
    conc = values.get("concurrency") or {}
    if not conc.get("enabled"):
        return None
    pools, runs = conc.get("pools") or {}, conc.get("runs") or {}
    out: dict[str, Any] = {}
    p = {
        name: pools[key]
        for key, name in (
            ("defaultLimit", "default_limit"),
            ("granularity", "granularity"),
            ("opGranularityRunBuffer", "op_granularity_run_buffer"),
        )
        if pools.get(key) is not None
    }
    if p:
        out["pools"] = p
    r: dict[str, Any] = {}
    if runs.get("maxConcurrentRuns") is not None:
        r["max_concurrent_runs"] = runs["maxConcurrentRuns"]
    if runs.get("tagConcurrencyLimits"):
        r["tag_concurrency_limits"] = [
            {k: v for k, v in t.items() if k in ("key", "value", "limit") and v is not None}
            for t in runs["tagConcurrencyLimits"]
        ]
    if r:
        out["runs"] = r
    return out or None


def _compute_logs(values: Mapping[str, Any]) -> dict:
    kind = (values.get("computeLogManager") or {}).get("type", "NoOpComputeLogManager")
    if kind != "NoOpComputeLogManager":
        raise ValueError("only the NoOpComputeLogManager is rendered here")
    return {"module": "dagster.core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"}


def render_instance(values: Mapping[str, Any], release: str = RELEASE) -> dict:
    """The ``dagster.yaml`` of the chart's instance ConfigMap, as a dict (see the module docstring)."""
    daemon = values.get("dagsterDaemon") or {}
    storage = _postgres(values)
    inst: dict[str, Any] = {
        "scheduler": {"module": "dagster.core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {
            "module": "dagster_postgres.schedule_storage",
            "class": "PostgresScheduleStorage",
            "config": storage,
        },
        "run_launcher": _run_launcher(values, release),
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage", "config": storage},
        "event_log_storage": {
            "module": "dagster_postgres.event_log",
            "class": "PostgresEventLogStorage",
            "config": storage,
        },
    }
    coordinator = _run_coordinator(daemon)
    if coordinator:
        inst["run_coordinator"] = coordinator
    inst["compute_logs"] = _compute_logs(values)
    monitoring = {**_DEFAULT_MONITORING, **(daemon.get("runMonitoring") or {})}
    if daemon.get("enabled") and monitoring.get("enabled"):
        inst["run_monitoring"] = {
            "enabled": True,
            "start_timeout_seconds": monitoring["startTimeoutSeconds"],
            "cancel_timeout_seconds": monitoring["cancelTimeoutSeconds"],
            "poll_interval_seconds": monitoring["pollIntervalSeconds"],
            "free_slots_after_run_end_seconds": monitoring["freeSlotsAfterRunEndSeconds"],
        }
        if monitoring.get("maxResumeRunAttempts") is not None:
            inst["run_monitoring"]["max_resume_run_attempts"] = monitoring["maxResumeRunAttempts"]
    retries = daemon.get("runRetries") or {}
    if daemon.get("enabled") and retries.get("enabled"):
        inst["run_retries"] = {
            "enabled": True,
            **({"max_retries": retries["maxRetries"]} if retries.get("maxRetries") else {}),
        }
    inst["telemetry"] = {"enabled": bool((values.get("telemetry") or {}).get("enabled", True))}
    concurrency = _concurrency(values)
    if concurrency:
        inst["concurrency"] = concurrency
    if values.get("additionalInstanceConfig"):
        inst.update(values["additionalInstanceConfig"])
    return inst


def user_deployment(values: Mapping[str, Any], name: str) -> dict:
    deployments = (values.get("dagster-user-deployments") or {}).get("deployments") or []
    return next(d for d in deployments if d["name"] == name)


def code_server_env(
    values: Mapping[str, Any],
    deployment: str,
    *,
    config_maps: Mapping[str, Mapping[str, str]],
    secrets: Mapping[str, Mapping[str, str]],
) -> dict[str, str]:
    """The code-server pod's environment, in the order Kubernetes applies it (``env`` wins over
    ``envFrom``; later ``envFrom`` sources win over earlier ones). *config_maps* / *secrets* hold
    the data of the objects the deployment names (secret values: placeholders in tests)."""
    dep = user_deployment(values, deployment)
    glob = values.get("global") or {}
    env: dict[str, str] = {
        "DAGSTER_HOME": glob.get("dagsterHome", CHART_DAGSTER_HOME),
        "DAGSTER_K8S_PIPELINE_RUN_NAMESPACE": NAMESPACE,
        "DAGSTER_K8S_PIPELINE_RUN_ENV_CONFIGMAP": f"{fullname()}-pipeline-env",
    }
    if isinstance(dep.get("env"), dict):  # the chart writes a map into the deployment's own ConfigMap
        env.update({k: str(v) for k, v in dep["env"].items()})
    for ref in dep.get("envConfigMaps") or []:
        env.update(config_maps[ref["name"]])
    for ref in dep.get("envSecrets") or []:
        env.update(secrets[ref["name"]])
    env["DAGSTER_CURRENT_IMAGE"] = f"{dep['image']['repository']}:{dep['image']['tag']}"
    env["DAGSTER_PG_PASSWORD"] = secrets[glob["postgresqlSecretName"]]["postgresql-password"]
    if isinstance(dep.get("env"), list):
        env.update({e["name"]: str(e.get("value", "")) for e in dep["env"]})
    return env


def mounted_files(values: Mapping[str, Any], deployment: str) -> dict[str, str]:
    """mountPath → ConfigMap name of every ConfigMap volume the deployment mounts (subPath mounts
    name the file itself)."""
    dep = user_deployment(values, deployment)
    volumes = {v["name"]: v for v in dep.get("volumes") or []}
    out = {}
    for m in dep.get("volumeMounts") or []:
        vol = volumes.get(m["name"]) or {}
        if "configMap" in vol:
            out[m["mountPath"]] = vol["configMap"]["name"]
    return out


def chart_errors(values: Mapping[str, Any]) -> list[str]:
    """The chart's schema / template rules this deployment must keep (empty list = accepted)."""
    errors = []
    daemon = values.get("dagsterDaemon") or {}
    qrc = ((daemon.get("runCoordinator") or {}).get("config") or {}).get("queuedRunCoordinator") or {}
    runs = (values.get("concurrency") or {}).get("runs") or {}
    # helpers/instance/_concurrency.tpl: `fail "Cannot set both ..."`
    if qrc.get("maxConcurrentRuns") is not None and runs.get("maxConcurrentRuns") is not None:
        errors.append("maxConcurrentRuns is set both in concurrency.runs and in the queued run coordinator")
    if qrc.get("tagConcurrencyLimits") and runs.get("tagConcurrencyLimits"):
        errors.append("tagConcurrencyLimits is set both in concurrency.runs and in the queued run coordinator")
    # Dagster refuses run-queue limits in the coordinator once `concurrency` is used (checked again by
    # dagster_instance_config on the rendered instance); the chart renders `concurrency` when enabled.
    if (values.get("concurrency") or {}).get("enabled") and (
        qrc.get("maxConcurrentRuns") is not None or qrc.get("tagConcurrencyLimits")
    ):
        errors.append("with concurrency enabled, run limits belong under concurrency.runs, not the run coordinator")
    for dep in (values.get("dagster-user-deployments") or {}).get("deployments") or []:
        for probe in ("readinessProbe", "startupProbe"):
            p = dep.get(probe)
            # values.schema.json: ReadinessProbeWithEnabled / StartupProbeWithEnabled require `enabled`
            if p is not None and "enabled" not in p:
                errors.append(f"{dep['name']}: {probe} needs `enabled` (chart schema)")
            # deployment-user.yaml copies a probe holding `exec` verbatim, `enabled` included: the
            # pod spec would carry a field Kubernetes does not know. Let the chart build the exec.
            if probe == "readinessProbe" and p and p.get("enabled") is not False and "exec" in p:
                errors.append(f"{dep['name']}: readinessProbe with `exec` is copied verbatim (with `enabled`)")
    glob = values.get("global") or {}
    if glob.get("serviceAccountName") and (values.get("serviceAccount") or {}).get("create", True):
        # templates/serviceaccount.yaml creates `global.serviceAccountName` when serviceAccount.create
        errors.append(
            "global.serviceAccountName is created by the chart: set serviceAccount.create: false "
            "when the account is managed outside it"
        )
    for name in ("postgresqlSecretName",):
        if not glob.get(name):
            errors.append(f"global.{name} is required")
    if values.get("generatePostgresqlPasswordSecret", True) and not (values.get("postgresql") or {}).get("enabled"):
        errors.append("generatePostgresqlPasswordSecret would overwrite the external PostgreSQL secret")
    return errors
