"""Sentry ``before_send``: no personal data leaves in an error report (P7, P21) — pure.

Fields that hold transcript text or contact details are dropped by name
wherever they appear (extras, contexts, breadcrumbs, local variables if ever
enabled); every remaining string goes through the same redaction rules as
transcripts (the rules without the NER model, which a hook must not load), so a
phone number or e-mail in an exception message becomes
``[PHONE]`` / ``[EMAIL]``. Request bodies, cookies and user data are removed.
"""

from __future__ import annotations

from typing import Any

from .redaction import redact

FILTERED = "[Filtered]"
# Field names whose value is personal data or transcript content, whatever it looks like.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "transcript",
        "transcripts",
        "segments",
        "segment_text",
        "customer_phone",
        "customer_email",
        "phone",
        "email",
        "identifier",
        "customer_ref",
        "subject_value",
    }
)
DROP_KEYS = ("user", "request")  # who and what: never needed to fix a pipeline bug
# Top-level fields Sentry itself fills with ids, times and versions: left as they are
# (a digit run in an event id must not turn into "[PHONE]").
STRUCTURAL = (
    "event_id",
    "timestamp",
    "start_timestamp",
    "level",
    "platform",
    "sdk",
    "release",
    "environment",
    "server_name",
    "type",
    "modules",
)
MAX_DEPTH = 12


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        return FILTERED
    if isinstance(value, str):
        return redact(value, ner=False)[0] if value else value  # the rules, not the NER: no model in a hook
    if isinstance(value, dict):
        return {
            k: (FILTERED if isinstance(k, str) and k.lower() in SENSITIVE_KEYS else _scrub(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_scrub(v, depth + 1) for v in value]
    return value


def scrub_event(event: dict, hint: dict | None = None) -> dict:
    """Return a copy of the Sentry *event* without personal data (used as ``before_send``)."""
    return {k: (v if k in STRUCTURAL else _scrub(v)) for k, v in event.items() if k not in DROP_KEYS}
