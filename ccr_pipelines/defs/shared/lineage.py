"""The lineage context of a materialization, built once from the Dagster context (P2, P9, P13)."""

import dagster as dg

from ... import __version__
from ...core.lineage import LineageContext


def lineage_context(context: dg.AssetExecutionContext, *, region: str, engine: str) -> LineageContext:
    """Run id, asset key, partition and code version (package + the asset's own code version)."""
    key = context.asset_key
    asset_cv = context.assets_def.code_versions_by_key.get(key)
    return LineageContext(
        run_id=context.run.run_id,
        asset_key=key.to_user_string(),
        partition_key=context.partition_key if context.has_partition_key else None,
        code_version=f"{__version__}+{asset_cv}" if asset_cv else __version__,
        region=region,
        engine=engine,
    )
