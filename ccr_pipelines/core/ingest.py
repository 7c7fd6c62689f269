"""Ingestion rules (P1, P3, P4, P18): what a received object is, and what happens to it.

Object layout (the contract with tenants, also in the README and in
``schemas/call_sidecar.schema.json``)::

    raw/{tenant}/{yyyy}/{mm}/{dd}/{call_id}.{wav|flac|mp3|ogg|opus}
    raw/{tenant}/{yyyy}/{mm}/{dd}/{call_id}.json      (optional sidecar, uploaded first)

Every received audio-or-unknown object ends with exactly one outcome:
accepted, quarantined (with a reason), duplicate or suppressed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from importlib import resources

from .keys import TENANT_ID_RE, validate_key
from .redaction import name_in_identifier

AUDIO_EXTENSIONS = ("wav", "flac", "mp3", "ogg", "opus")
SIDECAR_EXTENSION = "json"
CALL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")  # \Z: "$" would accept a trailing newline
# Seven or more digits in a row (optionally separated) look like a phone number;
# an e-mail-ish '@' or an IBAN-like run is refused as well.
_PHONE_LIKE = re.compile(r"(?:\+|00)?\d(?:[\s._-]?\d){6,}")
# A calendar date inside an id (``call-20261125-0001``, ``c-2026-11-25-01``) is not a phone number.
_DATE_IN_ID = re.compile(r"(?<!\d)(?:19|20)\d{2}([-_.]?)(?:0[1-9]|1[0-2])\1(?:0[1-9]|[12]\d|3[01])(?!\d)")
UNROUTED = "unrouted"  # quarantine area for objects that name no valid tenant


class Outcome(str, Enum):
    ACCEPTED = "accepted"
    QUARANTINED = "quarantined"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"


class Reason(str, Enum):
    """Why an object was quarantined. Values are stable: they are stored and reported."""

    KEY_OUTSIDE_LAYOUT = "key_outside_layout"
    BAD_DATE = "bad_date"
    UNSUPPORTED_EXTENSION = "unsupported_extension"
    PERSONAL_DATA_IN_KEY = "personal_data_in_key"
    UNKNOWN_TENANT = "unknown_tenant"
    SUSPENDED_TENANT = "suspended_tenant"
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    NOT_AUDIO = "not_audio"
    UNREADABLE_AUDIO = "unreadable_audio"
    TRUNCATED_AUDIO = "truncated_audio"
    UNSUPPORTED_CODEC = "unsupported_codec"
    TOO_LONG = "too_long"
    TOO_SHORT = "too_short"
    SIDECAR_NOT_JSON = "sidecar_not_json"
    SIDECAR_SCHEMA = "sidecar_schema"
    ORPHAN_SIDECAR = "orphan_sidecar"


class Rejected(Exception):
    """Raised by a rule to quarantine the object. *detail* must hold no personal data."""

    def __init__(self, reason: Reason, detail: str = ""):
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail[:300]


@dataclass(frozen=True)
class RawKey:
    key: str
    tenant_id: str
    day: date
    call_id: str
    extension: str

    @property
    def is_sidecar(self) -> bool:
        return self.extension == SIDECAR_EXTENSION

    @property
    def stem(self) -> str:
        return self.key.rsplit(".", 1)[0]

    @property
    def sidecar_key(self) -> str:
        return f"{self.stem}.{SIDECAR_EXTENSION}"


def looks_like_personal_data(segment: str) -> bool:
    """A key segment that carries a phone number, an e-mail address or a person's name (P4: keys hold no
    PII). Dates are taken out before the digit check; names come from the redactor's gazetteer (common
    French and English names: a name it does not know passes, as the upload contract says)."""
    if "@" in segment:
        return True
    return bool(_PHONE_LIKE.search(_DATE_IN_ID.sub("/", segment))) or name_in_identifier(segment)


def parse_raw_key(key: str, *, min_day: date, max_day: date) -> RawKey:
    """Parse a received key or raise Rejected with the reason. Pure; no store access."""
    try:
        validate_key(key)
    except ValueError:
        # An invalid key may still carry personal data: check that first.
        if any(looks_like_personal_data(s) for s in key.split("/")[1:]):
            raise Rejected(Reason.PERSONAL_DATA_IN_KEY, "key segment looks like a phone number or e-mail") from None
        raise Rejected(Reason.KEY_OUTSIDE_LAYOUT, "key has disallowed characters or segments") from None
    parts = key.split("/")
    if len(parts) != 6 or parts[0] != "raw":
        raise Rejected(Reason.KEY_OUTSIDE_LAYOUT, f"expected 6 segments raw/tenant/yyyy/mm/dd/file, got {len(parts)}")
    _, tenant, yyyy, mm, dd, filename = parts
    if not TENANT_ID_RE.match(tenant) or tenant == UNROUTED:
        raise Rejected(Reason.KEY_OUTSIDE_LAYOUT, "tenant segment is not a valid tenant id")
    if "." not in filename:
        raise Rejected(Reason.UNSUPPORTED_EXTENSION, "file name has no extension")
    call_id, ext = filename.rsplit(".", 1)
    ext = ext.lower()
    if looks_like_personal_data(call_id):
        raise Rejected(Reason.PERSONAL_DATA_IN_KEY, "call id looks like a phone number, e-mail or name")
    if not CALL_ID_RE.match(call_id):
        raise Rejected(Reason.KEY_OUTSIDE_LAYOUT, "call id must match [A-Za-z0-9][A-Za-z0-9_-]{0,63}")
    if ext not in AUDIO_EXTENSIONS and ext != SIDECAR_EXTENSION:
        raise Rejected(
            Reason.UNSUPPORTED_EXTENSION, f"extension .{ext[:10]} is not one of {', '.join(AUDIO_EXTENSIONS)}"
        )
    if not (re.fullmatch(r"\d{4}", yyyy) and re.fullmatch(r"\d{2}", mm) and re.fullmatch(r"\d{2}", dd)):
        raise Rejected(Reason.BAD_DATE, "date segments must be yyyy/mm/dd")
    try:
        day = date(int(yyyy), int(mm), int(dd))
    except ValueError:
        raise Rejected(Reason.BAD_DATE, "not a calendar date") from None
    if not min_day <= day <= max_day:
        raise Rejected(Reason.BAD_DATE, f"date outside {min_day}..{max_day}")
    return RawKey(key=key, tenant_id=tenant, day=day, call_id=call_id, extension=ext)


def route_of_key(key: str) -> tuple[str, str | None]:
    """(tenant segment or UNROUTED, 'YYYY-MM-DD' or None) used to batch keys, without full validation."""
    parts = key.split("/")
    if len(parts) == 6 and parts[0] == "raw" and TENANT_ID_RE.match(parts[1]) and parts[1] != UNROUTED:
        try:
            d = date(int(parts[2]), int(parts[3]), int(parts[4]))
            return parts[1], d.isoformat()
        except ValueError:
            pass
    return UNROUTED, None


def sidecar_candidate(key: str) -> str:
    """The sidecar key that belongs to *key* (same folder and stem, ``.json``)."""
    name = key.rsplit("/", 1)[-1]
    return (key.rsplit(".", 1)[0] if "." in name else key) + "." + SIDECAR_EXTENSION


def is_safe_key(key: str) -> bool:
    """Valid and free of personal data: may appear in logs, metadata, cursors and the ledger."""
    try:
        validate_key(key)
    except ValueError:
        return False
    return not any(looks_like_personal_data(s) for s in key.split("/")[1:])


def safe_key(key: str, secret: str) -> str:
    """The key itself when it is valid and free of personal data; otherwise an opaque token.

    Safe keys go into the append-only ledger, Dagster metadata and the quarantine reason record;
    the original of an unsafe key is stored nowhere (the reason record keeps this token and a keyed
    digest, ``key_digest_of``, P4, P17).
    """
    if is_safe_key(key):
        return key
    token = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), key=secret.encode()[:64], digest_size=12).hexdigest()
    return f"redacted-key-{token}"


# ---------------------------------------------------------------------------
# Sidecar
def key_digest_of(key: str, secret: str) -> str:
    """HMAC-SHA256 of a received key (any key): matches a key someone names later, reveals nothing."""
    import hmac

    return hmac.new(secret.encode(), key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


_EMAIL_IN_KEY = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


def identifiers_in_key(key: str) -> dict[str, list[str]]:
    """Phone numbers and e-mail addresses a received key carries (P17: a quarantined upload whose
    key names a data subject is indexed by the subject's keyed hash, then erased with them)."""
    out: dict[str, list[str]] = {"phone": [], "email": []}
    known = AUDIO_EXTENSIONS + (SIDECAR_EXTENSION,)
    for seg in key.split("/")[1:]:
        stem, _, ext = seg.rpartition(".")
        stem = stem if stem and ext.lower() in known else seg
        out["email"] += [m.group(0) for m in _EMAIL_IN_KEY.finditer(stem)]
        out["phone"] += [m.group(0) for m in _PHONE_LIKE.finditer(stem)]
    return {k: v for k, v in out.items() if v}


def _load_schema() -> dict:
    return json.loads(resources.files("ccr_pipelines.schemas").joinpath("call_sidecar.schema.json").read_text())


_SIDECAR_SCHEMA: dict | None = None


def sidecar_schema() -> dict:
    global _SIDECAR_SCHEMA
    if _SIDECAR_SCHEMA is None:
        _SIDECAR_SCHEMA = _load_schema()
    return _SIDECAR_SCHEMA


MAX_SIDECAR_BYTES = 64 * 1024
MAX_SIDECAR_STRING = 254  # the schema's longest string (customer_email)


def parse_sidecar(data: bytes) -> dict:
    """Parse and validate a sidecar; raise Rejected. Error details name fields, never values."""
    import jsonschema

    if len(data) > MAX_SIDECAR_BYTES:
        raise Rejected(Reason.SIDECAR_SCHEMA, f"sidecar larger than {MAX_SIDECAR_BYTES} bytes")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise Rejected(Reason.SIDECAR_NOT_JSON, "sidecar is not UTF-8 JSON") from None
    if isinstance(doc, dict):
        # No value the schema allows is longer: refusing longer ones before any pattern runs keeps
        # regex matching cheap (the e-mail pattern backtracks quadratically on a long string).
        for name, value in doc.items():
            if isinstance(value, str) and len(value) > MAX_SIDECAR_STRING:
                raise Rejected(
                    Reason.SIDECAR_SCHEMA,
                    f"field {ascii(str(name)[:40])} is longer than {MAX_SIDECAR_STRING} characters",
                )
    validator = jsonschema.Draft202012Validator(sidecar_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        field = ".".join(str(p) for p in err.absolute_path) or "(root)"
        kind = err.validator  # e.g. 'pattern', 'enum', 'additionalProperties', 'type'
        if kind == "additionalProperties":
            extra = sorted(set(doc) - set(sidecar_schema()["properties"])) if isinstance(doc, dict) else []
            field = ",".join(e[:40] for e in extra[:3]) or field
            raise Rejected(Reason.SIDECAR_SCHEMA, f"unknown field(s): {ascii(field)}")
        raise Rejected(Reason.SIDECAR_SCHEMA, f"field {ascii(field)} fails '{kind}'")
    started = doc.get("started_at")
    if started is not None:
        try:
            datetime.fromisoformat(started.replace("Z", "+00:00"))
        except ValueError:
            raise Rejected(Reason.SIDECAR_SCHEMA, "field 'started_at' is not a valid timestamp") from None
    return doc


# ---------------------------------------------------------------------------
# Manifest rows
MANIFEST_COLUMNS = (
    "tenant_id",
    "call_id",
    "day",
    "source_key",
    "audio_key",
    "etag",
    "sha256",
    "size_bytes",
    "duration_s",
    "sample_rate",
    "channels",
    "codec",
    "container",
    "agent_id",
    "team",
    "direction",
    "campaign",
    "script_id",
    "started_at",
    "language",
    "customer_ref_hash",
    "subject_hashes",
    "has_sidecar",
    "recording_notice",
    "ingested_at",
    "run_id",
)


def manifest_row(
    *,
    raw: RawKey,
    audio_key: str,
    etag: str,
    sha256: str,
    size: int,
    probe: dict,
    sidecar: dict | None,
    hashes: dict[str, str],
    ingested_at: datetime,
    run_id: str,
) -> dict:
    """One manifest row. Personal identifiers appear only as keyed hashes."""
    sc = sidecar or {}
    return {
        "tenant_id": raw.tenant_id,
        "call_id": raw.call_id,
        "day": raw.day.isoformat(),
        "source_key": raw.key,
        "audio_key": audio_key,
        "etag": etag,
        "sha256": sha256,
        "size_bytes": size,
        "duration_s": float(probe["duration_s"]),
        "sample_rate": int(probe["sample_rate"]),
        "channels": int(probe["channels"]),
        "codec": probe["codec"],
        "container": probe["container"],
        "agent_id": sc.get("agent_id"),
        "team": sc.get("team"),
        "direction": sc.get("direction"),
        "campaign": sc.get("campaign"),
        "script_id": sc.get("script_id"),
        "started_at": sc.get("started_at"),
        "language": sc.get("language"),
        "customer_ref_hash": hashes.get("customer_ref"),
        "subject_hashes": sorted(hashes.values()),
        "has_sidecar": sidecar is not None,
        "recording_notice": sc.get("recording_notice"),
        "ingested_at": ingested_at,
        "run_id": run_id,
    }


def accounting(received: int, outcomes: dict[str, int]) -> tuple[bool, dict]:
    """received == accepted + quarantined + duplicates + suppressed (nothing lost, nothing doubled)."""
    counts = {o.value: int(outcomes.get(o.value, 0)) for o in Outcome}
    total = sum(counts.values())
    return total == received, {"received": received, **counts, "accounted": total}
