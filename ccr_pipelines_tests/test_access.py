"""P3: access to the ``ccr`` commands is enforced, not declared. Roles and grants live in the
control store; the caller is the identity the platform sets (CCR_PRINCIPAL), the OS user locally;
a refused command writes one access-log row (a digest of the command line, never the input) and
nothing else; Dagster runs record who launched them."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from ccr_pipelines.core.access import (
    COMMANDS,
    DEFAULT_ROLE_COMMANDS,
    OPEN_COMMANDS,
    ROLES,
    IdentityError,
    actor_from_run,
    argv_digest,
    caller_principal,
)
from ccr_pipelines.stores.control_store import ControlStore, access_grants, access_log, audit_log

from .cli_helpers import StoreSnapshot, is_traceback, run_cli

ADMIN, NOBODY, ANALYST = "admin@example.org", "mallory@example.org", "ana@example.org"
DAY = "2026-11-16"
PHONE = "+33 6 12 34 56 78"


def _argv_for(tmp_path) -> dict[str, list[str]]:
    """One VALID command line per privileged command: any refusal is then the role check's."""
    t = "acme-energie"
    return {
        "demo": ["demo", "--quiet"],
        "db.migrate": ["db", "migrate"],
        "db.current": ["db", "current"],
        "db.history": ["db", "history"],
        "db.downgrade": ["db", "downgrade", "0013"],
        "tenants.list": ["tenants", "list"],
        "tenants.suspend": ["tenants", "suspend", t, "--reason", "incident 1"],
        "tenants.resume": ["tenants", "resume", t, "--reason", "incident 1 fixed"],
        "ingest.status": ["ingest", "status", "--tenant", t],
        "suppress": ["suppress", t, "--type", "phone", "--value", PHONE],
        "dsr.export": ["dsr", "export", t, "--phone", PHONE],
        "dsr.erase": ["dsr", "erase", t, "--phone", PHONE, "--email", "a.b@example.org"],
        "dsr.restrict": ["dsr", "restrict", t, "--customer-ref", "CUST-1"],
        "dsr.suppress": ["dsr", "suppress", t, "--phone", PHONE],
        "dsr.lift": ["dsr", "lift", "1"],
        "dsr.extend": ["dsr", "extend", "1", "--reason", "complex request"],
        "dsr.run": ["dsr", "run", "1"],
        "dsr.receipt": ["dsr", "receipt", "1"],
        "dsr.list": ["dsr", "list", "--tenant", t],
        "review.decide": ["review", "decide", t, "c-1", "--status", "confirmed"],
        "purge": ["purge", "--today", DAY],
        "purge.execute": ["purge", "--execute", "--today", DAY],
        "incidents.list": ["incidents", "list"],
        "incidents.ack": ["incidents", "ack", "1"],
        "incidents.resolve": ["incidents", "resolve", "1", "--root-cause", "x", "--corrective-action", "y"],
        "backup.create": ["backup", "create"],
        "backup.list": ["backup", "list"],
        "backup.verify": ["backup", "verify", "20261130T000000Z"],
        "backup.restore": ["backup", "restore", "20261130T000000Z", "--into", f"sqlite:///{tmp_path}/r.db"],
        "reports.link": ["reports", "link", t, "--day", DAY],
        "lineage.call": ["lineage", "call", t, "c-0612345678"],
        "lineage.subject": ["lineage", "subject", t, PHONE, "--type", "phone"],
        "lineage.report": ["lineage", "report", t, "2026-W47"],
        "audit.pack": [
            "audit",
            "pack",
            "--tenant",
            t,
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--out",
            str(tmp_path / "pack.zip"),
        ],
        "access.list": ["access", "list"],
        "access.grant": ["access", "grant", NOBODY, "admin", "--reason", "let me in"],
        "access.revoke": ["access", "revoke", ADMIN, "admin", "--reason", "lock them out"],
        "access.allow": ["access", "allow", "analyst", "dsr.erase", "--reason", "why not"],
        "access.deny": ["access", "deny", "dpo", "dsr.erase", "--reason", "why not"],
        "search": ["search", t, "facture électricité", "--speaker", "customer", "--from", DAY],
    }


@pytest.fixture
def world(local_settings_env, tmp_path):
    """A local store whose first caller (ADMIN) became admin, plus an analyst."""
    rc, _out, err, _ = run_cli(["access", "grant", ANALYST, "analyst", "--reason", "QA team"], principal=ADMIN)
    assert rc == 0, err
    url = f"sqlite:///{local_settings_env}/control.db"
    snap = StoreSnapshot(url, local_settings_env, tmp_path / "out")
    yield url, snap
    snap.dispose()


def test_p3_every_privileged_command_is_refused_without_the_role_logged_and_nothing_else_written(world, tmp_path):
    url, snap = world
    argvs = _argv_for(tmp_path)
    assert set(argvs) == set(COMMANDS) - OPEN_COMMANDS  # every command that needs a role is tried
    control = ControlStore(url)
    refused = 0
    for principal in (NOBODY, ANALYST):
        allowed = set(DEFAULT_ROLE_COMMANDS["analyst"]) if principal == ANALYST else set()
        for command, argv in argvs.items():
            if command in allowed:
                continue
            before = snap.take()
            last = control.fetch(sa.select(sa.func.max(access_log.c.id)))[0]["max_1"] or 0
            rc, out, err, escaped = run_cli(argv, principal=principal)
            assert not is_traceback(rc, err, escaped), (command, err)
            assert rc == 2 and out == "" and err.count("\n") == 1, (command, rc, out[:200], err[:300])
            assert "access refused" in err and f"'{command}'" in err, (command, err)
            assert snap.delta(before, snap.take()) == {"access_log": 1}, command  # the refusal row, nothing else
            [row] = control.fetch(sa.select(access_log).where(access_log.c.id > last))
            assert (row["actor"], row["action"], row["purpose"]) == (principal, "refused", f"ccr {command}")
            assert row["object"] == f"cli/{command} argv {argv_digest(argv)}"
            assert PHONE not in json.dumps(row, default=str) and "let me in" not in row["object"]
            refused += 1
    assert refused == 2 * len(argvs) - len(DEFAULT_ROLE_COMMANDS["analyst"])
    # nothing the refused callers asked for happened
    assert [r["principal"] for r in control.fetch(sa.select(access_grants).order_by(access_grants.c.id))] == [
        ADMIN,
        ANALYST,
    ]
    control.dispose()


def test_p3_each_role_runs_exactly_its_commands(world):
    from ccr_pipelines.services import access

    url, _snap = world
    control = ControlStore(url)
    try:
        for role in ROLES:
            principal = f"{role}-user"
            if role != "admin":
                access.set_grant(control, principal, role, granted=True, actor=ADMIN, reason="test")
            else:
                principal = ADMIN
            for command in COMMANDS:
                should = command in OPEN_COMMANDS or role == "admin" or command in DEFAULT_ROLE_COMMANDS[role]
                try:
                    access.check(control, principal, command, argv=[command])
                    ok = True
                except access.AccessDenied:
                    ok = False
                assert ok is should, (role, command)
    finally:
        control.dispose()


def test_p3_p20_grants_are_audited_and_the_caller_is_the_platform_identity(world, capsys):
    url, _snap = world
    # --actor is refused in one line, whatever its value, and nothing is written
    rc, out, err, _ = run_cli(
        ["tenants", "suspend", "acme-energie", "--reason", "x", "--actor", ADMIN], principal=NOBODY
    )
    assert rc == 2 and "--actor is no longer accepted" in err and err.count("\n") == 1
    # the analyst may decide reviews but not erase; the admin allows it for the role, audited
    assert (
        run_cli(["access", "allow", "analyst", "dsr.list", "--reason", "QA needs the queue"], principal=ANALYST)[0] == 2
    )
    assert (
        run_cli(["access", "allow", "analyst", "dsr.list", "--reason", "QA needs the queue"], principal=ADMIN)[0] == 0
    )
    assert run_cli(["dsr", "list"], principal=ANALYST)[0] == 0
    assert (
        run_cli(["access", "deny", "analyst", "dsr.list", "--reason", "back to least privilege"], principal=ADMIN)[0]
        == 0
    )
    assert run_cli(["dsr", "list"], principal=ANALYST)[0] == 2
    # the last admin cannot be revoked; a second admin can revoke the first
    rc, _o, err, _ = run_cli(["access", "revoke", ADMIN, "admin", "--reason", "leaving"], principal=ADMIN)
    assert rc == 2 and "last admin" in err
    assert run_cli(["access", "grant", "second@example.org", "admin", "--reason", "handover"], principal=ADMIN)[0] == 0
    assert run_cli(["access", "revoke", ADMIN, "admin", "--reason", "leaving"], principal="second@example.org")[0] == 0
    assert run_cli(["tenants", "list"], principal=ADMIN)[0] == 2
    rc, out, _e, _ = run_cli(["access", "whoami"], principal=ADMIN)
    assert rc == 0 and out.strip() == f"{ADMIN}: no role"
    # bootstrap is refused once an admin exists
    rc, _o, err, _ = run_cli(["access", "bootstrap"], principal=NOBODY)
    assert rc == 2 and "has an admin already" in err
    control = ControlStore(url)
    audits = control.fetch(
        sa.select(audit_log).where(audit_log.c.entity.in_(["access_grant", "access_role"])).order_by(audit_log.c.id)
    )
    control.dispose()
    assert [(a["actor"], a["entity"], a["entity_id"]) for a in audits] == [
        ("ccr:local-profile", "access_grant", ADMIN),
        (ADMIN, "access_grant", ANALYST),
        (ADMIN, "access_role", "analyst"),
        (ADMIN, "access_role", "analyst"),
        (ADMIN, "access_grant", "second@example.org"),
        ("second@example.org", "access_grant", ADMIN),
    ]
    assert [a["change"].get("granted", a["change"].get("allowed")) for a in audits] == [
        True,
        True,
        True,
        False,
        True,
        False,
    ]


def test_p3_outside_the_local_profile_the_caller_must_be_set_by_the_platform(monkeypatch):
    assert caller_principal({"CCR_PRINCIPAL": "svc-dpo@corp"}, profile="prod") == "svc-dpo@corp"
    with pytest.raises(IdentityError, match="CCR_PRINCIPAL is not set"):
        caller_principal({}, profile="prod")
    with pytest.raises(IdentityError, match="not a valid principal"):
        caller_principal({"CCR_PRINCIPAL": "a\nb"}, profile="local")
    monkeypatch.setenv("USER", "dev")
    assert caller_principal({}, profile="local")  # the OS user


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_p3_bootstrap_makes_one_first_admin_and_writes_the_roles(engine, tmp_path, request):
    from ccr_pipelines.services import access

    url = f"sqlite:///{tmp_path}/c.db" if engine == "sqlite" else request.getfixturevalue("pg_url")
    control = ControlStore(url)
    control.migrate()
    try:
        assert not access.has_admin(control)
        assert access.bootstrap(control, "first@corp", actor="first@corp", reason="deployment")
        assert not access.bootstrap(control, "second@corp", actor="second@corp", reason="deployment")
        assert access.grants(control) == {"first@corp": ["admin"]}
        cmds = access.role_commands(control)
        assert all(cmds[r] == set(DEFAULT_ROLE_COMMANDS[r]) for r in ROLES if r != "admin")
    finally:
        control.dispose()


def test_p3_p20_dagster_runs_record_who_launched_them():
    assert actor_from_run({"dagster/user": "alice@corp"}, job_name="dsr_erasure_job", run_id="r1") == "user:alice@corp"
    assert (
        actor_from_run({"dagster/schedule_name": "retention_purge_schedule"}, job_name="j", run_id="r1")
        == "schedule:retention_purge_schedule"
    )
    assert actor_from_run({"dagster/sensor_name": "ingest_sensor"}, job_name="j", run_id="r1") == "sensor:ingest_sensor"
    assert actor_from_run({}, job_name="j", run_id="r1") == "dagster-run:r1"
    assert actor_from_run({"dagster/user": "x\ny"}, job_name="j", run_id="r") == "user:x_y"


def test_p3_p20_a_dagster_run_launched_by_a_user_audits_that_user(tmp_path, tenants_file):
    import dagster as dg

    from ccr_pipelines.defs.platform.assets import tenant_registry

    from .test_platform_assets import _audits, _resources

    result = dg.materialize(
        [tenant_registry], resources=_resources(tmp_path, tenants_file), tags={"dagster/user": "alice@example.org"}
    )
    assert result.success
    [audit] = _audits(f"sqlite:///{tmp_path}/control.db")
    assert audit["actor"] == "user:alice@example.org"


def test_p3_access_control_holds_on_the_embedded_default_without_set_up(local_settings_env):
    # a newcomer's first command works: the OS user becomes the local store's admin (audited)
    rc, out, err, _ = run_cli(["tenants", "list"], principal=None)
    assert rc == 0 and "acme-energie" in out, err
    rc, out, _e, _ = run_cli(["access", "whoami"], principal=None)
    assert rc == 0 and out.strip().endswith(": admin")


def test_p3_a_failed_lookup_keeps_a_digest_of_the_input_never_the_input(world):
    url, _snap = world
    rc, out, err, _ = run_cli(["lineage", "call", "acme-energie", "0612345678"], principal=ADMIN)
    assert rc == 1 and "Traceback" not in err
    control = ControlStore(url)
    [row] = control.fetch(sa.select(access_log).where(access_log.c.purpose == "lineage lookup call"))
    control.dispose()
    assert "0612345678" not in json.dumps(row, default=str)
    assert row["object"] == f"lineage/call/unknown {argv_digest(['0612345678'])}"


@pytest.mark.parametrize("name", ["unrouted", "platform"])
def test_p4_internal_names_are_reserved_tenant_ids(name):
    from ccr_pipelines.core.tenants import Tenant

    with pytest.raises(ValueError, match="reserved"):
        Tenant(id=name, display_name="X", languages=["fr"], scorecard="default.v1")


def test_p3_a_deployed_profile_refuses_a_caller_the_platform_did_not_name(tmp_path, monkeypatch):
    from pathlib import Path

    import ccr_pipelines

    local = (Path(ccr_pipelines.__file__).parent / "config" / "local.yaml").read_text()
    (tmp_path / "staging.yaml").write_text(local.replace("env: local", "env: staging"))
    monkeypatch.setenv("CCR_SETTINGS_FILE", str(tmp_path / "staging.yaml"))
    monkeypatch.setenv(
        "CCR_TENANTS_FILE", str(Path(ccr_pipelines.__file__).parent / "config" / "tenants" / "local.yaml")
    )
    monkeypatch.setenv("CCR_DATA_DIR", str(tmp_path / "var"))
    rc, out, err, _ = run_cli(["tenants", "list"], principal=None)
    assert rc == 2 and out == "" and "CCR_PRINCIPAL is not set" in err and err.count("\n") == 1
    # no first-use admin outside the local profile: the deployment bootstraps one explicitly
    rc, _o, err, _ = run_cli(["tenants", "list"], principal="ops@corp")
    assert rc == 2 and "access refused" in err
    assert run_cli(["access", "bootstrap"], principal="ops@corp")[0] == 0
    rc, out, _e, _ = run_cli(["tenants", "list"], principal="ops@corp")
    assert rc == 0 and "acme-energie" in out
