"""The control store's Alembic environment, inside the package (no alembic.ini: configured here).

Revision ids are four-digit numbers (``0013``) so a schema version stays an integer: backups
record it, and ``ControlStore.migrate(5)`` means "up to revision 0005". The revisions up to
``BASELINE`` reproduce the hand-rolled steps 1-8, 11-13 of the releases before Alembic (the
gaps are theirs); a store those releases created is stamped at ``BASELINE`` and upgraded from
there (``ControlStore.migrate``). The baseline is never downgraded.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent

# The hand-rolled migrations of the releases before Alembic (table ``schema_migrations``).
LEGACY_VERSIONS = (1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13)
LEGACY_TABLE = "schema_migrations"
# The revision a store at the last hand-rolled version is stamped at, and the floor of a downgrade.
BASELINE = "0013"
# The tables that store holds (checked before it is stamped).
BASELINE_TABLES = frozenset(
    {
        "lineage",
        "access_log",
        "incidents",
        "alert_deliveries",
        "dsr_requests",
        "purge_log",
        "suppression_list",
        "review_queue",
        "audit_log",
        "ingest_events",
        "incident_timeline",
        "incident_notifications",
        "tenant_suspensions",
        "subject_calls",
        "subject_restrictions",
        "retention_grants",
        "quarantine_subjects",
        "lineage_lookups",
        "access_role_commands",
        "access_grants",
    }
)


def rev_id(version: int) -> str:
    return f"{int(version):04d}"


# The search index (revision 0015) is derived data outside ``metadata`` (never backed up): its table,
# SQLite's FTS5 table and that table's shadow tables (search_fts_data, _idx, _docsize, _config).
INDEX_TABLE_PREFIXES = ("search_segments", "search_fts")


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate ignores the legacy version table an adopted store keeps (its history) and the
    search index (derived data, defined in ``control_store.index_metadata``)."""
    if type_ == "table" and (name == LEGACY_TABLE or (name or "").startswith(INDEX_TABLE_PREFIXES)):
        return False
    if type_ == "index" and getattr(getattr(obj, "table", None), "name", "").startswith(INDEX_TABLE_PREFIXES):
        return False
    return True


def config(connection=None):
    """An Alembic ``Config`` for the packaged scripts; *connection* is the one env.py migrates."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def script():
    """The revision scripts (loaded once per process)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config())


def head() -> str:
    """The head revision; more than one head (two branches each adding a revision) is an error."""
    return script().get_current_head()


def versions() -> list[int]:
    """Every revision, oldest first, as its integer version."""
    return sorted(int(s.revision) for s in script().walk_revisions())


_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py\Z")


@lru_cache(maxsize=1)
def file_versions() -> tuple[int, ...]:
    """The revisions' versions read from their file names (``0014_slug.py``, as
    ``scripts/new_migration.py`` writes them), without loading Alembic: ``ControlStore.migrate``'s
    fast path, in every process that opens a store already at the head. test_schema_migrations
    checks that they are ``versions()``."""
    return tuple(sorted(int(m.group(1)) for name in os.listdir(HERE / "versions") if (m := _REVISION_FILE.match(name))))
