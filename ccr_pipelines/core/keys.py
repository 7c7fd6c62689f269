"""Object-key rules shared by every object-store implementation (P4).

Keys are relative, '/'-separated, made of a conservative character set, and
every tenant-owned key starts with ``{zone}/{tenant_id}/``. Keys never carry
personal data; callers build them from validated ids only.
"""

from __future__ import annotations

import re

from .errors import InvalidKeyError

MAX_KEY_LENGTH = 1024  # S3's own limit
# \Z, not $: '$' also matches before a trailing newline, which would let "acme-energie\n" through.
_SEGMENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*\Z")
TENANT_ID_RE = re.compile(r"^[a-z][a-z0-9-]{1,38}[a-z0-9]\Z")
# Names the platform uses internally where a tenant id would go: the quarantine area of objects
# that name no valid tenant, the "tenant" of platform-wide signals and rows. No tenant may take one (P4).
RESERVED_TENANT_IDS = frozenset(
    {
        "unrouted",
        "platform",
        "control",
        "lineage",
        "tenant",
        "tenants",
        "admin",
        "system",
        "default",
        "all",
        "none",
        "null",
        "unknown",
    }
)

# Top-level zones of the object store. Each has its own retention class and,
# in production, its own IAM permissions (see infra/terraform).
ZONES = (
    "raw",  # inbox: audio and sidecars as received, until ingestion moves them
    "audio",  # accepted recordings and their sidecars (audio retention class)
    "quarantine",  # rejected inputs, kept with a reason record
    "playback",  # recordings with personal data silenced: what reviewers hear (P21; audio retention class)
    "restricted",  # raw transcripts: personal data, short retention (P21)
    "datasets",  # Parquet system-of-record tables, partitioned by tenant
    "reports",  # tenant deliverables
    "exports",  # data-subject and tenant exports
    "control",  # platform snapshots (tenant registry versions, backups)
    "lineage",  # OpenLineage event files
)


def _short(value: str) -> str:
    # Keys may carry personal data when they are *invalid*; never echo more
    # than a short, escaped prefix in an error message.
    return ascii(value[:40]) + ("…" if len(value) > 40 else "")


def validate_key(key: str) -> str:
    """Return *key* if it is a safe relative object key, else raise InvalidKeyError."""
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("object key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError(f"object key is longer than {MAX_KEY_LENGTH} characters")
    if key.startswith("/") or "\\" in key:
        raise InvalidKeyError(f"object key {_short(key)} must be relative and use '/'")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise InvalidKeyError(f"object key {_short(key)} has an empty, '.' or '..' segment")
        if not _SEGMENT_RE.match(segment):
            raise InvalidKeyError(f"object key {_short(key)} has a disallowed character")
    return key


def validate_received_key(key: str) -> str:
    """Looser check for keys *found* in the store (the inbox may hold anything an
    uploader can name). Used only to read, quarantine and delete what was
    received, never to build a new key; the local store still refuses any path
    that resolves outside its root."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidKeyError("received object key is empty or too long")
    if "\x00" in key:
        raise InvalidKeyError("received object key has a NUL character")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a valid key optionally ending with '/'."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def validate_tenant_id(tenant_id: str) -> str:
    if not isinstance(tenant_id, str) or not TENANT_ID_RE.match(tenant_id):
        raise InvalidKeyError(
            f"tenant id {_short(str(tenant_id))} is not a slug "
            "(3-40 chars: lowercase letters, digits, '-', starting with a letter)"
        )
    return tenant_id


def tenant_key(zone: str, tenant_id: str, *parts: str) -> str:
    """Build ``zone/tenant_id/part/...`` and validate it."""
    if zone not in ZONES:
        raise InvalidKeyError(f"unknown zone {_short(zone)}")
    validate_tenant_id(tenant_id)
    return validate_key("/".join((zone, tenant_id, *parts)))


def tenant_of_key(key: str) -> str | None:
    """The tenant segment of a tenant-owned key, or None for platform keys."""
    segments = validate_key(key).split("/")
    if len(segments) >= 2 and segments[0] in ZONES and segments[0] != "control":
        return segments[1]
    return None


def assert_key_in_tenant(key: str, tenant_id: str) -> str:
    """P4: refuse a key outside ``{zone}/{tenant_id}/``."""
    owner = tenant_of_key(key)
    if owner != tenant_id:
        raise InvalidKeyError(f"object key {_short(key)} is outside tenant '{tenant_id}'")
    return key
