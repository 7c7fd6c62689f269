"""Security checks run with the tests (P5, P7, P8, P21): dependency audit, secret scan, and a scan of
everything the demo leaves in logs and in the Dagster instance for personal data."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from ccr_pipelines.demo import DEMO_SUPPRESSED_PHONE, fixtures_dir
from ccr_tools.dependency_audit import load_accepted, verdict
from ccr_tools.pii_scan import PiiScanner, needles_from_fixtures, phone_forms, strings_in
from ccr_tools.secret_scan import load_allowlist, scan_files, scan_text

from .ingest_helpers import names_call

REPO = Path(__file__).resolve().parents[1]
ACCEPTED = REPO / "security" / "pip-audit-accepted.toml"
ALLOWLIST = REPO / "security" / "secret-scan-allowlist.toml"


# -- dependency audit (pip-audit) ---------------------------------------------
def test_p8_the_audit_verdict_fails_on_an_unlisted_or_overdue_advisory_and_counts_what_it_could_not_audit(tmp_path):
    report = {
        "dependencies": [
            {
                "name": "jinja2",
                "version": "3.1.2",
                "vulns": [{"id": "GHSA-h5c8-rqwp-cp95", "aliases": ["CVE-2024-22195"], "fix_versions": ["3.1.3"]}],
            },
            {
                "name": "urllib3",
                "version": "2.0.0",
                "vulns": [{"id": "PYSEC-1", "aliases": ["CVE-1"], "fix_versions": []}],
            },
            {"name": "pyyaml", "version": "6.0.2", "vulns": []},
            {"name": "gone", "skip_reason": "Dependency not found on PyPI and could not be audited: gone (1.0)"},
        ]
    }
    accepted = tmp_path / "accepted.toml"
    accepted.write_text(
        '[[accepted]]\nid = "CVE-1"\npackage = "urllib3"\nreason = "code path unused"\nreview_by = 2026-12-31\n'
    )
    v = verdict(report, load_accepted(accepted), today=date(2026, 11, 23))
    assert v.audited == 3 and len(v.unaudited) == 1 and len(v.advisories) == 2
    assert v.unaccepted == ["jinja2==3.1.2 GHSA-h5c8-rqwp-cp95 (fix: 3.1.3)"] and not v.ok
    later = verdict(report, load_accepted(accepted), today=date(2027, 1, 1))
    assert later.overdue and "urllib3" in later.overdue[0]
    accepted.write_text('[[accepted]]\nid = "CVE-1"\npackage = "urllib3"\nreason = ""\nreview_by = 2026-12-31\n')
    with pytest.raises(ValueError, match="lacks reason"):
        load_accepted(accepted)
    assert load_accepted(ACCEPTED) is not None  # the repository's own list parses


# -- secret scan --------------------------------------------------------------
def _tracked_files(root: Path) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=root, capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if line]


# Planted secrets (rule -> (line, secret)), assembled at run time so that this file itself holds none.
_S = {
    "aws": "AKIA" + "Z7QX3MPLE4KEYW2B",
    "aws_secret": "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY",
    "pem": "RSA " + "PRIVATE KEY",
    "dsn": "3f1c9a7b2e8d4f60" + "a1b2c3d4e5f60718",
    "pd": "R02ABCDEF3GHIJKLMN" + "4OPQRS5TUVWXY6",
    "pw": "S3cr3t-" + "Pa55word",
    "tok": "q8Vf3kZ2xR7m" + "N1pL9sT4",
}
PLANTED = {
    "aws_access_key_id": (f"aws_key = {_S['aws']}", _S["aws"]),
    "aws_secret_access_key": (f"aws_secret_access_key = {_S['aws_secret']}", _S["aws_secret"]),
    "private_key_block": (f"-----BEGIN {_S['pem']}-----", None),
    "sentry_dsn_with_key": (f"dsn = 'https://{_S['dsn']}@o12345.ingest.sentry.io/42'", _S["dsn"]),
    "pagerduty_routing_key": (f'routing_key: "{_S["pd"]}"', _S["pd"]),
    "password_in_url": (f"url = 'postgresql://ccr:{_S['pw']}@db.internal:5432/ccr'", _S["pw"]),
    "secret_assignment": (f'api_token = "{_S["tok"]}"', _S["tok"]),
}


@pytest.mark.parametrize("rule", sorted(PLANTED))
def test_p5_the_secret_scan_finds_each_kind_of_planted_secret_in_a_git_repo(rule, tmp_path):
    line, secret = PLANTED[rule]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "settings.py").write_text(f"# config\n{line}\n")
    (tmp_path / "clean.py").write_text(
        "url = 'postgresql://postgres@127.0.0.1:5432/db'\nkey = {'env': 'CCR_KEY'}\npassword = '${DB_PASSWORD}'\n"
    )
    (tmp_path / "untracked-and-ignored.txt").write_text(line)
    (tmp_path / ".gitignore").write_text("untracked-and-ignored.txt\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    findings = scan_files(tmp_path, _tracked_files(tmp_path))
    assert [(f.path, f.line, f.rule) for f in findings if f.rule == rule] == [("settings.py", 2, rule)]
    assert not [f for f in findings if f.path != "settings.py"]
    assert secret is None or all(secret not in str(f) for f in findings)  # a report masks the value


def test_p5_the_secret_scan_ignores_placeholders_low_entropy_words_and_allowlisted_lines(tmp_path):
    assert (
        scan_text(
            "a.py",
            'password = "correct-horse-staple"\nsecret_key = "${SECRET_KEY}"\n'
            'token_url = "https://auth.example.com/oauth/token"\n',
        )
        == []
    )
    (tmp_path / "allow.toml").write_text(
        '[[allow]]\npath = "t.py"\nrule = "password_in_url"\n'
        'contains = "fixture-only"\nreason = "throw-away test database"\n'
    )
    (tmp_path / "t.py").write_text("u = 'postgresql://u:fixture-only@localhost/db'\n")
    assert scan_files(tmp_path, ["t.py"])
    assert scan_files(tmp_path, ["t.py"], load_allowlist(tmp_path / "allow.toml")) == []


def test_p5_p8_the_repository_holds_no_secret():
    findings = scan_files(REPO, _tracked_files(REPO), load_allowlist(ALLOWLIST))
    assert not findings, "secrets in tracked files:\n" + "\n".join(map(str, findings))


# -- personal data in what the demo leaves behind (P7, P21) -----------------------
def _fixture_scanner() -> PiiScanner:
    fx = fixtures_dir()
    expected = json.loads((fx / "expected.json").read_text(encoding="utf-8"))
    sidecars = []
    for p in sorted((fx / "raw").rglob("*.json")):
        try:
            sidecars.append(json.loads(p.read_text(encoding="utf-8")))
        except ValueError:
            continue  # the deliberately broken sidecar
    needles = needles_from_fixtures(expected, sidecars, extra_phones=[DEMO_SUPPRESSED_PHONE], bad_keys=expected["bad"])
    return PiiScanner(needles)


def demo_sources(data_dir: Path, captured: dict[str, str]):
    """(where, text) for everything the demo run left outside the object store: its output, every file of
    the Dagster home but the databases (compute logs, cursors), each run's config, tags and event records
    read through the DagsterInstance API, every cell of the instance's raw SQLite files and of the
    control store, and log files."""
    yield from captured.items()
    home = data_dir / "dagster_home"
    for p in sorted(data_dir.rglob("*")):
        if p.is_file() and (
            p.suffix == ".log"
            or (home in p.parents and p.suffix != ".db" and "-wal" not in p.name and "-shm" not in p.name)
        ):
            yield str(p.relative_to(data_dir)), p.read_text(encoding="utf-8", errors="replace")
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        for run in instance.get_runs():
            yield (
                f"run {run.run_id[:8]} config, tags",
                "\n".join(
                    strings_in(
                        [
                            run.run_config,
                            run.tags,
                            run.asset_selection and [k.to_user_string() for k in run.asset_selection],
                        ]
                    )
                ),
            )
            for entry in instance.all_logs(run.run_id):
                yield (
                    f"run {run.run_id[:8]} event {entry.dagster_event_type or 'log'}",
                    "\n".join(strings_in(json.loads(dg.serialize_value(entry)))),
                )
    finally:
        instance.dispose()
    # and the control store, which holds call ids and keyed hashes only (core/subjects.py) — but for the
    # transcript search index (issue 19), a copy of the REDACTED segments: checked apart, below
    for db in sorted(home.rglob("*.db")) + sorted(data_dir.glob("control.db")):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall():
                if db.name == "control.db" and table.startswith(SEARCH_INDEX_TABLES):
                    continue
                for row in con.execute(f'SELECT * FROM "{table}"'):
                    yield f"{db.relative_to(data_dir)}:{table}", "\n".join(strings_in(list(row)))
        finally:
            con.close()


SEARCH_INDEX_TABLES = ("search_segments", "search_fts")


@pytest.mark.slow
def test_p21_the_demos_search_index_holds_only_redacted_text_each_row_a_redacted_segment(demo_run):
    """The search index (control store, issue 19) is the one control-store table with transcript text: it
    must be exactly the redacted segments (placeholders, no phone, e-mail or name), nothing else."""
    import pyarrow.parquet as pq

    data_dir, _captured = demo_run
    redacted = set()
    for part in (data_dir / "objects" / "datasets").glob("*/redacted_segments/day=*/part.parquet"):
        t = pq.read_table(part, columns=["tenant_id", "call_id", "segment_index", "text"])
        redacted |= {(r["tenant_id"], r["call_id"], r["segment_index"], r["text"].strip()) for r in t.to_pylist()}
    con = sqlite3.connect(f"file:{data_dir / 'control.db'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT tenant_id, call_id, segment_index, text FROM search_segments").fetchall()
    finally:
        con.close()
    assert rows and redacted
    assert {(t, c, i, x) for t, c, i, x in rows} <= redacted
    scanner = PiiScanner(
        {k: v for k, v in _fixture_scanner().needles.items() if not v.startswith("transcript sentence")}
    )
    assert not [f for r in rows for f in scanner.scan("search_segments", r[3])]


# `demo_run` (``ccr demo --reset`` once per session) is in conftest.py: test_lineage reads its events too.


@pytest.mark.slow
def test_p7_p21_the_demo_leaves_no_phone_email_or_transcript_text_in_logs_or_dagster_events(demo_run):
    data_dir, captured = demo_run
    scanner = _fixture_scanner()
    sources = list(demo_sources(data_dir, captured))
    kinds = {s.split(" ")[0].split(":")[0] for s, _ in sources}
    # the scan really read each kind of place (a renamed folder must not turn it into a no-op)
    assert {
        "demo",
        "run",
        "dagster_home/history/runs.db",
        "dagster_home/schedules/schedules.db",
        "control.db",
    } <= kinds, kinds
    assert any("compute_logs" in s for s, _ in sources) and sum(1 for s, _ in sources if s.startswith("run ")) > 100
    # the demo did process the personal data it must keep out of the logs
    assert "quarantined=7" in captured["demo stdout"] and "suppressed=1" in captured["demo stdout"]
    findings = [f for source, text in sources for f in scanner.scan(source, text)]
    assert not findings, "personal data found:\n" + "\n".join(map(str, sorted(set(findings), key=str)))
    print(f"PII scan: {len(sources)} sources, {sum(len(t) for _, t in sources)} characters, 0 findings")


@pytest.mark.slow
def test_p5_after_ccr_demo_every_file_under_the_data_dir_is_0600_and_every_folder_0700(demo_run):
    """Control store, DuckDB warehouse, restricted_calls.parquet, Dagster home, objects: the operator's alone."""
    data_dir, _ = demo_run
    paths = [data_dir, *data_dir.rglob("*")]
    names = {p.name for p in paths}
    assert {
        "control.db",
        "warehouse.duckdb",
        "restricted_calls.parquet",
        "dagster_home",
        "objects",
        "runs.db",
    } <= names, sorted(names)[:50]
    loose = {
        str(p.relative_to(data_dir)): oct(p.stat().st_mode & 0o777)
        for p in paths
        if not p.is_symlink() and (p.stat().st_mode & 0o777) != (0o700 if p.is_dir() else 0o600)
    }
    assert not loose, dict(list(loose.items())[:20])
    print(f"P5: {len(paths)} paths under the demo's data dir, all 0600 / 0700")


@pytest.mark.slow
def test_p7_the_demo_scan_catches_a_planted_phone_email_or_transcript_sentence(demo_run, tmp_path):
    data_dir, captured = demo_run
    scanner = _fixture_scanner()
    expected = json.loads((fixtures_dir() / "expected.json").read_text(encoding="utf-8"))
    sentence = expected["good"]["raw/acme-energie/2026/11/16/c-1002.ogg"]["utterances"][3]["text"]
    plants = {
        "fixture e-mail #1": "jean.dupont@exemple.fr",
        "fixture phone #1": "06 12 34 56 78",
        "transcript sentence c-1002/3": sentence.upper().replace(" ", "\n  "),
        "e-mail pattern": "someone.else@example.org",
        "phone pattern (FR)": "01.45.67.89.10",
    }
    for label, text in plants.items():
        got = {f.label for f in scanner.scan("planted", f"INFO step ok {text} done")}
        assert label in got, (label, got)
    # planted in a real event of (a copy of) the demo's instance: found through the API and in the raw file
    copy = tmp_path / "var"
    shutil.copytree(data_dir / "dagster_home", copy / "dagster_home")
    instance = dg.DagsterInstance.from_config(str(copy / "dagster_home"))
    try:
        run = instance.get_runs(limit=1)[0]
        instance.report_engine_event(f"lookup for {plants['fixture phone #1']}", run)
    finally:
        instance.dispose()
    hits = [(s, f.label) for s, t in demo_sources(copy, {}) for f in scanner.scan(s, t)]
    assert any(s.startswith(f"run {run.run_id[:8]}") and label == "fixture phone #1" for s, label in hits)
    assert any(s.startswith("dagster_home/history/runs/") and label == "fixture phone #1" for s, label in hits)


def test_p17_p21_an_uploaded_key_that_holds_a_phone_number_reaches_run_config_only_as_a_keyed_digest(tmp_path):
    """The inbox sensor hands a run keyed digests of its keys (no call id, no file name: run config is kept
    by Dagster for good); the run finds the objects again by listing the inbox."""
    from ccr_pipelines.core.ingest_sensor import key_digest
    from ccr_pipelines.defs.ingest.sensors import run_config_for

    bad = "raw/acme-energie/2026/11/16/0612345678.wav"
    cfg = run_config_for("acme-energie", [bad, "raw/acme-energie/2026/11/16/c-1.wav"], "k")
    text = json.dumps(cfg)
    assert not PiiScanner({f: "phone" for f in phone_forms("0612345678")}).scan("config", text)
    assert not names_call(text, "c-1") and "0612345678" not in text
    digests = cfg["ops"]["silver__ingest__call_manifest"]["config"]["key_digests"]
    assert digests == [key_digest("k", bad), key_digest("k", "raw/acme-energie/2026/11/16/c-1.wav")]
