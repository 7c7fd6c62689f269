"""What a secret looks like written out (P5): the patterns the repository's secret scan stops CI on
(``ccr_tools/secret_scan.py``) and ``ccr settings`` masks in the resolved profile (``core/settings``)."""

from __future__ import annotations

import re

RULES: dict[str, re.Pattern] = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "aws_secret_access_key": re.compile(
        r"(?i)aws_?secret_?access_?key['\"]?\s*[:=]\s*['\"]?(?P<value>[A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
    ),
    "private_key_block": re.compile(
        r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"
    ),
    "sentry_dsn_with_key": re.compile(r"https?://(?P<value>[0-9a-f]{32})(?::[0-9a-f]{32})?@[\w.-]+/\d+"),
    "pagerduty_routing_key": re.compile(
        r"(?i)(?:routing|integration|service)_?key['\"]?\s*[:=]\s*['\"](?P<value>[A-Za-z0-9]{32})['\"]"
    ),
    "github_token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "slack_token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
    "google_api_key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "password_in_url": re.compile(r"\b[a-z][a-z0-9+.-]{1,20}://[^/\s:@'\"]+:(?P<value>[^@\s/'\"]{3,})@[\w.-]+"),
    "secret_assignment": re.compile(
        r"(?i)\b[\w-]*(?:secret|token|passw(?:or)?d|api_?key|private_?key|access_?key|auth_?key)[\w-]*['\"]?"
        r"\s*[:=]\s*['\"](?P<value>[^'\"\s]{16,})['\"]"
    ),
}
