"""benchmarks/lineage.py at a small size, on SQLite and PostgreSQL: the bulk load fits the migrated
schema and the three lookups give right answers (the latency figures live in benchmarks/RESULTS.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "lineage.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_lineage", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_lineage_benchmark_loads_and_its_lookups_answer_right_on_both_engines(control_store):
    bench = _bench()
    rows = bench.load(control_store, 3000, 7, 20)
    # one row per call stage (CALL_KINDS: seven since the playback copy, issue 18); per tenant 4 weekly + 1 monthly
    # report of 6 files each (2026-08-01..20), and 5 marts
    from ccr_pipelines.core.lineage import CALL_KINDS

    assert len(CALL_KINDS) == 7
    assert rows["lineage"] == 3000 * len(CALL_KINDS) + 7 * (5 * 6 + 5)
    assert rows["subject_calls"] == 3000 and rows["access_log"] > 0
    # measure() checks every answer (chain complete, subject's calls, report's calls of one tenant)
    out = bench.measure(control_store, 3000, 7, 20, samples=20)
    assert set(out) == {"call", "subject", "report"}
    assert all(v["samples"] == 20 and v["p95_ms"] >= v["p50_ms"] > 0 for v in out.values())
