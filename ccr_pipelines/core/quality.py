"""Data-quality rules (P4, P7): expectation suites as data, volume and freshness rules — pure.

The suites are plain lists of Great Expectations 1.x expectation names and
arguments, so they are readable (and reviewable) without GX; the service
builds GX objects from them. Volume: a tenant's latest day against the median
of its previous days. Freshness: a tenant whose newest data is older than its
allowance. Thresholds carry the reason they are what they are.
"""

from __future__ import annotations

from datetime import date
from statistics import median

from .catalog import CALL_MANIFEST, CALL_SCORES, TRANSCRIPT_CALLS

# Expectation (GX class name, kwargs). "{tenant}" in a value set is the tenant being checked (P4).
SUITES: dict[str, list[tuple[str, dict]]] = {
    CALL_MANIFEST.name: [
        (
            "ExpectTableColumnsToMatchSet",
            {
                "column_set": [
                    "tenant_id",
                    "call_id",
                    "day",
                    "sha256",
                    "duration_s",
                    "sample_rate",
                    "channels",
                    "codec",
                ],
                "exact_match": False,
            },
        ),
        ("ExpectColumnValuesToNotBeNull", {"column": "call_id"}),
        ("ExpectColumnValuesToBeUnique", {"column": "call_id"}),
        ("ExpectColumnValuesToBeInSet", {"column": "tenant_id", "value_set": ["{tenant}"]}),
        ("ExpectColumnValueLengthsToEqual", {"column": "sha256", "value": 64}),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "duration_s", "min_value": 0, "max_value": 4 * 3600, "strict_min": True},
        ),
        ("ExpectColumnValuesToBeInSet", {"column": "channels", "value_set": [1, 2]}),
    ],
    TRANSCRIPT_CALLS.name: [
        ("ExpectColumnValuesToNotBeNull", {"column": "call_id"}),
        ("ExpectColumnValuesToBeUnique", {"column": "call_id"}),
        ("ExpectColumnValuesToBeInSet", {"column": "tenant_id", "value_set": ["{tenant}"]}),
        ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": ["transcribed", "failed"]}),
        ("ExpectColumnValuesToBeBetween", {"column": "mean_confidence", "min_value": 0, "max_value": 1}),
        ("ExpectColumnValuesToBeBetween", {"column": "no_speech_share", "min_value": 0, "max_value": 1}),
    ],
    CALL_SCORES.name: [
        ("ExpectColumnValuesToNotBeNull", {"column": "call_id"}),
        ("ExpectColumnValuesToBeUnique", {"column": "call_id"}),
        ("ExpectColumnValuesToBeInSet", {"column": "tenant_id", "value_set": ["{tenant}"]}),
        ("ExpectColumnValuesToNotBeNull", {"column": "score"}),
        ("ExpectColumnValuesToBeBetween", {"column": "score", "min_value": 0, "max_value": 100}),
        ("ExpectColumnValuesToBeBetween", {"column": "confidence", "min_value": 0, "max_value": 1}),
        # P15: an AI score is unreviewed until a person acts on it
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "review_status", "value_set": ["unreviewed", "confirmed", "corrected", "dismissed"]},
        ),
        ("ExpectColumnValuesToNotBeNull", {"column": "scorer_version"}),
    ],
}

VOLUME_HISTORY_DAYS = 14  # two weeks of the tenant's own days: covers weekly seasonality
VOLUME_MIN_HISTORY = 5  # fewer days of history say nothing reliable
VOLUME_LOW, VOLUME_HIGH = 0.3, 3.0  # a day below 30 % or above 3x the median is worth a look
FRESHNESS_ALLOWANCE_DAYS = 2  # uploads come the same or next day; two days late is a miss
# Transcript quality gates: the share of a tenant's recent calls with a signal.
GATE_MAX_SHARE = {"low_confidence": 0.2, "hallucination_suspected": 0.1, "language_mismatch": 0.1}
LOW_CONFIDENCE = 0.6


def volume_anomaly(history: list[int], latest: int) -> str | None:
    """'low' / 'high' when *latest* is far from the median of *history* (oldest first), else None."""
    if len(history) < VOLUME_MIN_HISTORY:
        return None
    m = median(history[-VOLUME_HISTORY_DAYS:])
    if m <= 0:
        return None
    ratio = latest / m
    return "low" if ratio < VOLUME_LOW else "high" if ratio > VOLUME_HIGH else None


def days_late(latest_day: date | None, today: date) -> int:
    """How many days past the allowance a tenant's newest data is (0 = fresh)."""
    if latest_day is None:
        return 0  # a tenant that never sent anything is not late: nothing was expected yet
    return max(0, (today - latest_day).days - FRESHNESS_ALLOWANCE_DAYS)
