"""Backups of the control store and the warehouse's metadata, and their restore (P6, P13, P17, P20).

``create_backup`` dumps every table of the control store's schema, in the
order the migrations create them, as portable gzip JSON lines (datetimes in
UTC ISO 8601, JSON columns as their JSON text), inside one read snapshot;
lists the warehouse's Parquet partitions with size, etag and sha256; copies the
dbt marts DuckDB file when there is one; and writes ``manifest.json`` last.
Everything lands in the object store's ``control`` zone, which S3 encrypts at
rest (SSE-KMS by the bucket default, and every put requests SSE, P5).

``restore_backup`` checks every file against the manifest before touching the
target, refuses a target that holds rows, migrates it to the backup's schema
version, inserts all rows in one transaction (the append-only triggers refuse
UPDATE and DELETE only, so they stay in place), resets PostgreSQL's sequences
past the restored ids, then migrates to this code's head. SQLite and
PostgreSQL restore into each other.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import tempfile
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa

from ..core.backup import (
    BACKUPS_PREFIX,
    MANIFEST_NAME,
    BackupError,
    Manifest,
    backup_id,
    backup_prefix,
    check_files,
    check_restorable,
    decode_datetime,
    encode_value,
    expired,
    is_backup_id,
    parse_backup_id,
    table_file,
)
from ..stores import migrations
from ..stores.control_store import ControlStore, metadata, utcnow
from ..stores.object_store import ObjectNotFound, ObjectStore

PARTITIONS_FILE = "warehouse/partitions.jsonl.gz"
MARTS_FILE = "warehouse/marts.duckdb"
# Parquet partitions live in these zones (restricted: transcript segments); keys carry ids only.
WAREHOUSE_ZONES = ("datasets/", "restricted/")
_BATCH = 1000


@lru_cache(maxsize=1)
def table_order() -> tuple[tuple[str, int], ...]:
    """Every control-store table with the schema revision that creates it, in revision order
    (found by migrating a scratch SQLite file revision by revision: no hand-kept list to forget)."""
    with tempfile.TemporaryDirectory(prefix="ccr-schema-") as tmp:
        store = ControlStore(f"sqlite:///{tmp}/schema.db")
        seen: list[tuple[str, int]] = []
        try:
            for version in migrations.versions():
                store.migrate(version)
                # the control store's tables only (not Alembic's version table); derived indexes
                # (``index_metadata``: the transcript search index and its FTS5 shadow tables) are
                # rebuilt from the warehouse, not backed up
                names = set(sa.inspect(store.engine).get_table_names()) & set(metadata.tables)
                names -= {n for n, _ in seen}
                fk_order = [t.name for t in metadata.sorted_tables]
                seen += [
                    (n, version)
                    for n in sorted(names, key=lambda n: fk_order.index(n) if n in fk_order else len(fk_order))
                ]
        finally:
            store.dispose()
    return tuple(seen)


def _digest(path: str | Path) -> tuple[str, int]:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest(), os.path.getsize(path)


def _snapshot(conn: sa.Connection) -> None:
    """One read snapshot for every table: the backup is a single point in time."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
    elif conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN")  # WAL: a reader's transaction sees one state of the file


def _dump_table(conn: sa.Connection, table: sa.Table, present: set[str], path: str) -> tuple[list[str], int]:
    cols = [c for c in table.columns if c.name in present]
    selected = [sa.cast(c, sa.Text).label(c.name) if isinstance(c.type, sa.JSON) else c for c in cols]
    pk = [c for c in table.primary_key.columns if c.name in present] or cols
    n = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        result = conn.execution_options(yield_per=5000).execute(sa.select(*selected).order_by(*pk))
        for row in result:
            m = row._mapping
            gz.write(
                json.dumps(
                    {c.name: encode_value(m[c.name]) for c in cols}, ensure_ascii=False, separators=(",", ":")
                ).encode("utf-8")
                + b"\n"
            )
            n += 1
    return [c.name for c in cols], n


def create_backup(
    control: ControlStore,
    store: ObjectStore,
    *,
    now: datetime | None = None,
    marts_path: str | Path | None = None,
    warehouse: bool = True,
    hash_objects: bool = True,
    log=lambda msg: None,
) -> Manifest:
    """Back up the control store (and the warehouse metadata) into ``control/backups/{id}/``."""
    now = now or utcnow()
    bid = backup_id(now)
    prefix = backup_prefix(bid)
    if next(iter(store.list(prefix + "/")), None) is not None:
        raise BackupError(f"backup {bid} already exists")
    version = control.current_version()
    if version == 0:
        raise BackupError("the control store has no schema yet: nothing to back up")
    manifest = Manifest(
        backup_id=bid, created_at=now.isoformat(), schema_version=version, source_engine=control.engine.dialect.name
    )
    order = [(name, v) for name, v in table_order() if v <= version]

    def put(rel: str, path: str) -> None:
        sha, size = _digest(path)
        store.put_file(f"{prefix}/{rel}", path)
        manifest.files[rel] = {"sha256": sha, "bytes": size}

    with tempfile.TemporaryDirectory(prefix="ccr-backup-") as tmp:
        with control.engine.connect() as conn:
            _snapshot(conn)
            insp = sa.inspect(conn)
            for pos, (name, introduced) in enumerate(order, 1):
                present = {c["name"] for c in insp.get_columns(name)}
                rel = table_file(pos, name)
                path = os.path.join(tmp, f"{pos}.jsonl.gz")
                columns, rows = _dump_table(conn, metadata.tables[name], present, path)
                put(rel, path)
                manifest.tables.append(
                    {"name": name, "file": rel, "rows": rows, "columns": columns, "introduced_in": introduced}
                )
            conn.rollback()
        log(f"control store: {len(order)} table(s), {manifest.total_rows} row(s)")
        if warehouse:
            manifest.warehouse = _warehouse_metadata(store, tmp, put, marts_path, hash_objects)
            log(f"warehouse: {manifest.warehouse['partitions']} partition(s) listed")
    # Last: a backup without its manifest is incomplete and never restored.
    body = manifest.to_json()
    store.put_bytes(f"{prefix}/{MANIFEST_NAME}", body)
    # P6, P13: a write-once copy of the manifest (checksums of every file, no personal data) in the
    # object-locked audit bucket: a backup altered after the fact no longer matches it
    copy = store.put_audit_copy(audit_manifest_key(bid), body)
    if copy:
        log(f"manifest copied under object lock to {copy}")
    return manifest


def audit_manifest_key(bid: str) -> str:
    """Where a backup's manifest copy lives in the audit bucket."""
    return f"backups/{bid}/{MANIFEST_NAME}"


def _warehouse_metadata(store: ObjectStore, tmp: str, put, marts_path, hash_objects: bool) -> dict:
    path = os.path.join(tmp, "partitions.jsonl.gz")
    n = total = 0
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for zone in WAREHOUSE_ZONES:
            for info in store.list(zone):
                if not info.key.endswith(".parquet"):
                    continue
                row = {
                    "key": info.key,
                    "bytes": info.size,
                    "etag": info.etag,
                    "last_modified": encode_value(info.last_modified),
                    "sha256": store.sha256(info.key) if hash_objects else None,
                }
                gz.write(json.dumps(row, separators=(",", ":")).encode() + b"\n")
                n += 1
                total += info.size
    put(PARTITIONS_FILE, path)
    out = {"partitions": n, "bytes": total, "listing_file": PARTITIONS_FILE, "marts_file": None}
    if marts_path and Path(marts_path).is_file():
        # a copy first: dbt may be writing the file; the copy is what the checksum covers
        copy = os.path.join(tmp, "marts.duckdb")
        shutil.copyfile(marts_path, copy)
        put(MARTS_FILE, copy)
        out["marts_file"] = MARTS_FILE
    return out


# ---------------------------------------------------------------------------
def list_backups(store: ObjectStore) -> list[dict]:
    """Every backup under ``control/backups/``, oldest first; ``complete`` is False without a manifest."""
    found: dict[str, dict] = {}
    for info in store.list(BACKUPS_PREFIX + "/"):
        bid = info.key[len(BACKUPS_PREFIX) + 1 :].split("/", 1)[0]
        entry = found.setdefault(bid, {"backup_id": bid, "complete": False, "bytes": 0, "files": 0})
        entry["bytes"] += info.size
        entry["files"] += 1
        if info.key == f"{BACKUPS_PREFIX}/{bid}/{MANIFEST_NAME}":
            entry["complete"] = True
    for bid, entry in found.items():
        if entry["complete"]:
            try:
                m = read_manifest(store, bid)
            except BackupError as exc:  # listed, with why it cannot be restored; pruned when it ages out
                entry.update(complete=False, error=str(exc))
                continue
            entry.update(
                created_at=m.created_at,
                schema_version=m.schema_version,
                source_engine=m.source_engine,
                tables=len(m.tables),
                rows=m.total_rows,
                partitions=m.warehouse.get("partitions"),
            )
    return [found[b] for b in sorted(found)]


def read_manifest(store: ObjectStore, bid: str) -> Manifest:
    try:
        return Manifest.from_json(store.get_bytes(f"{backup_prefix(bid)}/{MANIFEST_NAME}"))
    except ObjectNotFound:
        raise BackupError(f"backup {bid} has no manifest (missing or incomplete)") from None


def fetch_verified(store: ObjectStore, bid: str, into: str | Path) -> tuple[Manifest, dict[str, Path]]:
    """Download a backup's files into *into* and check each against the manifest (refuses on any mismatch)."""
    manifest = read_manifest(store, bid)
    if manifest.backup_id != bid:
        raise BackupError(f"backup {bid}: its manifest names {manifest.backup_id}")
    paths: dict[str, Path] = {}
    actual: dict[str, tuple[str, int] | None] = {}
    for i, rel in enumerate(sorted(manifest.files)):
        local = Path(into) / f"{i}.bin"
        try:
            store.download_file(f"{backup_prefix(bid)}/{rel}", local)
        except ObjectNotFound:
            actual[rel] = None
            continue
        paths[rel] = local
        actual[rel] = _digest(local)
    problems = check_files(manifest, actual)
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise BackupError(f"backup {bid} fails its checksums, refusing to restore: {'; '.join(problems[:3])}{more}")
    return manifest, paths


def _non_empty_tables(control: ControlStore) -> list[str]:
    names = set(sa.inspect(control.engine).get_table_names()) & set(metadata.tables)
    out = []
    with control.engine.connect() as conn:
        for name in sorted(names - {"schema_migrations"}):
            if conn.execute(sa.select(sa.literal(1)).select_from(metadata.tables[name]).limit(1)).first():
                out.append(name)
    return out


def _decoder(table: sa.Table, columns: list[str]):
    kinds = {}
    for name in columns:
        if name not in table.c:
            raise BackupError(f"backup column {table.name}.{name} is unknown to this code's schema")
        t = table.c[name].type
        kinds[name] = "dt" if isinstance(t, sa.DateTime) else "json" if isinstance(t, sa.JSON) else None

    def decode(row: dict) -> dict:
        out = {}
        for k, v in row.items():
            kind = kinds[k]
            if kind == "dt":
                v = decode_datetime(v)
            elif kind == "json":
                # SQL NULL stays SQL NULL; a JSON null stays a JSON null
                v = sa.null() if v is None else json.loads(v)
            out[k] = v
        return out

    return decode


def _reset_sequences(conn: sa.Connection, names: list[str]) -> None:
    """PostgreSQL: new rows after a restore get ids past the restored ones."""
    for name in names:
        table = metadata.tables[name]
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": name}).scalar()
        if seq:
            conn.execute(
                sa.text(f"SELECT setval(:s, COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"), {"s": seq}
            )


def restore_backup(
    store: ObjectStore,
    bid: str,
    target: ControlStore,
    *,
    upgrade: bool = True,
    marts_into: str | Path | None = None,
    secret: str | None = None,
    log=lambda msg: None,
) -> dict:
    """Restore backup *bid* into the EMPTY control store *target* (SQLite or PostgreSQL), then
    re-apply the erasure ledger (P6, P17, P18) before handing it back: a subject erased or suppressed
    after the backup was taken stays erased and suppressed. *secret* is the subject-hash key (the
    ledger matches erased calls by keyed digest); needed once the ledger has an entry."""
    parse_backup_id(bid)
    with tempfile.TemporaryDirectory(prefix="ccr-restore-") as tmp:
        manifest, paths = fetch_verified(store, bid, tmp)
        check_restorable(manifest, code_head=int(migrations.head()), target_version=target.current_version())
        from .erasure_ledger import LedgerError, entries

        try:  # before the target is touched: a restore that could not re-apply the ledger must not start
            if entries(store) and not secret:
                raise BackupError(
                    "the erasure ledger has entries: a restore needs the subject-hash key to re-apply them"
                )
        except LedgerError as exc:
            raise BackupError(str(exc)) from None
        busy = _non_empty_tables(target)
        if busy:
            raise BackupError(
                f"target control store is not empty ({len(busy)} table(s) hold rows: "
                f"{', '.join(busy[:5])}): restore into an empty database"
            )
        target.migrate(manifest.schema_version)
        counts: dict[str, int] = {}
        with target.engine.begin() as conn:
            for t in manifest.tables:
                if t["name"] == "schema_migrations":
                    continue  # a backup from before Alembic: the target's own history is Alembic's
                if t["name"] not in metadata.tables:
                    raise BackupError(f"backup table {t['name']} is unknown to this code's schema")
                table = metadata.tables[t["name"]]
                decode = _decoder(table, t["columns"])
                n, batch = 0, []
                with gzip.open(paths[t["file"]], "rb") as fh:
                    for line in io.BufferedReader(fh):
                        batch.append(decode(json.loads(line)))
                        if len(batch) >= _BATCH:
                            conn.execute(table.insert(), batch)
                            n, batch = n + len(batch), []
                if batch:
                    conn.execute(table.insert(), batch)
                    n += len(batch)
                if n != int(t["rows"]):
                    raise BackupError(f"backup table {t['name']}: {n} row(s) read, the manifest says {t['rows']}")
                counts[t["name"]] = n
            if conn.dialect.name == "postgresql":
                _reset_sequences(conn, list(counts))
        log(
            f"restored {sum(counts.values())} row(s) in {len(counts)} table(s) at schema version "
            f"{manifest.schema_version}"
        )
        version = target.migrate() if upgrade else target.current_version()
        marts = None
        if marts_into and manifest.warehouse.get("marts_file"):
            Path(marts_into).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(paths[manifest.warehouse["marts_file"]], marts_into)
            marts = str(marts_into)
    from .erasure_ledger import reapply

    try:
        ledger = reapply(store, target, secret, marts_path=marts)
    except LedgerError as exc:
        raise BackupError(
            f"restored, but the erasure ledger was not re-applied ({exc}): do not use this store"
        ) from None
    log(f"erasure ledger: {ledger.get('entries', 0)} entr(y/ies) re-applied")
    return {
        "backup_id": bid,
        "schema_version": manifest.schema_version,
        "target_version": version,
        "tables": len(counts),
        "rows": sum(counts.values()),
        "counts": counts,
        "marts": marts,
        "ledger": ledger,
    }


def warehouse_drift(store: ObjectStore, bid: str) -> dict:
    """Compare the backup's partition listing with the store now: partitions missing or changed since."""
    with tempfile.TemporaryDirectory(prefix="ccr-restore-") as tmp:
        manifest, paths = fetch_verified(store, bid, tmp)
        listing = manifest.warehouse.get("listing_file")
        if not listing:
            raise BackupError(f"backup {bid} holds no warehouse listing")
        with gzip.open(paths[listing], "rt", encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh]
    missing, changed = [], []
    for r in rows:
        info = store.head(r["key"])
        if info is None:
            missing.append(r["key"])
        elif info.size != r["bytes"] or (r["sha256"] and store.sha256(r["key"]) != r["sha256"]):
            changed.append(r["key"])
    return {"partitions": len(rows), "missing": missing, "changed": changed}


def prune_backups(store: ObjectStore, *, keep_days: int, now: datetime | None = None) -> list[str]:
    """Delete backups older than *keep_days* (never the newest): backups are temporary copies (P17, P19)."""
    now = now or utcnow()
    ids = [b["backup_id"] for b in list_backups(store)]
    gone = expired([b for b in ids if is_backup_id(b)], now=now, keep_days=keep_days)
    for bid in gone:  # every version: on a versioned bucket a plain delete would leave the copies behind
        store.delete_prefix_all_versions(f"{backup_prefix(bid)}/")
    return gone
