"""Ingestion of a batch on real stores: every received file ends accepted, quarantined
(with a reason record), duplicate or suppressed — and the accounting check proves it."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ccr_pipelines.core.ingest import Reason
from ccr_pipelines.services.ingest import MANIFEST_DATASET, ingest_batch
from ccr_pipelines.stores.control_store import ControlStore, lineage, subject_calls
from ccr_pipelines.stores.warehouse import Warehouse

from .audio_helpers import flac_bytes, one_sample_wav, silence_wav, wav_bytes, wav_header_only
from .ingest_helpers import DAY, PREFIX, inbox, ledger, make_env, sidecar, suppress


@pytest.fixture
def control(tmp_path):
    store = ControlStore(f"sqlite:///{tmp_path}/control.db")
    store.migrate()
    yield store
    store.dispose()


def _quarantine_record(store, row) -> dict:
    return json.loads(store.get_bytes(row["quarantine_key"].rsplit("/", 1)[0] + "/reason.json"))


def test_good_calls_are_accepted_moved_out_of_the_inbox_and_listed_in_the_manifest(object_store, control):
    object_store.put_bytes(PREFIX + "c-0001.json", sidecar(customer_ref="cust-1", recording_notice=True))
    object_store.put_bytes(PREFIX + "c-0001.wav", wav_bytes(2.0, channels=2))
    object_store.put_bytes(PREFIX + "c-0002.flac", flac_bytes(1.5))
    env = make_env(object_store, control)

    result = ingest_batch(env, [PREFIX + "c-0001.wav", PREFIX + "c-0002.flac"], tenant_id="acme-energie", day=DAY)

    assert result.accounting_ok and result.outcomes == {"accepted": 2}
    assert inbox(object_store) == []  # sidecar travelled with its recording
    assert object_store.exists("audio/acme-energie/2026/11/16/c-0001.wav")
    assert object_store.exists("audio/acme-energie/2026/11/16/c-0001.json")
    table = Warehouse(object_store).read_partition(MANIFEST_DATASET, "acme-energie", DAY)
    rows = {r["call_id"]: r for r in table.to_pylist()}
    assert rows["c-0001"]["channels"] == 2 and rows["c-0001"]["duration_s"] == pytest.approx(2.0, abs=0.01)
    assert rows["c-0001"]["agent_id"] == "ag-1" and rows["c-0001"]["recording_notice"] is True
    assert rows["c-0001"]["customer_ref_hash"] and rows["c-0001"]["customer_ref_hash"] != "cust-1"
    assert rows["c-0002"]["codec"] == "flac" and rows["c-0002"]["has_sidecar"] is False
    assert len(rows["c-0001"]["sha256"]) == 64
    kinds = {r["artefact_kind"] for r in control.fetch(lineage.select())}
    assert kinds == {"audio", "manifest_row"}  # lineage: source key -> call id -> manifest row


BAD_INPUTS = [
    ("c-0100.wav", b"", Reason.EMPTY_FILE),
    ("c-0101.flac", flac_bytes(3.0)[:300], Reason.UNREADABLE_AUDIO),
    ("c-0102.wav", wav_header_only(), Reason.TRUNCATED_AUDIO),
    ("c-0103.mp3", b"this is a text file, not audio\n" * 20, Reason.NOT_AUDIO),
    ("c-0104.wav", one_sample_wav(), Reason.TOO_SHORT),
    ("c-0105.wav", silence_wav(700.0), Reason.TOO_LONG),  # limit is 600 s in these tests
    ("c-0106.aiff", wav_bytes(1.0), Reason.UNSUPPORTED_EXTENSION),
    ("0612345678.wav", wav_bytes(1.0), Reason.PERSONAL_DATA_IN_KEY),
]


@pytest.mark.parametrize("name,data,reason", BAD_INPUTS, ids=[r.value for *_x, r in BAD_INPUTS])
def test_each_bad_input_class_is_quarantined_with_a_reason_record(object_store, control, name, data, reason):
    key = PREFIX + name
    object_store.put_bytes(key, data)
    result = ingest_batch(make_env(object_store, control), [key], tenant_id="acme-energie", day=DAY)

    assert result.accounting_ok, result.accounting
    [row] = ledger(control)
    assert (row["outcome"], row["reason"]) == ("quarantined", reason.value)
    record = _quarantine_record(object_store, row)
    assert record["reason"] == reason.value
    if reason is Reason.PERSONAL_DATA_IN_KEY:  # P4, P17: the key is kept as a token and a keyed digest only
        assert record["source_key"] == row["source_key"] and record["source_key"].startswith("redacted-key-")
        assert len(record["source_key_digest"]) == 64 and "0612345678" not in json.dumps(record)
        # and the quarantined upload is indexed under the subject it names (the erasure finds it)
        from ccr_pipelines.core.subjects import subject_hash
        from ccr_pipelines.stores.control_store import quarantine_subjects

        [q] = control.fetch(sa.select(quarantine_subjects))
        assert q["subject_hash"] == subject_hash(
            make_env(object_store, control).secret, "acme-energie", "phone", "+33612345678"
        )
        assert q["entry"] == row["quarantine_key"].rsplit("/", 1)[0] + "/"
    else:
        assert record["source_key"] == key
    assert object_store.get_bytes(row["quarantine_key"]) == data  # the copy is whole
    assert inbox(object_store) == []  # original removed only after the copy was confirmed
    if reason is Reason.PERSONAL_DATA_IN_KEY:
        # the phone-number key never reaches the append-only ledger
        assert "0612345678" not in json.dumps(row, default=str)


@pytest.mark.parametrize(
    "doc,reason",
    [
        (b"{not json", Reason.SIDECAR_NOT_JSON),
        (sidecar(direction="sideways"), Reason.SIDECAR_SCHEMA),
        (sidecar(started_at="2026-11-16T09:00:00"), Reason.SIDECAR_SCHEMA),  # no timezone
        (sidecar(favourite_colour="blue"), Reason.SIDECAR_SCHEMA),
    ],
)
def test_a_bad_sidecar_quarantines_the_call_with_its_sidecar(object_store, control, doc, reason):
    object_store.put_bytes(PREFIX + "c-0200.json", doc)
    object_store.put_bytes(PREFIX + "c-0200.wav", wav_bytes(1.0))
    result = ingest_batch(make_env(object_store, control), [PREFIX + "c-0200.wav"], tenant_id="acme-energie", day=DAY)
    [row] = ledger(control)
    assert result.accounting_ok and row["reason"] == reason.value
    assert object_store.get_bytes(row["quarantine_key"].rsplit("/", 1)[0] + "/sidecar.json") == doc
    assert inbox(object_store) == []


def test_unknown_and_suspended_tenants_are_quarantined(object_store, control):
    object_store.put_bytes("raw/nobody-here/2026/11/16/c-1.wav", wav_bytes(1.0))
    object_store.put_bytes("raw/initech-paused/2026/11/16/c-2.wav", wav_bytes(1.0))
    env = make_env(object_store, control)
    r1 = ingest_batch(env, ["raw/nobody-here/2026/11/16/c-1.wav"])  # the unroutable batch
    r2 = ingest_batch(env, ["raw/initech-paused/2026/11/16/c-2.wav"], tenant_id="initech-paused", day=DAY)
    rows = {r["reason"]: r for r in ledger(control)}
    assert r1.accounting_ok and r2.accounting_ok
    assert rows["unknown_tenant"]["tenant_id"] is None
    assert rows["unknown_tenant"]["quarantine_key"].startswith("quarantine/unrouted/")
    assert rows["suspended_tenant"]["quarantine_key"].startswith("quarantine/initech-paused/")


@pytest.mark.parametrize(
    "key",
    [
        "raw/acme-energie/2026/13/45/c-1.wav",  # not a date
        "raw/acme-energie/2019/01/01/c-1.wav",  # before the first partition
        "raw/acme-energie/c-1.wav",  # wrong depth
        "raw/acme-energie/2026/11/16/extra/c-1.wav",
        "raw/acme-energie/2026/11/16/c 1.wav",  # space
        "raw/acme-energie/2026/11/16/c-é.wav",  # non-ASCII
    ],
)
def test_keys_outside_the_layout_are_quarantined_as_unrouted(object_store, control, key):
    object_store.put_bytes(key, wav_bytes(1.0)) if _valid(key) else _raw_put(object_store, key, wav_bytes(1.0))
    result = ingest_batch(make_env(object_store, control), [key])
    [row] = ledger(control)
    assert result.accounting_ok
    assert row["outcome"] == "quarantined" and row["reason"] in ("bad_date", "key_outside_layout")
    assert inbox(object_store) == []


def _valid(key):
    from ccr_pipelines.core.keys import validate_key

    try:
        validate_key(key)
        return True
    except ValueError:
        return False


def _raw_put(store, key, data):
    """Upload under a key our own writers refuse, as a careless uploader could."""
    from ccr_pipelines.stores.object_store import LocalObjectStore

    if isinstance(store, LocalObjectStore):
        path = store.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    else:
        store.client.put_object(Bucket=store.bucket, Key=key, Body=data)


def test_same_audio_twice_gives_one_call_and_a_duplicate_record(object_store, control):
    audio = wav_bytes(1.0, seed=7)
    object_store.put_bytes(PREFIX + "c-0300.wav", audio)
    env = make_env(object_store, control)
    ingest_batch(env, [PREFIX + "c-0300.wav"], tenant_id="acme-energie", day=DAY)
    object_store.put_bytes("raw/acme-energie/2026/11/17/c-0301.wav", audio)  # another day, another id
    object_store.put_bytes("raw/acme-energie/2026/11/17/c-0302.wav", audio)  # and twice in one batch
    r = ingest_batch(make_env(object_store, control), None, tenant_id="acme-energie", day="2026-11-17")
    assert r.accounting_ok and r.outcomes == {"duplicate": 2}
    dups = [row for row in ledger(control) if row["outcome"] == "duplicate"]
    assert all(row["detail"] == "same audio as call c-0300" for row in dups)
    assert Warehouse(object_store).read_partition(MANIFEST_DATASET, "acme-energie", "2026-11-17") is None


def test_p18_a_suppressed_subject_is_not_processed_and_is_logged(object_store, control):
    suppress(control, "acme-energie", "phone", "06 12 34 56 78")
    # same person, written differently: compared as keyed hashes of the normalised value
    object_store.put_bytes(PREFIX + "c-0400.json", sidecar(customer_phone="+33 6 12 34 56 78"))
    object_store.put_bytes(PREFIX + "c-0400.wav", wav_bytes(1.0, seed=3))
    object_store.put_bytes(PREFIX + "c-0401.json", sidecar(customer_phone="+33 6 99 99 99 99"))
    object_store.put_bytes(PREFIX + "c-0401.wav", wav_bytes(1.0, seed=4))
    r = ingest_batch(make_env(object_store, control), None, tenant_id="acme-energie", day=DAY)
    assert r.accounting_ok and r.outcomes == {"suppressed": 1, "accepted": 1}
    row = next(x for x in ledger(control) if x["outcome"] == "suppressed")
    assert row["call_id"] == "c-0400" and "12 34" not in json.dumps(row, default=str)
    assert not object_store.exists("audio/acme-energie/2026/11/16/c-0400.wav")
    assert inbox(object_store) == []


def test_p18_suppression_is_per_tenant(object_store, control):
    suppress(control, "globex-support", "email", "jane@example.org")
    object_store.put_bytes(PREFIX + "c-0500.json", sidecar(customer_email="jane@example.org"))
    object_store.put_bytes(PREFIX + "c-0500.wav", wav_bytes(1.0, seed=5))
    r = ingest_batch(make_env(object_store, control), None, tenant_id="acme-energie", day=DAY)
    assert r.outcomes == {"accepted": 1}


def test_p16_a_subjects_calls_are_indexed_by_keyed_hash_at_ingestion(object_store, control):
    """DSRs find a subject's calls by index lookup; the index holds keyed hashes, never identifiers."""
    from ccr_pipelines.core.subjects import subject_hash

    object_store.put_bytes(PREFIX + "c-0600.json", sidecar(customer_phone="06 12 34 56 78", customer_ref="CR-1"))
    object_store.put_bytes(PREFIX + "c-0600.wav", wav_bytes(1.0, seed=6))
    object_store.put_bytes(PREFIX + "c-0601.json", sidecar(customer_phone="+33 6 12 34 56 78"))
    object_store.put_bytes(PREFIX + "c-0601.wav", wav_bytes(1.0, seed=7))
    object_store.put_bytes(PREFIX + "c-0602.json", sidecar(customer_phone="+33 6 99 99 99 99"))
    object_store.put_bytes(PREFIX + "c-0602.wav", wav_bytes(1.0, seed=8))
    env = make_env(object_store, control)
    assert ingest_batch(env, None, tenant_id="acme-energie", day=DAY).outcomes == {"accepted": 3}
    phone = subject_hash(env.secret, "acme-energie", "phone", "0612345678")
    assert control.calls_of_subject("acme-energie", [phone]) == [
        {"call_id": "c-0600", "day": DAY},
        {"call_id": "c-0601", "day": DAY},
    ]
    ref = subject_hash(env.secret, "acme-energie", "customer_ref", "CR-1")
    assert [r["call_id"] for r in control.calls_of_subject("acme-energie", [ref, phone])] == ["c-0600", "c-0601"]
    assert control.calls_of_subject("globex-support", [phone]) == []  # P4: scoped to the tenant
    dump = json.dumps(control.fetch(sa.select(subject_calls)), default=str)
    assert "12 34" not in dump and "612345678" not in dump and "CR-1" not in dump


class CrashingStore:
    """Fault injection around a real store: the process 'dies' at the Nth delete."""

    def __init__(self, inner, crash_on_delete: int):
        self._inner, self._left = inner, crash_on_delete

    def delete(self, key, **kw):
        self._left -= 1
        if self._left == 0:
            raise KeyboardInterrupt("simulated crash")
        return self._inner.delete(key, **kw)

    def __getattr__(self, name):
        return getattr(self._inner, name)


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_run_killed_while_emptying_the_inbox_is_finished_by_its_retry(object_store, control, crash_at):
    object_store.put_bytes(PREFIX + "c-0600.json", sidecar())
    object_store.put_bytes(PREFIX + "c-0600.wav", wav_bytes(1.0, seed=11))
    object_store.put_bytes(PREFIX + "c-0601.wav", b"")
    object_store.put_bytes(PREFIX + "c-0602.flac", flac_bytes(1.0, seed=12))
    keys = [PREFIX + "c-0600.wav", PREFIX + "c-0601.wav", PREFIX + "c-0602.flac"]
    env = make_env(CrashingStore(object_store, crash_at), control)
    env.warehouse = Warehouse(object_store)
    with pytest.raises(KeyboardInterrupt):
        ingest_batch(env, keys, tenant_id="acme-energie", day=DAY)

    retry = ingest_batch(make_env(object_store, control), keys, tenant_id="acme-energie", day=DAY)
    assert retry.accounting_ok, retry.accounting
    assert retry.outcomes == {"accepted": 2, "quarantined": 1}
    assert len(ledger(control)) == 3  # nothing doubled
    assert inbox(object_store) == []  # nothing left behind
    table = Warehouse(object_store).read_partition(MANIFEST_DATASET, "acme-energie", DAY)
    assert sorted(table.column("call_id").to_pylist()) == ["c-0600", "c-0602"]


class CrashAtCommit:
    """Fault injection around the real control store: the process dies at the commit point."""

    def __init__(self, inner):
        self._inner = inner

    @property
    def engine(self):
        raise KeyboardInterrupt("simulated crash at commit")

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_a_run_killed_before_its_commit_is_redone_without_duplicates(object_store, control):
    object_store.put_bytes(PREFIX + "c-0700.wav", wav_bytes(1.0, seed=21))
    env = make_env(object_store, CrashAtCommit(control))
    with pytest.raises(KeyboardInterrupt):
        ingest_batch(env, [PREFIX + "c-0700.wav"], tenant_id="acme-energie", day=DAY)
    assert inbox(object_store) == [PREFIX + "c-0700.wav"]  # not committed: the original is still there

    retry = ingest_batch(make_env(object_store, control), [PREFIX + "c-0700.wav"], tenant_id="acme-energie", day=DAY)
    assert retry.outcomes == {"accepted": 1} and len(ledger(control)) == 1
    table = Warehouse(object_store).read_partition(MANIFEST_DATASET, "acme-energie", DAY)
    assert table.column("call_id").to_pylist() == ["c-0700"]


def test_accounting_fails_loudly_when_an_object_vanishes_before_processing(object_store, control):
    object_store.put_bytes(PREFIX + "c-0800.wav", wav_bytes(1.0))
    r = ingest_batch(
        make_env(object_store, control),
        [PREFIX + "c-0800.wav", PREFIX + "c-0801.wav"],
        tenant_id="acme-energie",
        day=DAY,
    )
    assert not r.accounting_ok and r.accounting["missing"] == 1 and r.accounting["received"] == 2


def test_rebuilding_a_tenant_day_recreates_the_manifest_from_accepted_audio(object_store, control):
    object_store.put_bytes(PREFIX + "c-0900.wav", wav_bytes(1.0, seed=31))
    object_store.put_bytes(PREFIX + "c-0901.flac", flac_bytes(1.0, seed=32))
    ingest_batch(make_env(object_store, control), None, tenant_id="acme-energie", day=DAY)
    wh = Warehouse(object_store)
    wh.store.delete("datasets/acme-energie/call_manifest/day=2026-11-16/part.parquet")  # lost partition
    r = ingest_batch(make_env(object_store, control), None, tenant_id="acme-energie", day=DAY, rebuild=True)
    assert r.rebuilt == 2 and r.manifest_rows == 2 and r.received == 0
    assert sorted(wh.read_partition(MANIFEST_DATASET, "acme-energie", DAY).column("call_id").to_pylist()) == [
        "c-0900",
        "c-0901",
    ]
    assert len(ledger(control)) == 2  # a rebuild is not a new receipt


def test_ingestion_on_postgres_control_store(object_store, pg_url):
    control = ControlStore(pg_url)
    control.migrate()
    try:
        object_store.put_bytes(PREFIX + "c-1000.wav", wav_bytes(1.0, seed=41))
        object_store.put_bytes(PREFIX + "c-1001.wav", b"")
        r = ingest_batch(make_env(object_store, control), None, tenant_id="acme-energie", day=DAY)
        assert r.accounting_ok and r.outcomes == {"accepted": 1, "quarantined": 1}
    finally:
        control.dispose()
