"""Who may run which ``ccr`` command (P3: least-privilege access, enforced rather than declared).

Pure rules, no I/O: the roles, the commands each role may run (seeded into the control store by
migration 13, where they are kept), the caller's identity from the environment the deployment
authenticates, and the actor a Dagster run records (the user who launched it, or its schedule
or sensor) instead of a fixed string.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
from collections.abc import Mapping, Sequence

from .errors import CcrError

# Roles. ``admin`` may run every command, including granting and revoking roles.
ROLES = ("admin", "operator", "dpo", "analyst", "auditor")

# Every command the CLI knows, as ``group.action`` (the keys ``command_key`` returns).
COMMANDS = (
    "demo",
    "settings",
    "db.migrate",
    "db.current",
    "db.history",
    "db.downgrade",
    "tenants.list",
    "tenants.validate",
    "tenants.suspend",
    "tenants.resume",
    "ingest.status",
    "suppress",
    "dsr.export",
    "dsr.erase",
    "dsr.restrict",
    "dsr.suppress",
    "dsr.lift",
    "dsr.extend",
    "dsr.run",
    "dsr.receipt",
    "dsr.list",
    "review.decide",
    "purge",
    "purge.execute",
    "incidents.list",
    "incidents.ack",
    "incidents.resolve",
    "backup.create",
    "backup.list",
    "backup.verify",
    "backup.restore",
    "reports.link",
    "lineage.call",
    "lineage.subject",
    "lineage.report",
    "audit.pack",
    "access.list",
    "access.grant",
    "access.revoke",
    "access.allow",
    "access.deny",
    "access.whoami",
    "access.bootstrap",
    "search",
)

# Commands anyone may run: they read configuration files only (no tenant data, no control store),
# or say who the caller is, or create the first admin of a store that has none.
OPEN_COMMANDS = frozenset({"settings", "tenants.validate", "access.whoami", "access.bootstrap"})

_READ_ONLY_COMMON = ("tenants.list", "ingest.status", "incidents.list")

# The role -> commands table the first admin's bootstrap writes into the control store
# (``access_role_commands``). Changing it afterwards is a new schema revision (as 0014 did for
# ``db.current`` and ``db.history``): reviewed and versioned like the schema.
DEFAULT_ROLE_COMMANDS: dict[str, tuple[str, ...]] = {
    "admin": tuple(c for c in COMMANDS if c not in OPEN_COMMANDS),
    # runs the platform: ingestion, demo, backups, purge, containment, incidents
    "operator": _READ_ONLY_COMMON
    + (
        "demo",
        "db.migrate",
        "db.current",
        "db.history",
        "tenants.suspend",
        "tenants.resume",
        "incidents.ack",
        "incidents.resolve",
        "backup.create",
        "backup.list",
        "backup.verify",
        "purge",
        "purge.execute",
    ),
    # data-protection officer: data-subject requests, suppression, lookups, audit packs, breaches
    "dpo": _READ_ONLY_COMMON
    + (
        "suppress",
        "dsr.export",
        "dsr.erase",
        "dsr.restrict",
        "dsr.suppress",
        "dsr.lift",
        "dsr.extend",
        "dsr.run",
        "dsr.receipt",
        "dsr.list",
        "lineage.call",
        "lineage.subject",
        "lineage.report",
        "audit.pack",
        "incidents.ack",
        "incidents.resolve",
        "tenants.suspend",
        "access.list",
        "purge",
        "search",
    ),
    # quality analyst: review decisions on automated scores, report links, transcript search (redacted text)
    "analyst": ("tenants.list", "ingest.status", "review.decide", "reports.link", "search"),
    # auditor: reads evidence, changes nothing
    "auditor": _READ_ONLY_COMMON
    + (
        "lineage.call",
        "lineage.subject",
        "lineage.report",
        "audit.pack",
        "dsr.list",
        "dsr.receipt",
        "backup.list",
        "access.list",
        "purge",
        "db.current",
        "db.history",
    ),
}

PRINCIPAL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+:-]{0,119}\Z")
PRINCIPAL_ENV = "CCR_PRINCIPAL"


class IdentityError(CcrError, ValueError):
    """The caller's identity is missing or malformed (message safe to print)."""


def command_key(command: str, action: str | None = None, *, execute: bool = False) -> str:
    """``group.action`` for a parsed command; ``purge --execute`` is its own, stronger command."""
    if command == "purge":
        return "purge.execute" if execute else "purge"
    if command in ("demo", "settings", "suppress"):
        return command
    return f"{command}.{action}" if action else command


def caller_principal(environ: Mapping[str, str] | None = None, *, profile: str = "local") -> str:
    """The caller, from the environment the deployment authenticates.

    ``CCR_PRINCIPAL`` is set by the platform (the authenticating bastion, the job's service
    identity); without it, the local profile falls back to the OS user, any other profile refuses.
    """
    environ = os.environ if environ is None else environ
    value = environ.get(PRINCIPAL_ENV)
    if value is None or value == "":
        if profile != "local":
            raise IdentityError(
                f"no caller identity: {PRINCIPAL_ENV} is not set (the platform sets it in "
                f"'{profile}'; see docs/operations.md)"
            )
        try:
            value = getpass.getuser()
        except Exception:  # no passwd entry (some containers): the uid is still an identity
            value = f"uid-{os.getuid()}"
    if not PRINCIPAL_RE.match(value):
        raise IdentityError(
            f"{PRINCIPAL_ENV}: not a valid principal (1-120 of A-Z a-z 0-9 . _ @ + : -, got {len(value)} char(s))"
        )
    return value


def validate_principal(value: str, field: str = "principal") -> str:
    if not isinstance(value, str) or not PRINCIPAL_RE.match(value):
        raise IdentityError(f"{field}: not a valid principal (1-120 of A-Z a-z 0-9 . _ @ + : -)")
    return value


def allowed(roles: Sequence[str], role_commands: Mapping[str, Sequence[str]], command: str) -> bool:
    """True when one of *roles* may run *command* (open commands need no role)."""
    if command in OPEN_COMMANDS:
        return True
    return any(command in role_commands.get(r, ()) for r in roles)


def argv_digest(argv: Sequence[str]) -> str:
    """What the access log keeps of a refused command line: a digest and a length, never the input."""
    raw = "\x1f".join(argv).encode("utf-8", "surrogateescape")
    return f"sha256:{hashlib.sha256(raw).hexdigest()[:16]} len {len(raw)}"


def actor_from_run(tags: Mapping[str, str] | None, *, job_name: str, run_id: str) -> str:
    """The actor a Dagster run records (P3, P20): who or what launched it.

    The user who launched it from the UI (``dagster/user``, set by an authenticating deployment),
    a schedule or sensor by name, a backfill by id; else the run itself, marked as unattributed.
    """
    tags = tags or {}

    def clean(v: str) -> str:
        return re.sub(r"[^A-Za-z0-9._@+:-]", "_", str(v))[:120]

    if tags.get("dagster/user"):
        return f"user:{clean(tags['dagster/user'])}"
    if tags.get("ccr/principal"):
        return f"user:{clean(tags['ccr/principal'])}"
    if tags.get("dagster/schedule_name"):
        return f"schedule:{clean(tags['dagster/schedule_name'])}"
    if tags.get("dagster/sensor_name"):
        return f"sensor:{clean(tags['dagster/sensor_name'])}"
    if tags.get("dagster/backfill"):
        return f"backfill:{clean(tags['dagster/backfill'])}"
    return f"dagster-run:{clean(run_id)[:64]}"  # unattributed: the run id leads to its job and launcher
