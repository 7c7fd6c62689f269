"""The composition root: the one place that turns the loaded settings into the platform's parts.

Every process builds its stores, paths and service environments here, and nowhere else:

- the object store (``build_object_store``; the profile's values by ``object_store_fields`` /
  ``object_store_spec``), the control store (``build_control_store``: opened and migrated once), the
  warehouse over the object store, the tenant registry with the control store's suspensions (P12);
- the marts location and the dbt project (``services.marts`` knows the layout; ``dbt_project`` is the
  cached ``DbtProject`` over the manifest ``services.marts.prepare_dbt_manifest`` prepares);
- the environments the services take: the erasure environment (DSR, P16-P18), the purge (P19).

Adapters over it: the Dagster resources (``resources``: their fields are the profile's values, their
``get()`` calls the builders here), the CLI (``Platform``, one per invocation), the demo and the ASR
worker (``build_object_store`` from the spec it receives through Pipes).

No Dagster import at module level: the ASR worker (no Dagster code location) imports this module.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from .core.regions import check_region
from .core.settings import EnvRef, Settings, Value, resolve
from .core.tenants import TenantRegistry
from .loaders.settings_files import LoadedSettings, load_settings
from .services.marts import DBT_DIR, MartsLocation, dbt_manifest_path, marts_file, marts_location
from .stores.control_store import ControlStore
from .stores.object_store import LocalObjectStore, ObjectStore, S3ObjectStore

if TYPE_CHECKING:  # DuckDB and Arrow load with the first warehouse, not with every CLI command
    from .stores.warehouse import Warehouse


# -- object store ----------------------------------------------------------------
def object_store_fields(settings: Settings) -> dict[str, Value | int | None]:
    """The profile's object store as the builder's keyword arguments; a secret or per-deployment value
    stays an ``EnvRef`` (the Dagster resources turn it into ``dg.EnvVar``, resolved at run time)."""
    cfg = settings.object_store
    if cfg.kind == "local":
        return {"kind": "local", "root": settings.expand(cfg.root)}
    return {
        "kind": "s3",
        "bucket": cfg.bucket,
        "region": cfg.region,
        "endpoint_url": cfg.endpoint_url,
        "sse": cfg.sse,
        "kms_key_id": cfg.kms_key_id,
        "region_override_reason": cfg.region_override_reason,
        "audit_bucket": cfg.audit_bucket,
        "audit_retention_days": cfg.audit_retention_days,
    }


def object_store_spec(settings: Settings) -> dict:
    """``object_store_fields`` with every environment reference resolved: plain values."""
    return {k: resolve(v) if isinstance(v, EnvRef) else v for k, v in object_store_fields(settings).items()}


def build_object_store(
    kind: str = "local",
    root: str = "",
    bucket: str = "",
    region: str = "eu-west-3",
    endpoint_url: str | None = None,
    sse: str = "AES256",
    kms_key_id: str | None = None,
    region_override_reason: str | None = None,
    audit_bucket: str | None = None,
    audit_retention_days: int = 1825,
) -> ObjectStore:
    """THE object store constructor: a local directory (embedded default) or S3 (P2 region guard, P5 SSE).
    Empty strings mean "not set" (Dagster config has no None)."""
    if kind == "local":
        return LocalObjectStore(root)
    if kind == "s3":
        check_region(region, region_override_reason or None, where="object store")
        return S3ObjectStore(
            bucket,
            region=region,
            endpoint_url=endpoint_url or None,
            sse=sse,
            kms_key_id=kms_key_id or None,
            audit_bucket=audit_bucket or None,
            audit_retention_days=audit_retention_days,
        )
    raise ValueError(f"unknown object store kind {kind!r}")


def object_store_from_settings(settings: Settings) -> ObjectStore:
    """The object store a settings profile describes (P2 and P5 applied by the settings and the builder)."""
    return build_object_store(**object_store_spec(settings))


def region_label(store: ObjectStore) -> str:
    """The region lineage rows record (P2, P9): the bucket's region, or ``local``."""
    if isinstance(store, LocalObjectStore):
        return "local"
    return getattr(store, "region", None) or "local"


def uri_prefix(store: ObjectStore) -> str | None:
    """The URI of a local store's root (``file:///…/``), to map lineage URIs back to object keys;
    None for S3 (its URIs carry the bucket)."""
    probe = store.uri("x")
    return None if probe.startswith("s3://") else probe[:-1]


# -- control store ----------------------------------------------------------------
def build_control_store(url: str, *, migrate: bool = True) -> ControlStore:
    """THE control store constructor (SQLite file by default, PostgreSQL in production), migrated."""
    store = ControlStore(url)
    if migrate:
        store.migrate()
    return store


_SHARED_CONTROL: weakref.WeakValueDictionary[str, ControlStore] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def shared_control_store(url: str) -> ControlStore:
    """The process's one control store for *url*, migrated once, shared by whoever holds it (Dagster
    copies its resources: the control store resource and the registry's nested one are two copies,
    one store). Dropped when no holder is left."""
    with _SHARED_LOCK:
        store = _SHARED_CONTROL.get(url)
        if store is None:
            store = build_control_store(url)
            _SHARED_CONTROL[url] = store
        return store


def release_control_store(store: ControlStore) -> None:
    """Close *store*'s connections and forget it: the next ``shared_control_store`` opens a new one (the
    demo may wipe the SQLite file; a stale store would not see the new file's schema)."""
    with _SHARED_LOCK:
        for url, held in list(_SHARED_CONTROL.items()):
            if held is store:
                del _SHARED_CONTROL[url]
    store.dispose()


def registry_with_suspensions(registry: TenantRegistry, control: ControlStore | None) -> TenantRegistry:
    """P12: the registry file with the control store's containment switch applied (read on every call:
    a switch flipped by on-call takes effect at the next tick)."""
    if control is None:
        return registry
    from .services.suspension import current

    return registry.with_suspensions(current(control))


# -- dbt ---------------------------------------------------------------------------
@functools.cache
def dbt_project():
    """The cached ``DbtProject`` the dbt assets are built from. Its manifest is prepared beforehand
    (``services.marts.prepare_dbt_manifest``: ``definitions``, ``ccr demo``, ``make check``, the tests):
    importing the assets never runs dbt."""
    from dagster_dbt import DbtProject

    if not dbt_manifest_path().exists():
        raise RuntimeError(
            f"no dbt manifest at {dbt_manifest_path()}: prepare it first "
            "(services.marts.prepare_dbt_manifest, or `make check`)"
        )
    return DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


def dbt_cli_resource():
    """The dbt CLI the marts asset invokes (the dbt next to this interpreter)."""
    from dagster_dbt import DbtCliResource

    from .services.marts import dbt_executable

    return DbtCliResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), dbt_executable=dbt_executable())


# -- service environments ------------------------------------------------------------
def purge_env(
    store: ObjectStore,
    control: ControlStore,
    registry: TenantRegistry,
    *,
    today: date,
    run_id: str | None,
    backup_keep_days: int | None,
    progress: Callable[[str], None] | None = None,
):
    """P19: the retention purge's environment, whoever runs it (``ccr purge``, the Dagster job)."""
    from .services.marts import marts_rebuilder
    from .services.retention import PurgeEnv
    from .stores.warehouse import Warehouse

    return PurgeEnv(
        store=store,
        warehouse=Warehouse(store),
        control=control,
        registry=registry,
        today=today,
        run_id=run_id,
        rebuild_marts=marts_rebuilder(store, control),
        backup_keep_days=backup_keep_days,
        progress=progress,
    )


class Platform:
    """Everything one process needs, from its loaded settings; each store is opened on first use and
    shared (one control store per process, migrated once). ``close()`` releases it."""

    def __init__(self, loaded: LoadedSettings):
        self.loaded = loaded
        self.settings: Settings = loaded.settings
        self.source: Path = loaded.source
        self.file_registry: TenantRegistry = loaded.registry  # the registry file alone (no suspensions)
        self._control: ControlStore | None = None

    @classmethod
    def load(cls, env: str | None = None) -> Platform:
        return cls(load_settings(env))

    # -- stores
    @functools.cached_property
    def object_store(self) -> ObjectStore:
        return object_store_from_settings(self.settings)

    @property
    def control_store(self) -> ControlStore:
        if self._control is None:
            self._control = shared_control_store(self.settings.control_url())
        return self._control

    def control_store_as_is(self) -> ControlStore:
        """The control store opened WITHOUT upgrading its schema (``ccr db current|history|downgrade``
        show or change the schema as it is). A store below the Alembic baseline is still migrated: it
        holds no role table to check the caller against before that."""
        if self._control is None:
            from .stores.migrations import BASELINE

            store = build_control_store(self.settings.control_url(), migrate=False)
            if store.current_version() < int(BASELINE):
                store.migrate()
            self._control = store
        return self._control

    @functools.cached_property
    def warehouse(self) -> Warehouse:
        from .stores.warehouse import Warehouse

        return Warehouse(self.object_store)

    def tenants(self) -> TenantRegistry:
        """The registry with the suspensions in force now (P12)."""
        return registry_with_suspensions(self.file_registry, self.control_store)

    # -- paths
    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    @property
    def dagster_home(self) -> Path:
        """The embedded default's Dagster instance (``make ui`` opens it; ``ccr demo`` runs in it)."""
        return self.data_dir / "dagster_home"

    @property
    def objects_root(self) -> Path | None:
        """A local store's root folder (None for S3)."""
        store = self.object_store
        return Path(store.root).resolve() if isinstance(store, LocalObjectStore) else None

    @property
    def marts(self) -> MartsLocation:
        return marts_location(self.object_store)

    @property
    def marts_file(self) -> Path | None:
        return marts_file(self.object_store)

    dbt_dir = DBT_DIR

    @property
    def uri_prefix(self) -> str | None:
        return uri_prefix(self.object_store)

    def subject_hash_key(self) -> str:
        """P5, P18: the key subject identifiers are hashed with (resolved from the environment)."""
        return resolve(self.settings.ingest.subject_hash_key)

    # -- service environments
    def erasure_env(self, actor: str, *, run_id: str | None = None, run_storage=None):
        """P17: the one erasure environment (``services.dsr.erasure_env``), as the Dagster jobs build it.
        Outside a run (*run_storage* None) it reads the Dagster instance of ``$DAGSTER_HOME``, or the
        embedded default's ``{data_dir}/dagster_home`` when that exists."""
        from .defs.shared import run_storage as run_storages
        from .services.dsr import erasure_env

        if run_storage is None:
            home = None if os.environ.get("DAGSTER_HOME") else self.dagster_home
            run_storage = run_storages.at_home(home if home is not None and home.is_dir() else None)
        return erasure_env(
            self.object_store,
            self.control_store,
            self.file_registry,
            self.subject_hash_key(),
            actor=actor,
            run_id=run_id,
            region=region_label(self.object_store),
            run_storage=run_storage,
            backup_keep_days=self.settings.backups.keep_days,
        )

    def purge_env(self, *, today: date, run_id: str | None = None, progress: Callable[[str], None] | None = None):
        return purge_env(
            self.object_store,
            self.control_store,
            self.file_registry,
            today=today,
            run_id=run_id,
            backup_keep_days=self.settings.backups.keep_days,
            progress=progress,
        )

    def close(self) -> None:
        """Release the control store's connections (the CLI runs in-process for tests: one per call)."""
        if self._control is not None:
            release_control_store(self._control)
            self._control = None
