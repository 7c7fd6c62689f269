"""Load (P6): 10,000 calls land in the inbox within one sensor window. The real inbox sensor, tick
after tick at the local profile's per-tick limit, requests every one exactly once; a metadata-only
ingestion (the fast path of benchmarks/scale.py: the real key, sidecar and manifest rules, no audio
decoding) moves each out of the inbox into the manifest. Memory is measured with tracemalloc."""

from __future__ import annotations

import hashlib
import json
import os
import time
import tracemalloc
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pytest

from ccr_pipelines.core.ingest import manifest_row, parse_raw_key, parse_sidecar
from ccr_pipelines.core.ingest_sensor import key_digest
from ccr_pipelines.core.subjects import subject_hashes
from ccr_pipelines.defs.ingest.sensors import OP_NAME, raw_recordings_sensor
from ccr_pipelines.resources import IngestConfigResource, ObjectStoreResource, TenantRegistryResource
from ccr_pipelines.services.ingest import MANIFEST_DATASET, MANIFEST_SCHEMA, MIN_DAY
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .fault_helpers import record_figures
from .ingest_helpers import SECRET

CALLS = 10_000
TENANTS = ("acme-energie", "globex-support")
DAY = date(2026, 11, 16)
PROBE = {"duration_s": 180.0, "sample_rate": 8000, "channels": 2, "codec": "pcm_s16le", "container": "wav"}
PEAK_BOUND_MB = 150  # generous: the measured peak is written to the figures (docs/reliability.md)


def _upload(root, n: int) -> set[tuple[str, str]]:
    """n calls (recording + sidecar) written straight into the inbox, as an SFTP drop would."""
    calls = set()
    old = time.time() - 60  # all arrived within the last minute: one sensor window
    for i in range(n):
        tenant = TENANTS[i % 2]
        folder = root / "raw" / tenant / f"{DAY:%Y/%m/%d}"
        if i < 2:
            folder.mkdir(parents=True, exist_ok=True)
        stem = folder / f"c-{i:06d}"
        (stem.with_suffix(".json")).write_text(
            json.dumps(
                {
                    "agent_id": f"ag-{i % 40:02d}",
                    "direction": "inbound",
                    "language": "fr",
                    "started_at": f"{DAY.isoformat()}T09:00:00+01:00",
                    "customer_ref": f"cust-{i:06d}",
                }
            )
        )
        (stem.with_suffix(".wav")).write_bytes(b"RIFF" + i.to_bytes(4, "little"))
        for p in (stem.with_suffix(".json"), stem.with_suffix(".wav")):
            os.utime(p, (old + i * 0.001, old + i * 0.001))
        calls.add((tenant, f"c-{i:06d}"))
    return calls


def _fast_ingest(store: LocalObjectStore, keys: list[str], rows: dict, now: datetime) -> None:
    """Metadata only: the key and sidecar rules and the manifest row of the real ingestion."""
    for key in keys:
        raw = parse_raw_key(key, min_day=MIN_DAY, max_day=DAY + timedelta(days=1))
        sidecar = parse_sidecar(store.get_bytes(raw.sidecar_key, received=True))
        hashes = subject_hashes(SECRET, raw.tenant_id, {"customer_ref": sidecar["customer_ref"]})
        info = store.head(key, received=True)
        rows.setdefault((raw.tenant_id, raw.day.isoformat()), []).append(
            manifest_row(
                raw=raw,
                audio_key=key.replace("raw/", "audio/", 1),
                etag=info.etag,
                sha256=hashlib.sha256(key.encode()).hexdigest(),
                size=info.size,
                probe=PROBE,
                sidecar=sidecar,
                hashes=hashes,
                ingested_at=now,
                run_id="load-test",
            )
        )
        store.delete(key, received=True)  # out of the inbox with its sidecar
        store.delete(raw.sidecar_key, received=True)


@pytest.mark.slow
def test_10000_calls_in_one_sensor_window_are_all_ingested_once_with_bounded_memory(tmp_path, tenants_file):
    store = LocalObjectStore(tmp_path / "objects")
    seeded = _upload(store.root, CALLS)
    resources = {
        "object_store": ObjectStoreResource(kind="local", root=str(store.root)),
        "tenant_registry": TenantRegistryResource(path=str(tenants_file)),
        "ingest_config": IngestConfigResource(subject_hash_key=SECRET),
    }  # default: 1,000 objects a tick
    limit = resources["ingest_config"].sensor_max_objects_per_tick
    instance = dg.DagsterInstance.ephemeral()
    requested: Counter = Counter()
    rows: dict = {}
    cursor, ticks, runs = None, 0, 0
    now = datetime.now(UTC)

    # runs get keyed digests of their keys (P17); the test maps them back through the seeded inbox
    by_digest = {key_digest(SECRET, o.key): o.key for o in store.list("raw/")}
    tracemalloc.start()
    while True:
        with dg.build_sensor_context(instance=instance, resources=resources, cursor=cursor) as ctx:
            result = raw_recordings_sensor(ctx)
        if isinstance(result, dg.SkipReason):
            break
        ticks += 1
        for rr in result.run_requests:
            keys = [by_digest[d] for d in rr.run_config["ops"][OP_NAME]["config"]["key_digests"]]
            assert rr.tags["ccr/tenant"] in TENANTS and len(keys) <= 200
            requested.update(keys)
            runs += 1
            _fast_ingest(store, keys, rows, now)
        cursor = result.cursor
        assert ticks <= 2 * CALLS * 2 // limit + 2  # progress every tick
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    wh = Warehouse(store)
    for (tenant, day), part in rows.items():
        wh.write_partition(MANIFEST_DATASET, tenant, day, pa.Table.from_pylist(part, schema=MANIFEST_SCHEMA))
    manifest = [
        (t, c)
        for t in TENANTS
        for c in wh.read_partition(MANIFEST_DATASET, t, DAY.isoformat()).column("call_id").to_pylist()
    ]

    assert len(requested) == CALLS and max(requested.values()) == 1  # each recording requested once
    assert not any(k.endswith(".json") for k in requested)  # sidecars travel with their recording
    assert len(manifest) == CALLS and set(manifest) == seeded  # nothing missed, nothing doubled
    assert list(store.list("raw/")) == []  # the inbox is empty
    peak_mb = peak / 2**20
    assert peak_mb < PEAK_BOUND_MB, peak_mb
    import resource

    record_figures(
        "load_10000_calls",
        calls_in=CALLS,
        objects_in=2 * CALLS,
        requested_once=len(requested),
        manifest_rows=len(manifest),
        left_in_inbox=0,
        sensor_ticks=ticks,
        runs=runs,
        objects_per_tick_limit=limit,
        tracemalloc_peak_mb=round(peak_mb, 1),
        process_max_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    )
