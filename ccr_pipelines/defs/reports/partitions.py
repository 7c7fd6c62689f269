"""Report partitions: one per period (week starting Monday, calendar month), not per tenant.

As for the daily assets (docs/partitioning.md) the tenant is run config: two
years are ~104 weekly and 24 monthly partitions whatever the number of
tenants. end_offset=1: a tenant east of UTC reaches Monday 06:00 while the
week is still open in UTC.
"""

import dagster as dg

from ...services.ingest import MIN_DAY

# MIN_DAY (2024-01-01) is a Monday, the first day of both period kinds.
weekly_partitions = dg.WeeklyPartitionsDefinition(start_date=MIN_DAY.isoformat(), day_offset=1, end_offset=1)
monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=MIN_DAY.isoformat(), end_offset=1)
PARTITIONS = {"weekly": weekly_partitions, "monthly": monthly_partitions}
