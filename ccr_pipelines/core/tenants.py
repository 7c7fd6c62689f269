"""The tenant registry: one YAML file per environment, validated on load (P4, P12, P19).

Every tenant id that appears in a key, partition, row or report is checked
against this registry. Load errors are one line naming the file, the tenant
and the field.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .config_yaml import UnsafeYamlError, load_config_yaml
from .errors import SettingsError, TenantError
from .keys import RESERVED_TENANT_IDS, TENANT_ID_RE

DataClass = Literal[
    "audio",
    "raw_transcript",
    "redacted_transcript",
    "scores",
    "marts",
    "reports",
    "access_log",
    "incidents",
]

# Defaults in days, with the reason for each (P19). Audio 6 months and
# analyses 12 months follow the French regulator's guidance for call
# recordings; raw transcripts hold personal data in clear, so they go first.
DEFAULT_RETENTION_DAYS: dict[str, int] = {
    "audio": 183,  # CNIL: recordings for quality/training kept 6 months max
    "raw_transcript": 30,  # clear-text personal data; only needed to redact (P21)
    "redacted_transcript": 365,  # CNIL: analysis documents kept up to 1 year
    "scores": 365,  # same as analyses
    "marts": 365,  # aggregates of analyses
    "reports": 365,  # delivered to the tenant; tenant keeps its own copy
    "access_log": 365,  # connection logs: 6-12 months recommended, keep the upper bound
    "incidents": 1825,  # incident evidence (001 §10): 5 years for audits
}
# Bounds a tenant override must stay within (days).
RETENTION_BOUNDS: dict[str, tuple[int, int]] = {
    "audio": (1, 366),
    "raw_transcript": (1, 90),
    "redacted_transcript": (1, 730),
    "scores": (1, 730),
    "marts": (1, 730),
    "reports": (1, 730),
    "access_log": (180, 730),
    "incidents": (365, 3650),
}

Language = Literal["fr", "en"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReportSchedule(_Strict):
    weekly: bool = True
    monthly: bool = True
    # Monday 06:00 local time by default
    weekday: Annotated[int, Field(ge=0, le=6)] = 0
    hour: Annotated[int, Field(ge=0, le=23)] = 6


class AlertRouting(_Strict):
    # Name of the env var holding the PagerDuty routing key: secrets never sit in YAML.
    pager_routing_key_env: str | None = None
    ticket_queue: str = "data-platform"
    notify_contact: str | None = Field(default=None, description="tenant's security contact role (not a person's name)")


VOCABULARY_MAX_TERMS = 100
VOCABULARY_MAX_CHARS = 600  # Whisper's prompt slot holds ~220 tokens; the hotwords take part of it
_VOCABULARY_TERM = re.compile(r"^[^\W_][\w .&'+-]{0,39}\Z")


def validate_vocabulary(terms: list[str]) -> list[str]:
    """Product names and brands: 1-40 characters each (letters, digits, space . & ' + -), no
    duplicate (case-insensitive), at most 100 terms and 600 characters in all."""
    seen: set[str] = set()
    for i, term in enumerate(terms):
        if not isinstance(term, str) or not _VOCABULARY_TERM.match(term) or term != term.strip():
            raise ValueError(
                f"vocabulary[{i}]: 1-40 characters, letters, digits, space . & ' + - (starting with a letter or digit)"
            )
        if term.casefold() in seen:
            raise ValueError(f"vocabulary[{i}]: listed twice")
        seen.add(term.casefold())
    if len(terms) > VOCABULARY_MAX_TERMS:
        raise ValueError(f"vocabulary: at most {VOCABULARY_MAX_TERMS} terms (got {len(terms)})")
    if len(", ".join(terms)) > VOCABULARY_MAX_CHARS:
        raise ValueError(f"vocabulary: at most {VOCABULARY_MAX_CHARS} characters in all")
    return terms


def hotwords_text(terms: list[str]) -> str | None:
    """The hotwords string the decoder takes: the terms, comma-separated (None when there are none)."""
    return ", ".join(terms) or None


class Tenant(_Strict):
    id: str
    display_name: Annotated[str, Field(min_length=1, max_length=120)]
    languages: Annotated[list[Language], Field(min_length=1)]
    timezone: str = "Europe/Paris"
    retention_days: dict[DataClass, int] = Field(default_factory=dict)
    scorecard: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,80}$")]
    # categories and call drivers (config/categories/{id}.yaml); none: the packaged default of the
    # tenant's first language (default-fr.v1 / default-en.v1)
    categories: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,80}$")] | None = None
    report_schedule: ReportSchedule = ReportSchedule()
    alert_routing: AlertRouting = AlertRouting()
    suspended: bool = False
    storage_region: str = "eu-west-3"
    region_override_reason: str | None = None  # P2: hosting outside the EU must be justified
    # Stereo recordings: which role speaks on which channel (left, right).
    channel_roles: tuple[Literal["agent", "customer"], Literal["agent", "customer"]] = (
        "agent",
        "customer",
    )
    uses_virtual_agents: bool = False
    terminated_on: date | None = None
    # Issue 19: custom vocabulary (product names, brands) given to the ASR decoder as hotwords, so that
    # "Veltrana" is not heard as "melt round". Words only: never names of people or other personal data.
    vocabulary: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not TENANT_ID_RE.match(v):
            raise ValueError("must be a slug of 3-40 chars: lowercase letters, digits and '-', starting with a letter")
        if v in RESERVED_TENANT_IDS:
            raise ValueError(f"'{v}' is a reserved name (used by the platform itself)")
        return v

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone '{v}'") from None
        return v

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, v: dict[str, int]) -> dict[str, int]:
        for data_class, days in v.items():
            lo, hi = RETENTION_BOUNDS[data_class]
            if not lo <= days <= hi:
                raise ValueError(f"{data_class}={days} days is outside the allowed {lo}..{hi}")
        return v

    @field_validator("vocabulary")
    @classmethod
    def _vocabulary(cls, v: list[str]) -> list[str]:
        return validate_vocabulary(v)

    @property
    def hotwords(self) -> str | None:
        """The decoder's hotwords text for this tenant (None: no custom vocabulary)."""
        return hotwords_text(self.vocabulary)

    @model_validator(mode="after")
    def _roles(self) -> Tenant:
        if len(set(self.channel_roles)) != 2:
            raise ValueError("channel_roles must name 'agent' and 'customer' once each")
        return self

    def retention(self, data_class: str) -> int:
        """Retention in days for *data_class*: the tenant's override or the default (P19)."""
        return self.retention_days.get(data_class, DEFAULT_RETENTION_DAYS[data_class])  # type: ignore[arg-type]

    @property
    def active(self) -> bool:
        return not self.suspended and self.terminated_on is None


class _RegistryFile(_Strict):
    version: Literal[1]
    tenants: list[Tenant]


def _format_error(path: Path, raw: dict, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = list(first["loc"])
    where = ""
    if loc[:1] == ["tenants"] and len(loc) >= 2 and isinstance(loc[1], int):
        idx = loc[1]
        tenants = raw.get("tenants") or []
        tid = tenants[idx].get("id") if idx < len(tenants) and isinstance(tenants[idx], dict) else None
        # An invalid id is user input: escaped and cut short, so the message stays one short line.
        shown = ascii(str(tid)[:40]) + ("…" if len(str(tid)) > 40 else "")
        where = f"tenant {shown}" if tid is not None else f"tenant #{idx}"
        loc = loc[2:]
    field = ".".join(str(p) for p in loc) or "(root)"
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        msg = "unknown field"
    parts = [str(path)] + ([where] if where else []) + [f"field '{field}'", msg]
    return ": ".join(parts)


class TenantRegistry:
    """Validated, read-only view of the tenants of one environment."""

    def __init__(self, tenants: list[Tenant], *, source: str = "<memory>", digest: str = ""):
        ids = [t.id for t in tenants]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise SettingsError(f"{source}: tenant '{dupes[0]}': field 'id': duplicate tenant id")
        self._tenants = {t.id: t for t in tenants}
        self.source = source
        self.digest = digest

    @classmethod
    def parse(cls, text: str, *, source: str | Path = "<memory>") -> TenantRegistry:
        """The registry in *text* (a tenants file's content), validated; *source* names it in errors.
        Reading the file is ``loaders/config_files.load_tenant_registry``'s job."""
        path = source
        try:
            raw = load_config_yaml(text)
        except UnsafeYamlError as exc:
            raise SettingsError(f"{path}: {exc}") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark else ""
            raise SettingsError(f"{path}: not valid YAML{line}") from None
        if not isinstance(raw, dict):
            raise SettingsError(f"{path}: field '(root)': expected a mapping with 'version' and 'tenants'")
        try:
            parsed = _RegistryFile.model_validate(raw)
        except ValidationError as err:
            raise SettingsError(_format_error(path, raw, err)) from None
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return cls(parsed.tenants, source=str(path), digest=digest)

    def __iter__(self):
        return iter(self._tenants.values())

    def __len__(self) -> int:
        return len(self._tenants)

    def ids(self) -> list[str]:
        return sorted(self._tenants)

    def active_ids(self) -> list[str]:
        return sorted(t.id for t in self._tenants.values() if t.active)

    def get(self, tenant_id: str) -> Tenant | None:
        return self._tenants.get(tenant_id)

    def require(self, tenant_id: str, *, active: bool = True) -> Tenant:
        """Return the tenant, or raise TenantError if unknown (or inactive when *active*)."""
        tenant = self._tenants.get(tenant_id)
        if tenant is None:
            raise TenantError(f"unknown tenant {ascii(str(tenant_id)[:40])}")
        if active and tenant.suspended:
            raise TenantError(f"tenant '{tenant_id}' is suspended (P12)")
        if active and tenant.terminated_on is not None:
            raise TenantError(f"tenant '{tenant_id}' is terminated")
        return tenant

    def with_suspensions(self, switched: dict[str, bool]) -> TenantRegistry:
        """The registry with the containment switch applied (P12): *switched* maps tenant id -> suspended."""
        tenants = [t.model_copy(update={"suspended": switched[t.id]}) if t.id in switched else t for t in self]
        return TenantRegistry(tenants, source=self.source, digest=self.digest)

    def as_dicts(self) -> list[dict]:
        return [t.model_dump(mode="json") for t in self._tenants.values()]


def diff_registries(old: list[dict], new: list[dict]) -> dict:
    """What changed between two registry snapshots: tenant ids and field names only (P20)."""
    before = {t["id"]: t for t in old}
    after = {t["id"]: t for t in new}
    changed = {}
    for tid in sorted(before.keys() & after.keys()):
        fields = sorted(k for k in before[tid].keys() | after[tid].keys() if before[tid].get(k) != after[tid].get(k))
        if fields:
            changed[tid] = {f: {"from": before[tid].get(f), "to": after[tid].get(f)} for f in fields}
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": changed,
    }
