"""Warehouse: Parquet datasets in the object store, queried with DuckDB.

Parquet partitions are the system of record for per-call tables. A partition
is one object per (dataset, tenant, day): ``datasets/{tenant}/{dataset}/day={YYYY-MM-DD}/part.parquet``.
It is written whole to a temporary file and then put (atomic in both object
stores), so a reader never sees half a partition and a re-run replaces it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from ..core.catalog import DATASET_ZONES, PART_NAME, dataset_prefix, partition_key
from ..core.keys import validate_tenant_id
from .object_store import LocalObjectStore, ObjectInfo, ObjectStore

# The layout of a partition's key, its zones and its validation are the catalogue's (core/catalog.py);
# the names stay here for the callers that import them from the warehouse.
__all__ = ["DATASET_ZONES", "PART_NAME", "Warehouse", "dataset_prefix", "partition_key"]


# A ``day`` column inside ``day=`` folders is stored dictionary-encoded: the type pyarrow infers for a
# hive partition field, so ``pyarrow.parquet.read_table(<dataset folder>)`` merges the two instead of
# failing with "Field day has incompatible types" (issue 16). It stays a string for every reader:
# Parquet's logical type is unchanged (DuckDB reads VARCHAR, or the folder's value with
# hive_partitioning=true), and read_partition hands it back as a plain string.
_DAY_TYPE = pa.dictionary(pa.int32(), pa.string())


def _hive_safe(table: pa.Table) -> pa.Table:
    if "day" in table.column_names and pa.types.is_string(table.schema.field("day").type):
        i = table.schema.get_field_index("day")
        return table.set_column(
            i, pa.field("day", _DAY_TYPE, table.schema.field("day").nullable), table.column("day").cast(_DAY_TYPE)
        )
    return table


def _plain_day(table: pa.Table) -> pa.Table:
    if "day" in table.column_names and pa.types.is_dictionary(table.schema.field("day").type):
        i = table.schema.get_field_index("day")
        return table.set_column(
            i, pa.field("day", pa.string(), table.schema.field("day").nullable), table.column("day").cast(pa.string())
        )
    return table


class Warehouse:
    def __init__(self, store: ObjectStore, *, cache_dir: str | Path | None = None):
        self.store = store
        self.cache_dir = Path(cache_dir or tempfile.gettempdir()) / "ccr_warehouse_cache"

    # -- write --------------------------------------------------------------
    def write_partition(
        self, dataset: str, tenant_id: str, day: str, table: pa.Table, *, zone: str = "datasets"
    ) -> ObjectInfo:
        """Replace one partition atomically. Rows must all belong to *tenant_id* (P4)."""
        validate_tenant_id(tenant_id)
        if "tenant_id" in table.column_names and table.num_rows:
            tenants = set(table.column("tenant_id").unique().to_pylist())
            if tenants != {tenant_id}:
                raise ValueError(f"partition of tenant '{tenant_id}' would hold rows of other tenants")
        key = partition_key(dataset, tenant_id, day, zone)
        fd, tmp = tempfile.mkstemp(suffix=".parquet")
        os.close(fd)
        try:
            pq.write_table(_hive_safe(table), tmp, compression="zstd")
            return self.store.put_file(key, tmp)
        finally:
            os.unlink(tmp)

    # -- read ---------------------------------------------------------------
    def partitions(self, dataset: str, tenant_id: str, *, zone: str = "datasets") -> list[str]:
        """Days that have a partition, sorted."""
        prefix = dataset_prefix(dataset, tenant_id, zone)
        days = []
        for info in self.store.list(prefix):
            m = re.search(r"/day=(\d{4}-\d{2}-\d{2})/" + re.escape(PART_NAME) + "$", info.key)
            if m:
                days.append(m.group(1))
        return days

    def read_partition(self, dataset: str, tenant_id: str, day: str, *, zone: str = "datasets") -> pa.Table | None:
        key = partition_key(dataset, tenant_id, day, zone)
        if not self.store.exists(key):
            return None
        with self._local_paths([key]) as paths:
            return _plain_day(pq.ParquetFile(paths[0]).read())

    @contextmanager
    def _local_paths(self, keys: list[str]) -> Iterator[list[str]]:
        if isinstance(self.store, LocalObjectStore):
            yield [str(self.store._path(k)) for k in keys]
            return
        with tempfile.TemporaryDirectory(prefix="ccr-wh-") as tmp:
            paths = []
            for i, k in enumerate(keys):
                p = os.path.join(tmp, f"{i}.parquet")
                self.store.download_file(k, p)
                paths.append(p)
            yield paths

    def _existing_keys(self, dataset: str, tenant_id: str, days: list[str] | None, zone: str) -> list[str]:
        days = self.partitions(dataset, tenant_id, zone=zone) if days is None else days
        keys = [partition_key(dataset, tenant_id, d, zone) for d in days]
        return [k for k in keys if self.store.exists(k)]

    def query(
        self, sql: str, *, dataset: str, tenant_id: str, days: list[str] | None = None, zone: str = "datasets"
    ) -> pa.Table:
        """Run *sql* against one tenant's dataset, exposed to DuckDB as the view ``t``
        (LookupError when the tenant has no partition of it)."""
        return self.query_views(sql, tenant_id=tenant_id, days=days, views={"t": (dataset, None)}, zone=zone)

    def query_views(
        self,
        sql: str,
        *,
        tenant_id: str,
        days: list[str] | None,
        views: Mapping[str, tuple[str, pa.Schema | None]],
        zone: str = "datasets",
        exclude_calls: Collection[str] = (),
    ) -> pa.Table:
        """Run *sql* over several datasets of ONE tenant (P4): each view reads only that tenant's
        partitions for *days* (all days when None). A dataset with no partition there is an empty
        view of the given schema, so a quiet period still gives an answer."""
        return self.query_views_many(
            {"q": sql}, tenant_id=tenant_id, days=days, views=views, zone=zone, exclude_calls=exclude_calls
        )["q"]

    def query_views_many(
        self,
        sqls: Mapping[str, str],
        *,
        tenant_id: str,
        days: list[str] | None,
        views: Mapping[str, tuple[str, pa.Schema | None]],
        zone: str = "datasets",
        exclude_calls: Collection[str] = (),
    ) -> dict[str, pa.Table]:
        """Several queries over the same views, on one connection (and one download on S3).

        *exclude_calls* (P16, restriction of processing): these call ids are left out of every view."""
        validate_tenant_id(tenant_id)
        keys = {name: self._existing_keys(dataset, tenant_id, days, zone) for name, (dataset, _) in views.items()}
        flat = [k for ks in keys.values() for k in ks]
        con = duckdb.connect()
        where = ""
        if exclude_calls:
            con.register("_excluded_calls", pa.table({"call_id": pa.array(sorted(exclude_calls), pa.string())}))
            where = " WHERE call_id NOT IN (SELECT call_id FROM _excluded_calls)"
        try:
            with self._local_paths(flat) as paths:
                by_key = dict(zip(flat, paths))
                for name, (dataset, schema) in views.items():
                    if not re.match(r"^[a-z_][a-z0-9_]*$", name):
                        raise ValueError(f"invalid view name {name!r}")
                    if keys[name]:
                        # DDL cannot take parameters; the paths are our own (store root or temp dir), quoted.
                        listing = ", ".join("'" + by_key[k].replace("'", "''") + "'" for k in keys[name])
                        source = f"read_parquet([{listing}], union_by_name=true, hive_partitioning=false)"
                        if schema is not None:
                            # partitions written before a column was added still answer it (NULL)
                            con.register(f"_declared_{name}", schema.empty_table())
                            source = f"(SELECT * FROM {source} UNION ALL BY NAME SELECT * FROM _declared_{name})"
                        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {source}{where}")
                    elif schema is not None:
                        con.register(name, schema.empty_table())
                    else:
                        raise LookupError(f"no partitions of {dataset} for tenant '{tenant_id}'")
                return {name: con.sql(sql).to_arrow_table() for name, sql in sqls.items()}
        finally:
            con.close()
