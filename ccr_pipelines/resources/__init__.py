"""Dagster resources: thin adapters over the composition root (``ccr_pipelines.platform``).

Their fields are the settings profile's values (defaults and bounds declared once, in
``core.settings``); values that are secrets or per-deployment names come from the environment
through ``dg.EnvVar`` (``resources_from_settings``). Their ``get()`` calls the platform's builders.
"""

import dagster as dg
from pydantic import PrivateAttr, ValidationError, model_validator

from .. import platform
from ..core.settings import (
    AlertingSettings,
    AsrSettings,
    BackupSettings,
    EnvRef,
    IngestSettings,
    S3ObjectStoreSettings,
    field_default,
)
from ..core.tenants import TenantRegistry
from ..loaders.config_files import load_tenant_registry
from ..loaders.settings_files import LoadedSettings, load_settings
from ..stores.control_store import ControlStore
from ..stores.object_store import ObjectStore
from ..stores.warehouse import Warehouse


class ObjectStoreResource(dg.ConfigurableResource):
    """Object store: a local directory (embedded default) or S3 (P2 region guard, P5 SSE)."""

    kind: str = "local"
    root: str = "var/objects"
    bucket: str = ""
    region: str = field_default(S3ObjectStoreSettings, "region")
    endpoint_url: str = ""
    sse: str = field_default(S3ObjectStoreSettings, "sse")
    kms_key_id: str = ""
    region_override_reason: str = ""
    # P6, P17, P19: backups in the control zone are deleted after this many days (settings backups.keep_days)
    backup_keep_days: int = field_default(BackupSettings, "keep_days")
    audit_bucket: str = ""
    audit_retention_days: int = field_default(S3ObjectStoreSettings, "audit_retention_days")

    _store: "ObjectStore | None" = PrivateAttr(default=None)

    def spec(self) -> dict:
        """The builder's arguments (``platform.build_object_store``); what the ASR worker receives."""
        return {
            k: getattr(self, k)
            for k in (
                "kind",
                "root",
                "bucket",
                "region",
                "endpoint_url",
                "sse",
                "kms_key_id",
                "region_override_reason",
                "audit_bucket",
                "audit_retention_days",
            )
        }

    def get(self) -> ObjectStore:
        if self._store is None:
            self._store = platform.build_object_store(**self.spec())
        return self._store

    @property
    def region_label(self) -> str:
        return platform.region_label(self.get())


class ControlStoreResource(dg.ConfigurableResource):
    """Control store (SQLite file by default, PostgreSQL in production); migrated on first use."""

    url: str

    _store: "ControlStore | None" = PrivateAttr(default=None)

    def get(self) -> ControlStore:
        if self._store is None:
            self._store = platform.shared_control_store(self.url)
        return self._store


class WarehouseResource(dg.ConfigurableResource):
    """Parquet datasets in the object store, read with DuckDB."""

    object_store: ObjectStoreResource

    def get(self) -> Warehouse:
        return Warehouse(self.object_store.get())


class TenantRegistryResource(dg.ConfigurableResource):
    """The environment's validated tenant registry, with the control store's suspension switch applied (P12)."""

    path: str
    # where the containment switch lives (the code location's one control store); none = the file alone decides
    control_store: ControlStoreResource | None = None

    _registry: "TenantRegistry | None" = PrivateAttr(default=None)

    def get(self) -> TenantRegistry:
        if self._registry is None:
            self._registry = load_tenant_registry(self.path)
        control = self.control_store.get() if self.control_store is not None else None
        # read on every call: a switch flipped by on-call takes effect at the next tick
        return platform.registry_with_suspensions(self._registry, control)


def _bounded_by(model, *, exclude: tuple[str, ...] = ()):
    """A validator: the resource's fields that the settings *model* declares are checked against it
    (types, choices and bounds declared once, in ``core.settings``), at construction and for a run
    configured in the Dagster UI alike."""

    def check(self):
        values = {n: getattr(self, n) for n in type(self).model_fields if n in model.model_fields and n not in exclude}
        try:
            model.model_validate(values)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}: {first['msg']}" if where else first["msg"]) from None
        return self

    return model_validator(mode="after")(check)


class IngestConfigResource(dg.ConfigurableResource):
    """Ingestion limits and the subject-hash key (a secret outside the local profile); settings ``ingest``."""

    max_duration_s: float = field_default(IngestSettings, "max_duration_s")
    max_object_bytes: int = field_default(IngestSettings, "max_object_bytes")
    sensor_max_objects_per_tick: int = field_default(IngestSettings, "sensor_max_objects_per_tick")
    subject_hash_key: str

    check_bounds = _bounded_by(IngestSettings, exclude=("subject_hash_key",))


def _asr(name: str):
    value = field_default(AsrSettings, name)
    return "" if value is None else value


class AsrResource(dg.ConfigurableResource):
    """Transcription settings handed to the out-of-process worker; settings ``asr``."""

    model: str = _asr("model")
    multilingual_model: str = _asr("multilingual_model")
    device: str = _asr("device")
    compute_type: str = _asr("compute_type")
    batch_size: int = _asr("batch_size")
    threads: int = _asr("threads")
    inter_threads: int = _asr("inter_threads")
    vad: str = _asr("vad")
    vad_threshold: float = _asr("vad_threshold")
    alignment_model_dir: str = _asr("alignment_model_dir")
    mono_diarization: str = _asr("mono_diarization")
    calls_per_launch: int = _asr("calls_per_launch")
    launcher: str = _asr("launcher")
    k8s_image: str = _asr("k8s_image")
    k8s_namespace: str = _asr("k8s_namespace")
    k8s_service_account: str = _asr("k8s_service_account")
    k8s_pod_spec_json: str = ""  # settings asr.k8s_pod_spec, as JSON

    check_bounds = _bounded_by(AsrSettings)

    def launch_args(self, worker_module: str) -> dict:
        """What the Pipes client needs besides context, extras and env: a local command, or a pod."""
        if self.launcher == "subprocess":
            import sys

            return {"command": [sys.executable, "-m", worker_module]}
        import json

        spec = json.loads(self.k8s_pod_spec_json) if self.k8s_pod_spec_json else {}
        return {
            "image": self.k8s_image,
            "command": ["python", "-m", worker_module],
            "namespace": self.k8s_namespace,
            "base_pod_spec": {**spec, "serviceAccountName": self.k8s_service_account, "restartPolicy": "Never"},
        }

    def worker_config(self) -> dict:
        return {
            "model": self.model,
            "multilingual_model": self.multilingual_model or None,
            "device": self.device,
            "compute_type": self.compute_type,
            "batch_size": self.batch_size,
            "threads": self.threads,
            "inter_threads": self.inter_threads,
            "vad": self.vad,
            "vad_threshold": self.vad_threshold,
            "alignment_model_dir": self.alignment_model_dir or None,
            "mono_diarization": self.mono_diarization,
        }


class AlertingResource(dg.ConfigurableResource):
    """Pager endpoint, retry policy and Sentry DSN for incident routing (P7, P11, P22)."""

    pager_url: str = ""
    default_routing_key_env: str = field_default(AlertingSettings, "default_routing_key_env")
    max_attempts: int = field_default(AlertingSettings, "max_attempts")
    backoff_s: float = field_default(AlertingSettings, "backoff_s")
    sentry_dsn: str = ""
    environment: str = "local"

    check_bounds = _bounded_by(AlertingSettings, exclude=("pager_url",))

    def settings(self):
        from ..services.alerting import AlertSettings, init_sentry

        sentry = init_sentry(self.sentry_dsn or None, environment=self.environment)
        return AlertSettings(
            pager_url=self.pager_url or None,
            default_routing_key_env=self.default_routing_key_env,
            max_attempts=self.max_attempts,
            backoff_s=self.backoff_s,
            sentry_enabled=sentry,
        )


def _dbt_resource():
    return platform.dbt_cli_resource()


def _asr_resource(asr) -> "AsrResource":
    import json

    values = {
        k: (v if v is not None else "") for k, v in asr.model_dump().items() if k not in ("k8s_pod_spec", "k8s_image")
    }
    return AsrResource(
        **values,
        k8s_image=_field(asr.k8s_image),
        k8s_pod_spec_json=json.dumps(asr.k8s_pod_spec) if asr.k8s_pod_spec else "",
    )


def _pipes_client(launcher: str):
    if launcher == "k8s":
        from dagster_k8s import PipesK8sClient

        # in-cluster credentials of the code location's service account (IRSA / RBAC, infra/helm)
        return PipesK8sClient(load_incluster_config=True)
    return dg.PipesSubprocessClient()


def _field(value):
    """A settings value for a resource field: EnvRef -> dg.EnvVar (resolved at run time)."""
    if isinstance(value, EnvRef):
        return dg.EnvVar(value.env)
    return value if value is not None else ""


def resources_from_settings(loaded: LoadedSettings | None = None) -> dict:
    """The code location's resources, from the profile (``platform`` builds what their ``get()`` returns)."""
    loaded = loaded or load_settings()
    s = loaded.settings
    object_store = ObjectStoreResource(
        **{k: _field(v) for k, v in platform.object_store_fields(s).items()}, backup_keep_days=s.backups.keep_days
    )
    url = s.control_store.url
    control_store = ControlStoreResource(url=dg.EnvVar(url.env) if isinstance(url, EnvRef) else s.expand(url))
    return {
        "object_store": object_store,
        "control_store": control_store,
        "warehouse": WarehouseResource(object_store=object_store),
        "tenant_registry": TenantRegistryResource(path=loaded.registry.source, control_store=control_store),
        "asr": _asr_resource(s.asr),
        "dbt": _dbt_resource(),
        # Local: a subprocess. Production: a pod per batch on GPU nodes (asr.launcher: k8s).
        "pipes_client": _pipes_client(s.asr.launcher),
        "alerting": AlertingResource(
            pager_url=_field(s.alerting.pager_url),
            default_routing_key_env=s.alerting.default_routing_key_env,
            max_attempts=s.alerting.max_attempts,
            backoff_s=s.alerting.backoff_s,
            sentry_dsn=_field(s.sentry_dsn),
            environment=s.env,
        ),
        "ingest_config": IngestConfigResource(
            **{k: v for k, v in s.ingest.model_dump().items() if k != "subject_hash_key"},
            subject_hash_key=_field(s.ingest.subject_hash_key),
        ),
    }
