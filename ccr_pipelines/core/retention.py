"""Retention rules (P19): which data class lives where, and what is past its retention on a day.

Pure functions: the purge service (``services/retention.py``) lists what exists and asks these
rules what must go. Defaults and bounds per class, with the reason for each, are in
``core/tenants.py`` (``DEFAULT_RETENTION_DAYS``) and documented in docs/privacy.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from .catalog import DATASETS, OBJECT_KINDS, datasets_of_class
from .keys import ZONES

# P19: after a tenant is marked terminated, this long to take its data back before everything goes.
OFFBOARDING_GRACE_DAYS = 30
# GDPR art. 12(3): answer within one month, extendable by two further months when necessary.
DSR_DEADLINE_MONTHS = 1
DSR_EXTENSION_MONTHS = 2

# Parquet datasets per data class: (zone, dataset), from the catalogue (core/catalog.py). The analyses
# (manifest metadata, transcript quality, metrics, scores) share the "scores" class: they are the
# analysis of a call.
DATASET_CLASSES: dict[str, tuple[tuple[str, str], ...]] = {
    cls: tuple((d.zone, d.name) for d in datasets_of_class(cls))
    for cls in dict.fromkeys(("raw_transcript", "redacted_transcript", "scores", *(d.data_class for d in DATASETS)))
}


def _object_classes() -> dict[str, tuple[tuple[str, ...], ...]]:
    out: dict[str, tuple[tuple[str, ...], ...]] = {}
    for kind in OBJECT_KINDS:
        if kind.data_class and kind.tenant_parts and kind.tenant_parts not in out.get(kind.data_class, ()):
            out[kind.data_class] = out.get(kind.data_class, ()) + (kind.tenant_parts,)
    return out


# Objects per data class, by the tenant prefix they live under; the day is in the key (yyyy/mm/dd).
OBJECT_CLASSES: dict[str, tuple[tuple[str, ...], ...]] = _object_classes()
# Every dataset a call's rows may be in (erasure rewrites them all).
ALL_DATASETS: tuple[tuple[str, str], ...] = tuple(d for ds in DATASET_CLASSES.values() for d in ds)
# Per-call classes: a call's index row (subject_calls) lives as long as the longest of them.
PER_CALL_CLASSES = ("audio", "raw_transcript", "redacted_transcript", "scores")
# Zones a tenant owns (offboarding deletes every version under each).
TENANT_ZONES = tuple(z for z in ZONES if z != "control")

_DAY_IN_KEY = re.compile(r"/(\d{4})/(\d{2})/(\d{2})/")
_PERIOD_DAY = re.compile(r"^reports/[^/]+/(weekly|monthly)/(\d{4}-W\d{2}|\d{4}-\d{2})/")


def cutoff(today: date, days: int) -> date:
    """Data of a day strictly before this date is past retention."""
    return today - timedelta(days=days)


def expired(day: date, today: date, days: int) -> bool:
    return day < cutoff(today, days)


def day_of_key(key: str) -> date | None:
    """The call day of an object key laid out ``…/yyyy/mm/dd/…`` (audio, quarantine, transcripts)."""
    m = _DAY_IN_KEY.search(key)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def report_period_end(key: str) -> date | None:
    """Last day of the period a report key belongs to (``reports/{t}/{kind}/{period}/…``)."""
    m = _PERIOD_DAY.match(key)
    if not m:
        return None
    kind, period = m.groups()
    if kind == "weekly":
        year, week = period.split("-W")
        return date.fromisocalendar(int(year), int(week), 7)
    year, month = (int(x) for x in period.split("-"))
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def offboarding_due(terminated_on: date | None, today: date, grace_days: int = OFFBOARDING_GRACE_DAYS) -> bool:
    """P19: a terminated tenant's data go once the grace period is over."""
    return terminated_on is not None and today >= terminated_on + timedelta(days=grace_days)


def add_months(at: datetime, months: int) -> datetime:
    """Same day *months* later (clamped to the month's last day): GDPR's "one month"."""
    y, m = divmod(at.month - 1 + months, 12)
    year, month = at.year + y, m + 1
    for day in (at.day, 30, 29, 28):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise ValueError("unreachable")


def dsr_due(received_at: datetime, *, extended: bool = False) -> datetime:
    """Art. 12(3): one month from receipt, three when extended."""
    return add_months(received_at, DSR_DEADLINE_MONTHS + (DSR_EXTENSION_MONTHS if extended else 0))


def overdue(due_at: datetime, now: datetime) -> bool:
    if due_at.tzinfo is None:
        due_at = due_at.replace(tzinfo=UTC)
    return now > due_at


@dataclass(frozen=True)
class PurgeItem:
    """One thing the purge deletes: an object prefix (every version), a Parquet partition, or rows."""

    tenant_id: str
    data_class: str
    kind: str  # object|partition|rows
    target: str  # object key / partition key / table name
    day: str | None = None

    @property
    def sort_key(self) -> tuple:
        return (self.tenant_id, self.data_class, self.kind, self.target)
