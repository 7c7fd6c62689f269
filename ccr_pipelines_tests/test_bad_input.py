"""Bad input beyond the ingestion fuzz (P4, P6): malicious tenant and call ids in every entry
point — CLI arguments, job config, sidecars, object keys —, adversarial audio, and hostile YAML
(cycles, billion laughs, deep nesting, huge weights, regex look-alikes) in scorecards and the
tenant registry. Each ends in a clear one-line error or a quarantine with a reason; no crash,
nothing written for another tenant."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from pathlib import Path

import av
import numpy as np
import pytest
import sqlalchemy as sa
import yaml

from ccr_pipelines.core.errors import SettingsError
from ccr_pipelines.core.ingest import MAX_SIDECAR_STRING, Reason
from ccr_pipelines.core.scorecards import score_call
from ccr_pipelines.loaders.config_files import load_scorecard, load_tenant_registry
from ccr_pipelines.services.ingest import MANIFEST_DATASET, ingest_batch
from ccr_pipelines.stores.control_store import ControlStore, audit_log, suppression_list
from ccr_pipelines.stores.warehouse import Warehouse

from .audio_helpers import wav_bytes
from .conftest import TENANTS_YAML
from .fault_helpers import record_figures
from .ingest_helpers import DAY, PREFIX, inbox, ledger, make_env, sidecar
from .test_ingest_batch import _raw_put

PACKAGED = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "config" / "scorecards"

MALICIOUS = {
    "traversal": "../globex-support",
    "traversal-inside": "acme-energie/../globex-support",
    "sql": "acme-energie'; DROP TABLE ingest_events;--",
    "sql-or": "x' OR '1'='1",
    "cyrillic-lookalike": "\u0430cme-energie",
    "nb-hyphen-lookalike": "acme\u2011energie",
    "fullwidth": "\uff41cme-energie",
    "nul": "acme-energie\x00",
    "newline": "acme-energie\nglobex-support",
    "10kB": "a" * 10_240,
}
IDS = list(MALICIOUS)
VALUES = [MALICIOUS[k] for k in IDS]


def _one_short_line(msg: str) -> None:
    assert msg.count("\n") <= 1 and len(msg) < 400, msg[:400]
    assert "Traceback" not in msg


# --- CLI arguments ------------------------------------------------------------------------
@pytest.fixture
def cli(local_settings_env, capsys):
    from ccr_pipelines import cli as ccr

    def run(*argv: str) -> tuple[int, str, str]:
        rc = ccr.main(list(argv))
        out, err = capsys.readouterr()
        return rc, out, err

    return run


def _control_rows(data_dir: Path) -> dict:
    control = ControlStore(f"sqlite:///{data_dir}/control.db")
    control.migrate()
    try:
        return {t.name: len(control.fetch(sa.select(t))) for t in (suppression_list, audit_log)}
    finally:
        control.dispose()


@pytest.mark.parametrize("tenant", VALUES, ids=IDS)
def test_p4_malicious_tenant_ids_in_cli_arguments_are_refused_in_one_line(cli, local_settings_env, tenant):
    before = _control_rows(local_settings_env)
    for argv in (
        ["suppress", tenant, "--type", "phone", "--value", "+33 6 00 00 00 01"],
        ["tenants", "suspend", tenant, "--reason", "test"],
        ["tenants", "resume", tenant, "--reason", "test"],
        ["reports", "link", tenant, "--day", "2026-11-16"],
    ):
        rc, out, err = cli(*argv)
        assert rc == 2 and out == "", (argv[0], rc, out[:200])
        assert err.startswith("ccr: error: ")
        _one_short_line(err.strip())
    # read-only filters are refused too: an unknown tenant is an error, not an empty answer (P4)
    for argv in (["ingest", "status", "--tenant", tenant, "--json"], ["dsr", "list", "--tenant", tenant]):
        rc, out, err = cli(*argv)
        assert rc == 2 and out == "" and "unknown tenant" in err, (argv[0], rc, err[:200])
        _one_short_line(err.strip())
    assert _control_rows(local_settings_env) == before  # nothing suppressed, suspended or audited
    objects = local_settings_env / "objects"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))


def test_a_cli_date_argument_of_10kb_is_refused_in_one_line(cli):
    rc, _out, err = cli("reports", "link", "acme-energie", "--day", "2026-11-16" * 1000)
    assert rc == 2 and "--day" in err
    _one_short_line(err.strip())


# --- job config ---------------------------------------------------------------------------
def _tenant_assets():
    from ccr_pipelines.defs.analyze.assets import call_metrics, call_scores, redacted_transcripts
    from ccr_pipelines.defs.ingest.assets import call_manifest
    from ccr_pipelines.defs.reports.assets import tenant_weekly_reports
    from ccr_pipelines.defs.transcribe.assets import transcripts

    return [call_manifest, transcripts, redacted_transcripts, call_metrics, call_scores, tenant_weekly_reports]


@pytest.mark.slow
def test_p4_malicious_tenant_ids_in_job_config_fail_the_run_cleanly_and_write_nothing(local_settings_env):
    import dagster as dg

    from ccr_pipelines.core.report_periods import period_containing
    from ccr_pipelines.definitions import defs as load_defs

    resources = load_defs().resources
    week = period_containing("weekly", date(2026, 11, 16)).partition_key
    instance = dg.DagsterInstance.ephemeral()
    failed = Counter()
    for asset in _tenant_assets():
        partition = week if asset.key.path[-1].endswith("reports") else DAY
        for name in ("traversal", "sql", "cyrillic-lookalike", "newline", "10kB"):
            result = dg.materialize(
                [asset],
                resources=resources,
                partition_key=partition,
                instance=instance,
                run_config={"ops": {asset.key.to_python_identifier(): {"config": {"tenant_id": MALICIOUS[name]}}}},
                raise_on_error=False,
            )
            assert not result.success, (asset.key, name)
            [failure] = result.get_step_failure_events()
            msg = failure.event_specific_data.error.message
            assert len(msg) < 400 and MALICIOUS["10kB"] not in msg, (asset.key, name, msg[:400])
            failed[asset.key.path[-1]] += 1
    objects = local_settings_env / "objects"
    assert not objects.exists() or not any(p.is_file() for p in objects.rglob("*"))  # nothing written anywhere
    record_figures(
        "job_config_malicious_tenant",
        runs=sum(failed.values()),
        failed_cleanly=sum(failed.values()),
        assets=len(failed),
        objects_written=0,
    )


# --- sidecars and call ids ----------------------------------------------------------------
@pytest.fixture
def control(tmp_path):
    store = ControlStore(f"sqlite:///{tmp_path}/control.db")
    store.migrate()
    yield store
    store.dispose()


SIDECAR_CASES = [
    (field, name)
    for field in ("agent_id", "team", "campaign", "customer_ref")
    for name in ("traversal", "sql", "cyrillic-lookalike", "newline", "10kB")
]


def test_malicious_values_in_sidecars_are_quarantined_or_kept_as_inert_data(object_store, control):
    keys = []
    for i, (field, name) in enumerate(SIDECAR_CASES):
        stem = PREFIX + f"c-{3000 + i}"
        object_store.put_bytes(stem + ".json", sidecar(**{field: MALICIOUS[name]}))
        object_store.put_bytes(stem + ".wav", wav_bytes(0.6, seed=3000 + i))
        keys.append(stem + ".wav")
    # an e-mail crafted to make the schema's pattern backtrack (quadratic on a long string)
    object_store.put_bytes(PREFIX + "c-3999.json", sidecar(customer_email="a@" + "a." * 30_000 + "@"))
    object_store.put_bytes(PREFIX + "c-3999.wav", wav_bytes(0.6, seed=3999))
    keys.append(PREFIX + "c-3999.wav")

    result = ingest_batch(make_env(object_store, control), keys, tenant_id="acme-energie", day=DAY)
    assert result.accounting_ok and result.received == len(keys), result.accounting
    rows = {r["call_id"]: r for r in ledger(control)}
    assert len(rows) == len(keys) and inbox(object_store) == []
    assert rows["c-3999"]["reason"] == "sidecar_schema"
    assert f"longer than {MAX_SIDECAR_STRING} characters" in rows["c-3999"]["detail"]  # refused before the regex
    for i, (field, name) in enumerate(SIDECAR_CASES):
        row = rows[f"c-{3000 + i}"]
        if field == "customer_ref" and name != "10kB":
            assert row["outcome"] == "accepted"  # free text, only ever kept as a keyed hash
        else:
            assert (row["outcome"], row["reason"]) == ("quarantined", "sidecar_schema"), (field, name)
        assert MALICIOUS[name][:20] not in (row["detail"] or "")  # values never echoed
    # nothing for another tenant, nothing outside the tenant's zones
    assert {o.key.split("/")[1] for o in object_store.list("") if not o.key.startswith("quarantine/unrouted/")} == {
        "acme-energie"
    }
    manifest = Warehouse(object_store).read_partition(MANIFEST_DATASET, "acme-energie", DAY).to_pylist()
    assert all(r["customer_ref_hash"] != MALICIOUS["sql"] for r in manifest)
    record_figures(
        "sidecar_malicious_values",
        received=len(keys),
        ledger_rows=len(rows),
        outcomes=dict(Counter(r["outcome"] for r in rows.values())),
        other_tenant_objects=0,
    )


CALL_IDS = {
    "sql": "c-1'; DROP TABLE ingest_events;--",
    "traversal-encoded": "c-..%2f..%2fglobex-support",
    "cyrillic-lookalike": "\u0441-0001",
    "rtl-override": "c-\u202e0001",
    "long": "c-" + "9" * 200,
    "dotdot": "..",
}


def test_malicious_call_ids_in_keys_are_quarantined_and_stay_in_their_tenant(object_store, control):
    keys = [PREFIX + f"{cid}.wav" for cid in CALL_IDS.values()]
    for i, key in enumerate(keys):
        _raw_put(object_store, key, wav_bytes(0.6, seed=4000 + i))
    r = ingest_batch(make_env(object_store, control), keys, tenant_id="acme-energie", day=DAY)
    assert r.accounting_ok and r.received == len(keys), r.accounting
    rows = ledger(control)
    assert len(rows) == len(keys) and {x["outcome"] for x in rows} == {"quarantined"}
    assert all(
        x["tenant_id"] == "acme-energie" and x["quarantine_key"].startswith("quarantine/acme-energie/") for x in rows
    )
    assert not list(object_store.list("audio/")) and inbox(object_store) == []
    record_figures("call_id_malicious", received=len(keys), quarantined=len(rows), accepted=0)


# --- adversarial audio --------------------------------------------------------------------
def _flac_silence(seconds: float, rate: int = 8000) -> bytes:
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="flac") as out:
        stream = out.add_stream("flac", rate=rate, layout="mono")
        chunk = np.zeros((1, rate * 60), dtype=np.int16)
        for i in range(int(seconds // 60)):
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="mono")
            frame.sample_rate, frame.pts = rate, i * rate * 60
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def _clipped_noise_wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    import wave

    rng = np.random.default_rng(5)
    samples = np.where(rng.standard_normal(int(seconds * rate)) > 0, 32767, -32768).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return buf.getvalue()


@pytest.mark.slow
def test_adversarial_audio_is_quarantined_with_a_reason_or_accepted_as_audio(tmp_path, control):
    from ccr_pipelines.stores.object_store import LocalObjectStore

    store = LocalObjectStore(tmp_path / "objects")
    cases = {  # name -> (bytes, expected outcome, reason)
        "c-5001.flac": (_flac_silence(3 * 3600), "quarantined", Reason.TOO_LONG.value),  # 3 hours of silence
        "c-5002.wav": (_clipped_noise_wav(), "accepted", None),  # full-scale clipped noise is still audio
        "c-5003.wav": (_flac_silence(120), "accepted", None),  # FLAC named .wav: probed by content
        "c-5004.mp3": (wav_bytes(1.0, seed=5), "accepted", None),  # WAV named .mp3
        "c-5005.wav": (b"RIFF" + b"\xff" * 40, "quarantined", None),  # a header and garbage
        "c-5006.ogg": (b"OggS" + bytes(range(256)) * 4, "quarantined", None),
    }
    for name, (data, _o, _r) in cases.items():
        store.put_bytes(PREFIX + name, data)
    keys = [PREFIX + n for n in cases]
    r = ingest_batch(make_env(store, control, max_duration_s=14400 / 2), keys, tenant_id="acme-energie", day=DAY)
    assert r.accounting_ok and r.received == len(cases), r.accounting
    rows = {x["call_id"]: x for x in ledger(control)}
    for name, (_d, outcome, reason) in cases.items():
        row = rows[name.split(".")[0]]
        assert row["outcome"] == outcome, (name, row["outcome"], row["reason"])
        if reason:
            assert row["reason"] == reason, (name, row["reason"])
        if outcome == "quarantined":
            assert row["reason"]
    record_figures(
        "adversarial_audio",
        received=len(cases),
        outcomes=dict(Counter(x["outcome"] for x in rows.values())),
        reasons=dict(Counter(x["reason"] for x in rows.values() if x["reason"])),
    )


# --- hostile YAML: scorecards and the tenant registry -------------------------------------
def _card() -> dict:
    return yaml.safe_load((PACKAGED / "globex-support.v1.yaml").read_text())


HOSTILE_YAML = {
    "self-cycle": "id: &a [*a]\nversion: 1\nlanguage: en\nsections: []\n",
    "billion-laughs": (
        "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\nid: x\nversion: 1\nlanguage: en\nsections: *g\n"
    ),
    "deep-nesting": "id: x\nversion: 1\nlanguage: en\nsections: " + "[" * 50_000 + "]" * 50_000 + "\n",
    "deep-mapping": "id: x\nversion: 1\nlanguage: en\nsections: " + "{a: " * 20_000 + "b" + "}" * 20_000 + "\n",
}


@pytest.mark.parametrize("text", HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_hostile_yaml_is_refused_with_its_reason_by_scorecards_and_the_registry(tmp_path, text):
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError) as card_err:
        load_scorecard(path)
    with pytest.raises(SettingsError) as reg_err:
        load_tenant_registry(path)
    for err in (card_err, reg_err):
        msg = str(err.value)
        _one_short_line(msg)
        assert "anchors and aliases" in msg or "nested deeper than" in msg, msg


@pytest.mark.parametrize("text", HOSTILE_YAML.values(), ids=HOSTILE_YAML.keys())
def test_hostile_yaml_is_refused_in_a_settings_profile(tmp_path, monkeypatch, text):
    from ccr_pipelines.loaders.settings_files import load_settings

    path = tmp_path / "profile.yaml"
    path.write_text(text)
    monkeypatch.setenv("CCR_SETTINGS_FILE", str(path))
    with pytest.raises(SettingsError) as err:
        load_settings()
    _one_short_line(str(err.value))
    assert "anchors and aliases" in str(err.value) or "nested deeper than" in str(err.value)


def test_an_alias_anywhere_in_the_tenant_registry_is_refused(tmp_path):
    text = TENANTS_YAML.replace("    languages: [fr]\n", "    languages: &langs [fr]\n", 1).replace(
        "    languages: [en]\n", "    languages: *langs\n", 1
    )
    path = tmp_path / "tenants.yaml"
    path.write_text(text)
    with pytest.raises(SettingsError, match="anchors and aliases"):
        load_tenant_registry(path)


@pytest.mark.parametrize(
    "where,value",
    [
        ("points", 1e308),
        ("points", float("inf")),
        ("points", float("nan")),
        ("points", -5),
        ("points", 0),
        ("weight", 1e9),
        ("weight", float("inf")),
        ("weight", float("nan")),
        ("within_s", 1e12),
        ("within_s", float("nan")),
        ("similarity", float("nan")),
        ("similarity", 0.0),
    ],
)
def test_huge_or_non_finite_weights_are_refused_at_load(tmp_path, where, value):
    card = _card()
    if where == "weight":
        card["sections"][0]["weight"] = value
    elif where == "similarity":
        card["thresholds"] = {"similarity": value}
    else:
        card["sections"][0]["questions"][0][where] = value
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(card))
    with pytest.raises(SettingsError) as err:
        load_scorecard(path)
    assert where in str(err.value)
    _one_short_line(str(err.value))


def test_phrases_are_literal_words_so_regex_syntax_cannot_backtrack(tmp_path):
    """Scorecards hold phrases, never regular expressions: regex syntax is punctuation, dropped
    by normalisation; a 5,000-word adversarial segment is scored in one linear pass per window."""
    card = _card()
    evil = ["(a+)+$ zz", "^(a|aa)+$ zz", "(.*a){25} zz", "a" * 200]
    card["sections"][0]["questions"][0]["phrases"] = evil
    path = tmp_path / "card.yaml"
    path.write_text(yaml.safe_dump(card))
    loaded = load_scorecard(path)
    segs = [
        {
            "segment_index": 0,
            "speaker": "agent",
            "start_s": 0.0,
            "end_s": 600.0,
            "text": " ".join(["a"] * 5000) + " " + "a" * 5000 + "!",
        }
    ]
    result = score_call(loaded, segs, uses_virtual_agents=False, asr_confidence=0.9)
    first = result["results"][0]
    assert first["status"] == "missing"  # "zz" is never said: the phrase does not match
    long_phrase = dict(card)
    long_phrase["sections"][0]["questions"][0]["phrases"] = ["x" * 10_240]
    path.write_text(yaml.safe_dump(long_phrase))
    with pytest.raises(SettingsError, match="phrases"):
        load_scorecard(path)
