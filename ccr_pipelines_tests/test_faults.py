"""Fault injection on the real components (P3, P6): S3 answering 500/503 or timing out,
PostgreSQL restarted or down during a run, the disk filling up under a Parquet write.
Every case ends with counts in = counts out: each received call once in the ledger, once in
the manifest, nothing left in the inbox, nothing partial visible."""

from __future__ import annotations

import os
from collections import Counter

import pyarrow as pa
import pytest
import sqlalchemy as sa
from botocore.exceptions import ClientError, ReadTimeoutError

from ccr_pipelines.services.ingest import MANIFEST_DATASET, ingest_batch
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.object_store import LocalObjectStore, S3ObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .audio_helpers import wav_bytes
from .fault_helpers import FaultyProxy, PrivatePostgres, fill, record_figures, small_tmpfs
from .ingest_helpers import DAY, PREFIX, inbox, ledger, make_env, sidecar


def _seed_calls(store, n: int, start: int = 0) -> list[str]:
    keys = []
    for i in range(start, start + n):
        store.put_bytes(PREFIX + f"c-{i:04d}.json", sidecar(customer_ref=f"cust-{i}"))
        store.put_bytes(PREFIX + f"c-{i:04d}.wav", wav_bytes(0.6, seed=i))
        keys.append(PREFIX + f"c-{i:04d}.wav")
    return keys


def _assert_nothing_lost_or_doubled(store, control, n: int) -> dict:
    rows = ledger(control)
    per_key = Counter(r["source_key"] for r in rows)
    assert len(rows) == n and max(per_key.values()) == 1, per_key.most_common(3)
    assert {r["outcome"] for r in rows} == {"accepted"}
    manifest = Warehouse(store).read_partition(MANIFEST_DATASET, "acme-energie", DAY).column("call_id").to_pylist()
    assert len(manifest) == len(set(manifest)) == n
    assert inbox(store) == []
    audio = [o.key for o in store.list("audio/acme-energie/") if o.key.endswith(".wav")]
    assert len(audio) == n
    return {
        "calls_in": n,
        "ledger_rows": len(rows),
        "manifest_rows": len(manifest),
        "audio_objects": len(audio),
        "left_in_inbox": len(inbox(store)),
    }


@pytest.fixture
def sqlite_control(tmp_path):
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    yield control
    control.dispose()


# --- S3 -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_s3_500_503_and_timeouts_on_a_fifth_of_calls_are_retried_with_nothing_lost_or_doubled(
    s3_bucket, sqlite_control
):
    endpoint, bucket = s3_bucket
    n = 30
    _seed_calls(S3ObjectStore(bucket, endpoint_url=endpoint), n)
    with FaultyProxy(endpoint, rate=0.2, seed=20261123, delay_s=0.8) as proxy:
        # the production retry policy (standard mode, 8 attempts); a short read timeout so that
        # a held answer times out in the test's time
        store = S3ObjectStore(bucket, endpoint_url=proxy.url, read_timeout=0.3)
        keys = [o.key for o in store.list("raw/") if o.key.endswith(".wav")]
        result = ingest_batch(make_env(store, sqlite_control), keys, tenant_id="acme-energie", day=DAY)
    assert len(keys) == n
    assert result.accounting_ok and result.outcomes == {"accepted": n}, result.accounting
    assert all(proxy.faults[k] >= 2 for k in FaultyProxy.KINDS), proxy.faults  # every kind was hit
    figures = _assert_nothing_lost_or_doubled(S3ObjectStore(bucket, endpoint_url=endpoint), sqlite_control, n)
    record_figures(
        "s3_faults", **figures, faults_injected=dict(proxy.faults), requests_seen_by_s3=sum(proxy.forwarded.values())
    )


def test_without_retries_the_same_s3_faults_fail_calls(s3_bucket):
    """The counter-proof: the retry policy, not luck, is what carries the test above."""
    endpoint, bucket = s3_bucket
    with FaultyProxy(endpoint, rate=0.3, seed=7, kinds=("500_before", "503_before")) as proxy:
        fragile = S3ObjectStore(bucket, endpoint_url=proxy.url, max_attempts=1)
        failures = 0
        for i in range(20):
            try:
                fragile.put_bytes(f"datasets/acme-energie/x/{i}.bin", b"x")
            except ClientError:
                failures += 1
        robust = S3ObjectStore(bucket, endpoint_url=proxy.url)  # production default: 8 attempts
        for i in range(20):
            robust.put_bytes(f"datasets/acme-energie/y/{i}.bin", b"y")
    assert failures > 0
    assert len(list(S3ObjectStore(bucket, endpoint_url=endpoint).list("datasets/acme-energie/y/"))) == 20


def test_a_held_answer_past_the_read_timeout_is_a_timeout_then_a_retry(s3_bucket):
    endpoint, bucket = s3_bucket
    with FaultyProxy(endpoint, rate=1.0, seed=1, delay_s=1.0, kinds=("timeout_after",)) as proxy:
        once = S3ObjectStore(bucket, endpoint_url=proxy.url, read_timeout=0.3, max_attempts=1)
        with pytest.raises(ReadTimeoutError):
            once.put_bytes("datasets/acme-energie/t/0.bin", b"t")
        proxy.rate = 0.5
        S3ObjectStore(bucket, endpoint_url=proxy.url, read_timeout=0.3).put_bytes("datasets/acme-energie/t/1.bin", b"t")
    assert S3ObjectStore(bucket, endpoint_url=endpoint).get_bytes("datasets/acme-energie/t/1.bin") == b"t"


def test_a_body_that_fails_its_checksum_is_read_again(s3_bucket, tmp_path):
    """A GET whose body arrives empty (seen once against moto's server on a loaded machine: a
    warehouse query failed with botocore's FlexibleChecksumError) is read again, up to
    DAMAGED_READ_ATTEMPTS times; a body damaged every time still fails, loudly."""
    from botocore.exceptions import FlexibleChecksumError

    from ccr_pipelines.stores.object_store import DAMAGED_READ_ATTEMPTS

    endpoint, bucket = s3_bucket
    key, data = "datasets/acme-energie/d/0.bin", os.urandom(4096)
    S3ObjectStore(bucket, endpoint_url=endpoint).put_bytes(key, data)
    once = DAMAGED_READ_ATTEMPTS - 1
    with FaultyProxy(endpoint, rate=1.0, seed=3, kinds=("empty_after",), max_faults=once) as proxy:
        assert S3ObjectStore(bucket, endpoint_url=proxy.url).get_bytes(key) == data
        assert proxy.faults["empty_after"] == once
    with FaultyProxy(endpoint, rate=1.0, seed=3, kinds=("empty_after",), max_faults=once) as proxy:
        S3ObjectStore(bucket, endpoint_url=proxy.url).download_file(key, tmp_path / "d.bin")
        assert (tmp_path / "d.bin").read_bytes() == data and proxy.faults["empty_after"] == once
    with FaultyProxy(endpoint, rate=1.0, seed=3, kinds=("empty_after",)) as proxy:
        with pytest.raises(FlexibleChecksumError):
            S3ObjectStore(bucket, endpoint_url=proxy.url).get_bytes(key)
        assert proxy.faults["empty_after"] == DAMAGED_READ_ATTEMPTS


# --- PostgreSQL ---------------------------------------------------------------------------
@pytest.fixture
def private_pg():
    pg = PrivatePostgres()
    pg.start()
    yield pg
    pg.close()


class _StopDatabaseAfterPartition(Warehouse):
    """The database goes down at the worst moment: the manifest is written, the ledger is not."""

    def __init__(self, store, pg):
        super().__init__(store)
        self.pg = pg

    def write_partition(self, *args, **kwargs):
        info = super().write_partition(*args, **kwargs)
        self.pg.stop()
        return info


@pytest.mark.slow
@pytest.mark.postgres
def test_postgres_restarted_between_and_down_during_ingestion_runs(private_pg, tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    control = ControlStore(private_pg.url)
    control.migrate()
    try:
        # 1. a run, then a restart that kills every pooled connection, then the next run on the same pool
        ingest_batch(make_env(store, control), _seed_calls(store, 5, 0), tenant_id="acme-energie", day=DAY)
        private_pg.restart()
        r2 = ingest_batch(make_env(store, control), _seed_calls(store, 5, 5), tenant_id="acme-energie", day=DAY)
        assert r2.accounting_ok and r2.outcomes == {"accepted": 5}

        # 2. the database stops after the manifest partition is written, before the ledger commit
        keys = _seed_calls(store, 5, 10)
        env = make_env(store, control)
        env.warehouse = _StopDatabaseAfterPartition(store, private_pg)
        with pytest.raises(sa.exc.OperationalError):
            ingest_batch(env, keys, tenant_id="acme-energie", day=DAY)
        assert len(inbox(store)) == 10  # 5 recordings + their sidecars: nothing removed before the commit
        private_pg.start()
        assert len(ledger(control)) == 10  # the failed run committed nothing

        # 3. the retry completes
        r3 = ingest_batch(make_env(store, control), keys, tenant_id="acme-energie", day=DAY)
        assert r3.accounting_ok and r3.outcomes == {"accepted": 5}
        figures = _assert_nothing_lost_or_doubled(store, control, 15)
    finally:
        control.dispose()
    record_figures("postgres_restart", **figures, restarts=1, stops_mid_run=1, failed_runs=1, retried_runs=1)


# --- disk full ----------------------------------------------------------------------------
def _table(n: int, seed: int) -> pa.Table:
    rng = __import__("random").Random(seed)
    return pa.table(
        {"call_id": [f"c-{i:06d}" for i in range(n)], "noise": [rng.randbytes(64).hex() for _ in range(n)]}
    )  # incompressible


def _hidden_files(root) -> list[str]:
    return [os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files if f.startswith(".")]


def test_disk_full_while_writing_a_parquet_partition_leaves_the_old_one_and_no_partial_file(tmp_path, monkeypatch):
    with small_tmpfs(1024) as disk:
        store = LocalObjectStore(disk / "objects")
        wh = Warehouse(store)
        small = _table(50, seed=1)
        wh.write_partition(MANIFEST_DATASET, "acme-energie", DAY, small)
        keys_before = [o.key for o in store.list("")]
        filler = fill(disk)
        assert filler > 0

        big = _table(6000, seed=2)  # ~800 kB of Parquet: cannot fit
        with pytest.raises(OSError):
            wh.write_partition(MANIFEST_DATASET, "acme-energie", DAY, big)  # a rewrite of the same partition
        with pytest.raises(OSError):
            wh.write_partition(MANIFEST_DATASET, "acme-energie", "2026-11-17", big)  # a new one
        assert wh.read_partition(MANIFEST_DATASET, "acme-energie", DAY).equals(small)  # old version intact
        assert wh.partitions(MANIFEST_DATASET, "acme-energie") == [DAY]
        assert [o.key for o in store.list("")] == keys_before
        assert _hidden_files(store.root) == []  # no temp file left behind

        # the writer's own temp dir full too: nothing reaches the store
        monkeypatch.setattr("tempfile.tempdir", str(disk))
        with pytest.raises(OSError):
            wh.write_partition(MANIFEST_DATASET, "acme-energie", "2026-11-18", big)
        monkeypatch.undo()
        assert [o.key for o in store.list("")] == keys_before
        assert [f for f in os.listdir(disk) if f not in ("objects", "filler")] == []

        os.unlink(disk / "filler")  # space again: the same write now succeeds whole
        wh.write_partition(MANIFEST_DATASET, "acme-energie", DAY, big)
        assert wh.read_partition(MANIFEST_DATASET, "acme-energie", DAY).equals(big)
    record_figures(
        "disk_full_parquet",
        failed_writes=3,
        partial_files_visible=0,
        old_partition_intact=True,
        rewrite_after_space_freed_rows=big.num_rows,
    )


def test_ingestion_on_a_full_disk_fails_then_its_retry_accounts_for_every_call(tmp_path, sqlite_control):
    with small_tmpfs(2048) as disk:
        store = LocalObjectStore(disk / "objects")
        keys = _seed_calls(store, 12)
        fill(disk)
        with pytest.raises(OSError):
            ingest_batch(make_env(store, sqlite_control), keys, tenant_id="acme-energie", day=DAY)
        assert ledger(sqlite_control) == [] and len(inbox(store)) == 24  # nothing committed, nothing removed
        assert Warehouse(store).partitions(MANIFEST_DATASET, "acme-energie") == []
        assert _hidden_files(store.root) == []
        os.unlink(disk / "filler")
        retry = ingest_batch(make_env(store, sqlite_control), keys, tenant_id="acme-energie", day=DAY)
        assert retry.accounting_ok and retry.outcomes == {"accepted": 12}
        figures = _assert_nothing_lost_or_doubled(store, sqlite_control, 12)
    record_figures("disk_full_ingest", **figures, failed_runs=1, retried_runs=1)
