"""P3, P4: a fuzz test of the whole ``ccr`` CLI, on a SQLite and a PostgreSQL control store.

Hypothesis generates command lines over every subcommand and option, mixing valid values with
hostile strings (control characters, ANSI escapes, look-alikes, SQL, traversal, 1,200 and 10,000
characters), huge numbers, bad dates and unwritable paths, run as several callers (the admin, an
analyst, a caller with no role, a malformed identity). Each invocation drives ``cli.main`` in
process; a sample also runs as a real ``python -m ccr_pipelines.cli`` subprocess. Counted:
tracebacks (an exception out of ``main``, its last-resort handler, or "Traceback" printed: must
be 0) and writes on a refused call (rows in any control-store table or files in the object store
after an error: must be 0, except the one access-log row of a refusal for lack of a role).
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ccr_pipelines.core.access import COMMANDS

from .cli_helpers import StoreSnapshot, is_traceback, run_cli, subprocess_cli
from .fault_helpers import record_figures

REPO = Path(__file__).resolve().parents[1]
IN_PROCESS_EXAMPLES = int(os.environ.get("CCR_CLI_FUZZ_EXAMPLES", "2000"))
SUBPROCESS_SAMPLES = {"sqlite": 60, "postgres": 40}  # 100 real subprocesses in all

ADMIN, ANALYST, NOBODY = "fuzz-admin", "fuzz-analyst", "fuzz-nobody"

HOSTILE = [
    "",
    " ",
    "-",
    "--",
    "\x00",
    "a\nb",
    "\r\n",
    "\t",
    "\x1b[31mred\x1b[0m",
    "\x7f",
    "\u202eevil",
    "\u200b",
    "../../etc/passwd",
    "/etc/shadow",
    "acme-energie/../globex-support",
    "x' OR '1'='1",
    "acme-energie'; DROP TABLE access_log;--",
    "\u0430cme-energie",
    "acme\u2011energie",
    "\uff41cme-energie",
    "unrouted",
    "platform",
    "UNROUTED",
    "%s%s%n",
    "{0}",
    "${HOME}",
    "$(id)",
    "`id`",
    "\udcff",
    "é" * 50,
    "0612345678",
    "+33 6 12 34 56 78",
    "jean.dupont@example.org",
    "a" * 1200,
    "é" * 10_000,
    "1" * 100,
    "-1",
    "0",
    "1e9",
    "NaN",
    "inf",
    "0x10",
    "99999999999999999999",
    str(2**63),
    str(2**31),
    "٣",
    "１２",
]
TENANTS = ["acme-energie", "globex-support", "initech-paused", "no-such-tenant"]
DATES = [
    "2026-11-16",
    "2026-11-30",
    "9999-12-31",
    "0001-01-01",
    "1999-12-31",
    "2101-01-01",
    "2026-02-30",
    "2026-13-01",
    "2026-1-1",
    "20261116",
    "2026-11-16T00:00:00",
    "2026-11-16" * 1000,
    "２０２６-11-16",
]
INTS = ["1", "2", "3", "0", "-1", "99999999999999999999", str(2**63 - 1), str(2**63), "1.5", "007", "1" * 30]
IDS = ["c-1", "c-0612345678", "call_42", "a" * 64, "a" * 65, "c/1", "c 1"]
PERIODS = ["2026-W47", "2026-11", "9999-W52", "9999-12", "2026-W54", "2026-W00", "2026-00", "1999-01"]
PHONES = ["+33 6 12 34 56 78", "0612345678", "06 12", "not a phone"]
EMAILS = ["jean.dupont@example.org", "no-at-sign", "a@b"]
REFS = ["CUST-1", "C" * 129]
BACKUP_IDS = ["20261130T000000Z", "20261130T000000", "2026-11-30", "99999999T999999Z"]
QUERIES = ["facture", "Électricité CHÈRE", "résilier contrat", "!!!", "a b c d e f g h i", "x" * 41, "0612345678"]
ROLES = ["admin", "operator", "dpo", "analyst", "auditor", "root", "ADMIN"]
PRINCIPALS = [ADMIN] * 8 + [ANALYST, ANALYST, NOBODY, NOBODY, "bad principal", "x\ny", "a" * 200]


def _hostile() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.text(max_size=40),
        st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF), min_size=1000, max_size=1300),
    )


def _v(*pools: list[str]) -> st.SearchStrategy[str]:
    """A value: mostly from the typed pools (valid and near-valid), one time in five hostile."""
    pool = st.sampled_from([x for p in pools for x in p])
    return st.one_of(pool, pool, pool, pool, _hostile())


def _paths(tmp: Path) -> list[str]:
    return [
        str(tmp / "out" / "pack.zip"),
        str(tmp / "missing" / "pack.zip"),
        str(tmp / "out"),
        "/proc/nope.zip",
        "/",
        str(tmp / "out" / ("p" * 300)),
        "",
    ]


def _urls(tmp: Path) -> list[str]:
    return [
        f"sqlite:///{tmp}/out/restore.db",
        "sqlite://",
        "sqlite:///:memory:",
        f"sqlite:///{tmp}/missing/x.db",
        "mysql://u@h/db",
        "not a url",
        "postgresql://",
    ]


def _opt(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    given, none = values.map(lambda v: [name, v]), st.just([])
    return st.one_of(*[none] * 6, *[given] * 3, *[none] * 10, *[given] * 10, st.just([name]))


def _flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.sampled_from([[], [name]])


def _cmd(head: list[str], positional: list[st.SearchStrategy], options: list[st.SearchStrategy]):
    """head + positionals (each maybe left out) + options in a random order + maybe a stray token."""
    pos = st.tuples(*[st.one_of(p.map(lambda v: [v]), st.just([])) for p in positional]) if positional else st.just(())
    opts = st.tuples(*options).flatmap(lambda parts: st.permutations(list(parts))) if options else st.just([])
    none = st.just([])
    extra = st.one_of(
        none,
        none,
        none,
        none,
        none,
        none,
        none,
        none,
        _hostile().map(lambda v: [v]),
        st.sampled_from([["--actor", "mallory"], ["--help"], ["--bogus"], ["--actor=mallory"]]),
    )
    return st.tuples(pos, opts, extra).map(
        lambda t: head + [x for p in t[0] for x in p] + [x for o in t[1] for x in o] + t[2]
    )


def invocations(tmp: Path) -> st.SearchStrategy[list[str]]:
    tenant, day, num = _v(TENANTS), _v(DATES), _v(INTS)
    text = _v(["incident 12", "objection", "complex request"])
    paths, urls = _v(_paths(tmp)), _v(_urls(tmp))
    ident = st.one_of(_v(PHONES, EMAILS, REFS))
    commands = {
        "demo": _cmd(["demo"], [], [_flag("--reset"), _flag("--quiet"), _flag("--resume")]),
        "settings": _cmd(["settings"], [], []),
        "tenants": st.sampled_from(["list", "validate", "suspend", "resume", "pause"]).flatmap(
            lambda a: _cmd(
                ["tenants", a], [tenant], [_opt("--file", paths), _opt("--reason", text), _opt("--incident", num)]
            )
        ),
        "db": st.sampled_from(["migrate", "current", "history", "downgrade", "drop"]).flatmap(
            lambda a: _cmd(["db", a], [_v(["0013", "0014", "0012", "13", "0001", "head", "-1"], INTS)], [])
        ),
        "ingest": _cmd(["ingest", "status"], [], [_opt("--tenant", tenant), _flag("--json")]),
        "suppress": _cmd(
            ["suppress"],
            [tenant],
            [_opt("--type", _v(["phone", "email", "customer_ref"])), _opt("--value", ident), _opt("--reason", text)],
        ),
        "dsr": st.sampled_from(
            ["export", "erase", "restrict", "suppress", "lift", "extend", "run", "receipt", "list", "delete"]
        ).flatmap(
            lambda a: _cmd(
                ["dsr", a],
                [st.one_of(tenant, num)],
                [
                    _opt("--phone", _v(PHONES)),
                    _opt("--email", _v(EMAILS)),
                    _opt("--customer-ref", _v(REFS)),
                    _opt("--received", day),
                    _opt("--reason", text),
                    _opt("--tenant", tenant),
                    _flag("--register-only"),
                ],
            )
        ),
        "review": _cmd(
            ["review", "decide"],
            [tenant, _v(IDS)],
            [_opt("--status", _v(["confirmed", "overridden", "dismissed", "unreviewed"]))],
        ),
        "purge": _cmd(["purge"], [], [_flag("--execute"), _opt("--today", day), _flag("--verbose")]),
        "incidents": st.sampled_from(["list", "ack", "resolve"]).flatmap(
            lambda a: _cmd(
                ["incidents", a],
                [num],
                [_flag("--all"), _opt("--limit", num), _opt("--root-cause", text), _opt("--corrective-action", text)],
            )
        ),
        "backup": st.sampled_from(["create", "list", "verify", "restore"]).flatmap(
            lambda a: _cmd(
                ["backup", a],
                [_v(BACKUP_IDS)],
                [_opt("--into", urls), _opt("--marts-into", paths), _flag("--no-hash"), _flag("--json")],
            )
        ),
        "reports": _cmd(
            ["reports", "link"],
            [tenant],
            [_opt("--kind", _v(["weekly", "monthly"])), _opt("--day", day), _opt("--expires", num)],
        ),
        "lineage": st.sampled_from(["call", "subject", "report"]).flatmap(
            lambda w: _cmd(
                ["lineage", w],
                [tenant, _v(IDS, PERIODS, PHONES, EMAILS)],
                [_opt("--type", _v(["phone", "email", "customer_ref"])), _flag("--json")],
            )
        ),
        "audit": _cmd(
            ["audit", "pack"],
            [],
            [_opt("--tenant", tenant), _opt("--from", day), _opt("--to", day), _opt("--out", paths)],
        ),
        "search": _cmd(
            ["search"],
            [tenant, _v(QUERIES)],
            [
                _opt("--speaker", _v(["agent", "customer", "nobody"])),
                _opt("--from", day),
                _opt("--to", day),
                _opt("--category", _v(["churn", "billing.v1", "a/b", ""])),
                _opt("--limit", num),
                _flag("--json"),
            ],
        ),
        "access": st.sampled_from(["whoami", "list", "grant", "revoke", "allow", "deny", "bootstrap"]).flatmap(
            # NOBODY is never granted anything (its refusals stay refusals); ADMIN is never revoked
            lambda a: _cmd(
                ["access", a],
                [_v([ANALYST, "x@y", "svc@corp"], ROLES), _v(ROLES, list(COMMANDS))],
                [_opt("--reason", text)],
            )
        ),
    }
    return st.one_of(*commands.values(), _hostile().map(lambda v: [v]))


# Valid runs of these would do real, slow work (the whole demo pipeline, a dbt rebuild of the marts,
# an erasure): they are fuzzed as callers who may not run them, so validation and the role check run
# on every input and the body never does. Their bodies have their own tests.
HEAVY = ("demo", "dsr", "purge")
# Valid runs of this one change the schema, and the next command (any, even a refused one) migrates
# it back, writing: fuzzed as a caller who may not run it too (test_schema_migrations.py runs it).
HEAVY_ACTIONS = (("db", "downgrade"),)


def _principal_for(argv: list[str], principal: str) -> str:
    if argv and (argv[0] in HEAVY or tuple(argv[:2]) in HEAVY_ACTIONS) and principal == ADMIN:
        return NOBODY
    return principal


# Read-only commands: an admin's call of one writes nothing, whatever the state, so it can be replayed.
READ_ONLY = {
    "settings",
    "db.current",
    "db.history",
    "tenants.list",
    "tenants.validate",
    "ingest.status",
    "access.whoami",
    "access.list",
    "incidents.list",
    "backup.list",
    "backup.verify",
    "dsr.list",
    "dsr.receipt",
    "(unparsed)",
}


def _command_of(argv: list[str]) -> str:
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from ccr_pipelines.cli import _command_key, build_parser

    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            args = build_parser().parse_args(argv)
    except BaseException:
        return "(unparsed)"
    return _command_key(args)


def _subprocess_ok(argv: list[str]) -> bool:
    try:
        return all("\x00" not in a and os.fsencode(a) is not None for a in argv)
    except UnicodeError:
        return False


@pytest.fixture(params=["sqlite", "postgres"])
def fuzz_world(request, tmp_path, monkeypatch):
    """The local profile (objects in tmp) on a SQLite file or a fresh PostgreSQL database."""
    data = tmp_path / "var"
    (tmp_path / "out").mkdir()
    # in-process calls write their default outputs (an audit pack's ./audit-pack-….zip) here, not in the checkout
    monkeypatch.chdir(tmp_path / "out")
    monkeypatch.setenv("CCR_DATA_DIR", str(data))
    monkeypatch.setenv("CCR_ENV", "local")
    monkeypatch.setenv("CCR_TENANTS_FILE", str(REPO / "ccr_pipelines" / "config" / "tenants" / "local.yaml"))
    if request.param == "sqlite":
        url = f"sqlite:///{data}/control.db"
        monkeypatch.delenv("CCR_SETTINGS_FILE", raising=False)
    else:
        url = request.getfixturevalue("pg_url")
        profile = (
            (REPO / "ccr_pipelines" / "config" / "local.yaml")
            .read_text()
            .replace('"sqlite:///{data_dir}/control.db"', f'"{url}"')
        )
        assert url in profile
        (tmp_path / "profile.yaml").write_text(profile)
        monkeypatch.setenv("CCR_SETTINGS_FILE", str(tmp_path / "profile.yaml"))
    # the first caller of the local store becomes its admin; an analyst is granted by it
    rc, _o, err, _ = run_cli(["access", "grant", ANALYST, "analyst", "--reason", "fuzz"], principal=ADMIN)
    assert rc == 0, err
    snap = StoreSnapshot(url, data / "objects", tmp_path / "out")
    yield request.param, tmp_path, snap
    snap.dispose()


def test_p3_p4_fuzz_the_whole_cli_no_traceback_and_no_write_on_a_refused_call(fuzz_world, capsys):
    engine, tmp, snap = fuzz_world
    stats = Counter()
    commands = Counter()
    reasons = Counter()
    problems: list[str] = []
    samples: dict[str, list] = {}
    state = {"snap": snap.take()}
    started = time.monotonic()

    from .test_access import _argv_for

    # every command key in turn, whatever hypothesis draws (it weighs branches unevenly): the privileged
    # commands' valid lines, plus the ones any caller may run (bootstrap: refused once an admin exists)
    templates = [argv for _k, argv in sorted(_argv_for(tmp).items())] + [
        ["access", "bootstrap"],
        ["access", "whoami"],
        ["settings"],
        ["tenants", "validate"],
    ]

    @settings(
        max_examples=IN_PROCESS_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(
        argv=invocations(tmp),
        principal=st.sampled_from(PRINCIPALS),
        hostile=_hostile(),
        where=st.integers(min_value=0, max_value=20),
    )
    def one(argv, principal, hostile, where):
        n = stats["invocations"]
        if n % 3 == 0:
            # every third call: a valid command line of each command in turn (hypothesis weighs its
            # branches unevenly), one time in four with one token replaced by a hostile value
            argv = list(templates[(n // 3) % len(templates)])
            if (n // 3) % 4 == 3:
                argv[min(where, len(argv) - 1)] = hostile
        principal = _principal_for(argv, principal)
        before = state["snap"]
        rc, out, err, escaped = run_cli(argv, principal=principal)
        after = snap.take()
        state["snap"] = after
        command = _command_of(argv)
        commands[command] += 1
        stats["invocations"] += 1
        if is_traceback(rc, err, escaped):
            stats["tracebacks"] += 1
            problems.append(f"traceback {command} rc={rc} {type(escaped).__name__ if escaped else err[-300:]!r}")
            return
        lines = err.strip().splitlines()
        if len(lines) > 1 or len(err) > 700:
            stats["long_errors"] += 1
            problems.append(f"error not one short line: {command} {err[:200]!r}")
        if rc == 2:
            stats["refused"] += 1
            reasons[" ".join(err.split()[2:5])[:50]] += 1
            delta = snap.delta(before, after)
            access_refusal = "access refused" in err
            stats["access_refusals"] += access_refusal
            if delta != ({"access_log": 1} if access_refusal else {}):
                stats["writes_on_refusal"] += 1
                problems.append(f"write on refusal: {command} {delta} {err[:200]!r}")
        else:
            stats[f"rc{rc}"] += 1
        # replayable as a subprocess whatever the state by then: a refusal by validation or identity,
        # a refusal of NOBODY (never granted anything), or an admin's read-only call that wrote nothing
        wrote = snap.delta(before, after)
        access_refusal = "access refused" in err
        replayable = (
            (rc == 2 and not wrote and not access_refusal)
            or (rc == 2 and access_refusal and principal == NOBODY and wrote == {"access_log": 1})
            or (principal == ADMIN and command in READ_ONLY and not wrote)
        )
        if replayable and _subprocess_ok(argv):
            samples.setdefault(command, []).append((argv, principal, rc, wrote))

    one()
    elapsed = time.monotonic() - started

    # --- the same kind of calls as real subprocesses (the entry point, argv decoding) --------
    picked, want = [], SUBPROCESS_SAMPLES[engine]
    for i in range(want):  # round-robin over the commands, so each is sampled
        for command in sorted(samples):
            if len(picked) < want and i < len(samples[command]):
                picked.append(samples[command][i])
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    before = snap.take()
    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda s: (s, subprocess_cli(s[0], principal=s[1], env=env, cwd=tmp / "out")), picked))
    sub_elapsed = time.monotonic() - t0
    sub = Counter()
    for (argv, _principal, rc_in, _wrote), (rc, _out, err) in results:
        sub["invocations"] += 1
        if "Traceback" in err or rc not in (0, 1, 2):
            sub["tracebacks"] += 1
            problems.append(f"subprocess traceback {argv[:2]} rc={rc} {err[-300:]!r}")
        if rc != rc_in:
            problems.append(f"subprocess rc {rc} != in-process {rc_in} for {argv[:2]}: {err[:200]!r}")
        if "access refused" in err:
            sub["access_refusals"] += 1
    delta = snap.delta(before, snap.take())
    expected = {"access_log": sub["access_refusals"]} if sub["access_refusals"] else {}
    sub["writes_on_refusal"] = 0 if delta == expected else 1
    if delta != expected:
        problems.append(f"subprocess samples wrote {delta}, expected {expected}")

    figures = dict(
        engine=engine,
        invocations=stats["invocations"],
        tracebacks=stats["tracebacks"],
        refused=stats["refused"],
        access_refusals=stats["access_refusals"],
        writes_on_refusal=stats["writes_on_refusal"],
        ok=stats["rc0"],
        not_found=stats["rc1"],
        commands=len(commands),
        seconds=round(elapsed, 1),
        subprocess_invocations=sub["invocations"],
        subprocess_tracebacks=sub["tracebacks"],
        subprocess_writes_on_refusal=sub["writes_on_refusal"],
        subprocess_seconds=round(sub_elapsed, 1),
    )
    record_figures(f"cli_fuzz_{engine}", **figures)
    with capsys.disabled():
        print(f"\nP3/P4 CLI fuzz [{engine}]: " + ", ".join(f"{k}={v}" for k, v in figures.items()), file=sys.stderr)
    if os.environ.get("CCR_CLI_FUZZ_REASONS"):
        print(reasons.most_common(25), file=sys.stderr)
    assert not problems, "\n".join(problems[:20])
    assert stats["invocations"] >= IN_PROCESS_EXAMPLES and stats["tracebacks"] == stats["writes_on_refusal"] == 0
    assert sub["invocations"] >= want and sub["tracebacks"] == 0
    # every subcommand was generated, and its refusals and results were seen
    seen = {c.split(".")[0] for c in commands}
    assert {c.split(".")[0] for c in COMMANDS} <= seen, sorted({c.split(".")[0] for c in COMMANDS} - seen)
    assert stats["access_refusals"] > 0 and stats["rc0"] > 0
    assert set(COMMANDS) <= set(commands), sorted(set(COMMANDS) - set(commands))  # every command key, too
