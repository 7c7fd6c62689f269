"""Dependency audit verdict (P8: a release is gated on its dependencies' known advisories) — pure.

Reads the JSON report of ``pip-audit`` and the list of accepted advisories
(``security/pip-audit-accepted.toml``: id, package, reason, review_by). The
verdict fails on any advisory not accepted, on an acceptance past its review
date, and says which packages the vulnerability service could not audit at
all: an audit that audited nothing must not read as a clean one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path


@dataclass(frozen=True)
class Accepted:
    id: str
    package: str
    reason: str
    review_by: date


@dataclass
class Verdict:
    audited: int = 0
    unaudited: list[str] = field(default_factory=list)  # "name==version: why"
    advisories: list[str] = field(default_factory=list)  # every advisory found, "name==version id"
    unaccepted: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)  # accepted, but past review_by

    @property
    def ok(self) -> bool:
        return not self.unaccepted and not self.overdue


def load_accepted(path: str | Path) -> dict[str, Accepted]:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    out = {}
    for i, e in enumerate(data.get("accepted", [])):
        missing = [k for k in ("id", "package", "reason", "review_by") if not str(e.get(k, "")).strip()]
        if missing:
            raise ValueError(f"{path}: accepted entry {i + 1} lacks {', '.join(missing)}")
        if not isinstance(e["review_by"], date):
            raise ValueError(f"{path}: accepted entry {i + 1}: review_by is not a TOML date")
        out[e["id"]] = Accepted(e["id"], e["package"], e["reason"], e["review_by"])
    return out


def verdict(report: dict, accepted: dict[str, Accepted], *, today: date) -> Verdict:
    v = Verdict()
    for dep in report.get("dependencies", []):
        name = f"{dep.get('name')}=={dep['version']}" if "version" in dep else str(dep.get("name"))
        if "skip_reason" in dep:
            v.unaudited.append(f"{name}: {dep['skip_reason']}")
            continue
        v.audited += 1
        for vuln in dep.get("vulns", []):
            ids = {vuln["id"], *vuln.get("aliases", [])}
            v.advisories.append(f"{name} {vuln['id']}")
            hit = next((accepted[i] for i in sorted(ids) if i in accepted), None)
            if hit is None or hit.package.lower() != str(dep.get("name", "")).lower():
                v.unaccepted.append(f"{name} {vuln['id']} (fix: {', '.join(vuln.get('fix_versions', [])) or 'none'})")
            elif hit.review_by < today:
                v.overdue.append(f"{name} {hit.id}: acceptance was due for review on {hit.review_by}")
    return v
