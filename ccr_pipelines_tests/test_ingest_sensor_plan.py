"""Planning sensor ticks (pure): batching, bounded work, cursor, stragglers."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ccr_pipelines.core.ingest_sensor import Cursor, plan_tick

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TENANTS = {"acme-energie", "globex-support"}


@dataclass
class Obj:
    key: str
    etag: str
    last_modified: datetime


def objs(n, *, tenant="acme-energie", day="2026/11/16", start=NOW - timedelta(minutes=10), ext="wav"):
    return [Obj(f"raw/{tenant}/{day}/c-{i:05d}.{ext}", f"e{i}", start + timedelta(milliseconds=i)) for i in range(n)]


def plan(objects, cursor=None, **kw):
    kw.setdefault("limit", 1000)
    return plan_tick(objects, cursor, known_tenants=TENANTS, now=NOW, min_day=date(2024, 1, 1), **kw)


def test_new_objects_are_batched_per_tenant_day_with_deterministic_run_keys():
    listing = objs(3) + objs(2, tenant="globex-support") + objs(1, day="2026/11/17")
    p1, p2 = plan(listing), plan(list(reversed(listing)))
    assert [(b.tenant_id, b.day, len(b.keys)) for b in p1.batches] == [
        ("acme-energie", "2026-11-16", 3),
        ("acme-energie", "2026-11-17", 1),
        ("globex-support", "2026-11-16", 2),
    ]
    assert [b.run_key for b in p1.batches] == [b.run_key for b in p2.batches]


def test_each_object_is_requested_exactly_once_across_ticks_with_a_limit():
    listing = objs(2500)
    cursor, seen = None, []
    for _ in range(10):
        p = plan(listing, cursor, limit=1000, batch_size=200)
        if not p.batches:
            assert "no new objects" in p.skip_reason
            break
        seen += [k for b in p.batches for k in b.keys]
        cursor = Cursor.from_json(p.cursor.to_json())  # the cursor survives a restart as JSON
    assert len(seen) == 2500 and len(set(seen)) == 2500


def test_a_retick_with_no_new_objects_skips_with_a_reason():
    listing = objs(5)
    p = plan(listing)
    again = plan(listing, p.cursor)
    assert again.batches == [] and again.skip_reason.startswith("no new objects")
    assert plan([], None).skip_reason == "inbox empty"


def test_objects_still_being_written_wait_for_the_next_tick():
    fresh = [Obj("raw/acme-energie/2026/11/16/c-1.wav", "e", NOW - timedelta(seconds=1))]
    assert plan(fresh).batches == []


def test_sidecars_travel_with_their_recording_and_unknown_tenants_are_unrouted():
    listing = (
        objs(1)
        + objs(1, ext="json")
        + [
            Obj("raw/nobody/2026/11/16/c-1.json", "x", NOW - timedelta(minutes=5)),
            Obj("raw/a.wav", "y", NOW - timedelta(minutes=5)),
        ]
    )
    p = plan(listing)
    routes = {(b.tenant_id, b.keys) for b in p.batches}
    assert ("acme-energie", ("raw/acme-energie/2026/11/16/c-00000.wav",)) in routes
    unrouted = [b for b in p.batches if b.tenant_id == "unrouted"]
    assert sorted(unrouted[0].keys) == ["raw/a.wav", "raw/nobody/2026/11/16/c-1.json"]
    assert unrouted[0].day == "2026-11-20"  # today's partition


def test_an_object_left_behind_the_cursor_is_requested_again_once_as_a_straggler():
    old = Obj("raw/acme-energie/2026/11/16/c-0.wav", "e0", NOW - timedelta(hours=7))
    cursor = Cursor(NOW - timedelta(hours=1), "raw/zzz")
    p = plan([old], cursor)
    assert len(p.batches) == 1 and p.batches[0].straggler and p.batches[0].run_key.startswith("straggler:")
    assert plan([old], cursor).batches[0].run_key == p.batches[0].run_key  # Dagster dedupes it


def test_a_cursor_never_stores_a_key_that_carries_personal_data():
    c = Cursor(NOW, "raw/acme-energie/2026/11/16/0612345678.wav")
    assert "0612345678" not in c.to_json()
    assert json.loads(c.to_json())["key"] == "raw/acme-energie/2026/11/16/"
