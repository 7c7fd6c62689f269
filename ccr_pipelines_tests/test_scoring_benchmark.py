"""The scoring benchmark (benchmarks/scoring.py) at a reduced size, so the script cannot rot: every
stage runs on the real code paths in its own process and no call is lost between them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.mark.slow
def test_a_small_scoring_benchmark_runs_every_stage_with_nothing_lost(tmp_path):
    from scoring import TENANTS, run

    rows = {
        r["stage"] + ("" if r["stage"] != "baseline" else str(r["precheck"])): r
        for r in run(800, tmp_path / "bench", workers=2, baseline=40, baseline_full=8)
    }
    assert list(rows) == ["generate", "metrics+scoring", "marts", "baselineTrue", "baselineFalse", "total"]
    gen = rows["generate"]
    assert gen["calls"] == 800 and gen["partitions"] == len(TENANTS) and 14 * 800 <= gen["segments"] <= 26 * 800
    assert 0.05 < gen["distinct_text_share"] < 1
    score = rows["metrics+scoring"]
    assert score["metrics_rows"] == score["scored"] == 800
    marts = rows["marts"]
    assert marts["calls_in_marts"] == 800 and marts["step_rows"] > 800 * 2
    assert marts["calls_in_driver_mart"] == 800  # issue 19: every call has its card in the driver mart
    for flag in ("True", "False"):
        base = rows["baseline" + flag]
        assert base["sample_calls"] >= 8 and base["ms_per_call"] > 0 and base["extrapolated_s"] > 0
    total = rows["total"]
    assert (
        total["seconds"] > 0 and total["cpu_s"] > 0 and total["peak_mb"] > 0 and total["speedup_vs_pandas_difflib"] > 0
    )


@pytest.mark.slow
def test_the_benchmark_completes_when_started_with_sigint_ignored(tmp_path):
    """Issue 16: started with SIGINT ignored (nohup, CI runners), a process that ran Dagster in-process
    ignores SIGTERM as well, and its spawn pool workers inherit that: ``Pool.terminate()`` then waited
    forever. The pool's workers restore SIGTERM's default action and the pool is closed and joined,
    so the benchmark finishes. Runs Dagster in-process first, as the test suite does, then the pool."""
    import signal
    import subprocess
    import textwrap

    repo = Path(__file__).resolve().parents[1]
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(repo / "benchmarks")!r})
        import dagster as dg

        @dg.asset
        def one():
            return 1

        assert dg.materialize([one], instance=dg.DagsterInstance.ephemeral()).success  # installs the handlers
        from scoring import run
        rows = run(120, __import__('pathlib').Path({str(tmp_path / "bench")!r}), workers=2, baseline=4,
                   baseline_full=2)
        print("stages", len(rows))
    """)
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "stages 6" in proc.stdout
