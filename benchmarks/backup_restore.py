"""Backup and restore of a large control store: SQLite -> backup (local object store) -> PostgreSQL.

Fills the two tables that grow with traffic (access_log, lineage) plus a ledger, with rows shaped
like the pipeline's, then times ``create_backup`` and ``restore_backup`` and reports peak RSS (the
dump streams rows, so memory must not grow with the table).

    .venv/bin/python benchmarks/backup_restore.py --rows 100000 [--pg postgresql+psycopg2://…/postgres]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
import uuid
from datetime import timedelta

import sqlalchemy as sa

from ccr_pipelines.services.backup import create_backup, restore_backup
from ccr_pipelines.stores.control_store import ControlStore, access_log, ingest_events, lineage, utcnow
from ccr_pipelines.stores.object_store import LocalObjectStore


def fill(control: ControlStore, n: int) -> None:
    now = utcnow()
    chunk = 10_000
    for start in range(0, n, chunk):
        run = str(uuid.uuid4())
        acc, lin, led = [], [], []
        for i in range(start, min(n, start + chunk)):
            tenant = f"tenant-{i % 1000:04d}"
            call = f"c-{i:08d}"
            at = now - timedelta(seconds=n - i)
            acc.append(
                dict(
                    at=at,
                    actor=f"dagster-run:{run}",
                    tenant_id=tenant,
                    action="read",
                    purpose="scoring",
                    object=f"datasets/{tenant}/call_scores/day=2026-11-16/part.parquet",
                    run_id=run,
                )
            )
            lin.append(
                dict(
                    tenant_id=tenant,
                    call_id=call,
                    artefact_kind="manifest_row",
                    artefact_uri=f"s3://ccr-data/datasets/{tenant}/call_manifest/day=2026-11-16/part.parquet#{call}",
                    source_uri=f"s3://ccr-data/raw/{tenant}/2026/11/16/{call}.flac",
                    asset_key="silver/ingest/call_manifest",
                    partition_key="2026-11-16",
                    run_id=run,
                    code_version="abc123",
                    engine="ccr ingest",
                    region="eu-west-3",
                    sha256="0" * 64,
                    created_at=at,
                )
            )
            if i % 2 == 0:
                led.append(
                    dict(
                        at=at,
                        run_id=run,
                        tenant_id=tenant,
                        partition_key="2026-11-16",
                        source_key=f"raw/{tenant}/2026/11/16/{call}.flac",
                        etag=f"e{i}",
                        outcome="accepted",
                        call_id=call,
                        sha256="1" * 64,
                    )
                )
        with control.engine.begin() as conn:
            conn.execute(access_log.insert(), acc)
            conn.execute(lineage.insert(), lin)
            conn.execute(ingest_events.insert(), led)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=200_000, help="rows of access_log and of lineage (ledger: half)")
    p.add_argument("--pg", default="postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = ControlStore(f"sqlite:///{tmp}/src.db")
        src.migrate()
        fill(src, args.rows)
        store = LocalObjectStore(f"{tmp}/objects")
        t0 = time.perf_counter()
        m = create_backup(src, store, warehouse=False)
        t_backup = time.perf_counter() - t0
        rss_backup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        admin = sa.create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = "ccr_bench_" + uuid.uuid4().hex[:8]
        with admin.connect() as c:
            c.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            target = ControlStore(args.pg.rsplit("/", 1)[0] + "/" + name)
            t0 = time.perf_counter()
            out = restore_backup(store, m.backup_id, target)
            t_restore = time.perf_counter() - t0
            target.dispose()
        finally:
            with admin.connect() as c:
                c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        size = sum(f["bytes"] for f in m.files.values())
        print(
            f"rows {m.total_rows:,}; backup {t_backup:.1f} s ({m.total_rows / t_backup:,.0f} rows/s), "
            f"{size / 1e6:.1f} MB gzip; restore into PostgreSQL {t_restore:.1f} s "
            f"({out['rows'] / t_restore:,.0f} rows/s); peak RSS after backup {rss_backup / 1024:.0f} MB, "
            f"after restore {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )


if __name__ == "__main__":
    main()
