"""The ``ccr`` command: demo, settings and tenants, control store, ingestion ledger, suppression, reports,
backups, lineage lookups, the audit evidence pack, data-subject requests and the retention purge."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .core.errors import CcrError


def _loaded():
    from .core.settings import load_settings

    return load_settings()


def _control(loaded):
    from .stores.control_store import ControlStore

    store = ControlStore(loaded.settings.control_url())
    store.migrate()
    return store


# -- commands ---------------------------------------------------------------
def cmd_settings(args) -> int:
    loaded = _loaded()
    print(json.dumps({"profile": str(loaded.source), **loaded.settings.model_dump(mode="json"),
                      "tenants_file": loaded.registry.source}, indent=2))
    return 0


def cmd_tenants(args) -> int:
    from .core.tenants import TenantRegistry

    registry = TenantRegistry.load(args.file) if args.file else _loaded().registry
    if args.action == "validate":
        print(f"OK: {len(registry)} tenant(s) in {registry.source} (sha256 {registry.digest[:12]})")
        return 0
    if args.action in ("suspend", "resume"):
        # P12: the containment switch, in the control store, audited (P20)
        from .services import suspension

        if not args.tenant or not args.reason:
            raise CcrError(f"tenants {args.action} needs a tenant id and --reason")
        try:
            suspension.switch(_control(_loaded()), registry, args.tenant, suspended=args.action == "suspend",
                              actor=args.actor, reason=args.reason, incident_id=args.incident)
        except ValueError as exc:
            raise CcrError(str(exc)) from None
        print(f"tenant {args.tenant}: {'suspended' if args.action == 'suspend' else 'resumed'} (audited)")
        return 0
    if not args.file:
        from .services import suspension

        registry = registry.with_suspensions(suspension.current(_control(_loaded())))
    for t in registry:
        state = "suspended" if t.suspended else ("terminated" if t.terminated_on else "active")
        print(f"{t.id:<24} {state:<10} {','.join(t.languages):<6} {t.timezone:<16} scorecard={t.scorecard}")
    return 0


def cmd_db(args) -> int:
    loaded = _loaded()
    from .stores.control_store import ControlStore

    store = ControlStore(loaded.settings.control_url())
    print(f"control store at schema version {store.migrate()}")
    return 0


def cmd_ingest_status(args) -> int:
    import sqlalchemy as sa

    from .stores.control_store import ingest_events

    control = _control(_loaded())
    q = sa.select(ingest_events.c.tenant_id, ingest_events.c.partition_key, ingest_events.c.outcome,
                  ingest_events.c.reason, sa.func.count().label("n")).group_by(
        ingest_events.c.tenant_id, ingest_events.c.partition_key, ingest_events.c.outcome, ingest_events.c.reason)
    if args.tenant:
        q = q.where(ingest_events.c.tenant_id == args.tenant)
    rows = control.fetch(q.order_by(ingest_events.c.tenant_id, ingest_events.c.partition_key))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    for r in rows:
        print(f"{r['tenant_id'] or '(unrouted)':<20} {r['partition_key']:<11} {r['outcome']:<12} "
              f"{r['reason'] or '':<22} {r['n']}")
    return 0


def cmd_suppress(args) -> int:
    """P18: add a subject to a tenant's suppression list (keyed hash only), audited (P20)."""
    from .core.settings import resolve
    from .core.subjects import subject_hash

    loaded = _loaded()
    loaded.registry.require(args.tenant, active=False)
    secret = resolve(loaded.settings.ingest.subject_hash_key)
    control = _control(loaded)
    h = subject_hash(secret, args.tenant, args.type, args.value)
    from .services.dsr import add_to_suppression_list

    exists = not add_to_suppression_list(control, args.tenant, {h: args.type}, reason=args.reason, actor=args.actor)
    print(f"suppressed subject {h[:16]}… for tenant {args.tenant}" + (" (already listed)" if exists else ""))
    return 0


def cmd_reports_link(args) -> int:
    """P3: issue a download link to a delivered report (presigned URL on S3, a path locally), logged."""
    from .core.report_periods import period_containing
    from .services.reports import report_prefix
    from .stores.access import TenantObjects
    from .stores.object_store import object_store_from_settings
    from datetime import date

    loaded = _loaded()
    loaded.registry.require(args.tenant, active=False)
    try:
        period = period_containing(args.kind, date.fromisoformat(args.day))
    except ValueError:
        raise CcrError(f"--day: not a date (YYYY-MM-DD): {args.day[:20]!r}") from None
    store = object_store_from_settings(loaded.settings)
    key = f"{report_prefix(args.tenant, period)}/report.html"
    if not store.exists(key):
        raise CcrError(f"no {args.kind} report {period.key} for tenant '{args.tenant}'")
    with TenantObjects(store, _control(loaded), args.tenant, actor=args.actor,
                       purpose=f"report link {args.kind} {period.key}") as objects:
        print(objects.access_url(key, args.expires))
    return 0


def cmd_incidents(args) -> int:
    """P13: the incident register — list, acknowledge, resolve with root cause and corrective action."""
    import sqlalchemy as sa

    from .services.alerting import set_status
    from .stores.control_store import incidents

    control = _control(_loaded())
    if args.action == "list":
        q = sa.select(incidents).order_by(incidents.c.id.desc()).limit(args.limit)
        if not args.all:
            q = q.where(incidents.c.status != "resolved")
        for r in control.fetch(q):
            breach = f" breach, authority by {r['notify_authority_by']:%Y-%m-%d %H:%M}" if r["is_breach"] else ""
            print(f"#{r['id']:<5} {r['severity']:<9} {r['rule']:<5} {r['status']:<12} {r['signal']} "
                  f"[{', '.join(r['tenants'] or []) or 'platform'}]{breach}")
        return 0
    if args.id is None:
        raise CcrError(f"incidents {args.action} needs an incident id")
    try:
        set_status(control, args.id, "acknowledged" if args.action == "ack" else "resolved", actor=args.actor,
                   root_cause=args.root_cause, corrective_action=args.corrective_action)
    except LookupError as exc:
        raise CcrError(str(exc)) from None
    print(f"incident {args.id}: {args.action}")
    return 0


def cmd_backup(args) -> int:
    """P6: back up the control store and the warehouse metadata; list backups; restore one into an empty store."""
    from .core.backup import BackupError
    from .services import backup
    from .stores.control_store import ControlStore
    from .stores.object_store import object_store_from_settings

    loaded = _loaded()
    store = object_store_from_settings(loaded.settings)
    try:
        if args.action == "create":
            s = loaded.settings
            marts = None
            if s.object_store.kind == "local":
                from pathlib import Path

                marts = Path(s.expand(s.object_store.root)).resolve().parent / "warehouse.duckdb"
            m = backup.create_backup(_control(loaded), store, marts_path=marts, hash_objects=not args.no_hash)
            print(f"backup {m.backup_id}: schema version {m.schema_version}, {len(m.tables)} table(s), "
                  f"{m.total_rows} row(s), {m.warehouse.get('partitions', 0)} partition(s) listed")
            return 0
        if args.action == "list":
            rows = backup.list_backups(store)
            if args.json:
                print(json.dumps(rows, indent=2))
                return 0
            for r in rows:
                state = (f"schema v{r['schema_version']} {r['tables']:>3} tables {r['rows']:>9} rows"
                         if r["complete"] else "INCOMPLETE (no manifest)")
                print(f"{r['backup_id']}  {state}  {r['bytes']} bytes")
            return 0
        if not args.backup_id:
            raise CcrError(f"backup {args.action} needs a backup id (see: ccr backup list)")
        if args.action == "verify":
            drift = backup.warehouse_drift(store, args.backup_id)
            print(f"backup {args.backup_id}: checksums match; warehouse: {drift['partitions']} partition(s) listed, "
                  f"{len(drift['missing'])} missing now, {len(drift['changed'])} changed since")
            return 0
        if not args.into:
            raise CcrError("backup restore needs --into URL (an empty control store)")
        target = ControlStore(args.into)
        try:
            out = backup.restore_backup(store, args.backup_id, target, marts_into=args.marts_into)
        finally:
            target.dispose()
    except BackupError as exc:
        raise CcrError(str(exc)) from None
    print(f"restored backup {out['backup_id']}: {out['rows']} row(s) in {out['tables']} table(s); "
          f"schema version {out['schema_version']} -> {out['target_version']}"
          + (f"; marts file at {out['marts']}" if out["marts"] else ""))
    return 0


def _uri_prefix(store) -> str | None:
    """The URI of the store's root (``file:///…/``), to map lineage URIs back to object keys."""
    probe = store.uri("x")
    return None if probe.startswith("s3://") else probe[:-1]


def cmd_lineage(args) -> int:
    """P2, P3, P9, P13, P16, P17: an auditor's lineage lookups, from the control store's indexes."""
    from .core.settings import resolve
    from .services import lineage as svc
    from .stores.object_store import object_store_from_settings

    loaded = _loaded()
    tenant = loaded.registry.require(args.tenant, active=False)
    control = _control(loaded)
    prefix = _uri_prefix(object_store_from_settings(loaded.settings))
    if args.what == "call":
        ans = svc.call_lineage(control, tenant, args.target, uri_prefix=prefix)
        text = svc.format_call(ans)
        obj = f"lineage/call/{args.target}"
    elif args.what == "subject":
        hashes = svc.subject_hashes_for(resolve(loaded.settings.ingest.subject_hash_key), tenant.id, args.target,
                                        args.type)
        if not hashes:
            raise CcrError("the identifier is not a valid phone number, e-mail or customer reference")
        ans = svc.subject_lineage(control, tenant, hashes, uri_prefix=prefix)
        text = "\n".join([f"subject {', '.join(ans['subject_hashes'])} (tenant {tenant.id}): {len(ans['calls'])} call(s)"]
                         + [f"  {c['call_id']:<24} {c['day']}  " + " → ".join(
                             f"{a['kind']}{'' if a['status'] == 'present' else ' (deleted)'}" for a in c["artefacts"])
                            + (f"  reports: {len(c['reports'])}" if c["reports"] else "") for c in ans["calls"]])
        obj = f"lineage/subject/{hashes[0][:16]}"  # never the identifier (P16)
    else:
        try:
            period = svc.parse_period(args.target)
        except ValueError as exc:
            raise CcrError(str(exc)) from None
        ans = svc.report_lineage(control, tenant, period)
        text = (f"{period.kind} report {period.key} of {tenant.id}: "
                + ("found" if ans["found"] else "NOT FOUND")
                + f"; {len(ans['calls'])} call(s) ({len(ans['erased_calls'])} erased); report run(s) "
                + ", ".join(ans["report_runs"]) + "\n  score runs: " + ", ".join(ans["score_runs"])
                + "\n  " + "\n  ".join(f"{k}: {', '.join(v)}" for k, v in ans["versions"].items())
                + "\n  calls: " + " ".join(ans["calls"]))
        obj = f"lineage/report/{period.key}"
    control.log_access(actor=args.actor, tenant_id=tenant.id, action="read", purpose=f"lineage lookup {args.what}",
                       obj=obj)
    print(json.dumps(ans, indent=2, default=str) if args.json else text)
    return 0 if (ans.get("found", True) and (args.what != "subject" or ans["calls"])) else 1


def cmd_audit_pack(args) -> int:
    """P13, GDPR art. 30: the tenant's audit evidence pack for a period, as one zip archive."""
    from datetime import date
    from pathlib import Path

    from .services.audit_pack import build_pack

    loaded = _loaded()
    try:
        d1, d2 = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
        body, manifest = build_pack(_control(loaded), loaded.registry, args.tenant, d1, d2, actor=args.actor)
    except ValueError as exc:
        raise CcrError(str(exc)) from None
    out = Path(args.out or f"audit-pack-{args.tenant}-{d1}-{d2}.zip")
    out.write_bytes(body)
    print(f"{out}: {len(manifest['files']) + 1} section(s) with the manifest, "
          f"{manifest['commitments_with_evidence']}/23 commitments with records in the period")
    return 0


def _dsr_env(loaded, actor: str):
    from .core.settings import resolve
    from .services.dsr import DsrEnv
    from .services.marts import duckdb_path, rebuild_marts
    from .stores.object_store import LocalObjectStore, object_store_from_settings
    from .stores.warehouse import Warehouse

    store = object_store_from_settings(loaded.settings)
    local = isinstance(store, LocalObjectStore)
    control = _control(loaded)
    return DsrEnv(store=store, warehouse=Warehouse(store), control=control, registry=loaded.registry,
                  secret=resolve(loaded.settings.ingest.subject_hash_key), actor=actor,
                  rebuild_marts=(lambda: rebuild_marts(store.root, control=control)) if local else None,
                  marts_path=duckdb_path(store.root) if local else None)


def cmd_dsr(args) -> int:
    """P16-P18: data-subject requests. Identifiers are hashed at once; only request ids are printed."""
    import sqlalchemy as sa

    from .services import dsr
    from .stores.control_store import dsr_requests

    loaded = _loaded()
    env = _dsr_env(loaded, args.actor)
    try:
        if args.action == "list":
            q = sa.select(dsr_requests).order_by(dsr_requests.c.id)
            if args.tenant:
                q = q.where(dsr_requests.c.tenant_id == args.tenant)
            for r in env.control.fetch(q):
                print(f"#{r['id']:<5} {r['tenant_id']:<20} {r['kind']:<12} {r['status']:<20} "
                      f"received {r['requested_at']:%Y-%m-%d} due {r['due_at']:%Y-%m-%d}"
                      + (f" extended {r['extended_at']:%Y-%m-%d}" if r["extended_at"] else "")
                      + (f" completed {r['completed_at']:%Y-%m-%d}" if r["completed_at"] else ""))
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
        loaded.registry.require(args.target, active=False)
        ids = dsr.identifiers_from_args(args.phone, args.email, args.customer_ref)
        from datetime import datetime, timezone

        received = (datetime.fromisoformat(args.received).replace(tzinfo=timezone.utc) if args.received else None)
        rid = dsr.register(env, args.target, kind, ids, received_at=received)
        print(f"request {rid} registered ({kind}, tenant {args.target})")
        if args.register_only:
            print(f"run it with the dagster job dsr_{kind}_job, config request_id={rid}")
            return 0
        return _dsr_run(env, kind, rid)
    except (dsr.DsrError, ValueError) as exc:
        raise CcrError(str(exc)) from None


def _dsr_run(env, kind: str, rid: int) -> int:
    from .services import dsr

    if kind == "export":
        b = dsr.export(env, rid)
        print(f"request {rid}: exported {len(b['calls'])} call(s) to exports/{b['request']['tenant_id']}/dsr-{rid}/")
    elif kind == "erasure":
        proof = dsr.erase(env, rid)
        print(f"request {rid}: erased {proof['calls']} call(s) in {len(proof['deleted'])} location(s); "
              f"reports regenerated {len(proof['reports_regenerated'])}; verification "
              + ("passed" if proof["scan"]["passed"] else f"FAILED ({len(proof['scan']['findings'])} finding(s))"))
        return 0 if proof["scan"]["passed"] else 1
    elif kind == "restriction":
        print(f"request {rid}: " + json.dumps(dsr.restrict(env, rid)))
    else:
        print(f"request {rid}: " + json.dumps(dsr.suppress(env, rid)))
    return 0


def cmd_purge(args) -> int:
    """P19: the retention purge (dry run by default from the CLI)."""
    from datetime import date, datetime, timezone

    from .services.retention import PurgeEnv, run_purge

    loaded = _loaded()
    env_ = _dsr_env(loaded, args.actor)
    today = date.fromisoformat(args.today) if args.today else datetime.now(timezone.utc).date()
    env = PurgeEnv(store=env_.store, warehouse=env_.warehouse, control=env_.control, registry=loaded.registry,
                   today=today, run_id=None, rebuild_marts=env_.rebuild_marts,
                   progress=(lambda line: print(line, flush=True)) if args.verbose else None)
    summary = run_purge(env, dry_run=not args.execute)
    print(json.dumps(summary, indent=1))
    return 0


def cmd_review(args) -> int:
    """P15, P20: record a reviewer's decision on an automated score (audited with before/after)."""
    from .services.review import decide

    loaded = _loaded()
    loaded.registry.require(args.tenant, active=False)
    try:
        out = decide(_control(loaded), args.tenant, args.call_id, args.status, reviewer=args.actor)
    except (LookupError, ValueError) as exc:
        raise CcrError(str(exc)) from None
    print(f"review {out['review_id']}: {out['before']['status']} -> {out['after']['status']} (audited)")
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(reset=args.reset, quiet=args.quiet, resume=args.resume, verbose=args.verbose)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ccr",
        description="CallCenterRate data platform. The settings profile is chosen by CCR_ENV "
                    "(local|staging|prod); the embedded default keeps everything under CCR_DATA_DIR (./var).",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("demo", help="seed the demo tenants' recordings and run the pipeline end to end (embedded default)")
    s.add_argument("--reset", action="store_true", help="wipe CCR_DATA_DIR first")
    s.add_argument("--quiet", action="store_true", help="only the summary")
    s.add_argument("--resume", action="store_true",
                   help="seed nothing; process what the inbox holds now (new uploads) and finish a demo that was "
                        "killed (under `make ui` the daemon does this by itself)")
    s.add_argument("--verbose", action="store_true", help="also show dbt's log on the console (else var/logs/dbt.log)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("settings", help="show the resolved settings profile (no secrets)")
    s.set_defaults(func=cmd_settings)

    s = sub.add_parser("tenants", help="list or validate the tenant registry; suspend or resume a tenant (P12)")
    s.add_argument("action", choices=["list", "validate", "suspend", "resume"])
    s.add_argument("tenant", nargs="?", help="with suspend / resume: the tenant id")
    s.add_argument("--file", help="a registry file to check instead of the profile's")
    s.add_argument("--reason", help="with suspend / resume: why (kept in the audit trail)")
    s.add_argument("--incident", type=int, help="with suspend / resume: the incident it belongs to")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_tenants)

    s = sub.add_parser("db", help="control store: create or migrate the schema")
    s.add_argument("action", choices=["migrate"])
    s.set_defaults(func=cmd_db)

    s = sub.add_parser("ingest", help="ingestion ledger: every received file's outcome")
    s.add_argument("action", choices=["status"])
    s.add_argument("--tenant")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_ingest_status)

    s = sub.add_parser("suppress", help="add a data subject to a tenant's suppression list (P18)")
    s.add_argument("tenant")
    s.add_argument("--type", required=True, choices=["phone", "email", "customer_ref"])
    s.add_argument("--value", required=True, help="the identifier; only its keyed hash is stored")
    s.add_argument("--reason", default="objection")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_suppress)

    s = sub.add_parser("dsr", help="data-subject requests: export, erase, restrict, lift, suppress, list (P16-P18)")
    s.add_argument("action", choices=["export", "erase", "restrict", "suppress", "lift", "extend", "run", "receipt",
                                      "list"])
    s.add_argument("target", nargs="?", help="tenant id (new request) or request id (lift, extend, run, receipt)")
    s.add_argument("--phone")
    s.add_argument("--email")
    s.add_argument("--customer-ref", dest="customer_ref")
    s.add_argument("--received", help="date the request was received (YYYY-MM-DD), default now")
    s.add_argument("--reason", help="with extend: why more time is needed (art. 12(3))")
    s.add_argument("--tenant", help="with list")
    s.add_argument("--register-only", action="store_true", help="log the request; run it with the Dagster job")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_dsr)

    s = sub.add_parser("review", help="record a review decision on an automated score (P15, audited P20)")
    s.add_argument("action", choices=["decide"])
    s.add_argument("tenant")
    s.add_argument("call_id")
    s.add_argument("--status", required=True, choices=["confirmed", "overridden", "dismissed", "unreviewed"])
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_review)

    s = sub.add_parser("purge", help="retention purge (P19): dry run unless --execute")
    s.add_argument("--execute", action="store_true", help="really delete (default: dry run, recorded)")
    s.add_argument("--today", help="purge as of this day (YYYY-MM-DD)")
    s.add_argument("--verbose", action="store_true", help="one line per item (no keys or ids)")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_purge)

    s = sub.add_parser("incidents", help="incident register: list, ack, resolve (P11, P13)")
    s.add_argument("action", choices=["list", "ack", "resolve"])
    s.add_argument("id", nargs="?", type=int)
    s.add_argument("--all", action="store_true", help="list resolved incidents too")
    s.add_argument("--limit", type=int, default=50)
    s.add_argument("--root-cause")
    s.add_argument("--corrective-action")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_incidents)

    s = sub.add_parser("backup", help="control-store and warehouse-metadata backups: create, list, verify, "
                                      "restore into an empty store (P6)")
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
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_reports_link)

    s = sub.add_parser("lineage", help="lineage lookups for audits: a call's chain, a data subject's calls, "
                                       "a report's inputs (P2, P3, P9, P13, P16, P17)")
    s.add_argument("what", choices=["call", "subject", "report"])
    s.add_argument("tenant")
    s.add_argument("target", help="call id | the subject's identifier (hashed, never stored) | period (2026-W47, 2026-11)")
    s.add_argument("--type", choices=["phone", "email", "customer_ref"], help="with subject: the identifier's type")
    s.add_argument("--json", action="store_true")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_lineage)

    s = sub.add_parser("audit", help="audit evidence pack for a tenant and period (GDPR art. 30, P1-P23)")
    s.add_argument("action", choices=["pack"])
    s.add_argument("--tenant", required=True)
    s.add_argument("--from", dest="date_from", required=True, help="first day (YYYY-MM-DD)")
    s.add_argument("--to", dest="date_to", required=True, help="last day, included (YYYY-MM-DD)")
    s.add_argument("--out", help="archive path (default ./audit-pack-TENANT-FROM-TO.zip)")
    s.add_argument("--actor", default=os.environ.get("USER", "cli"))
    s.set_defaults(func=cmd_audit_pack)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CcrError as exc:
        # One line, no traceback: these messages are written to be read.
        print(f"ccr: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
