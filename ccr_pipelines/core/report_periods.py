"""Report periods and when each tenant's report is due — pure functions (P1).

A period is a tenant-local calendar window: an ISO week (Monday to Sunday) or
a calendar month. Call days (``yyyy/mm/dd`` in the upload key, the partition
day) are the tenant's own calendar days, so a period is simply the days it
spans; no UTC conversion of the data is involved.

When is a report due? The schedules tick every hour on the hour in UTC; a
tenant's weekly report is due at the first tick at or after its local
``weekday hour:00``, its monthly report at the first tick at or after
``hour:00`` on the 1st. Comparing local wall-clock times of this tick and the
previous one keeps this right across DST changes: a local hour that does not
exist (spring forward) fires at the next tick, one that happens twice (fall
back) fires once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

PeriodKind = Literal["weekly", "monthly"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("weekly", "monthly")
TICK = timedelta(hours=1)  # the schedules' cron is hourly


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    start: date  # first day, inclusive
    end: date  # first day after the period

    @property
    def key(self) -> str:
        """Stable, human-readable id: ``2026-W47`` or ``2026-11`` (used in report paths)."""
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def partition_key(self) -> str:
        """The Dagster partition key: the first day (weekly and monthly partitions start there)."""
        return self.start.isoformat()

    def days(self) -> list[str]:
        n = (self.end - self.start).days
        return [(self.start + timedelta(days=i)).isoformat() for i in range(n)]

    def previous(self) -> Period:
        return period_containing(self.kind, self.start - timedelta(days=1))


def period_containing(kind: PeriodKind, day: date) -> Period:
    if kind == "weekly":
        start = day - timedelta(days=day.weekday())
        return Period("weekly", start, start + timedelta(days=7))
    if kind == "monthly":
        start = day.replace(day=1)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return Period("monthly", start, nxt)
    raise ValueError(f"unknown report period kind {kind!r}")


def period_from_partition(kind: PeriodKind, partition_key: str) -> Period:
    """The period whose first day is *partition_key*; refuses a key that does not start one."""
    try:
        day = date.fromisoformat(partition_key)
    except ValueError:
        raise ValueError(f"invalid report partition {partition_key!r}") from None
    period = period_containing(kind, day)
    if period.start != day:
        raise ValueError(f"{partition_key} does not start a {kind} period")
    return period


def _local_wall(at: datetime, tz: ZoneInfo) -> datetime:
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(tz).replace(tzinfo=None)


def due_periods(
    *, timezone_name: str, weekly: bool, monthly: bool, weekday: int, hour: int, at: datetime
) -> list[Period]:
    """The periods whose report is due at the hourly tick *at* for a tenant with these settings.

    Weekly: the last complete Monday-Sunday week before the local due day.
    Monthly: the previous calendar month, due on the 1st.
    """
    tz = ZoneInfo(timezone_name)
    now = _local_wall(at, tz)
    prev = _local_wall(at - TICK, tz)
    # The due moment crossed between the previous tick and this one, on this local day
    # or (for a tick just after local midnight) on the previous one.
    for day in (now.date(), now.date() - timedelta(days=1)):
        target = datetime.combine(day, time(hour))
        if prev < target <= now:
            break
    else:
        return []
    due: list[Period] = []
    if weekly and target.weekday() == weekday:
        last_sunday = target.date() - timedelta(days=target.weekday() + 1)
        due.append(period_containing("weekly", last_sunday))
    if monthly and target.day == 1:
        due.append(period_containing("monthly", target.date() - timedelta(days=1)))
    return due
