"""Fuzz-style: hundreds of generated malformed keys, sidecars and audio byte strings go
through the real sensor planning and ingestion. No crash; every one accounted for."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from ccr_pipelines.core.ingest_sensor import plan_tick
from ccr_pipelines.services.ingest import ingest_batch
from ccr_pipelines.stores.control_store import ControlStore
from ccr_pipelines.stores.object_store import LocalObjectStore

from .audio_helpers import flac_bytes, wav_bytes
from .ingest_helpers import TODAY, inbox, ledger, make_env
from .test_ingest_batch import _raw_put

SEGMENT_NOISE = [
    "..",
    ".",
    "",
    " ",
    "é",
    "а",
    "%2e%2e",
    "\\",
    ";--",
    "'",
    "\u202e",
    "c" * 300,
    "0612345678",
    "x@y.fr",
    "NUL",
    "acme-energie",
    "2026",
    "11",
    "16",
    "13",
    "00",
]


def _random_key(rng: random.Random, i: int) -> str:
    choice = rng.random()
    if choice < 0.35:  # valid layout, random file
        ext = rng.choice(["wav", "flac", "mp3", "ogg", "opus", "WAV", "txt", "", "json"])
        return f"raw/{rng.choice(['acme-energie', 'globex-support', 'initech-paused', 'nobody'])}/2026/11/16/c-{i}.{ext}".rstrip(
            "."
        )
    parts = (
        ["raw"]
        + [rng.choice(SEGMENT_NOISE) for _ in range(rng.randint(0, 7))]
        + [f"f{i}.{rng.choice(['wav', 'json', 'bin'])}"]
    )
    key = "/".join(parts)
    # keep what a filesystem can hold; S3 would take more, the rules are the same
    key = "/".join(p for p in key.split("/") if p not in ("", ".", ".."))
    return key.replace("\\", "_")


def _random_payload(rng: random.Random, i: int) -> bytes:
    good = wav_bytes(0.6 + rng.random(), seed=i) if rng.random() < 0.5 else flac_bytes(0.6 + rng.random(), seed=i)
    r = rng.random()
    if r < 0.2:
        return good
    if r < 0.4:
        return good[: rng.randint(0, len(good))]
    if r < 0.55:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 2048)))
    if r < 0.7:
        b = bytearray(good)
        for _ in range(20):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        return bytes(b)
    if r < 0.85:
        return json.dumps(
            {
                "agent_id": rng.choice(["ag-1", "", "x" * 100, None]),
                rng.choice(["direction", "foo"]): rng.choice(["inbound", 3, []]),
            }
        ).encode()
    return good[:44] + good  # doubled header


def test_fuzz_every_generated_object_is_accounted_for_exactly_once(tmp_path):
    rng = random.Random(20261122)
    store = LocalObjectStore(tmp_path / "objects")
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    written = set()
    for i in range(240):
        key = _random_key(rng, i)
        if key in written:
            continue
        try:
            _raw_put(store, key, _random_payload(rng, i))
        except OSError:
            continue  # a name the filesystem itself refuses was never received
        written.add(key)
        if rng.random() < 0.3 and key.count("/") == 5 and not key.endswith(".json"):  # random sidecar
            sc = key.rsplit(".", 1)[0] + ".json"
            _raw_put(store, sc, _random_payload(rng, i + 1000))
            written.add(sc)
    assert len(written) >= 200

    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    listing = [
        type("O", (), {"key": o.key, "etag": o.etag, "last_modified": now - timedelta(hours=7)})
        for o in store.list("raw/")
    ]
    plan = plan_tick(
        listing,
        None,
        known_tenants={"acme-energie", "globex-support", "initech-paused"},
        now=now,
        min_day=date(2024, 1, 1),
        limit=10_000,
    )
    requested = [k for b in plan.batches for k in b.keys]
    assert len(requested) == len(set(requested))
    for b in plan.batches:
        env = make_env(store, control, today=TODAY, orphan_sidecar_after=timedelta(0))
        tenant = None if b.tenant_id == "unrouted" else b.tenant_id
        result = ingest_batch(env, list(b.keys), tenant_id=tenant, day=b.day if tenant else None)
        assert result.accounting_ok, (b.tenant_id, result.accounting)

    rows = ledger(control)
    assert Counter((r["source_key"], r["etag"]) for r in rows).most_common(1)[0][1] == 1  # nothing doubled
    outcomes = Counter(r["outcome"] for r in rows)
    # every file received is accounted for: those with a ledger row, plus sidecars that travelled with a call
    assert inbox(store) == []
    assert outcomes["quarantined"] > 50 and outcomes["accepted"] > 5
