"""Secret scan of the repository's files (P5, P8: secrets live in the environment, never in git) — pure.

High-signal rules only, so that a finding is worth stopping CI for: cloud keys,
private-key blocks, Sentry DSNs and PagerDuty routing keys written out,
passwords inside URLs, and high-entropy literals assigned to names that say
secret / token / password / key. What the tests plant on purpose is listed in
an allowlist file, each entry with its reason.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ccr_pipelines.core.secret_rules import RULES

# A literal that is plainly not a secret: an env reference, a template, a placeholder.
_PLACEHOLDER = re.compile(
    r"^(\$\{?[A-Za-z_][\w:-]*\}?|\{\{.*\}\}|<[^>]*>|\*+|x+|changeme|redacted|example\w*|"
    r"password|passwd|pass|secret|token|dummy|fake\w*|test\w*|none|null)$",
    re.IGNORECASE,
)

_DOTTED = re.compile(r"^[\w-]+(?:\.[\w-]+)+$")  # module paths, hostnames, file names
ENTROPY_MIN = 3.5  # bits per character: random keys are ~4-6, words and paths lower
MAX_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    excerpt: str  # the match with its middle masked: a report must not spread the secret

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.excerpt}"


@dataclass(frozen=True)
class Allow:
    path: str  # exact repository path
    rule: str
    contains: str  # a substring of the flagged line
    reason: str


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values()) if value else 0.0


def _mask(text: str) -> str:
    return text if len(text) <= 8 else f"{text[:4]}…{text[-2:]}"


def scan_text(path: str, text: str) -> list[Finding]:
    findings = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for rule, rx in RULES.items():
            for m in rx.finditer(line):
                value = m.groupdict().get("value") or m.group(0)
                if rule in ("password_in_url", "secret_assignment") and _PLACEHOLDER.match(value):
                    continue
                if rule == "secret_assignment" and (
                    entropy(value) < ENTROPY_MIN or "/" in value or _DOTTED.match(value)
                ):
                    continue  # words, paths and dotted names, not keys
                findings.append(Finding(path, lineno, rule, _mask(m.group(0))))
    return findings


def load_allowlist(path: str | Path) -> list[Allow]:
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    out = []
    for i, entry in enumerate(data.get("allow", [])):
        missing = [k for k in ("path", "rule", "contains", "reason") if not str(entry.get(k, "")).strip()]
        if missing:
            raise ValueError(f"{path}: allow entry {i + 1} lacks {', '.join(missing)}")
        out.append(Allow(entry["path"], entry["rule"], entry["contains"], entry["reason"]))
    return out


def _allowed(f: Finding, line_text: str, allows: Iterable[Allow]) -> bool:
    return any(a.path == f.path and a.rule == f.rule and a.contains in line_text for a in allows)


def scan_files(root: str | Path, paths: Iterable[str], allows: Iterable[Allow] = ()) -> list[Finding]:
    """Scan *paths* (relative to *root*); binary and oversized files are skipped."""
    allows = list(allows)
    out = []
    for rel in paths:
        p = Path(root) / rel
        if not p.is_file() or p.stat().st_size > MAX_BYTES:
            continue
        data = p.read_bytes()
        if b"\x00" in data[:8192]:
            continue
        text = data.decode("utf-8", errors="replace")
        lines = text.splitlines()
        out += [f for f in scan_text(rel, text) if not _allowed(f, lines[f.line - 1], allows)]
    return out
