"""The retention purge and tenant offboarding (P19).

``plan_purge`` lists what is past its tenant's retention today (core/retention.py says where each
data class lives); ``run_purge`` deletes it: every version and delete marker of each object, whole
Parquet partitions, control-store rows whose class expired, then rebuilds the marts. A dry run
only records what would go. ``purge_log`` gets counts per tenant and class (never a key, a call id
or a value).

Idempotent and resumable: the plan is recomputed from what exists, every deletion is idempotent,
and a ``run:started`` marker without its ``run:completed`` tells the next run that the marts were
perhaps not rebuilt. Killed at any point and run again, the purge ends in the same state.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from ..core.keys import tenant_key
from ..core.retention import (
    DATASET_CLASSES,
    OBJECT_CLASSES,
    PER_CALL_CLASSES,
    TENANT_ZONES,
    PurgeItem,
    cutoff,
    day_of_key,
    expired,
    offboarding_due,
    report_period_end,
)
from ..core.tenants import Tenant, TenantRegistry
from ..stores import purge_log
from ..stores.control_store import ControlStore, utcnow
from ..stores.object_store import ObjectStore
from ..stores.warehouse import Warehouse, partition_key
from . import search as search_index

PLATFORM = "platform"
STARTED, COMPLETED, OFFBOARDED = "run:started", "run:completed", "offboarding"
LOG_EVERY = 500  # flush counts to purge_log at least this often, so a killed run loses few


@dataclass
class PurgeEnv:
    store: ObjectStore
    warehouse: Warehouse
    control: ControlStore
    registry: TenantRegistry
    today: date
    run_id: str | None = None
    rebuild_marts: Callable[[], None] | None = None
    progress: Callable[[str], None] | None = None  # one line per deleted item (ids only): the kill test reads it
    counts: dict = field(default_factory=dict)
    # P6, P17, P19: backups older than this are deleted by the purge (settings backups.keep_days); None = not here
    backup_keep_days: int | None = None


def _expired_backups(env: PurgeEnv) -> list[str]:
    from ..core.backup import expired, is_backup_id
    from .backup import list_backups

    if env.backup_keep_days is None:
        return []
    now = datetime.combine(env.today, time(0), tzinfo=UTC)
    ids = [b["backup_id"] for b in list_backups(env.store) if is_backup_id(b["backup_id"])]
    return expired(ids, now=now, keep_days=env.backup_keep_days)


# -- plan --------------------------------------------------------------------
def _object_items(env: PurgeEnv, tenant: Tenant) -> list[tuple[PurgeItem, int]]:
    out = []
    for data_class, prefixes in OBJECT_CLASSES.items():
        days = tenant.retention(data_class)
        for parts in prefixes:
            versions = Counter()
            for v in env.store.list_versions(tenant_key(parts[0], tenant.id, *parts[1:]) + "/"):
                d = day_of_key(v.key)
                if d is not None and expired(d, env.today, days):
                    versions[v.key] += 1
            out += [
                (PurgeItem(tenant.id, data_class, "object", k, d.isoformat() if (d := day_of_key(k)) else None), n)
                for k, n in sorted(versions.items())
            ]
    days = tenant.retention("reports")
    versions = Counter(
        v.key
        for v in env.store.list_versions(tenant_key("reports", tenant.id) + "/")
        if (end := report_period_end(v.key)) is not None and expired(end, env.today, days)
    )
    out += [(PurgeItem(tenant.id, "reports", "object", k), n) for k, n in sorted(versions.items())]
    return out


def _partition_items(env: PurgeEnv, tenant: Tenant) -> list[tuple[PurgeItem, int]]:
    out = []
    for data_class, datasets in DATASET_CLASSES.items():
        days = tenant.retention(data_class)
        for zone, dataset in datasets:
            for day in env.warehouse.partitions(dataset, tenant.id, zone=zone):
                if expired(date.fromisoformat(day), env.today, days):
                    out.append(
                        (
                            PurgeItem(
                                tenant.id, data_class, "partition", partition_key(dataset, tenant.id, day, zone), day
                            ),
                            1,
                        )
                    )
    return out


def _row_items(env: PurgeEnv, tenant: Tenant) -> list[tuple[PurgeItem, int]]:
    n = purge_log.expired_counts(env.control, tenant.id, **_row_cutoffs(env, tenant))
    return [
        (PurgeItem(tenant.id, "access_log" if table == "access_log" else "scores", "rows", table), n[table])
        for table in ("review_queue", "subject_calls", "access_log")
        if n[table]
    ]


def _row_cutoffs(env: PurgeEnv, tenant: Tenant) -> dict:
    """Where each kind of control-store row expires; a call's index row lives as long as the longest-kept
    per-call class."""
    return {
        "queued_before": _midnight(cutoff(env.today, tenant.retention("scores"))),
        "call_day_before": cutoff(env.today, max(tenant.retention(c) for c in PER_CALL_CLASSES)).isoformat(),
        "accessed_before": _midnight(cutoff(env.today, tenant.retention("access_log"))),
    }


def _midnight(d: date):
    from datetime import datetime

    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _offboarding_items(env: PurgeEnv, tenant: Tenant) -> list[tuple[PurgeItem, int]]:
    out = []
    for zone in TENANT_ZONES:
        n = sum(1 for _ in env.store.list_versions(tenant_key(zone, tenant.id) + "/"))
        if n:
            out.append((PurgeItem(tenant.id, "offboarding", "prefix", tenant_key(zone, tenant.id) + "/"), n))
    for table, n in purge_log.tenant_row_counts(env.control, tenant.id).items():
        if n:
            out.append((PurgeItem(tenant.id, "offboarding", "rows", table), n))
    return out


def plan_purge(env: PurgeEnv) -> list[tuple[PurgeItem, int]]:
    """Everything past retention today, per tenant, with the number of versions / rows each holds."""
    items: list[tuple[PurgeItem, int]] = []
    for tenant in sorted(env.registry, key=lambda t: t.id):
        if offboarding_due(tenant.terminated_on, env.today):
            items += _offboarding_items(env, tenant)
            continue
        items += _object_items(env, tenant) + _partition_items(env, tenant) + _row_items(env, tenant)
    return sorted(items, key=lambda it: it[0].sort_key)


# -- run ---------------------------------------------------------------------
def _last_run_incomplete(control: ControlStore) -> bool:
    return purge_log.last_marker(control, PLATFORM, [STARTED, COMPLETED]) == STARTED


def _marker(env: PurgeEnv, data_class: str, objects: int = 0, rows: int = 0) -> None:
    purge_log.record(
        env.control,
        dict(
            run_id=env.run_id,
            tenant_id=PLATFORM,
            data_class=data_class,
            dry_run=False,
            objects=objects,
            rows=rows,
            at=utcnow(),
        ),
    )


def _delete(env: PurgeEnv, item: PurgeItem) -> tuple[int, int]:
    """Delete one item; returns (object versions, rows) removed. Idempotent."""
    c, t = env.control, item.tenant_id
    if item.kind == "object":
        return env.store.delete_all_versions(item.target), 0
    if item.kind == "prefix":
        return env.store.delete_prefix_all_versions(item.target), 0
    if item.kind == "partition":
        n = env.store.delete_all_versions(item.target)
        if item.data_class == "redacted_transcript" and item.day:  # issue 19: the day leaves search too
            search_index.purge_days(c, t, days=[item.day])
        purge_log.mark_deleted(c, t, env.store.uri(item.target))  # P17/P19: lineage keeps the fact
        return n, 0
    tenant = env.registry.get(t)
    cut = _row_cutoffs(env, tenant)
    if item.target == "access_log":  # append-only: a retention grant lets exactly these rows through (P3, P19)
        return 0, purge_log.delete_access_log(c, t, cut["accessed_before"], run_id=env.run_id)
    if item.target == "search_segments":  # issue 19: the offboarded tenant's search index
        return 0, search_index.purge_days(c, t)
    return 0, purge_log.delete_rows(
        c,
        item.target,
        t,
        queued_before=cut["queued_before"],
        call_day_before=cut["call_day_before"],
        offboarding=item.data_class == "offboarding",
    )


def run_purge(env: PurgeEnv, *, dry_run: bool = True) -> dict:
    """P19: purge (or, dry run, record) what is past retention. Returns counts per tenant and class."""
    items = plan_purge(env)
    per: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    if dry_run:
        for item, n in items:
            per[(item.tenant_id, item.data_class)][0 if item.kind in ("object", "prefix", "partition") else 1] += n
            if env.progress:
                env.progress(f"would delete {item.tenant_id} {item.data_class} {item.kind}")
        backups = _expired_backups(env)
        if backups:
            per[(PLATFORM, "backups")][0] += len(backups)
        purge_log.record(
            env.control,
            [
                dict(run_id=env.run_id, tenant_id=t, data_class=k, dry_run=True, objects=o, rows=r, at=utcnow())
                for (t, k), (o, r) in sorted(per.items())
            ],
        )
        return {**_summary(items, per, dry_run=True, marts=False), "backups_expired": len(backups)}

    resumed = _last_run_incomplete(env.control)
    _marker(env, STARTED)
    pending: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    since_flush = 0
    rebuild = resumed

    def flush():
        rows = [
            dict(run_id=env.run_id, tenant_id=t, data_class=k, dry_run=False, objects=o, rows=r, at=utcnow())
            for (t, k), (o, r) in sorted(pending.items())
            if o or r
        ]
        purge_log.record(env.control, rows)
        pending.clear()

    for item, _ in items:
        objects, rows = _delete(env, item)
        rebuild = rebuild or item.kind in ("partition", "prefix")
        for bucket in (per, pending):
            bucket[(item.tenant_id, item.data_class)][0] += objects
            bucket[(item.tenant_id, item.data_class)][1] += rows
        if env.progress:
            env.progress(f"deleted {item.tenant_id} {item.data_class} {item.kind}")
        since_flush += 1
        if since_flush >= LOG_EVERY:
            flush()
            since_flush = 0
    # P3, P19: temp files of writers killed mid-write are never listed, so no rule above reaches them
    partial = env.store.discard_partial_writes()
    if partial:
        for bucket in (per, pending):
            bucket[(PLATFORM, "partial_writes")][0] += partial
        if env.progress:
            env.progress(f"discarded {partial} partial write(s)")
    # P6, P17, P19: backups past the backup retention go (every file; the newest always stays)
    backups = []
    if env.backup_keep_days is not None:
        from .backup import prune_backups

        backups = prune_backups(
            env.store, keep_days=env.backup_keep_days, now=datetime.combine(env.today, time(0), tzinfo=UTC)
        )
        if backups:
            for bucket in (per, pending):
                bucket[(PLATFORM, "backups")][0] += len(backups)
            if env.progress:
                env.progress(f"deleted {len(backups)} expired backup(s)")
    flush()
    marts = False
    if rebuild and env.rebuild_marts is not None:
        env.rebuild_marts()
        marts = True
    # P19: the offboarding proof row, once per tenant whose grace period is over
    for tenant in sorted(env.registry, key=lambda t: t.id):
        if offboarding_due(tenant.terminated_on, env.today) and not _offboarding_items(env, tenant):
            if not purge_log.has_entry(env.control, tenant.id, OFFBOARDED):
                objects, rows = purge_log.purged_totals(env.control, tenant.id)
                purge_log.record(
                    env.control,
                    dict(
                        run_id=env.run_id,
                        tenant_id=tenant.id,
                        data_class=OFFBOARDED,
                        dry_run=False,
                        objects=objects,
                        rows=rows,
                        at=utcnow(),
                    ),
                )
    _marker(env, COMPLETED, objects=sum(o for o, _ in per.values()), rows=sum(r for _, r in per.values()))
    return {**_summary(items, per, dry_run=False, marts=marts), "backups_expired": len(backups)}


def _summary(items, per, *, dry_run: bool, marts: bool) -> dict:
    return {
        "dry_run": dry_run,
        "items": len(items),
        "marts_rebuilt": marts,
        "objects": sum(o for o, _ in per.values()),
        "rows": sum(r for _, r in per.values()),
        "by_class": {f"{t}/{k}": {"objects": o, "rows": r} for (t, k), (o, r) in sorted(per.items())},
    }
