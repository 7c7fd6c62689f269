"""Parquet partitions in the object store, read with DuckDB (on both object stores)."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ccr_pipelines.core.errors import InvalidKeyError
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse, dataset_prefix, partition_key


def _table(tenant: str | None, n: int, offset: int = 0) -> pa.Table:
    return pa.table(
        {
            "tenant_id": pa.array([tenant] * n, pa.string()),
            "call_id": [f"c-{i + offset}" for i in range(n)],
            "duration_s": [float(i) for i in range(n)],
        }
    )


def test_a_partition_round_trips_and_lives_at_its_key(object_store):
    wh = Warehouse(object_store)
    table = _table("acme-energie", 3)
    info = wh.write_partition("call_manifest", "acme-energie", "2026-11-16", table)
    assert info.key == "datasets/acme-energie/call_manifest/day=2026-11-16/part.parquet"
    assert object_store.head(info.key).size == info.size > 0
    got = wh.read_partition("call_manifest", "acme-energie", "2026-11-16")
    assert got.equals(table)


def test_rewriting_a_partition_replaces_it_whole(object_store):
    wh = Warehouse(object_store)
    wh.write_partition("call_manifest", "acme-energie", "2026-11-16", _table("acme-energie", 3))
    wh.write_partition("call_manifest", "acme-energie", "2026-11-16", _table("acme-energie", 2, offset=10))
    wh.write_partition("call_manifest", "acme-energie", "2026-11-16", _table("acme-energie", 2, offset=10))
    got = wh.read_partition("call_manifest", "acme-energie", "2026-11-16")
    assert got.column("call_id").to_pylist() == ["c-10", "c-11"]
    assert [o.key for o in object_store.list("datasets/")] == [
        "datasets/acme-energie/call_manifest/day=2026-11-16/part.parquet"
    ]


def test_a_missing_partition_reads_as_none(object_store):
    wh = Warehouse(object_store)
    assert wh.read_partition("call_manifest", "acme-energie", "2026-11-17") is None
    assert wh.partitions("call_manifest", "acme-energie") == []


def test_partitions_lists_the_days_of_one_tenant_and_dataset_in_order(object_store):
    wh = Warehouse(object_store)
    for day in ("2026-11-17", "2026-11-16", "2026-12-01"):
        wh.write_partition("call_manifest", "acme-energie", day, _table("acme-energie", 1))
    wh.write_partition("call_manifest", "globex-support", "2026-11-18", _table("globex-support", 1))
    # a dataset whose name starts with another's must not leak into it
    wh.write_partition("call_manifest_v2", "acme-energie", "2026-11-19", _table("acme-energie", 1))
    wh.write_partition("call", "acme-energie", "2026-11-20", _table("acme-energie", 1))
    assert wh.partitions("call_manifest", "acme-energie") == ["2026-11-16", "2026-11-17", "2026-12-01"]
    assert wh.partitions("call", "acme-energie") == ["2026-11-20"]
    assert wh.partitions("call_manifest", "globex-support") == ["2026-11-18"]


def test_duckdb_queries_span_several_days_of_one_tenant_only(object_store):
    wh = Warehouse(object_store)
    for day, n in (("2026-11-16", 3), ("2026-11-17", 4), ("2026-11-18", 5)):
        wh.write_partition("call_manifest", "acme-energie", day, _table("acme-energie", n, offset=100 * n))
    wh.write_partition("call_manifest", "globex-support", "2026-11-16", _table("globex-support", 9))
    out = wh.query(
        "SELECT count(*) AS n, sum(duration_s) AS s, count(DISTINCT tenant_id) AS t FROM t",
        dataset="call_manifest",
        tenant_id="acme-energie",
    )
    assert out.to_pylist() == [{"n": 12, "s": 3.0 + 6.0 + 10.0, "t": 1}]
    some = wh.query(
        "SELECT call_id FROM t ORDER BY call_id",
        dataset="call_manifest",
        tenant_id="acme-energie",
        days=["2026-11-16", "2026-11-18"],
    )
    assert some.column("call_id").to_pylist() == sorted(
        [f"c-{300 + i}" for i in range(3)] + [f"c-{500 + i}" for i in range(5)]
    )
    assert wh.query(
        "SELECT count(*) AS n FROM t",
        dataset="call_manifest",
        tenant_id="globex-support",
        days=["2026-11-16", "2026-11-30"],
    ).to_pylist() == [{"n": 9}]


def test_a_query_without_partitions_says_so(object_store):
    with pytest.raises(LookupError, match="no partitions of call_manifest for tenant 'acme-energie'"):
        Warehouse(object_store).query("SELECT 1", dataset="call_manifest", tenant_id="acme-energie")


def test_partitions_with_an_added_column_are_read_together(object_store):
    wh = Warehouse(object_store)
    wh.write_partition("scores", "acme-energie", "2026-11-16", _table("acme-energie", 1))
    wh.write_partition(
        "scores", "acme-energie", "2026-11-17", _table("acme-energie", 1).append_column("score", pa.array([0.5]))
    )
    out = wh.query(
        "SELECT day_score FROM (SELECT coalesce(score, -1) AS day_score FROM t) ORDER BY 1",
        dataset="scores",
        tenant_id="acme-energie",
    )
    assert out.column("day_score").to_pylist() == [-1.0, 0.5]


def test_a_local_store_path_with_a_quote_is_queried_safely(tmp_path):
    store = LocalObjectStore(tmp_path / "it's here")
    wh = Warehouse(store)
    wh.write_partition("call_manifest", "acme-energie", "2026-11-16", _table("acme-energie", 2))
    assert wh.query("SELECT count(*) AS n FROM t", dataset="call_manifest", tenant_id="acme-energie").to_pylist() == [
        {"n": 2}
    ]


MIXED = {
    "two-tenants": pa.concat_tables([_table("acme-energie", 1), _table("globex-support", 1)]),
    "other-tenant-only": _table("globex-support", 2),
    "null-tenant": pa.concat_tables([_table("acme-energie", 1), _table(None, 1)]),
    "look-alike-tenant": _table("\u0430cme-energie", 1),
}


@pytest.mark.parametrize("table", MIXED.values(), ids=MIXED.keys())
def test_p4_a_partition_holding_rows_of_another_tenant_is_refused(object_store, table):
    with pytest.raises(ValueError, match="other tenants"):
        Warehouse(object_store).write_partition("call_manifest", "acme-energie", "2026-11-16", table)
    assert list(object_store.list("")) == []


@pytest.mark.parametrize("tenant_id", ["Acme", "../globex-support", "acme-energie\n", "\u0430cme-energie", ""])
def test_p4_an_invalid_tenant_id_is_refused_before_anything_is_written(object_store, tenant_id):
    with pytest.raises(InvalidKeyError):
        Warehouse(object_store).write_partition("call_manifest", tenant_id, "2026-11-16", _table(tenant_id, 1))
    with pytest.raises(InvalidKeyError):
        Warehouse(object_store).partitions("call_manifest", tenant_id)
    assert list(object_store.list("")) == []


def test_restricted_zone_datasets_live_under_their_own_prefix(object_store):
    wh = Warehouse(object_store)
    info = wh.write_partition(
        "transcript_segments", "acme-energie", "2026-11-16", _table("acme-energie", 1), zone="restricted"
    )
    assert info.key == "restricted/acme-energie/transcript_segments/day=2026-11-16/part.parquet"
    assert wh.partitions("transcript_segments", "acme-energie") == []  # not in the analytics zone
    assert wh.partitions("transcript_segments", "acme-energie", zone="restricted") == ["2026-11-16"]
    assert wh.read_partition("transcript_segments", "acme-energie", "2026-11-16", zone="restricted").num_rows == 1
    for zone in ("reports", "raw", "control", ""):
        with pytest.raises(ValueError):
            partition_key("x", "acme-energie", "2026-11-16", zone=zone)


@pytest.mark.parametrize(
    "dataset,day",
    [
        ("Bad-Name", "2026-11-16"),
        ("call_manifest", "2026-11"),
        ("call_manifest", "../../x"),
        ("../x", "2026-11-16"),
        ("call_manifest/x", "2026-11-16"),
        ("", "2026-11-16"),
        ("call_manifest", ""),
        ("call_manifest\n", "2026-11-16"),
        ("call_manifest", "2026-11-16\n"),
        ("call_manifest", "2026-11-16/x"),
        ("x" * 64, "2026-11-16"),
    ],
)
def test_an_invalid_dataset_or_day_is_refused(object_store, dataset, day):
    with pytest.raises(ValueError):
        partition_key(dataset, "acme-energie", day)
    with pytest.raises(ValueError):
        Warehouse(object_store).write_partition(dataset, "acme-energie", day, _table("acme-energie", 1))
    assert list(object_store.list("")) == []


def test_dataset_prefix_ends_with_a_slash():
    assert dataset_prefix("call", "acme-energie") == "datasets/acme-energie/call/"


def test_a_dataset_folder_reads_whole_with_pyarrow_and_duckdb_hive_partitioning(tmp_path):
    """Issue 16: a ``day`` column inside ``day=`` folders made ``pyarrow.parquet.read_table(<folder>)``
    fail ("Field day has incompatible types"). Stored dictionary-encoded it merges with the partition
    field; DuckDB reads it with and without hive partitioning; read_partition gives a plain string."""
    import duckdb
    import pyarrow.parquet as pq

    store = LocalObjectStore(tmp_path / "objects")
    wh = Warehouse(store)
    for day in ("2026-11-16", "2026-11-17"):
        t = _table("acme-energie", 2).append_column("day", pa.array([day] * 2, pa.string()))
        wh.write_partition("call_manifest", "acme-energie", day, t)
    folder = tmp_path / "objects" / "datasets" / "acme-energie" / "call_manifest"
    whole = pq.read_table(folder)
    assert whole.num_rows == 4 and sorted(set(whole.column("day").to_pylist())) == ["2026-11-16", "2026-11-17"]
    hive = duckdb.sql(
        f"select day, count(*) from read_parquet('{folder}/*/part.parquet', hive_partitioning=true) "
        "group by day order by day"
    ).fetchall()
    assert [(str(d), n) for d, n in hive] == [("2026-11-16", 2), ("2026-11-17", 2)]
    plain = duckdb.sql(
        f"select typeof(day) from read_parquet('{folder}/*/part.parquet', hive_partitioning=false) limit 1"
    ).fetchall()[0][0]
    assert plain == "VARCHAR"
    back = wh.read_partition("call_manifest", "acme-energie", "2026-11-16")
    assert back.schema.field("day").type == pa.string() and back.column("day").to_pylist() == ["2026-11-16"] * 2
    got = wh.query(
        "select count(*) as n from t where day = '2026-11-17'", dataset="call_manifest", tenant_id="acme-energie"
    )
    assert got.column("n").to_pylist() == [2]  # the warehouse's own DuckDB views still see a string day
