"""The scale simulation (benchmarks/scale.py) at a reduced size: every stage runs on the real code
paths in its own process, and no call is lost or doubled from the inbox listing to the reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.slow
def test_one_small_day_flows_through_every_stage_with_nothing_lost(tmp_path):
    from scale import simulate

    rows = {r["stage"]: r for r in simulate(tenants=6, calls=240, work=tmp_path / "sim")}
    assert list(rows) == ["ingest", "score", "marts", "reports"]
    assert rows["ingest"]["in"] == 480 and rows["ingest"]["out"] == 240  # recordings + sidecars -> calls
    assert rows["ingest"]["partitions"] == 6
    for stage in ("score", "marts", "reports"):
        assert rows[stage]["out"] == 240, (stage, rows[stage])
    assert rows["score"]["metrics_rows"] == 240 and rows["marts"]["tenants"] == 6 and rows["reports"]["reports"] == 6
    assert all(r["seconds"] > 0 and r["peak_rss_mb"] > 0 for r in rows.values())
