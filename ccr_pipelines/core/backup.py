"""Backup rules with no store behind them (P6, P13, P17, P20): names, the manifest, its checks.

A backup is a folder of the object store's ``control`` zone,
``control/backups/{backup_id}/``: one gzip JSON-lines file per control-store
table, the warehouse's partition listing, the dbt marts file when there is one,
and ``manifest.json``, written last, so a backup without a manifest is an
incomplete one and is never listed or restored. The manifest holds the schema
version, row counts and a sha256 per file; restore refuses a backup whose
files do not match it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from . import catalog
from .errors import CcrError

BACKUP_FORMAT = 1
BACKUPS_PREFIX = catalog.BACKUPS_PREFIX
MANIFEST_NAME = "manifest.json"
# Backups are temporary copies (P17: an erased subject's rows leave the backups when they
# age out); 35 days covers a monthly restore test plus a week of margin.
DEFAULT_KEEP_DAYS = 35
_ID_RE = re.compile(r"^\d{8}T\d{6}Z\Z")


class BackupError(CcrError):
    """A backup that cannot be trusted or a store that cannot take it (one readable line)."""


def backup_id(now: datetime) -> str:
    """The id of a backup taken at *now*: its UTC time, so ids sort by age."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_backup_id(value: str) -> datetime:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise BackupError(f"not a backup id (YYYYMMDDTHHMMSSZ): {ascii(str(value)[:40])}")
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)


def is_backup_id(value: str) -> bool:
    """True for a well-formed backup id (what a listing of the backups zone may also hold is skipped)."""
    try:
        parse_backup_id(value)
        return True
    except BackupError:
        return False


def backup_prefix(bid: str) -> str:
    parse_backup_id(bid)
    return f"{BACKUPS_PREFIX}/{bid}"


def table_file(position: int, table: str) -> str:
    """Files named by restore order, so a listing reads in the order they are loaded."""
    return f"control_store/{position:02d}_{table}.jsonl.gz"


def expired(ids: Iterable[str], *, now: datetime, keep_days: int) -> list[str]:
    """Backups older than *keep_days*, oldest first; the newest backup is never expired."""
    ordered = sorted(ids)
    cutoff = now - timedelta(days=keep_days)
    return [b for b in ordered[:-1] if parse_backup_id(b) < cutoff]


@dataclass
class Manifest:
    backup_id: str
    created_at: str
    schema_version: int
    source_engine: str
    tables: list[dict] = field(default_factory=list)  # {name, file, rows, columns, introduced_in}
    files: dict[str, dict] = field(default_factory=dict)  # relative path -> {sha256, bytes}
    warehouse: dict = field(default_factory=dict)  # {partitions, bytes, listing_file, marts_file}
    format: int = BACKUP_FORMAT

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            manifest = cls(
                **{
                    k: raw[k]
                    for k in (
                        "backup_id",
                        "created_at",
                        "schema_version",
                        "source_engine",
                        "tables",
                        "files",
                        "warehouse",
                        "format",
                    )
                }
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupError(f"backup manifest is unreadable ({type(exc).__name__})") from None
        if manifest.format != BACKUP_FORMAT:
            raise BackupError(f"backup format {manifest.format} is not {BACKUP_FORMAT}")
        parse_backup_id(manifest.backup_id)
        return manifest

    @property
    def total_rows(self) -> int:
        return sum(int(t["rows"]) for t in self.tables)


def check_files(manifest: Manifest, actual: Mapping[str, tuple[str, int] | None]) -> list[str]:
    """Problems between the manifest and the files found (*actual*: path -> (sha256, bytes) or None)."""
    problems = []
    for path, want in sorted(manifest.files.items()):
        got = actual.get(path)
        if got is None:
            problems.append(f"{path}: missing")
        elif got[0] != want["sha256"] or got[1] != want["bytes"]:
            problems.append(f"{path}: sha256 or size differs from the manifest")
    for t in manifest.tables:
        if t["file"] not in manifest.files:
            problems.append(f"{t['file']}: table {t['name']} has no checksum in the manifest")
    return problems


def check_restorable(manifest: Manifest, *, code_head: int, target_version: int) -> None:
    """Refuse what cannot be restored faithfully: a newer schema than this code knows, a target ahead of it."""
    if manifest.schema_version > code_head:
        raise BackupError(
            f"backup is at schema version {manifest.schema_version}, this code knows {code_head}: "
            "restore with the release that made it"
        )
    if target_version > manifest.schema_version:
        raise BackupError(
            f"target control store is at schema version {target_version}, ahead of the backup's "
            f"{manifest.schema_version}: restore into an empty database"
        )


def encode_value(value: Any) -> Any:
    """A column value as JSON: datetimes in UTC ISO 8601 (SQLite keeps them naive, in UTC)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    return value


def decode_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value).astimezone(UTC)
