"""The ``ccr`` command: demo, settings and tenants, control store, ingestion ledger, suppression, reports,
backups, lineage lookups, transcript search, the audit evidence pack, data-subject requests and the retention
purge."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from datetime import UTC

from .core.errors import CcrError

# One invocation builds one platform (ccr_pipelines.platform: settings loaded once, each store opened
# once, on first use); ``main`` closes it afterwards (the CLI is also driven in-process, by tests and
# the fuzz test).
_SESSION: dict = {}


def _platform():
    from .platform import Platform

    if "platform" not in _SESSION:
        _SESSION["platform"] = Platform.load()
    return _SESSION["platform"]


def _loaded():
    return _platform().loaded


# Commands that show or change the schema as it is: the store is not upgraded before they run
# (below the baseline it is, as it holds no role table to check the caller against before that).
_SCHEMA_AS_IS = ("db.current", "db.history", "db.downgrade")


def _control(*, migrate: bool = True):
    return _platform().control_store if migrate else _platform().control_store_as_is()


def _close_session() -> None:
    platform = _SESSION.pop("platform", None)
    if platform is not None:
        platform.close()


# -- commands ---------------------------------------------------------------
def cmd_settings(args) -> int:
    """The resolved profile; P5: every secret value masked, environment references by name."""
    from .core.settings import public_view

    loaded = _loaded()
    print(
        json.dumps(
            {"profile": str(loaded.source), **public_view(loaded.settings), "tenants_file": loaded.registry.source},
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


def cmd_tenants(args) -> int:
    from .loaders.config_files import load_tenant_registry

    registry = load_tenant_registry(args.file) if args.file else _loaded().registry
    if args.action == "validate":
        print(f"OK: {len(registry)} tenant(s) in {registry.source} (sha256 {registry.digest[:12]})")
        return 0
    if args.action in ("suspend", "resume"):
        # P12: the containment switch, in the control store, audited (P20)
        from .services import suspension

        if not args.tenant or not args.reason:
            raise CcrError(f"tenants {args.action} needs a tenant id and --reason")
        suspension.switch(
            _control(),
            registry,
            args.tenant,
            suspended=args.action == "suspend",
            actor=args.actor,
            reason=args.reason,
            incident_id=args.incident,
        )
        print(f"tenant {args.tenant}: {'suspended' if args.action == 'suspend' else 'resumed'} (audited)")
        return 0
    if not args.file:
        from .platform import registry_with_suspensions

        registry = registry_with_suspensions(registry, _control())
    for t in registry:
        state = "suspended" if t.suspended else ("terminated" if t.terminated_on else "active")
        print(f"{t.id:<24} {state:<10} {','.join(t.languages):<6} {t.timezone:<16} scorecard={t.scorecard}")
    return 0


def cmd_db(args) -> int:
    """The control store's schema, as Alembic revisions (docs/operations.md "Schema migrations")."""
    from .stores import migrations

    store = _control(migrate=False)  # opened (and checked) by the guard
    head = migrations.head()
    if args.action == "migrate":
        print(f"control store at schema version {store.migrate()} (revision {head}, the head)")
    elif args.action == "current":
        rev, version = store.current_revision(), store.current_version()
        if rev is None:
            print(
                f"control store at hand-rolled schema version {version}, not under Alembic yet: "
                f"`ccr db migrate` adopts it"
                if version
                else "control store without a schema yet"
            )
        else:
            print(
                f"control store at revision {rev}"
                + (" (the head)" if rev == head else f" (the head is {head}: `ccr db migrate` upgrades)")
            )
    elif args.action == "history":
        for r in store.history():
            marks = [m for m, on in (("head", r["head"]), ("current", r["current"]), ("baseline", r["baseline"])) if on]
            print(f"{r['revision']}  {r['description']}" + (f"  ({', '.join(marks)})" if marks else ""))
    else:
        before = store.current_revision()
        version = store.downgrade(args.revision)
        rev = migrations.rev_id(version)
        print(
            f"control store at revision {rev}"
            + (
                ""
                if rev == before
                else f" (downgraded from {before}; `ccr db migrate` or any other command upgrades it again)"
            )
        )
    return 0


def cmd_ingest_status(args) -> int:
    from .services.ingest import ledger_status

    rows = ledger_status(_control(), args.tenant)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        print(
            f"{r['tenant_id'] or '(unrouted)':<20} {r['partition_key']:<11} {r['outcome']:<12} "
            f"{r['reason'] or '':<22} {r['n']}"
        )
    return 0


def cmd_suppress(args) -> int:
    """P18: add a subject to a tenant's suppression list (keyed hash only), audited (P20)."""
    from .core.subjects import subject_hash
    from .services.dsr import add_to_suppression_list

    platform = _platform()
    platform.file_registry.require(args.tenant, active=False)
    h = subject_hash(platform.subject_hash_key(), args.tenant, args.type, args.value)
    exists = not add_to_suppression_list(
        platform.control_store,
        args.tenant,
        {h: args.type},
        reason=args.reason,
        actor=args.actor,
        store=platform.object_store,
    )
    print(f"suppressed subject {h[:16]}… for tenant {args.tenant}" + (" (already listed)" if exists else ""))
    return 0


def cmd_reports_link(args) -> int:
    """P3: issue a download link to a delivered report (presigned URL on S3, a path locally), logged.
    P4, P14: only a report published with a passed isolation check record that matches its files."""
    from datetime import date

    from .core.report_periods import period_containing
    from .services.reports import deliverable_key
    from .stores.access import TenantObjects

    platform = _platform()
    platform.file_registry.require(args.tenant, active=False)
    try:
        period = period_containing(args.kind, date.fromisoformat(args.day))
    except (ValueError, OverflowError):
        raise CcrError(f"--day: not a date (YYYY-MM-DD): {args.day[:20]!r}") from None
    store = platform.object_store
    key = deliverable_key(store, args.tenant, period)
    with TenantObjects(
        store, platform.control_store, args.tenant, actor=args.actor, purpose=f"report link {args.kind} {period.key}"
    ) as objects:
        print(objects.access_url(key, args.expires))
    return 0


def cmd_incidents(args) -> int:
    """P13: the incident register — list, acknowledge, resolve with root cause and corrective action."""
    from .services.alerting import list_incidents, set_status

    loaded = _loaded()
    control = _control()
    if args.action == "list":
        for r in list_incidents(control, limit=args.limit, include_resolved=args.all):
            breach = f" breach, authority by {r['notify_authority_by']:%Y-%m-%d %H:%M}" if r["is_breach"] else ""
            print(
                f"#{r['id']:<5} {r['severity']:<9} {r['rule']:<5} {r['status']:<12} {r['signal']} "
                f"[{', '.join(r['tenants'] or []) or 'platform'}]{breach}"
            )
        return 0
    if args.id is None:
        raise CcrError(f"incidents {args.action} needs an incident id")
    if args.tenant is not None:
        loaded.registry.require(args.tenant, active=False)
    out = set_status(
        control,
        args.id,
        "acknowledged" if args.action == "ack" else "resolved",
        actor=args.actor,
        root_cause=args.root_cause,
        corrective_action=args.corrective_action,
        tenant=args.tenant,
    )
    notes = args.root_cause is not None or args.corrective_action is not None
    print(
        f"incident {args.id}: {args.action}"
        + (f"; notes recorded for tenant {args.tenant}" if args.tenant else "")
        + (
            f"; it touches {len(out['tenants'])} tenants: their audit packs carry only notes recorded per tenant "
            "(--tenant)"
            if notes and args.tenant is None and len(out["tenants"]) > 1
            else ""
        )
    )
    return 0


def cmd_backup(args) -> int:
    """P6: back up the control store and the warehouse metadata; list backups; restore one into an empty store."""
    from .services import backup

    platform = _platform()
    store = platform.object_store
    if args.action == "create":
        m = backup.create_backup(
            platform.control_store, store, marts_path=platform.marts_file, hash_objects=not args.no_hash
        )
        print(
            f"backup {m.backup_id}: schema version {m.schema_version}, {len(m.tables)} table(s), "
            f"{m.total_rows} row(s), {m.warehouse.get('partitions', 0)} partition(s) listed"
        )
        return 0
    if args.action == "list":
        rows = backup.list_backups(store)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        for r in rows:
            state = (
                f"schema v{r['schema_version']} {r['tables']:>3} tables {r['rows']:>9} rows"
                if r["complete"]
                else "INCOMPLETE (no manifest)"
            )
            print(f"{r['backup_id']}  {state}  {r['bytes']} bytes")
        return 0
    if not args.backup_id:
        raise CcrError(f"backup {args.action} needs a backup id (see: ccr backup list)")
    if args.action == "verify":
        drift = backup.warehouse_drift(store, args.backup_id)
        print(
            f"backup {args.backup_id}: checksums match; warehouse: {drift['partitions']} partition(s) listed, "
            f"{len(drift['missing'])} missing now, {len(drift['changed'])} changed since"
        )
        return 0
    if not args.into:
        raise CcrError("backup restore needs --into URL (an empty control store)")
    from .platform import build_control_store

    target = build_control_store(args.into, migrate=False)  # restore_backup checks it is empty, migrates it
    try:  # P6, P17: the erasure ledger is re-applied before the restored store is handed back
        out = backup.restore_backup(
            store, args.backup_id, target, marts_into=args.marts_into, secret=platform.subject_hash_key()
        )
    finally:
        target.dispose()
    print(
        f"restored backup {out['backup_id']}: {out['rows']} row(s) in {out['tables']} table(s); "
        f"schema version {out['schema_version']} -> {out['target_version']}"
        + (f"; marts file at {out['marts']}" if out["marts"] else "")
        + f"; erasure ledger: {out['ledger'].get('entries', 0)} entr(y/ies) re-applied"
    )
    return 0


def cmd_lineage(args) -> int:
    """P2, P3, P9, P13, P16, P17: an auditor's lineage lookups, from the control store's indexes."""
    from .core.access import argv_digest
    from .services import lineage as svc

    platform = _platform()
    tenant = platform.file_registry.require(args.tenant, active=False)
    control = platform.control_store
    prefix = platform.uri_prefix
    if args.register_only:
        # P16: the Dagster job gets the request's id only; the target stays in the control store
        if args.what == "subject":
            hashes = svc.subject_hashes_for(platform.subject_hash_key(), tenant.id, args.target, args.type)
            if not hashes:
                raise CcrError("the identifier is not a valid phone number, e-mail or customer reference")
            kind, target = "subject_hash", hashes[0]
        else:
            kind, target = args.what, args.target
        rid = svc.register_lookup(control, tenant.id, kind, target, actor=args.actor)
        print(
            f"lookup request {rid} registered; run it with the dagster job lineage_lookup_job, config request_id={rid}"
        )
        return 0
    if args.what == "call":
        ans = svc.call_lineage(control, tenant, args.target, uri_prefix=prefix)
        text = svc.format_call(ans)
        # a call id that names no call is raw input: the access log keeps its digest and length (P3)
        obj = (
            f"lineage/call/{args.target}" if ans.get("found") else f"lineage/call/unknown {argv_digest([args.target])}"
        )
    elif args.what == "subject":
        hashes = svc.subject_hashes_for(platform.subject_hash_key(), tenant.id, args.target, args.type)
        if not hashes:
            raise CcrError("the identifier is not a valid phone number, e-mail or customer reference")
        ans = svc.subject_lineage(control, tenant, hashes, uri_prefix=prefix)
        text = "\n".join(
            [f"subject {', '.join(ans['subject_hashes'])} (tenant {tenant.id}): {len(ans['calls'])} call(s)"]
            + [
                f"  {c['call_id']:<24} {c['day']}  "
                + " → ".join(f"{a['kind']}{'' if a['status'] == 'present' else ' (deleted)'}" for a in c["artefacts"])
                + (f"  reports: {len(c['reports'])}" if c["reports"] else "")
                for c in ans["calls"]
            ]
        )
        obj = f"lineage/subject/{hashes[0][:16]}"  # never the identifier (P16)
    else:
        period = svc.parse_period(args.target)
        ans = svc.report_lineage(control, tenant, period)
        text = (
            f"{period.kind} report {period.key} of {tenant.id}: "
            + ("found" if ans["found"] else "NOT FOUND")
            + f"; {len(ans['calls'])} call(s) ({len(ans['erased_calls'])} erased); report run(s) "
            + ", ".join(ans["report_runs"])
            + "\n  score runs: "
            + ", ".join(ans["score_runs"])
            + "\n  "
            + "\n  ".join(f"{k}: {', '.join(v)}" for k, v in ans["versions"].items())
            + "\n  calls: "
            + " ".join(ans["calls"])
        )
        obj = f"lineage/report/{period.key}"
    control.log_access(
        actor=args.actor, tenant_id=tenant.id, action="read", purpose=f"lineage lookup {args.what}", obj=obj
    )
    print(json.dumps(ans, indent=2, default=str) if args.json else text)
    return 0 if (ans.get("found", True) and (args.what != "subject" or ans["calls"])) else 1


def cmd_search(args) -> int:
    """Issue 19 (P3, P4, P16, P17): one tenant's redacted segments holding every word of the query.
    One access-log row per search (a keyed digest of the query, never the words)."""
    from .core.search import SearchQueryError, clock
    from .core.settings import resolve
    from .services import search as svc

    loaded = _loaded()
    tenant = loaded.registry.require(args.tenant, active=False)
    control = _control()
    call_ids = None
    try:
        if args.category:
            call_ids = svc.category_calls(
                _platform().warehouse, tenant.id, args.category, day_from=args.date_from, day_to=args.date_to
            )
        rows = svc.search(
            control,
            tenant.id,
            args.query,
            actor=args.actor,
            digest_key=resolve(loaded.settings.ingest.subject_hash_key),
            speaker=args.speaker,
            day_from=args.date_from,
            day_to=args.date_to,
            call_ids=call_ids,
            limit=args.limit,
        )
    except SearchQueryError as exc:
        raise CcrError(str(exc)) from None
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
    else:
        for r in rows:
            text = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", r["text"])
            print(
                f"{r['call_id']:<24} {r['day']}  {clock(r['start_s']):>7}-{clock(r['end_s']):<7} "
                f"{r['speaker'] or 'unknown':<9} {text[:120]}"
            )
        print(
            f"{len(rows)} segment(s) in tenant {tenant.id} (newest indexed first, at most {args.limit}; "
            f"the search is access-logged)"
        )
    return 0 if rows else 1


def cmd_audit_pack(args) -> int:
    """P13, GDPR art. 30: the tenant's audit evidence pack for a period, as one zip archive."""
    from datetime import date
    from pathlib import Path

    from .services.audit_pack import build_pack

    loaded = _loaded()
    d1, d2 = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)  # checked by core/cli_input
    body, manifest = build_pack(_control(), loaded.registry, args.tenant, d1, d2, actor=args.actor)
    out = Path(args.out or f"audit-pack-{args.tenant}-{d1}-{d2}.zip")
    out.write_bytes(body)
    print(
        f"{out}: {len(manifest['files']) + 1} section(s) with the manifest, "
        f"{manifest['commitments_with_evidence']}/23 commitments with records in the period"
    )
    return 0


def cmd_dsr(args) -> int:
    """P16-P18: data-subject requests. Identifiers are hashed at once; only request ids are printed."""
    from .services import dsr

    platform = _platform()
    env = platform.erasure_env(args.actor)
    if args.action == "list":
        for r in dsr.list_requests(env, args.tenant):
            print(
                f"#{r['id']:<5} {r['tenant_id']:<20} {r['kind']:<12} {r['status']:<20} "
                f"received {r['requested_at']:%Y-%m-%d} due {r['due_at']:%Y-%m-%d}"
                + (f" extended {r['extended_at']:%Y-%m-%d}" if r["extended_at"] else "")
                + (f" completed {r['completed_at']:%Y-%m-%d}" if r["completed_at"] else "")
            )
        return 0
    if args.action in ("receipt", "extend", "lift", "run"):
        if args.target is None or not args.target.isdigit():
            raise CcrError(f"dsr {args.action} needs a request id")
        rid = int(args.target)
        if args.action == "receipt":
            print(json.dumps(dsr.get_request(env, rid)["proof"], indent=1, default=str))
        elif args.action == "extend":
            if not args.reason:
                raise CcrError("dsr extend needs --reason")
            print(f"request {rid}: due {dsr.extend(env, rid, args.reason):%Y-%m-%d} (extended)")
        elif args.action == "lift":
            print(json.dumps(dsr.restrict(env, rid, lift=True)))
        else:
            return _dsr_run(env, dsr.get_request(env, rid)["kind"], rid)
        return 0
    kind = {"export": "export", "erase": "erasure", "restrict": "restriction", "suppress": "suppression"}[args.action]
    if not args.target:
        raise CcrError(f"dsr {args.action} needs a tenant id")
    platform.file_registry.require(args.target, active=False)
    ids = dsr.identifiers_from_args(args.phone, args.email, args.customer_ref)
    from datetime import datetime

    received = datetime.fromisoformat(args.received).replace(tzinfo=UTC) if args.received else None
    rid = dsr.register(env, args.target, kind, ids, received_at=received)
    print(f"request {rid} registered ({kind}, tenant {args.target})")
    if args.register_only:
        print(f"run it with the dagster job dsr_{kind}_job, config request_id={rid}")
        return 0
    return _dsr_run(env, kind, rid)


def _dsr_run(env, kind: str, rid: int) -> int:
    from .services import dsr

    if kind == "export":
        b = dsr.export(env, rid)
        print(f"request {rid}: exported {len(b['calls'])} call(s) to exports/{b['request']['tenant_id']}/dsr-{rid}/")
    elif kind == "erasure":
        proof = dsr.erase(env, rid)
        print(
            f"request {rid}: erased {proof['calls']} call(s) in {len(proof['deleted'])} location(s); "
            f"reports regenerated {len(proof['reports_regenerated'])}; verification "
            + ("passed" if proof["scan"]["passed"] else f"FAILED ({len(proof['scan']['findings'])} finding(s))")
        )
        return 0 if proof["scan"]["passed"] else 1
    elif kind == "restriction":
        print(f"request {rid}: " + json.dumps(dsr.restrict(env, rid)))
    else:
        print(f"request {rid}: " + json.dumps(dsr.suppress(env, rid)))
    return 0


def cmd_purge(args) -> int:
    """P19: the retention purge (dry run by default from the CLI)."""
    from datetime import date, datetime

    from .services.retention import run_purge

    today = date.fromisoformat(args.today) if args.today else datetime.now(UTC).date()
    env = _platform().purge_env(today=today, progress=(lambda line: print(line, flush=True)) if args.verbose else None)
    summary = run_purge(env, dry_run=not args.execute)
    print(json.dumps(summary, indent=1))
    return 0


def cmd_review(args) -> int:
    """P15, P20: record a reviewer's decision on an automated score (audited with before/after)."""
    from .services.review import decide

    loaded = _loaded()
    loaded.registry.require(args.tenant, active=False)
    out = decide(_control(), args.tenant, args.call_id, args.status, reviewer=args.actor)
    print(f"review {out['review_id']}: {out['before']['status']} -> {out['after']['status']} (audited)")
    return 0


def cmd_access(args) -> int:
    """P3, P20: who may run which command; changed only here, audited."""
    from .services import access

    control = _control()
    if args.action == "whoami":
        roles = access.roles_of(control, args.actor)
        print(f"{args.actor}: {', '.join(sorted(roles)) or 'no role'}")
        return 0
    if args.action == "bootstrap":
        done = access.bootstrap(
            control, args.actor, actor=args.actor, reason=args.reason or "ccr access bootstrap: first admin"
        )
        if not done:
            raise CcrError("this control store has an admin already: ask one for a role (`ccr access grant`)")
        print(f"{args.actor}: admin (first admin of this control store; audited)")
        return 0
    if args.action == "list":
        cmds = access.role_commands(control)
        for principal, roles in access.grants(control).items():
            print(f"{principal:<40} {', '.join(roles)}")
        print("roles:")
        for role in sorted(cmds):
            print(f"  {role:<9} {'every command' if role == 'admin' else ', '.join(sorted(cmds[role])) or '-'}")
        return 0
    if args.action in ("grant", "revoke"):
        changed = access.set_grant(
            control, args.principal, args.role, granted=args.action == "grant", actor=args.actor, reason=args.reason
        )
        print(
            f"{args.principal}: {args.role} {'granted' if args.action == 'grant' else 'revoked'}"
            + ("" if changed else " (no change)")
            + " (audited)"
        )
        return 0
    changed = access.set_role_command(
        control, args.principal, args.role, allow=args.action == "allow", actor=args.actor, reason=args.reason
    )
    print(
        f"role {args.principal}: {args.role} {'allowed' if args.action == 'allow' else 'denied'}"
        + ("" if changed else " (no change)")
        + " (audited)"
    )
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    _close_session()  # the demo may wipe the data dir: close the store first
    return run_demo(reset=args.reset, quiet=args.quiet, resume=args.resume, verbose=args.verbose)


class _UsageError(CcrError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that echo at most a short, escaped prefix of the input."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        from .core.cli_input import short

        message = message.splitlines()[0] if message else "invalid arguments"
        if message.startswith("unrecognized arguments: "):
            rest = message[len("unrecognized arguments: ") :]
            message = f"unrecognized argument(s): {short(rest)}"
        else:
            # argparse quotes the offending value ("invalid choice: 'xxx…'"): a short, escaped prefix only
            message = re.sub(r"'([^']*)'", lambda m: short(m.group(1)), message)
        message = re.sub(r"[\x00-\x1f\x7f-\x9f]", "?", message)[:300]
        where = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        raise _UsageError(where + message)


def _add_platform_commands(sub) -> None:
    """The demo, the profile and its tenants, the control store, the ingestion ledger."""
    s = sub.add_parser(
        "demo", help="seed the demo tenants' recordings and run the pipeline end to end (embedded default)"
    )
    s.add_argument("--reset", action="store_true", help="wipe CCR_DATA_DIR first")
    s.add_argument("--quiet", action="store_true", help="only the summary")
    s.add_argument(
        "--resume",
        action="store_true",
        help="seed nothing; process what the inbox holds now (new uploads) and finish a demo that was "
        "killed (under `make ui` the daemon does this by itself)",
    )
    s.add_argument("--verbose", action="store_true", help="also show dbt's log on the console (else var/logs/dbt.log)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("settings", help="show the resolved settings profile (secret values masked)")
    s.set_defaults(func=cmd_settings)

    s = sub.add_parser("tenants", help="list or validate the tenant registry; suspend or resume a tenant (P12)")
    s.add_argument("action", choices=["list", "validate", "suspend", "resume"])
    s.add_argument("tenant", nargs="?", help="with suspend / resume: the tenant id")
    s.add_argument("--file", help="a registry file to check instead of the profile's")
    s.add_argument("--reason", help="with suspend / resume: why (kept in the audit trail)")
    s.add_argument("--incident", type=int, help="with suspend / resume: the incident it belongs to")
    s.set_defaults(func=cmd_tenants)

    s = sub.add_parser(
        "db",
        help="control store schema (Alembic): migrate to the head, show the current "
        "revision or the history, downgrade to a revision",
    )
    s.add_argument("action", choices=["migrate", "current", "history", "downgrade"])
    s.add_argument(
        "revision", nargs="?", help="with downgrade: the revision to go back to (e.g. 0013; not below the baseline)"
    )
    s.set_defaults(func=cmd_db)

    s = sub.add_parser("ingest", help="ingestion ledger: every received file's outcome")
    s.add_argument("action", choices=["status"])
    s.add_argument("--tenant")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest_status)


def _add_subject_commands(sub) -> None:
    """Data subjects and their data: suppression, requests, reviews, the retention purge (P15-P19)."""
    s = sub.add_parser("suppress", help="add a data subject to a tenant's suppression list (P18)")
    s.add_argument("tenant")
    s.add_argument("--type", required=True, choices=["phone", "email", "customer_ref"])
    s.add_argument("--value", required=True, help="the identifier; only its keyed hash is stored")
    s.add_argument("--reason", default="objection")
    s.set_defaults(func=cmd_suppress)

    s = sub.add_parser("dsr", help="data-subject requests: export, erase, restrict, lift, suppress, list (P16-P18)")
    s.add_argument(
        "action", choices=["export", "erase", "restrict", "suppress", "lift", "extend", "run", "receipt", "list"]
    )
    s.add_argument("target", nargs="?", help="tenant id (new request) or request id (lift, extend, run, receipt)")
    s.add_argument("--phone")
    s.add_argument("--email")
    s.add_argument("--customer-ref", dest="customer_ref")
    s.add_argument("--received", help="date the request was received (YYYY-MM-DD), default now")
    s.add_argument("--reason", help="with extend: why more time is needed (art. 12(3))")
    s.add_argument("--tenant", help="with list")
    s.add_argument("--register-only", action="store_true", help="log the request; run it with the Dagster job")
    s.set_defaults(func=cmd_dsr)

    s = sub.add_parser("review", help="record a review decision on an automated score (P15, audited P20)")
    s.add_argument("action", choices=["decide"])
    s.add_argument("tenant")
    s.add_argument("call_id")
    s.add_argument("--status", required=True, choices=["confirmed", "overridden", "dismissed", "unreviewed"])
    s.set_defaults(func=cmd_review)

    s = sub.add_parser("purge", help="retention purge (P19): dry run unless --execute")
    s.add_argument("--execute", action="store_true", help="really delete (default: dry run, recorded)")
    s.add_argument("--today", help="purge as of this day (YYYY-MM-DD)")
    s.add_argument("--verbose", action="store_true", help="one line per item (no keys or ids)")
    s.set_defaults(func=cmd_purge)


def _add_operations_commands(sub) -> None:
    """Operations: incidents, backups, report links (P3, P6, P11, P13)."""
    s = sub.add_parser("incidents", help="incident register: list, ack, resolve (P11, P13)")
    s.add_argument("action", choices=["list", "ack", "resolve"])
    s.add_argument("id", nargs="?", type=int)
    s.add_argument("--all", action="store_true", help="list resolved incidents too")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--root-cause")
    s.add_argument("--corrective-action")
    s.add_argument(
        "--tenant",
        help="with ack / resolve: the notes are this affected tenant's own, the only ones its audit pack carries (P14)",
    )
    s.set_defaults(func=cmd_incidents)

    s = sub.add_parser(
        "backup",
        help="control-store and warehouse-metadata backups: create, list, verify, restore into an empty store (P6)",
    )
    s.add_argument("action", choices=["create", "list", "verify", "restore"])
    s.add_argument("backup_id", nargs="?", help="with verify / restore: the backup id (YYYYMMDDTHHMMSSZ)")
    s.add_argument("--into", help="with restore: SQLAlchemy URL of an EMPTY control store (SQLite or PostgreSQL)")
    s.add_argument("--marts-into", help="with restore: also write the backed-up dbt marts DuckDB file here")
    s.add_argument("--no-hash", action="store_true", help="with create: list partitions without their sha256")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser("reports", help="tenant reports: issue a download link (logged, P3)")
    s.add_argument("action", choices=["link"])
    s.add_argument("tenant")
    s.add_argument("--kind", choices=["weekly", "monthly"], default="weekly")
    s.add_argument("--day", required=True, help="any day of the period (YYYY-MM-DD)")
    s.add_argument("--expires", type=int, default=7 * 24 * 3600, help="link lifetime in seconds (S3)")
    s.set_defaults(func=cmd_reports_link)


def _add_audit_commands(sub) -> None:
    """Audits and access: lineage lookups, the evidence pack, roles (P3, P13, P16)."""
    s = sub.add_parser(
        "lineage",
        help="lineage lookups for audits: a call's chain, a data subject's calls, "
        "a report's inputs (P2, P3, P9, P13, P16, P17)",
    )
    s.add_argument("what", choices=["call", "subject", "report"])
    s.add_argument("tenant")
    s.add_argument(
        "target", help="call id | the subject's identifier (hashed, never stored) | period (2026-W47, 2026-11)"
    )
    s.add_argument("--type", choices=["phone", "email", "customer_ref"], help="with subject: the identifier's type")
    s.add_argument("--json", action="store_true")
    s.add_argument(
        "--register-only",
        action="store_true",
        help="record the lookup as a request for the Dagster job lineage_lookup_job (config: its id)",
    )
    s.set_defaults(func=cmd_lineage)

    s = sub.add_parser(
        "search",
        help="search one tenant's redacted transcripts: segments holding every word "
        "(case and accents folded); every search is access-logged (P3)",
    )
    s.add_argument("tenant")
    s.add_argument("query", help="the words to find (the access log keeps a keyed digest, never the words)")
    s.add_argument("--speaker", choices=["agent", "customer"])
    s.add_argument("--from", dest="date_from", help="first day (YYYY-MM-DD)")
    s.add_argument("--to", dest="date_to", help="last day, included (YYYY-MM-DD)")
    s.add_argument("--category", help="only calls with a hit of this category (the categories step's output)")
    s.add_argument("--limit", type=int, default=20, help="at most this many segments (1-200)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("audit", help="audit evidence pack for a tenant and period (GDPR art. 30, P1-P23)")
    s.add_argument("action", choices=["pack"])
    s.add_argument("--tenant", required=True)
    s.add_argument("--from", dest="date_from", required=True, help="first day (YYYY-MM-DD)")
    s.add_argument("--to", dest="date_to", required=True, help="last day, included (YYYY-MM-DD)")
    s.add_argument("--out", help="archive path (default ./audit-pack-TENANT-FROM-TO.zip)")
    s.set_defaults(func=cmd_audit_pack)

    s = sub.add_parser(
        "access",
        help="who may run which command (P3): whoami, list, grant, revoke, allow, deny, "
        "bootstrap (the first admin); the caller is CCR_PRINCIPAL or the OS user",
    )
    s.add_argument("action", choices=["whoami", "list", "grant", "revoke", "allow", "deny", "bootstrap"])
    s.add_argument("principal", nargs="?", help="with grant / revoke: the principal; with allow / deny: the role")
    s.add_argument(
        "role",
        nargs="?",
        help="with grant / revoke: the role; with allow / deny: the command (group.action, e.g. dsr.erase)",
    )
    s.add_argument("--reason", help="with grant, revoke, allow, deny: why (kept in the audit trail)")
    s.set_defaults(func=cmd_access)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="ccr",
        description="CallCenterRate data platform. The settings profile is chosen by CCR_ENV "
        "(local|staging|prod); the embedded default keeps everything under CCR_DATA_DIR (./var).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _add_platform_commands(sub)
    _add_subject_commands(sub)
    _add_operations_commands(sub)
    _add_audit_commands(sub)
    return p


ACTOR_REFUSED = (
    "--actor is no longer accepted: the caller is the identity the platform sets in "
    "CCR_PRINCIPAL (the OS user with the local profile); see `ccr access whoami`"
)


def _command_key(args) -> str:
    from .core.access import command_key

    action = getattr(args, "action", None) or getattr(args, "what", None)
    return command_key(args.command, action, execute=bool(getattr(args, "execute", False)))


def _guard(args, argv: list[str]) -> None:
    """P3, P4: validate every argument, then check the caller's role, before the command runs.

    A refusal for lack of a role writes one access-log row (digest and length of the command line,
    never the input) and nothing else; an invalid argument writes nothing at all."""
    from .core import cli_input
    from .core.access import OPEN_COMMANDS, caller_principal
    from .services import access

    command = _command_key(args)
    file_only = command == "tenants.validate" and args.file
    loaded = None if file_only else _loaded()
    tenant = cli_input.validate(args, loaded.registry if loaded else None)
    if command in ("settings", "tenants.validate"):
        return  # configuration files only: no identity needed, no store opened
    args.actor = caller_principal(profile=loaded.settings.env)
    control = _control(migrate=command not in _SCHEMA_AS_IS)
    if loaded.settings.env == "local" and command != "access.bootstrap" and not access.has_admin(control):
        # The embedded default: the first caller of a new local store becomes its admin (audited).
        access.bootstrap(
            control, args.actor, actor="ccr:local-profile", reason="local profile: first caller of a new control store"
        )
    if command not in OPEN_COMMANDS:
        access.check(control, args.actor, command, argv=argv, tenant_id=tenant)


def _internal_error(exc: BaseException) -> int:
    # Never the message: a driver's error can quote the statement's parameters.
    print(
        f"ccr: error: internal error ({type(exc).__name__}); nothing more is shown (CCR_DEBUG=1 for details)",
        file=sys.stderr,
    )
    return 70


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _SESSION.clear()
    try:
        if any(a == "--actor" or a.startswith("--actor=") for a in argv):
            raise _UsageError(ACTOR_REFUSED)
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version
            return int(exc.code or 0)
        _guard(args, argv)
        return int(args.func(args) or 0)
    except CcrError as exc:
        # The one handler of every error raised on purpose (core/errors: the CcrError family), whichever
        # command raised it: one line, no traceback; these messages are written to be read.
        msg = re.sub(r"[\x00-\x1f\x7f-\x9f]", " ", str(exc))
        print(f"ccr: error: {msg[:500]}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ccr: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("CCR_DEBUG") == "1":
            raise
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            print(
                "ccr: error: the database is unreachable or refused the operation (OperationalError)", file=sys.stderr
            )
            return 2
        return _internal_error(exc)
    finally:
        _close_session()
        _SESSION.clear()


if __name__ == "__main__":
    sys.exit(main())
