"""Platform schedules: the daily backup (P6), at a quiet hour in UTC."""

import dagster as dg

from .jobs import backup_job

backup_schedule = dg.ScheduleDefinition(
    name="backup_schedule",
    job=backup_job,
    cron_schedule="30 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
