"""Data-subject identifiers: normalised, then compared only as keyed hashes (P16, P18).

A phone number, e-mail or customer reference is never stored or compared in
clear outside the tenant's erasable data: the control store keeps
HMAC-SHA256(key, tenant || type || normalised value). The key is a secret, so
a leaked table cannot be reversed by hashing every phone number.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from typing import Literal

IdentifierType = Literal["phone", "email", "customer_ref"]
IDENTIFIER_TYPES: tuple[str, ...] = ("phone", "email", "customer_ref")


def normalise_phone(value: str) -> str:
    """E.164-like digits: French national numbers (0X…) become +33X…; separators dropped."""
    v = re.sub(r"[\s.\-()/]", "", value.strip())
    if v.startswith("00"):
        v = "+" + v[2:]
    if re.fullmatch(r"0[1-9]\d{8}", v):
        v = "+33" + v[1:]
    if not re.fullmatch(r"\+?\d{6,15}", v):
        raise ValueError("not a phone number")
    return v if v.startswith("+") else "+" + v


def normalise_email(value: str) -> str:
    v = unicodedata.normalize("NFKC", value.strip()).lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
        raise ValueError("not an e-mail address")
    return v


def normalise_customer_ref(value: str) -> str:
    v = unicodedata.normalize("NFKC", value.strip())
    if not v or len(v) > 128:
        raise ValueError("customer reference must be 1-128 characters")
    return v


_NORMALISERS = {"phone": normalise_phone, "email": normalise_email, "customer_ref": normalise_customer_ref}


def normalise(identifier_type: str, value: str) -> str:
    try:
        return _NORMALISERS[identifier_type](value)
    except KeyError:
        raise ValueError(f"unknown identifier type {identifier_type!r}") from None


def subject_hash(key: str, tenant_id: str, identifier_type: str, value: str) -> str:
    """Keyed hash of a normalised identifier, scoped to one tenant (P4)."""
    if not key:
        raise ValueError("subject hash key is empty")
    msg = f"{tenant_id}\x1f{identifier_type}\x1f{normalise(identifier_type, value)}".encode()
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def subject_hashes(key: str, tenant_id: str, identifiers: dict[str, str | None]) -> dict[str, str]:
    """Hash every present identifier; invalid values are skipped (the sidecar schema catches them)."""
    out = {}
    for t in IDENTIFIER_TYPES:
        v = identifiers.get(t)
        if v:
            try:
                out[t] = subject_hash(key, tenant_id, t, v)
            except ValueError:
                continue
    return out
