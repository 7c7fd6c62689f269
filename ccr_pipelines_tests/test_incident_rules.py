"""Incident rules, breach clock and drafts, delivery with retries, Sentry scrubbing (P7, P10-P14, P22)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ccr_pipelines.core.incidents import (
    Signal,
    authority_deadline,
    breach_clock,
    breach_notification_draft,
    classify,
    dedup_key,
    unusual_access_actors,
)
from ccr_pipelines.core.scrub import scrub_event
from ccr_pipelines.core.tenants import Tenant, TenantRegistry
from ccr_pipelines.services.alerting import AlertSettings, escalate_breaches, handle_signal, set_status
from ccr_pipelines.stores.control_store import (
    ControlStore,
    alert_deliveries,
    incident_notifications,
    incident_timeline,
    incidents,
)

from .receivers import Receiver

T5 = ("t-aaa", "t-bbb", "t-ccc", "t-ddd", "t-eee")


@pytest.mark.parametrize(
    "signal, severity, rule, breach",
    [
        (Signal("isolation_breach", "reports:x", ("t-aaa",)), "critique", "R1", True),
        (Signal("erasure_verification_failed", "dsr:1", ("t-aaa",)), "critique", "R2", True),
        (Signal("unusual_access", "actor:x", T5[:3]), "critique", "R3", True),
        (Signal("unusual_access", "actor:x", T5[:2]), "mineur", "R3-below-threshold", False),
        (Signal("check_failed", "a:c", T5, check_severity="ERROR"), "critique", "R4", False),
        (Signal("check_failed", "a:c", ("t-aaa",), check_severity="ERROR"), "majeur", "R5", False),
        (Signal("check_failed", "a:c", T5, check_severity="WARN"), "mineur", "R6", False),
        (Signal("run_failed", "job", ("t-aaa",), consecutive_failures=3), "majeur", "R7", False),
        (Signal("run_failed", "job", T5), "majeur", "R7", False),
        (Signal("run_failed", "job", ("t-aaa",)), "mineur", "R8", False),
        (Signal("freshness_miss", "a:f", ("t-aaa",), late_by=timedelta(hours=30)), "majeur", "R9", False),
        (Signal("freshness_miss", "a:f", ("t-aaa",), late_by=timedelta(hours=3)), "mineur", "R10", False),
        (Signal("purge_failed", "purge", ("t-aaa",)), "majeur", "R11", False),
        (Signal("dsr_overdue", "dsr:7", ("t-aaa",)), "majeur", "R12", False),
        (Signal("delivery_failed", "report", ("t-aaa",)), "majeur", "R13", False),
    ],
)
def test_p11_every_rule_of_the_severity_table(signal, severity, rule, breach):
    c = classify(signal)
    assert (c.severity, c.rule, c.is_breach) == (severity, rule, breach)
    assert c.route == {"critique": "page_now", "majeur": "page_low_urgency", "mineur": "ticket"}[severity]


def test_an_unknown_signal_kind_is_refused():
    with pytest.raises(ValueError, match="unknown signal"):
        Signal("coffee_spilled", "x")


def test_p10_the_72_hour_clock_and_when_it_escalates():
    aware = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    deadline = authority_deadline(aware)
    assert deadline == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert breach_clock(aware + timedelta(hours=47), deadline) == "on_track"
    assert breach_clock(aware + timedelta(hours=48), deadline) == "due_soon"
    assert breach_clock(aware + timedelta(hours=72), deadline) == "overdue"


def test_p3_one_actor_touching_many_tenants_is_unusual():
    rows = [{"actor": "alice", "tenant_id": t, "action": "export"} for t in T5[:3]]
    rows += [
        {"actor": "bob", "tenant_id": "t-aaa", "action": "read"},
        {"actor": "bob", "tenant_id": "t-bbb", "action": "write"},
    ]
    assert unusual_access_actors(rows) == {"alice": T5[:3]}


def test_p10_p14_a_breach_draft_is_french_complete_and_names_only_its_tenant():
    signal = Signal(
        "isolation_breach",
        "gold/reports/x:report_names_only_its_tenant",
        ("t-aaa", "t-bbb"),
        tenant_counts={"t-aaa": {"appels": 12}, "t-bbb": {"appels": 3}},
        data_categories=("résultats d'analyse d'appels",),
    )
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    draft = breach_notification_draft(
        tenant_id="t-aaa",
        tenant_name="Aaa SA",
        incident_id=7,
        signal=signal,
        detected_at=now,
        deadline=authority_deadline(now),
        tenant_counts=signal.tenant_counts["t-aaa"],
    )
    for part in (
        "Nature de l'incident",
        "Catégories et nombre approximatif",
        "Conséquences probables",
        "Mesures prises et proposées",
        "Recommandations",
        "Délégué à la protection des données",
        "appels : 12",
        "23/11/2026 à 09:00",
    ):
        assert part in draft, part
    assert "t-bbb" not in draft and "appels : 3" not in draft


@pytest.fixture
def control(tmp_path) -> ControlStore:
    store = ControlStore(f"sqlite:///{tmp_path}/control.db")
    store.migrate()
    return store


def _registry() -> TenantRegistry:
    return TenantRegistry(
        [
            Tenant(
                id="t-aaa",
                display_name="Aaa SA",
                languages=["fr"],
                scorecard="default.v1",
                alert_routing={"pager_routing_key_env": "KEY_AAA", "ticket_queue": "support-aaa"},
            ),
            Tenant(id="t-bbb", display_name="Bbb", languages=["en"], scorecard="default.v1"),
        ]
    )


def test_p22_a_page_is_retried_on_429_and_every_attempt_is_recorded(control):
    with Receiver(statuses=[429, 503, 202]) as pager:
        settings = AlertSettings(pager_url=pager.url, backoff_s=0.01, env={"KEY_AAA": "r" * 32})
        waits: list[float] = []
        out = handle_signal(
            control,
            Signal("check_failed", "silver/x:suite", ("t-aaa",), check_severity="ERROR"),
            settings=settings,
            registry=_registry(),
            sleep=waits.append,
        )
    assert out["severity"] == "majeur" and out["pages_sent"] == 1
    assert [r["status"] for r in pager.requests] == [429, 503, 202]
    assert waits == [0.01, 0.02]  # exponential backoff
    rows = control.fetch(sa.select(alert_deliveries).order_by(alert_deliveries.c.attempt))
    assert [(r["attempt"], r["status"], r["http_status"]) for r in rows] == [
        (1, "retried", 429),
        (2, "retried", 503),
        (3, "sent", 202),
    ]
    event = pager.json_bodies()[-1]
    assert event["routing_key"] == "r" * 32 and event["event_action"] == "trigger"
    assert (
        event["dedup_key"]
        == dedup_key("t-aaa", Signal("check_failed", "silver/x:suite"))
        == "ccr:t-aaa:check_failed:silver/x:suite"
    )
    assert event["payload"]["severity"] == "error" and event["payload"]["group"] == "t-aaa"


def test_p22_a_refused_page_is_not_retried_and_a_missing_route_is_recorded_as_failed(control):
    with Receiver(statuses=[400]) as pager:
        settings = AlertSettings(pager_url=pager.url, backoff_s=0, env={"KEY_AAA": "k"})
        handle_signal(control, Signal("purge_failed", "purge", ("t-aaa",)), settings=settings, registry=_registry())
        # t-bbb has no routing key of its own and no default: recorded, not silently dropped
        handle_signal(control, Signal("purge_failed", "purge", ("t-bbb",)), settings=settings, registry=_registry())
    rows = control.fetch(
        sa.select(alert_deliveries.c.dedup_key, alert_deliveries.c.status, alert_deliveries.c.http_status)
    )
    assert len(pager.requests) == 1
    assert sorted((r["dedup_key"].split(":")[1], r["status"], r["http_status"]) for r in rows) == [
        ("t-aaa", "failed", 400),
        ("t-bbb", "failed", None),
    ]


def test_p11_p13_a_minor_incident_opens_a_ticket_repeats_update_it_and_resolution_keeps_evidence(control):
    settings = AlertSettings(pager_url=None)
    signal = Signal("check_failed", "silver/x:volume", ("t-aaa",), check_severity="WARN", run_ids=("run-1",))
    first = handle_signal(control, signal, settings=settings, registry=_registry())
    again = handle_signal(control, signal, settings=settings, registry=_registry())
    assert first["created"] and not again["created"] and again["incident_id"] == first["incident_id"]
    (ticket,) = control.fetch(sa.select(alert_deliveries))
    assert (ticket["channel"], ticket["dedup_key"], ticket["status"]) == ("ticket", "support-aaa", "sent")
    set_status(
        control,
        first["incident_id"],
        "resolved",
        actor="oncall@example.org",
        root_cause="late upload from the tenant's PBX",
        corrective_action="tenant re-sent the day",
    )
    (inc,) = control.fetch(sa.select(incidents))
    assert inc["status"] == "resolved" and inc["root_cause"] and inc["counts"]["repeats"] == 1
    events = [r["event"] for r in control.fetch(sa.select(incident_timeline).order_by(incident_timeline.c.id))]
    assert events == ["detected", "repeated", "resolved"]
    with pytest.raises(sa.exc.DatabaseError):  # the timeline is evidence: append-only (P13)
        with control.engine.begin() as conn:
            conn.execute(incident_timeline.delete())


def test_p10_p14_a_breach_gets_a_deadline_per_tenant_drafts_and_escalates_once_per_stage(control):
    with Receiver() as pager:
        settings = AlertSettings(
            pager_url=pager.url, backoff_s=0, env={"KEY_AAA": "a" * 32, "CCR_PAGER_ROUTING_KEY": "p" * 32}
        )
        now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
        out = handle_signal(
            control,
            Signal(
                "isolation_breach",
                "gold/reports:iso",
                ("t-aaa", "t-bbb"),
                tenant_counts={"t-aaa": {"appels": 2}, "t-bbb": {"appels": 5}},
            ),
            settings=settings,
            registry=_registry(),
            now=now,
        )
        assert (out["severity"], out["is_breach"], out["pages_sent"], out["drafts"]) == ("critique", True, 2, 2)
        (inc,) = control.fetch(sa.select(incidents))
        assert inc["notify_authority_by"].replace(tzinfo=UTC) == now + timedelta(hours=72)
        drafts = {r["tenant_id"]: r["body"] for r in control.fetch(sa.select(incident_notifications))}
        assert set(drafts) == {"t-aaa", "t-bbb"}
        assert "Aaa SA" in drafts["t-aaa"] and "t-bbb" not in drafts["t-aaa"] and "t-aaa" not in drafts["t-bbb"]
        assert [e["payload"]["severity"] for e in pager.json_bodies()] == ["critical", "critical"]
        assert escalate_breaches(control, settings=settings, registry=_registry(), now=now + timedelta(hours=30)) == []
        assert escalate_breaches(control, settings=settings, registry=_registry(), now=now + timedelta(hours=50)) == [
            inc["id"]
        ]
        assert escalate_breaches(control, settings=settings, registry=_registry(), now=now + timedelta(hours=51)) == []
        assert escalate_breaches(control, settings=settings, registry=_registry(), now=now + timedelta(hours=73)) == [
            inc["id"]
        ]
        keys = [e["dedup_key"] for e in pager.json_bodies()]
    assert (
        sum(k.endswith(":deadline-due_soon") for k in keys) == 2
        and sum(k.endswith(":deadline-overdue") for k in keys) == 2
    )


def test_p7_the_sentry_scrubber_removes_transcripts_phones_and_emails():
    event = {
        "event_id": "0612345678abcdef0612345678abcdef",
        "level": "error",
        "message": "segment 3 of c-1001 failed: appelez le 06 12 34 56 78 ou jean.dupont@example.fr",
        "exception": {"values": [{"type": "ValueError", "value": "bad number +44 7700 900123"}]},
        "extra": {"text": "bonjour je m'appelle Jean", "segments": [{"text": "x"}], "calls": 3},
        "breadcrumbs": {"values": [{"message": "mail to marie@example.com"}]},
        "user": {"ip_address": "10.0.0.1"},
        "request": {"data": "x"},
    }
    out = scrub_event(event)
    flat = repr(out)
    for leaked in ("06 12 34 56 78", "jean.dupont@example.fr", "7700 900123", "marie@example.com", "Jean", "10.0.0.1"):
        assert leaked not in flat, leaked
    assert out["event_id"] == event["event_id"]  # ids are left intact
    assert "[PHONE]" in out["message"] and "[EMAIL]" in out["message"] and "c-1001" in out["message"]
    assert out["extra"]["calls"] == 3


def test_p3_p11_one_actor_exporting_three_tenants_pages_critical_and_the_cli_resolves_it(
    local_settings_env, capsys, tmp_path
):
    import dagster as dg

    from ccr_pipelines.cli import main
    from ccr_pipelines.defs.alerting.sensors import unusual_access_sensor
    from ccr_pipelines.loaders.settings_files import load_settings
    from ccr_pipelines.resources import AlertingResource, ControlStoreResource, TenantRegistryResource

    loaded = load_settings()
    url = loaded.settings.control_url()
    control = ControlStore(url)
    control.migrate()
    for tenant in ("acme-energie", "globex-support", "initech-paused"):
        control.log_access(
            actor="contractor-7", tenant_id=tenant, action="export", purpose="?", obj=f"reports/{tenant}/x"
        )
    control.log_access(
        actor="dagster:run-1", tenant_id="acme-energie", action="read", purpose="report", obj="datasets/acme-energie"
    )
    with Receiver() as pager:
        resources = {
            "control_store": ControlStoreResource(url=url),
            "tenant_registry": TenantRegistryResource(path=loaded.registry.source),
            "alerting": AlertingResource(pager_url=pager.url, backoff_s=0),
        }
        with dg.build_sensor_context(resources=resources) as ctx:
            unusual_access_sensor(ctx)
    (inc,) = control.fetch(sa.select(incidents))
    assert (inc["severity"], inc["rule"], inc["is_breach"]) == ("critique", "R3", True)
    assert inc["signal"] == "unusual_access:actor:contractor-7"
    assert main(["incidents", "list"]) == 0
    assert "R3" in capsys.readouterr().out
    assert (
        main(
            [
                "incidents",
                "resolve",
                str(inc["id"]),
                "--root-cause",
                "export script looped over tenants",
                "--corrective-action",
                "script scoped to one tenant",
            ]
        )
        == 0
    )
    (inc,) = control.fetch(sa.select(incidents))
    assert inc["status"] == "resolved" and inc["corrective_action"] == "script scoped to one tenant"
    assert main(["incidents", "resolve", "999"]) == 2


def test_p13_p14_notes_of_a_two_tenant_incident_are_recorded_per_tenant_and_each_audit_pack_carries_only_its_own(
    local_settings_env, capsys, monkeypatch
):
    """Each affected tenant's root cause and corrective action name its own company and calls; the register's
    shared note names both. Each tenant's pack holds its own notes and no word of the other's."""
    import io
    import json
    import zipfile

    from ccr_pipelines.cli import main
    from ccr_pipelines.loaders.settings_files import load_settings
    from ccr_pipelines.services.audit_pack import build_pack

    loaded = load_settings()
    control = ControlStore(loaded.settings.control_url())
    control.migrate()
    two = handle_signal(
        control,
        Signal("isolation_breach", "reports:W47", ("acme-energie", "globex-support")),
        settings=AlertSettings(pager_url=None),
        registry=loaded.registry,
    )["incident_id"]
    one = handle_signal(
        control,
        Signal("purge_failed", "purge", ("acme-energie",)),
        settings=AlertSettings(pager_url=None),
        registry=loaded.registry,
    )["incident_id"]
    notes = {
        "acme-energie": (
            "Acme Énergie upload c-acme-1001 was filed under the wrong tenant",
            "Acme Énergie call c-acme-1001 moved back; key check added",
        ),
        "globex-support": (
            "Globex Support call c-glob-2002 reached another tenant's report",
            "Globex Support report for c-glob-2002 regenerated",
        ),
    }
    monkeypatch.setenv("CCR_PRINCIPAL", "oncall")  # the caller the platform authenticated (P3)
    # the register's own note names both tenants: it reaches no pack
    assert (
        main(
            [
                "incidents",
                "resolve",
                str(two),
                "--root-cause",
                "shared worker mixed Acme Énergie c-acme-1001 and Globex Support c-glob-2002",
            ]
        )
        == 0
    )
    assert "touches 2 tenants" in capsys.readouterr().out
    for tenant, (cause, action) in notes.items():
        assert (
            main(
                [
                    "incidents",
                    "resolve",
                    str(two),
                    "--tenant",
                    tenant,
                    "--root-cause",
                    cause,
                    "--corrective-action",
                    action,
                ]
            )
            == 0
        )
        assert capsys.readouterr().out.strip() == f"incident {two}: resolve; notes recorded for tenant {tenant}"
    assert main(["incidents", "resolve", str(one), "--root-cause", "Acme Énergie purge timed out"]) == 0
    capsys.readouterr()
    # refused in one line: a tenant the incident does not touch, an unknown tenant, a tenant without notes
    for argv in (
        ["incidents", "resolve", str(one), "--tenant", "globex-support", "--root-cause", "x"],
        ["incidents", "resolve", str(two), "--tenant", "nobody-here", "--root-cause", "x"],
        ["incidents", "resolve", str(two), "--tenant", "acme-energie"],
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("ccr: error: ") and err.count("\n") == 1, err
    timeline = control.fetch(sa.select(incident_timeline.c.event).where(incident_timeline.c.incident_id == two))
    assert [r["event"] for r in timeline].count("resolved") == 1  # per-tenant notes keep the resolution time
    today = datetime.now(UTC).date()
    words = {"acme-energie": ("Acme", "c-acme-1001"), "globex-support": ("Globex", "c-glob-2002")}
    for tenant, other in (("acme-energie", "globex-support"), ("globex-support", "acme-energie")):
        body, _ = build_pack(control, loaded.registry, tenant, today, today, actor="auditor")
        zf = zipfile.ZipFile(io.BytesIO(body))
        everything = "\n".join(zf.read(n).decode() for n in zf.namelist())
        for word in words[other]:
            assert word not in everything, (tenant, word)
        incs = {i["id"]: i for i in json.loads(zf.read([n for n in zf.namelist() if n.endswith("incidents.json")][0]))}
        assert (incs[two]["root_cause"], incs[two]["corrective_action"]) == notes[tenant]
        assert [t["event"] for t in incs[two]["timeline"]].count("notes") == 1  # not the other tenant's notes row
        if tenant == "acme-energie":  # an incident of this tenant alone keeps the register's note
            assert incs[one]["root_cause"] == "Acme Énergie purge timed out"
        else:
            assert one not in incs
