"""Queries of the incident register (``incidents``, P11, P13) that services need."""

from __future__ import annotations

import sqlalchemy as sa

from .control_store import ControlStore, incidents


def list_incidents(control: ControlStore, *, limit: int, include_resolved: bool = False) -> list[dict]:
    """The newest incidents first, at most *limit*; open ones only unless *include_resolved*."""
    q = sa.select(incidents).order_by(incidents.c.id.desc()).limit(limit)
    if not include_resolved:
        q = q.where(incidents.c.status != "resolved")
    return control.fetch(q)
