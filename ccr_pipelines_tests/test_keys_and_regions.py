"""Object-key rules (P4: tenant isolation by prefix) and the EU region guard (P2)."""

from __future__ import annotations

import pytest

from ccr_pipelines.core.errors import InvalidKeyError, SettingsError
from ccr_pipelines.core.keys import (
    MAX_KEY_LENGTH,
    ZONES,
    assert_key_in_tenant,
    tenant_key,
    tenant_of_key,
    validate_key,
    validate_prefix,
    validate_received_key,
    validate_tenant_id,
)
from ccr_pipelines.core.regions import EU_REGIONS, check_region, is_eu_region


# -- tenant keys --------------------------------------------------------------
def test_a_tenant_key_is_zone_then_tenant_then_parts():
    assert tenant_key("audio", "acme-energie", "2026", "11", "c-1.wav") == "audio/acme-energie/2026/11/c-1.wav"
    assert tenant_key("datasets", "globex-support", "call_manifest", "day=2026-11-16", "part.parquet") == (
        "datasets/globex-support/call_manifest/day=2026-11-16/part.parquet"
    )


@pytest.mark.parametrize("zone", ZONES)
def test_every_zone_builds_keys_that_name_their_tenant(zone):
    key = tenant_key(zone, "acme-energie", "x.json")
    assert key == f"{zone}/acme-energie/x.json"
    assert tenant_of_key(key) == (None if zone == "control" else "acme-energie")


def test_an_unknown_zone_is_refused():
    for zone in ("nowhere", "Audio", "", "../audio", "audio/"):
        with pytest.raises(InvalidKeyError):
            tenant_key(zone, "acme-energie", "x")


@pytest.mark.parametrize(
    "part", ["..", ".", "", "../globex-support", "a\\b", "x y", "c-1.wav\x00", "é.wav", "c-1.wav\n", "c-1.wav\r\n"]
)
def test_p4_a_key_part_cannot_climb_out_of_its_tenant(part):
    with pytest.raises(InvalidKeyError):
        tenant_key("audio", "acme-energie", part)


def test_tenant_of_key_reads_the_tenant_segment_and_none_for_platform_keys():
    assert tenant_of_key("datasets/acme-energie/call_manifest/x.parquet") == "acme-energie"
    assert tenant_of_key("control/tenant_registry/abc.json") is None
    assert tenant_of_key("unzoned/acme-energie/x") is None
    assert tenant_of_key("audio") is None
    with pytest.raises(InvalidKeyError):
        tenant_of_key("audio/../acme-energie/x")


def test_p4_a_key_inside_the_tenant_prefix_is_accepted():
    assert assert_key_in_tenant("reports/acme-energie/r.html", "acme-energie") == "reports/acme-energie/r.html"


@pytest.mark.parametrize(
    "key",
    [
        "reports/globex-support/r.html",  # another tenant
        "reports/acme-energie2/r.html",  # a tenant whose id starts with ours
        "reports/acme-energie-2/r.html",
        "control/acme-energie/x",  # platform zone: no tenant owns it
        "acme-energie/reports/r.html",  # tenant first: not a tenant key
        "reports/acme-energie/../globex-support/r.html",  # climbs out
    ],
)
def test_p4_a_key_outside_the_tenant_prefix_is_refused(key):
    with pytest.raises(InvalidKeyError) as exc:
        assert_key_in_tenant(key, "acme-energie")
    assert "\n" not in str(exc.value)


# -- tenant ids ----------------------------------------------------------------
def test_valid_tenant_ids_are_returned_unchanged():
    for tid in ("acme-energie", "abc", "a1-b2", "x" * 40):
        assert validate_tenant_id(tid) == tid


MALICIOUS_IDS = {
    "traversal": "../etc",
    "traversal-deep": "../../../../etc/passwd",
    "slash": "acme/energie",
    "backslash": "acme\\energie",
    "sql-quote": "acme'; DROP TABLE lineage;--",
    "sql-or": "acme' OR '1'='1",
    "sql-comment": "acme--",
    "like-wildcard": "acme%",
    "cyrillic-a": "\u0430cme-energie",
    "fullwidth-hyphen": "acme\uff0denergie",
    "non-breaking-hyphen": "acme\u2011energie",
    "zero-width-space": "acme\u200b-energie",
    "turkish-dotless-i": "\u0131nitech",
    "uppercase": "ACME",
    "too-short": "a",
    "too-long": "x" * 41,
    "10kB": "x" * 10_000,
    "10kB-traversal": "../" * 3400,
    "leading-hyphen": "-acme",
    "trailing-hyphen": "acme-",
    "leading-digit": "1acme",
    "space": "acme energie",
    "trailing-newline": "acme-energie\n",
    "empty": "",
    "nul": "acme\x00",
    "dot": "acme.energie",
    "glob": "acme*",
    "shell": "$(reboot)",
}


@pytest.mark.parametrize("tenant_id", MALICIOUS_IDS.values(), ids=MALICIOUS_IDS.keys())
def test_p4_malicious_tenant_ids_are_refused_with_a_short_one_line_message(tenant_id):
    with pytest.raises(InvalidKeyError) as exc:
        validate_tenant_id(tenant_id)
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 200  # one short line, never the 10 kB input
    with pytest.raises(InvalidKeyError):
        tenant_key("audio", tenant_id, "x.wav")


@pytest.mark.parametrize("tenant_id", [None, 42, b"acme-energie", ["acme-energie"]])
def test_a_tenant_id_that_is_not_a_string_is_refused(tenant_id):
    with pytest.raises(InvalidKeyError):
        validate_tenant_id(tenant_id)


# -- keys and prefixes -------------------------------------------------------------
def test_a_key_of_the_maximum_length_is_accepted_and_one_more_is_refused():
    key = "raw/" + "k" * (MAX_KEY_LENGTH - 4)
    assert validate_key(key) == key
    with pytest.raises(InvalidKeyError):
        validate_key(key + "k")


def test_listing_prefixes_may_end_with_a_slash_but_are_otherwise_keys():
    for prefix in ("", "raw", "raw/", "raw/acme-energie/", "raw/acme-en"):
        assert validate_prefix(prefix) == prefix
    for prefix in ("/", "raw//", "../", "raw/../x/", "/raw"):
        with pytest.raises(InvalidKeyError):
            validate_prefix(prefix)


def test_received_keys_are_read_leniently_but_never_with_nul_or_beyond_the_length_limit():
    assert validate_received_key("raw/acme/weird name é.wav") == "raw/acme/weird name é.wav"
    for key in ("raw/a\x00b", "k" * (MAX_KEY_LENGTH + 1), "", None):
        with pytest.raises(InvalidKeyError):
            validate_received_key(key)


# -- P2: regions ----------------------------------------------------------------------
@pytest.mark.parametrize("region", ["eu-west-1", "eu-west-3", "eu-central-1", "eu-north-1", "fr-par", " EU-WEST-3 "])
def test_p2_eu_region_is_accepted_without_override(region):
    assert is_eu_region(region)
    check_region(region, None, where="test")


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "us-west-2",
        "eu-west-2",
        "eu-central-2",
        "ap-southeast-2",
        "ca-central-1",
        "",
        "eu-west-33",
        "euwest3",
    ],
)
def test_p2_non_eu_region_is_refused_without_override_reason(region):
    assert not is_eu_region(region)
    for reason in (None, "", "   ", "\n"):
        with pytest.raises(SettingsError) as exc:
            check_region(region, reason, where="prod.yaml: field 'object_store.region'")
        msg = str(exc.value)
        assert "\n" not in msg
        assert f"'{region}'" in msg and "P2" in msg and "region_override_reason" in msg
        assert msg.startswith("prod.yaml: field 'object_store.region'")


def test_p2_us_east_1_is_refused_with_a_one_line_message():
    with pytest.raises(SettingsError, match=r"^object store: region 'us-east-1' is outside the EU \(P2\)") as exc:
        check_region("us-east-1", None, where="object store")
    assert len(str(exc.value).splitlines()) == 1


def test_p2_non_eu_region_is_accepted_with_an_override_reason():
    check_region("us-east-1", "US subsidiary's own tenant, DPA signed 2026-10", where="x")
    check_region("eu-west-2", "UK tenant, adequacy decision", where="x")


def test_p2_the_eu_list_holds_no_region_outside_the_eu():
    # London and Zurich are adequate but not EU: hosting there is a recorded decision.
    assert not EU_REGIONS & {"eu-west-2", "eu-central-2", "us-east-1", "me-central-1", "il-central-1"}
    assert all(r == r.strip().lower() for r in EU_REGIONS)
