"""Platform jobs: the daily backup of the control store and the warehouse metadata (P6)."""

import dagster as dg

from ...resources import ControlStoreResource, ObjectStoreResource
from ...services import backup
from ...services.marts import marts_file


class BackupConfig(dg.Config):
    """What the backup covers and how long backups are kept."""

    include_warehouse: bool = True  # the Parquet partition listing and the dbt marts file
    hash_partitions: bool = True  # sha256 of every partition (reads them all; off for a quick listing)
    # older backups are deleted after this one is written (P17, P19); 0 = the settings' backups.keep_days
    keep_days: int = 0


@dg.op(tags={"kind": "backup"})
def backup_control_store(
    context: dg.OpExecutionContext,
    config: BackupConfig,
    control_store: ControlStoreResource,
    object_store: ObjectStoreResource,
) -> dg.Output:
    """Dump every control-store table and list the warehouse into ``control/backups/{id}/`` (P6, P13, P20)."""
    store = object_store.get()
    # where dbt-duckdb writes the marts (services/marts); absent file = nothing to copy
    manifest = backup.create_backup(
        control_store.get(),
        store,
        marts_path=marts_file(store),
        warehouse=config.include_warehouse,
        hash_objects=config.hash_partitions,
        log=context.log.info,
    )
    pruned = backup.prune_backups(store, keep_days=config.keep_days or object_store.backup_keep_days)
    return dg.Output(
        manifest.backup_id,
        metadata={
            "backup_id": manifest.backup_id,
            "schema_version": manifest.schema_version,
            "tables": len(manifest.tables),
            "rows": manifest.total_rows,
            "files": len(manifest.files),
            "bytes": sum(f["bytes"] for f in manifest.files.values()),
            "partitions_listed": manifest.warehouse.get("partitions", 0),
            "marts_file": bool(manifest.warehouse.get("marts_file")),
            "pruned_backups": len(pruned),
            "manifest": dg.MetadataValue.path(store.uri(f"{backup.backup_prefix(manifest.backup_id)}/manifest.json")),
        },
    )


@dg.job(tags={"ccr/kind": "backup"})
def backup_job():
    """The control store (lineage, access log, incidents, DSR and purge logs, audit trail) and the warehouse's
    partition listing, backed up with checksums into the control zone."""
    backup_control_store()
