"""Daily partitions for per-call assets (see docs/partitioning.md).

One partition per UTC day, *not* per tenant: 2 years of retention is ~730
partitions whatever the number of tenants, well inside Dagster's guidance,
while tenant x day would be 730,000. The tenant is run config and a run tag
(``ccr/tenant``), so an engineer re-runs one tenant's day by launching that
day's partition with ``tenant_id`` set.
"""

import dagster as dg

from ...services.ingest import MIN_DAY

# end_offset=1: a tenant east of UTC uploads "tomorrow" before UTC midnight.
daily_partitions = dg.DailyPartitionsDefinition(start_date=MIN_DAY.isoformat(), end_offset=1)
