"""Loading a settings profile: the file reading, environment look-ups and file permissions that the
pure models of ``core.settings`` leave out.

``CCR_ENV`` (local | staging | prod) names the profile in ``ccr_pipelines/config/``; ``CCR_SETTINGS_FILE``,
``CCR_TENANTS_FILE`` and ``CCR_DATA_DIR`` override its file, its tenant registry and its data dir.
``platform`` builds the stores from what this returns.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from ..core.config_yaml import UnsafeYamlError, load_config_yaml
from ..core.errors import SettingsError
from ..core.regions import check_region
from ..core.settings import CONFIG_DIR, ENVIRONMENTS, EnvRef, Settings, parse_settings
from ..core.tenants import TenantRegistry


class LoadedSettings:
    """Settings plus the tenant registry they point at."""

    def __init__(self, settings: Settings, registry: TenantRegistry, source: Path):
        self.settings = settings
        self.registry = registry
        self.source = source


def profile_path(env: str) -> Path:
    override = os.environ.get("CCR_SETTINGS_FILE")
    if override:
        return Path(override)
    if env not in ENVIRONMENTS:
        raise SettingsError(f"CCR_ENV='{env}' is not one of {', '.join(ENVIRONMENTS)}")
    return CONFIG_DIR / f"{env}.yaml"


def tenants_path(settings: Settings, source: Path) -> Path:
    """The profile's tenant registry (``CCR_TENANTS_FILE`` wins); relative to the profile's folder."""
    override = os.environ.get("CCR_TENANTS_FILE")
    if override:
        return Path(override)
    p = Path(settings.expand(settings.tenants_file))
    return p if p.is_absolute() else source.parent / p


MIN_SUBJECT_HASH_KEY_BYTES = 32  # prod: HMAC-SHA256 key of at least the hash's own size (P5, P18)


def check_secrets(settings: Settings, source: Path | str) -> None:
    """P5: in prod the subject-hash key comes from the environment (the validator) and is at least
    32 bytes long. Checked at load when its variable is set (CLI, code location, run workers all load
    the profile); an unset one fails where it is resolved. The message never holds the value."""
    ref = settings.ingest.subject_hash_key
    if settings.env != "prod" or not isinstance(ref, EnvRef):
        return
    value = os.environ.get(ref.env)
    if value and len(value.encode("utf-8")) < MIN_SUBJECT_HASH_KEY_BYTES:
        raise SettingsError(
            f"{source}: field 'ingest.subject_hash_key': {ref.env} holds "
            f"{len(value.encode('utf-8'))} byte(s); prod needs a key of at least "
            f"{MIN_SUBJECT_HASH_KEY_BYTES} random bytes (P5)"
        )


PRIVATE_UMASK = 0o077  # new files 0600, new directories 0700: the owner only


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL (None for another engine or an in-memory database)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


def protect_local_files(settings: Settings) -> list[Path]:
    """P5: the embedded default's stores are readable by the operator alone.

    When the profile keeps data on local disk (local object store or a SQLite control store), this
    sets the process umask to 077 (inherited by every process it starts: dbt, the ASR worker, Dagster
    run workers), so every file created afterwards — control store, DuckDB warehouse,
    ``restricted_calls.parquet``, Dagster home, objects — is 0600 and every directory 0700; and it
    tightens what already exists at the top: the data dir, the object store root and the Dagster home
    to 0700 (which closes everything below them), the stores' files to 0600. Returns the paths it
    tightened. Object stores in S3 and PostgreSQL control stores are left to their own access rules."""
    from ..services.marts import duckdb_path, restricted_calls_path

    local_objects = settings.object_store.kind == "local"
    db = (
        sqlite_path(settings.expand(settings.control_store.url))
        if isinstance(settings.control_store.url, str)
        else None
    )
    if not local_objects and db is None:
        return []
    os.umask(PRIVATE_UMASK)
    data_dir = Path(settings.data_dir)
    dirs = [data_dir, data_dir / "dagster_home"]
    files = []
    if local_objects:
        root = Path(settings.expand(settings.object_store.root))
        dirs.append(root)
        marts = duckdb_path(root)
        files += [marts, marts.with_name(marts.name + ".wal"), restricted_calls_path(marts)]
    if db is not None:  # its folder is not changed: it may be any folder the profile names
        files += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    done = []
    for path, mode in [(d, 0o700) for d in dirs] + [(f, 0o600) for f in files]:
        try:
            if (path.is_dir() if mode == 0o700 else path.is_file()) and (path.stat().st_mode & 0o777) != mode:
                path.chmod(mode)
                done.append(path)
        except OSError:  # not ours to change (a shared parent): the umask still holds for new files
            continue
    return done


def read_profile(path: Path) -> object:
    """The profile file's YAML (safe subset), or one line naming the file."""
    try:
        return load_config_yaml(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings ({exc.strerror})") from None
    except UnsafeYamlError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    except yaml.YAMLError:
        raise SettingsError(f"{path}: not valid YAML") from None


def load_settings(env: str | None = None) -> LoadedSettings:
    """Load the profile named by *env* (default ``$CCR_ENV`` or ``local``) and its tenant registry.

    For the embedded default this also makes the process's new files private (``protect_local_files``)."""
    env = env or os.environ.get("CCR_ENV", "local")
    path = profile_path(env)
    settings = parse_settings(path, read_profile(path), data_dir=os.environ.get("CCR_DATA_DIR"))
    from .config_files import load_tenant_registry  # core reads no file (issue 20): a loader does

    registry = load_tenant_registry(tenants_path(settings, path))
    for tenant in registry:
        check_region(
            tenant.storage_region,
            tenant.region_override_reason,
            where=f"{registry.source}: tenant '{tenant.id}': field 'storage_region'",
        )
    check_secrets(settings, path)
    protect_local_files(settings)
    return LoadedSettings(settings, registry, path)
