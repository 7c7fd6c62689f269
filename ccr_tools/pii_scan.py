"""Scan of logs and Dagster event data for personal data (P7, P21; DESIGN: nothing personal in logs,
metadata, tags, partition keys or error messages) — pure.

Two kinds of needle: the exact values a data set is known to hold (its phone
numbers in every written form, e-mail addresses, transcript sentences), and
generic patterns for written phone numbers and e-mail addresses. Text is
compared case-folded with whitespace collapsed, so a sentence split across
lines or re-spaced by a logger is still found. Findings carry the label of the
needle and where it was found, never the matched text itself.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
# French numbers written with or without separators, and international ones with a '+'.
PHONE_FR = re.compile(r"(?<![\w.+-])(?:\+33[ .-]?|0033[ .-]?|0)[1-9](?:[ .-]?\d{2}){4}(?![\w-])")
PHONE_INTL = re.compile(r"(?<![\w.])\+(?:[1-9]\d{0,2})(?:[ .-]?\d){8,12}(?![\w-])")
MIN_SENTENCE_WORDS = 4  # shorter utterances ("Hello.", "Au revoir.") are scorecard phrases, not fragments


@dataclass(frozen=True)
class PiiFinding:
    source: str  # where: a file, a run's event, a table cell
    label: str  # what: "email pattern", "fixture phone #2", "transcript sentence c-1001/5"

    def __str__(self) -> str:
        return f"{self.source}: {self.label}"


def fold(text: str) -> str:
    text = unicodedata.normalize("NFC", text).casefold()
    return re.sub(r"\s+", " ", text)


def phone_forms(value: str) -> set[str]:
    """A phone number as it may be written: as given, digits only, national and international."""
    digits = re.sub(r"\D", "", value)
    forms = {value, digits}
    if digits.startswith("33") and len(digits) == 11:
        national = "0" + digits[2:]
        forms |= {national, "+" + digits, " ".join([national[i : i + 2] for i in range(0, 10, 2)])}
    elif digits.startswith("0") and len(digits) == 10:
        forms |= {"33" + digits[1:], "+33" + digits[1:]}
    return {fold(f) for f in forms if len(re.sub(r"\D", "", f)) >= 8}


class PiiScanner:
    """Known needles plus the generic patterns; ``allow`` lists e-mail domains that are not personal."""

    def __init__(self, needles: Mapping[str, str] | None = None, *, allow_email_domains: Iterable[str] = ()):
        self.needles = {fold(k): label for k, label in (needles or {}).items() if k.strip()}
        self.allow_email_domains = {d.lower() for d in allow_email_domains}

    def scan(self, source: str, text: str) -> list[PiiFinding]:
        found = []
        folded = fold(text)
        for needle, label in self.needles.items():
            if needle in folded:
                found.append(PiiFinding(source, label))
        for m in EMAIL.finditer(text):
            if m.group(0).rsplit("@", 1)[1].lower() not in self.allow_email_domains:
                found.append(PiiFinding(source, "e-mail pattern"))
        for rx, label in ((PHONE_FR, "phone pattern (FR)"), (PHONE_INTL, "phone pattern (international)")):
            if rx.search(text):
                found.append(PiiFinding(source, label))
        return sorted(set(found), key=lambda f: (f.source, f.label))


def needles_from_fixtures(
    expected: Mapping[str, Any],
    sidecars: Iterable[Mapping[str, Any]],
    extra_phones: Iterable[str] = (),
    bad_keys: Iterable[str] = (),
) -> dict[str, str]:
    """What the demo recordings are known to hold: sidecar phones and e-mails, transcript sentences
    (``expected.json``), and phone numbers used as file names."""
    needles: dict[str, str] = {}
    phones = [s["customer_phone"] for s in sidecars if s.get("customer_phone")] + list(extra_phones)
    for i, phone in enumerate(phones, 1):
        for form in phone_forms(phone):
            needles[form] = f"fixture phone #{i}"
    for i, email in enumerate((s["customer_email"] for s in sidecars if s.get("customer_email")), 1):
        needles[email] = f"fixture e-mail #{i}"
    for key in bad_keys:
        stem = key.rsplit("/", 1)[-1].split(".")[0]
        if re.fullmatch(r"\+?\d{8,15}", stem):
            for form in phone_forms(stem):
                needles[form] = "phone number used as a file name"
    for _key, call in expected.get("good", {}).items():
        for j, u in enumerate(call.get("utterances", [])):
            if len(u["text"].split()) >= MIN_SENTENCE_WORDS:
                needles[u["text"]] = f"transcript sentence {call['call_id']}/{j}"
    return needles


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value, keys included (JSON text inside a string is opened too)."""
    if isinstance(value, str):
        yield value
        s = value.strip()
        if s[:1] in ("{", "[") and len(s) > 1:
            try:
                yield from strings_in(json.loads(s))
            except ValueError:
                pass
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield str(k)
            yield from strings_in(v)
    elif isinstance(value, (list, tuple, set)):
        for v in value:
            yield from strings_in(v)
    elif isinstance(value, bytes):
        yield from strings_in(value.decode("utf-8", errors="replace"))
    elif value is not None:
        yield str(value)
