"""Pure ingestion rules: key layout, personal data in keys, sidecars, subject hashes."""

from __future__ import annotations

import json
from datetime import date

import pytest

from ccr_pipelines.core.ingest import (
    Reason,
    Rejected,
    accounting,
    is_safe_key,
    looks_like_personal_data,
    parse_raw_key,
    parse_sidecar,
    safe_key,
)
from ccr_pipelines.core.subjects import normalise_phone, subject_hash

MIN, MAX = date(2024, 1, 1), date(2026, 11, 21)


def _reason(key: str) -> str:
    with pytest.raises(Rejected) as exc:
        parse_raw_key(key, min_day=MIN, max_day=MAX)
    return exc.value.reason.value


def test_a_key_in_the_layout_parses_into_tenant_day_and_call_id():
    k = parse_raw_key("raw/acme-energie/2026/11/16/c-0001.FLAC", min_day=MIN, max_day=MAX)
    assert (k.tenant_id, k.day, k.call_id, k.extension) == ("acme-energie", date(2026, 11, 16), "c-0001", "flac")
    assert k.sidecar_key == "raw/acme-energie/2026/11/16/c-0001.json"


@pytest.mark.parametrize(
    "key,reason",
    [
        ("raw/acme-energie/2026/11/16/0612345678.wav", "personal_data_in_key"),
        ("raw/acme-energie/2026/11/16/+33612345678.wav", "personal_data_in_key"),
        ("raw/acme-energie/2026/11/16/06.12.34.56.78.wav", "personal_data_in_key"),
        ("raw/acme-energie/2026/11/16/jean@example.fr.wav", "personal_data_in_key"),
        ("raw/acme-energie/2026/11/16/c-1.txt", "unsupported_extension"),
        ("raw/acme-energie/2026/11/16/c-1", "unsupported_extension"),
        ("raw/acme-energie/2026/02/30/c-1.wav", "bad_date"),
        ("raw/acme-energie/2027/01/01/c-1.wav", "bad_date"),
        ("raw/acme-energie/26/11/16/c-1.wav", "bad_date"),
        ("raw/acme-energie/2026/11/c-1.wav", "key_outside_layout"),
        ("raw/../etc/2026/11/16/c-1.wav", "key_outside_layout"),
        ("raw/Acme/2026/11/16/c-1.wav", "key_outside_layout"),
        ("raw/unrouted/2026/11/16/c-1.wav", "key_outside_layout"),
        ("raw/acme-energie/2026/11/16/c;drop table.wav", "key_outside_layout"),
        ("raw/acme-energie/2026/11/16/" + "c" * 10_000 + ".wav", "key_outside_layout"),
        ("raw/аcme-energie/2026/11/16/c-1.wav", "key_outside_layout"),  # Cyrillic 'а'
    ],
)
def test_keys_outside_the_contract_are_rejected_with_the_right_reason(key, reason):
    assert _reason(key) == reason


def test_order_numbers_and_short_ids_are_not_mistaken_for_phone_numbers():
    assert not looks_like_personal_data("c-0001")
    assert not looks_like_personal_data("order-123456")  # six digits
    assert looks_like_personal_data("call-0612345678")


@pytest.mark.parametrize(
    "call_id", ["call-20261125-0001", "c-2026-11-25-01", "call_2026_11_25_17", "20261125-0042", "mark-down-1", "c-0001"]
)
def test_date_like_digit_runs_in_call_ids_are_not_personal_data(call_id):
    assert not looks_like_personal_data(call_id)


@pytest.mark.parametrize(
    "call_id", ["customer-john-smith", "call-jean-dupont-1", "c-0612345678", "sarah-oconnor-2", "c-20261125-0612345678"]
)
def test_p4_call_ids_with_a_name_or_a_phone_number_are_personal_data(call_id):
    assert looks_like_personal_data(call_id)


def test_unsafe_keys_are_replaced_by_a_stable_opaque_token():
    bad = "raw/acme-energie/2026/11/16/0612345678.wav"
    assert not is_safe_key(bad)
    token = safe_key(bad, "k1")
    assert token == safe_key(bad, "k1") and token != safe_key(bad, "k2")
    assert "0612345678" not in token
    good = "raw/acme-energie/2026/11/16/c-1.wav"
    assert safe_key(good, "k1") == good


def test_a_valid_sidecar_parses():
    doc = parse_sidecar(
        json.dumps(
            {
                "agent_id": "ag-1",
                "direction": "outbound",
                "started_at": "2026-11-16T09:00:00Z",
                "recording_notice": False,
            }
        ).encode()
    )
    assert doc["direction"] == "outbound"


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"\xff\xfe", Reason.SIDECAR_NOT_JSON),
        (b"[1, 2", Reason.SIDECAR_NOT_JSON),
        (b"[]", Reason.SIDECAR_SCHEMA),
        (json.dumps({"started_at": "2026-11-16 09:00"}).encode(), Reason.SIDECAR_SCHEMA),
        (json.dumps({"started_at": "2026-13-45T09:00:00Z"}).encode(), Reason.SIDECAR_SCHEMA),
        (json.dumps({"language": "de"}).encode(), Reason.SIDECAR_SCHEMA),
        (json.dumps({"customer_phone": "call me"}).encode(), Reason.SIDECAR_SCHEMA),
        (b"[" * 100_000, Reason.SIDECAR_SCHEMA),  # too large before it is too deep
    ],
)
def test_bad_sidecars_are_rejected_without_echoing_values(data, reason):
    with pytest.raises(Rejected) as exc:
        parse_sidecar(data)
    assert exc.value.reason is reason
    assert "call me" not in str(exc.value)


def test_p18_subject_hashes_match_across_phone_formats_and_differ_across_tenants():
    assert normalise_phone("06 12 34 56 78") == normalise_phone("+33 6 12 34 56 78") == "+33612345678"
    assert normalise_phone("0033612345678") == "+33612345678"
    a = subject_hash("key", "acme-energie", "phone", "06.12.34.56.78")
    assert a == subject_hash("key", "acme-energie", "phone", "+33612345678")
    assert a != subject_hash("key", "globex-support", "phone", "+33612345678")
    assert a != subject_hash("other-key", "acme-energie", "phone", "+33612345678")
    assert subject_hash("key", "t-1", "email", " Jane@Example.ORG ") == subject_hash(
        "key", "t-1", "email", "jane@example.org"
    )


def test_accounting_balances_only_when_every_file_has_one_outcome():
    assert accounting(4, {"accepted": 2, "quarantined": 1, "duplicate": 1})[0]
    ok, counts = accounting(4, {"accepted": 2, "quarantined": 1})
    assert not ok and counts["accounted"] == 3
