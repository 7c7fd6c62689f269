"""Record-level lineage rows (``lineage``, P2, P9, P13): the queries services need beyond
``ControlStore.record_lineage``."""

from __future__ import annotations

import sqlalchemy as sa

from .control_store import ControlStore, lineage


def rows_of_run(control: ControlStore, run_id: str) -> list[dict]:
    """The rows one run wrote: asset, artefact and source URIs, deletion, call, tenant and kind."""
    return control.fetch(sa.select(
        lineage.c.asset_key, lineage.c.artefact_uri, lineage.c.source_uri, lineage.c.deleted_at,
        lineage.c.call_id, lineage.c.tenant_id, lineage.c.artefact_kind).where(lineage.c.run_id == run_id))
