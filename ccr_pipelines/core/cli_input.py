"""Validation of every ``ccr`` argument before anything runs (P3, P4).

Each command's arguments are checked here, after parsing and before the command body, so a
refused call writes nothing: dates within a sane range, ids within their column lengths, integer
ids within range, tenants known to the registry, identifiers valid for their type, output paths
writable. Errors are one line and echo at most a short, escaped prefix of the input.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from .errors import CcrError
from .ingest import CALL_ID_RE
from .keys import TENANT_ID_RE

MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)
MAX_ID = 2**63 - 1  # BIGINT
MAX_INT = 2**31 - 1
MAX_PATH = 4096
MAX_URL = 2000
MAX_FREE_TEXT = 2000  # incident root cause and corrective action (Text columns)
_BAD_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
_WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})\Z")
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})\Z")
_INT_RE = re.compile(r"^\d{1,19}\Z")


class InputError(CcrError):
    """An argument failed validation (the message is one line, safe to print)."""


def short(value: object, n: int = 24) -> str:
    """A short, escaped prefix of *value* for an error message: no newlines, no ANSI escapes."""
    s = str(value)
    return ascii(s[:n]) + ("…" if len(s) > n else "")


def text(value: str | None, field: str, *, max_len: int, required: bool = False, min_len: int = 1) -> str | None:
    """One line of printable text, at most *max_len* characters."""
    if value is None:
        if required:
            raise InputError(f"{field} is required")
        return None
    if _BAD_CHARS.search(value):
        raise InputError(f"{field}: control or invisible characters are not accepted ({len(value)} char(s))")
    if len(value) > max_len:
        raise InputError(f"{field}: at most {max_len} characters (got {len(value)})")
    if len(value.strip()) < min_len:
        raise InputError(f"{field}: must not be empty")
    return value


def day(value: str | None, field: str, *, required: bool = False, max_day: date = MAX_DAY) -> date | None:
    """A day YYYY-MM-DD between 2000-01-01 and 2100-12-31 (no overflow in period arithmetic)."""
    if value is None:
        if required:
            raise InputError(f"{field} is required (YYYY-MM-DD)")
        return None
    try:
        if not _DAY_RE.match(value):
            raise ValueError
        d = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{field}: not a date (YYYY-MM-DD): {short(value)}") from None
    if not MIN_DAY <= d <= max_day:
        raise InputError(f"{field}: {d} is outside {MIN_DAY}..{max_day}")
    return d


def integer(value, field: str, *, lo: int = 1, hi: int = MAX_ID, required: bool = False) -> int | None:
    """A whole number in lo..hi (given as int by argparse, or as a string positional)."""
    if value is None:
        if required:
            raise InputError(f"{field} is required")
        return None
    if isinstance(value, str):
        if not _INT_RE.match(value):
            raise InputError(f"{field}: not a whole number: {short(value)}")
        value = int(value)
    if not lo <= value <= hi:
        raise InputError(f"{field}: must be between {lo} and {hi}")
    return value


def tenant(value: str | None, field: str, registry, *, required: bool = True) -> str | None:
    """A tenant id known to the registry (suspended and terminated tenants included)."""
    if value is None:
        if required:
            raise InputError(f"{field}: a tenant id is required")
        return None
    if not TENANT_ID_RE.match(value) or value not in {t.id for t in registry}:
        raise InputError(f"{field}: unknown tenant {short(value)}")
    return value


def call_id(value: str | None, field: str) -> str:
    if value is None or not CALL_ID_RE.match(value):
        raise InputError(f"{field}: not a call id (1-64 of A-Z a-z 0-9 _ -): {short(value or '')}")
    return value


def identifier(value: str | None, kind: str, field: str) -> str | None:
    """A data subject's identifier, valid for its type; the value is never echoed."""
    from .subjects import normalise

    if value is None:
        return None
    text(value, field, max_len=320)
    try:
        normalise(kind, value)
    except ValueError:
        raise InputError(f"{field}: not a valid {kind.replace('_', ' ')} ({len(value)} char(s); not shown)") from None
    return value


def period(value: str | None, field: str) -> str:
    """A report period: 2026-W47 (weekly) or 2026-11 (monthly), years 2000-2100."""
    value = value or ""
    m = _WEEK_RE.match(value) or _MONTH_RE.match(value)
    if m:
        y, n = int(m.group(1)), int(m.group(2))
        weekly = m.re is _WEEK_RE
        ok = MIN_DAY.year <= y <= MAX_DAY.year and 1 <= n <= (date(y, 12, 28).isocalendar()[1] if weekly else 12)
        if ok:
            return value
    raise InputError(f"{field}: not a report period (2026-W47 or 2026-11): {short(value)}")


def backup_id(value: str | None, field: str) -> str:
    from .backup import parse_backup_id

    try:
        parse_backup_id(value or "")
    except Exception:
        raise InputError(f"{field}: not a backup id (YYYYMMDDTHHMMSSZ): {short(value or '')}") from None
    return value


def writable_file(value: str | None, field: str) -> Path | None:
    """A path where a file can be written: its folder exists and is writable, and it is not a folder."""
    if value is None:
        return None
    text(value, field, max_len=MAX_PATH)
    p = Path(value)
    parent = p.parent if str(p.parent) else Path(".")
    if p.is_dir():
        raise InputError(f"{field}: is a folder, not a file: {short(value)}")
    if not parent.is_dir():
        raise InputError(f"{field}: the folder does not exist: {short(str(parent))}")
    if not os.access(parent, os.W_OK | os.X_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InputError(f"{field}: not writable: {short(value)}")
    return p


def readable_file(value: str | None, field: str) -> Path | None:
    if value is None:
        return None
    text(value, field, max_len=MAX_PATH)
    p = Path(value)
    if not p.is_file() or not os.access(p, os.R_OK):
        raise InputError(f"{field}: not a readable file: {short(value)}")
    return p


def store_url(value: str | None, field: str) -> str | None:
    """A control-store URL to restore into: sqlite:///<writable path> or postgresql://…"""
    if value is None:
        return None
    text(value, field, max_len=MAX_URL)
    from sqlalchemy.engine import make_url

    try:
        url = make_url(value)
    except Exception:
        raise InputError(f"{field}: not a database URL") from None
    if url.drivername.split("+")[0] == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InputError(f"{field}: a SQLite URL needs a file path (sqlite:////path/control.db)")
        writable_file(url.database, field)
    elif url.drivername not in ("postgresql", "postgresql+psycopg2"):
        raise InputError(f"{field}: only sqlite:/// and postgresql:// URLs are accepted")
    return value


def none_of(args, names: tuple[str, ...], why: str) -> None:
    given = [n for n in names if getattr(args, n, None) not in (None, False)]
    if given:
        raise InputError(f"--{given[0].replace('_', '-')}: not accepted {why}")


def validate(args, registry) -> str | None:
    """Check *args* of a parsed ``ccr`` command; return the tenant it concerns (for the access log)."""
    cmd = args.command
    fn = _VALIDATORS.get(cmd)
    return fn(args, registry) if fn else None


def _tenants(a, reg):
    if a.action in ("list", "validate"):
        if a.tenant is not None:
            raise InputError(f"tenants {a.action} takes no tenant id")
        none_of(a, ("reason", "incident"), f"with tenants {a.action}")
        readable_file(a.file, "--file")
        return None
    if a.file is not None:
        raise InputError("--file: only with tenants list or validate")
    t = tenant(a.tenant, "tenant", reg)
    text(a.reason, "--reason", max_len=300, required=True)
    integer(a.incident, "--incident")
    return t


_REVISION_RE = re.compile(r"^\d{1,4}\Z")


def _db(a, reg):
    if a.action != "downgrade":
        if a.revision is not None:
            raise InputError(f"db {a.action} takes no revision")
        return None
    if a.revision is None:
        raise InputError("db downgrade needs a revision (e.g. 0013; see `ccr db history`)")
    text(a.revision, "revision", max_len=20)
    if not _REVISION_RE.match(a.revision):
        raise InputError(f"revision: a revision number such as 0013 (see `ccr db history`), got {short(a.revision)}")
    return None


def _ingest(a, reg):
    return tenant(a.tenant, "--tenant", reg, required=False)


def _suppress(a, reg):
    t = tenant(a.tenant, "tenant", reg)
    identifier(a.value, a.type, "--value")
    text(a.reason, "--reason", max_len=100)
    return t


_NEW_DSR = ("export", "erase", "restrict", "suppress")


def _dsr(a, reg):
    for kind, field in (("phone", "--phone"), ("email", "--email"), ("customer_ref", "--customer-ref")):
        identifier(getattr(a, kind), kind, field)
    text(a.reason, "--reason", max_len=300)
    day(a.received, "--received", max_day=min(MAX_DAY, datetime.now(UTC).date() + timedelta(days=1)))
    if a.action in _NEW_DSR:
        t = tenant(a.target, "tenant", reg)
        none_of(a, ("tenant",), f"with dsr {a.action} (the tenant is the first argument)")
        if not (a.phone or a.email or a.customer_ref):
            raise InputError(f"dsr {a.action} needs at least one identifier (--phone, --email or --customer-ref)")
        return t
    none_of(a, ("phone", "email", "customer_ref", "received", "register_only"), f"with dsr {a.action}")
    if a.action == "list":
        if a.target is not None:
            raise InputError("dsr list takes no request id (filter with --tenant)")
        return tenant(a.tenant, "--tenant", reg, required=False)
    none_of(a, ("tenant",), f"with dsr {a.action}")
    integer(a.target, f"dsr {a.action}: request id", required=True)
    if a.action == "extend":
        text(a.reason, "--reason", max_len=300, required=True)
    elif a.reason is not None:
        raise InputError("--reason: only with dsr extend")
    return None


def _review(a, reg):
    t = tenant(a.tenant, "tenant", reg)
    call_id(a.call_id, "call id")
    return t


def _purge(a, reg):
    day(a.today, "--today")
    return None


def _incidents(a, reg):
    integer(a.id, "incident id")
    integer(a.limit, "--limit", hi=10_000)
    text(a.root_cause, "--root-cause", max_len=MAX_FREE_TEXT)
    text(a.corrective_action, "--corrective-action", max_len=MAX_FREE_TEXT)
    if a.action == "list":
        if a.id is not None:
            raise InputError("incidents list takes no incident id")
        none_of(a, ("root_cause", "corrective_action", "tenant"), "with incidents list")
    elif a.id is None:
        raise InputError(f"incidents {a.action} needs an incident id")
    # P14: notes recorded for one affected tenant (suspended and terminated tenants included)
    return tenant(getattr(a, "tenant", None), "--tenant", reg, required=False)


def _backup(a, reg):
    if a.action in ("create", "list"):
        if a.backup_id is not None:
            raise InputError(f"backup {a.action} takes no backup id")
        none_of(a, ("into", "marts_into"), f"with backup {a.action}")
        return None
    backup_id(a.backup_id, "backup id")
    if a.action == "verify":
        none_of(a, ("into", "marts_into"), "with backup verify")
        return None
    if a.into is None:
        raise InputError("backup restore needs --into URL (an empty control store)")
    store_url(a.into, "--into")
    writable_file(a.marts_into, "--marts-into")
    return None


def _reports(a, reg):
    t = tenant(a.tenant, "tenant", reg)
    day(a.day, "--day", required=True)
    integer(a.expires, "--expires", hi=7 * 24 * 3600)
    return t


def _lineage(a, reg):
    t = tenant(a.tenant, "tenant", reg)
    if a.what == "call":
        call_id(a.target, "call id")
    elif a.what == "subject":
        text(a.target, "identifier", max_len=320)
        if a.type:
            identifier(a.target, a.type, "identifier")
        else:
            from .subjects import IDENTIFIER_TYPES, normalise

            for kind in IDENTIFIER_TYPES:
                try:
                    normalise(kind, a.target)
                    break
                except ValueError:
                    continue
            else:
                raise InputError("identifier: not a valid phone number, e-mail or customer reference (not shown)")
    else:
        period(a.target, "period")
    if a.type and a.what != "subject":
        raise InputError("--type: only with lineage subject")
    return t


def _audit(a, reg):
    t = tenant(a.tenant, "--tenant", reg)
    d1 = day(a.date_from, "--from", required=True)
    d2 = day(a.date_to, "--to", required=True)
    if d2 < d1:
        raise InputError("--to is before --from")
    if (d2 - d1).days > 3660:
        raise InputError("--from..--to: at most 10 years")
    writable_file(a.out, "--out")
    return t


_CATEGORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}\Z")


def _search(a, reg):
    from .search import SearchQueryError, query_terms

    t = tenant(a.tenant, "tenant", reg)
    text(a.query, "query", max_len=300, required=True)
    try:
        query_terms(a.query)
    except SearchQueryError as exc:
        raise InputError(str(exc)) from None
    d1 = day(a.date_from, "--from")
    d2 = day(a.date_to, "--to")
    if d1 and d2 and d2 < d1:
        raise InputError("--to is before --from")
    if a.category is not None and not _CATEGORY_RE.match(a.category):
        raise InputError(f"--category: a category id (1-80 of A-Z a-z 0-9 _ . -): {short(a.category)}")
    integer(a.limit, "--limit", hi=200)
    return t


def _access(a, reg):
    from .access import COMMANDS, ROLES, IdentityError, validate_principal

    text(a.reason, "--reason", max_len=200)
    if a.action in ("grant", "revoke"):
        try:
            validate_principal(a.principal or "", "principal")
        except IdentityError as exc:
            raise InputError(str(exc)) from None
        if a.role not in ROLES:
            raise InputError(f"role: one of {', '.join(ROLES)} (got {short(a.role or '')})")
        text(a.reason, "--reason", max_len=200, required=True)
    elif a.action in ("allow", "deny"):
        if a.principal not in ROLES or a.principal == "admin":
            raise InputError(
                f"role: one of {', '.join(r for r in ROLES if r != 'admin')} (got {short(a.principal or '')})"
            )
        if a.role not in COMMANDS:
            raise InputError(f"command: not a ccr command (see `ccr access list`): {short(a.role or '')}")
        text(a.reason, "--reason", max_len=200, required=True)
    elif a.principal is not None or a.role is not None:
        raise InputError(f"access {a.action} takes no further argument")
    return None


_VALIDATORS = {
    "tenants": _tenants,
    "db": _db,
    "ingest": _ingest,
    "suppress": _suppress,
    "dsr": _dsr,
    "review": _review,
    "purge": _purge,
    "incidents": _incidents,
    "backup": _backup,
    "reports": _reports,
    "lineage": _lineage,
    "audit": _audit,
    "access": _access,
    "search": _search,
}
