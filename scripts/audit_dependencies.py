"""Dependency audit (P8): pip-audit over the installed, pinned environment, judged against
``security/pip-audit-accepted.toml`` by ``ccr_tools.dependency_audit.verdict``.

Exit 1 on an advisory that is not accepted (or whose acceptance is overdue for review).
When the vulnerability service cannot audit the packages (this project's CI machines reach
PyPI's project pages but get 404 on the per-version JSON pip-audit needs, and cannot reach
OSV), it says so loudly: ``NOT AUDITED``, and exits 1 only with ``CCR_REQUIRE_AUDIT=1``
(set it where CI can reach a vulnerability service) — the run is never reported as clean.
Run by ``.ci/run``; by hand: ``.venv/bin/python scripts/audit_dependencies.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ccr_tools.dependency_audit import load_accepted, verdict  # noqa: E402


def main() -> int:
    exe = Path(sys.executable).with_name("pip-audit")
    if not exe.exists():
        print("audit: pip-audit is not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 1
    proc = subprocess.run(
        [
            str(exe),
            "--local",
            "--skip-editable",
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--vulnerability-service",
            os.environ.get("CCR_AUDIT_SERVICE", "pypi"),
        ],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if not proc.stdout.strip().startswith("{"):
        print(
            f"audit: pip-audit produced no report (exit {proc.returncode}): {proc.stderr.strip()[-300:]}",
            file=sys.stderr,
        )
        return 1
    v = verdict(
        json.loads(proc.stdout), load_accepted(REPO / "security" / "pip-audit-accepted.toml"), today=date.today()
    )
    print(
        f"audit: {v.audited} package(s) audited, {len(v.unaudited)} not auditable; "
        f"advisories: {', '.join(v.advisories) or 'none'}"
    )
    if not v.ok:
        print(f"audit: FAILED — unaccepted: {v.unaccepted}; acceptances overdue: {v.overdue}", file=sys.stderr)
        return 1
    if v.unaudited:
        print(
            f"audit: NOT AUDITED — the vulnerability service could not audit {len(v.unaudited)} of "
            f"{len(v.unaudited) + v.audited} package(s) (e.g. {v.unaudited[0]}); "
            "this is not a clean result",
            file=sys.stderr,
        )
        return 1 if os.environ.get("CCR_REQUIRE_AUDIT") == "1" else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
