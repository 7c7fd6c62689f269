"""Driving the ``ccr`` CLI in tests: what the stores hold before and after a call (P3, P4)."""

from __future__ import annotations

import io
import os
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import sqlalchemy as sa

from ccr_pipelines.stores.control_store import metadata


class StoreSnapshot:
    """Row counts of every control-store table and the files under some folders, in one query."""

    def __init__(self, control_url: str, *folders: Path):
        self.engine = sa.create_engine(control_url)
        self.folders = [Path(f) for f in folders]
        self._query = None

    def _build(self):
        names = set(sa.inspect(self.engine).get_table_names())
        parts = [
            sa.select(sa.literal(t.name).label("t"), sa.func.count().label("n")).select_from(t)
            for t in metadata.sorted_tables
            if t.name in names
        ]
        return sa.union_all(*parts)

    def take(self) -> dict:
        if self._query is None:
            self._query = self._build()
        with self.engine.connect() as conn:
            counts = {t: n for t, n in conn.execute(self._query)}
        files = set()
        for folder in self.folders:
            if folder.exists():
                files |= {
                    str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("control.db")
                }  # SQLite's own journal files move on reads
        return {"rows": counts, "files": files}

    @staticmethod
    def delta(before: dict, after: dict) -> dict:
        out = {t: after["rows"].get(t, 0) - n for t, n in before["rows"].items() if after["rows"].get(t, 0) != n}
        out |= {t: n for t, n in after["rows"].items() if t not in before["rows"] and n}
        added, removed = after["files"] - before["files"], before["files"] - after["files"]
        if added or removed:
            out["files"] = {"added": sorted(added)[:5], "removed": sorted(removed)[:5]}
        return out

    def dispose(self) -> None:
        self.engine.dispose()


def run_cli(argv: list[str], *, principal: str | None) -> tuple[int, str, str, BaseException | None]:
    """Call ``ccr_pipelines.cli.main`` in this process as *principal*; (rc, stdout, stderr, escaped exception)."""
    from ccr_pipelines import cli

    saved = os.environ.get("CCR_PRINCIPAL")
    if principal is None:
        os.environ.pop("CCR_PRINCIPAL", None)
    else:
        os.environ["CCR_PRINCIPAL"] = principal
    out, err = io.StringIO(), io.StringIO()
    escaped = None
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = cli.main(list(argv))
    except BaseException as exc:
        rc, escaped = -1, exc
    finally:
        if saved is None:
            os.environ.pop("CCR_PRINCIPAL", None)
        else:
            os.environ["CCR_PRINCIPAL"] = saved
    return rc, out.getvalue(), err.getvalue(), escaped


def is_traceback(rc: int, err: str, escaped: BaseException | None) -> bool:
    """An exception out of main, the CLI's last-resort handler (exit 70), or a traceback printed."""
    return escaped is not None or rc == 70 or "Traceback" in err


def subprocess_cli(argv: list[str], *, principal: str | None, env: dict, cwd: Path, timeout: float = 120):
    import subprocess

    e = dict(env)
    e.pop("CCR_PRINCIPAL", None)
    if principal is not None:
        e["CCR_PRINCIPAL"] = principal
    p = subprocess.run(
        [sys.executable, "-m", "ccr_pipelines.cli", *argv], env=e, cwd=cwd, capture_output=True, timeout=timeout
    )
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
