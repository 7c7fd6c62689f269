"""Tenant reports: rendered in a real browser, isolated per tenant, delivered with an access log.

Data are written by the pipeline's own metrics and scoring steps (analytics_helpers), two weeks
per tenant so the report has a previous period to compare with.
"""

from __future__ import annotations

import io
import json
from datetime import date

import dagster as dg
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
import yaml

from ccr_pipelines.core.report_periods import period_containing
from ccr_pipelines.core.report_render import fmt, kpi_changes
from ccr_pipelines.core.tenants import Tenant, TenantRegistry
from ccr_pipelines.defs.reports.assets import REPORT_ISOLATION_CHECK, tenant_weekly_reports
from ccr_pipelines.resources import ControlStoreResource, ObjectStoreResource, TenantRegistryResource, WarehouseResource
from ccr_pipelines.services.reports import EXTRACTS, generate_report, report_prefix, verify_isolation
from ccr_pipelines.stores.control_store import ControlStore, access_log, lineage
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .analytics_helpers import write_scored_day
from .browser import CHROMIUM, png_stats, screenshot
from .conftest import require

WEEK = period_containing("weekly", date(2026, 11, 16))  # 2026-W47
PREV_DAY, DAY1, DAY2 = "2026-11-10", "2026-11-16", "2026-11-18"
# A card named after no tenant: the isolation scan looks for other tenants' ids in what is delivered.
CARD = "default.v1"


def _tenant(tid: str, lang: str) -> Tenant:
    return Tenant(id=tid, display_name=f"Tenant {tid}", languages=[lang], scorecard="default.v1")


@pytest.fixture
def two_tenants(tmp_path):
    """acme and globex share agent id ag-1 and call ids c-1/c-2; globex has more calls, its own team."""
    wh = Warehouse(LocalObjectStore(tmp_path / "objects"))
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    write_scored_day(wh, control, CARD, "acme-energie", PREV_DAY, {"c-0": "bad"})
    write_scored_day(
        wh,
        control,
        CARD,
        "acme-energie",
        DAY1,
        {"c-1": ("good", "ag-1", "team-nord"), "c-2": ("bad", "ag-2", "team-nord")},
    )
    write_scored_day(wh, control, CARD, "acme-energie", DAY2, {"c-3": ("good", "ag-1", "team-nord")})
    write_scored_day(
        wh,
        control,
        CARD,
        "globex-support",
        DAY1,
        {
            "c-1": ("bad", "ag-1", "team-globex"),
            "c-2": ("bad", "ag-1", "team-globex"),
            "c-9": ("bad", "ag-9", "team-globex"),
        },
    )
    registry = TenantRegistry([_tenant("acme-energie", "fr"), _tenant("globex-support", "en")])
    return wh, control, registry


def test_kpi_changes_say_whether_a_change_is_better_and_format_per_language():
    rows = {
        r["kpi"]: r
        for r in kpi_changes(
            {"avg_score": 70.0, "auto_fail_rate": 0.2, "calls": 5},
            {"avg_score": 60.0, "auto_fail_rate": 0.1, "calls": 5},
        )
    }
    assert rows["avg_score"]["change"] == 10.0 and rows["avg_score"]["improved"] is True
    assert rows["auto_fail_rate"]["improved"] is False  # more auto-fails is worse
    assert rows["calls"]["improved"] is None  # volume is neither good nor bad
    assert rows["compliance_rate"]["change"] is None  # no value, no change
    assert fmt(0.1234, "rate", "fr") == "12,3 %" and fmt(0.1234, "rate", "en") == "12.3%"
    assert fmt(125, "seconds", "en") == "2:05" and fmt(12345, "count", "en") == "12,345"


@pytest.mark.browser
@pytest.mark.parametrize(
    "tenant_id, lang, notice, kpi_label",
    [
        ("acme-energie", "fr", "ne sont pas validés", "Score moyen"),
        ("globex-support", "en", "unvalidated unless marked reviewed", "Average score"),
    ],
)
def test_p1_p15_a_report_renders_in_chromium_with_kpis_charts_and_the_ai_notice(
    two_tenants, tmp_path, tenant_id, lang, notice, kpi_label
):
    wh, control, registry = two_tenants
    out = generate_report(wh, control, registry.require(tenant_id), WEEK, run_id="run-1", actor="test")
    html_path = wh.store._path(f"{out['prefix']}/report.html")
    assert out["link"] == str(html_path)  # the embedded default's link is a local path
    require(CHROMIUM is not None, "Debian chromium is not installed (apt-get install chromium)")
    png = tmp_path / f"report-{lang}.png"
    dom = screenshot(html_path.as_uri(), png, tmp_path / f"profile-{lang}", size="1100,1800", virtual_time_ms=3000)
    colours, ink = png_stats(png)
    assert colours > 20 and ink > 0.05, (colours, ink)
    assert f'<html lang="{lang}">' in dom
    for section in (
        "kpis",
        "trends",
        "teams",
        "agents",
        "compliance",
        "review",
        "lowest",
        "quality",
        "ai-notice",
        "drivers",
        "sentiment",
        "categories",
    ):
        assert f'id="{section}"' in dom, section
    assert dom.count("<svg") == 4 and 'class="bar"' in dom and 'class="line"' in dom
    assert notice in dom and kpi_label in dom
    if tenant_id == "acme-energie":  # it had calls the week before: a change is shown, not "no previous data"
        assert "▲" in dom or "▼" in dom


def test_p4_p14_two_tenants_sharing_agent_ids_and_call_ids_do_not_leak_into_each_others_report(two_tenants):
    wh, control, registry = two_tenants
    generate_report(wh, control, registry.require("acme-energie"), WEEK, run_id="r", actor="test")
    generate_report(wh, control, registry.require("globex-support"), WEEK, run_id="r", actor="test")
    prefix = report_prefix("acme-energie", WEEK)
    manifest = json.loads(wh.store.get_bytes(f"{prefix}/manifest.json"))
    assert sorted(c["call_id"] for c in manifest["calls"]) == ["c-1", "c-2", "c-3"]  # not c-9, not c-0 (last week)
    agents = {
        r["agent_id"]: r for r in pq.read_table(io.BytesIO(wh.store.get_bytes(f"{prefix}/agents.parquet"))).to_pylist()
    }
    assert agents["ag-1"]["calls"] == 2  # acme's ag-1 only: globex's ag-1 took two more calls
    assert set(agents) == {"ag-1", "ag-2"}
    kpis = {r["kpi"]: r for r in pq.read_table(io.BytesIO(wh.store.get_bytes(f"{prefix}/kpis.parquet"))).to_pylist()}
    assert kpis["calls"]["value"] == 3 and kpis["calls"]["previous"] == 1
    everything = "".join(
        wh.store.get_bytes(f"{prefix}/{n}").decode()
        for n in ("report.html", "manifest.json", *(f"{e}.csv" for e in EXTRACTS))
    )
    for foreign in ("globex-support", "team-globex", "ag-9", "c-9"):
        assert foreign not in everything, foreign
    assert verify_isolation(wh, registry, "acme-energie", WEEK) == []
    assert verify_isolation(wh, registry, "globex-support", WEEK) == []


def test_p14_the_isolation_check_catches_a_report_that_names_another_tenant(two_tenants):
    wh, control, registry = two_tenants
    generate_report(wh, control, registry.require("acme-energie"), WEEK, run_id="r", actor="test")
    prefix = report_prefix("acme-energie", WEEK)
    # Tamper with what was delivered, as a bug in a later change could: a foreign call and tenant name.
    manifest = json.loads(wh.store.get_bytes(f"{prefix}/manifest.json"))
    manifest["calls"].append({"call_id": "c-9", "day": DAY1})
    wh.store.put_bytes(f"{prefix}/manifest.json", json.dumps(manifest).encode())
    csv = wh.store.get_bytes(f"{prefix}/teams.csv").decode() + "acme-energie,weekly,2026-W47,globex-support,1,1,0\n"
    wh.store.put_bytes(f"{prefix}/teams.csv", csv.encode())
    problems = verify_isolation(wh, registry, "acme-energie", WEEK)
    assert any("manifest.json lists 1 call" in p for p in problems), problems
    assert any("teams.csv names 1 other tenant" in p for p in problems), problems
    assert not any("c-9" in p or "globex" in p for p in problems)  # problems never echo the values


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_p3_the_report_asset_delivers_logs_every_access_and_reruns_in_place(backend, tmp_path, request):
    if backend == "local":
        store_res = ObjectStoreResource(kind="local", root=str(tmp_path / "objects"))
    else:
        endpoint, bucket = request.getfixturevalue("s3_bucket")
        store_res = ObjectStoreResource(kind="s3", bucket=bucket, endpoint_url=endpoint, region="eu-west-3")
    wh = Warehouse(store_res.get())
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    write_scored_day(wh, control, CARD, "acme-energie", DAY1, {"c-1": "good", "c-2": "bad"})
    registry_file = tmp_path / "tenants.yaml"
    registry_file.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "tenants": [
                    {"id": "acme-energie", "display_name": "Acme", "languages": ["fr"], "scorecard": "default.v1"},
                    {
                        "id": "initech-paused",
                        "display_name": "Initech",
                        "languages": ["fr"],
                        "scorecard": "default.v1",
                        "suspended": True,
                    },
                ],
            }
        )
    )
    resources = {
        "object_store": store_res,
        "warehouse": WarehouseResource(object_store=store_res),
        "control_store": ControlStoreResource(url=f"sqlite:///{tmp_path}/control.db"),
        "tenant_registry": TenantRegistryResource(path=str(registry_file)),
    }
    op = tenant_weekly_reports.key.to_python_identifier()

    def run(tenant_id: str):
        return dg.materialize(
            [tenant_weekly_reports],
            resources=resources,
            partition_key=WEEK.partition_key,
            run_config={"ops": {op: {"config": {"tenant_id": tenant_id}}}},
            raise_on_error=False,
        )

    first = run("acme-energie")
    assert first.success
    (check,) = first.get_asset_check_evaluations()
    assert check.check_name == REPORT_ISOLATION_CHECK and check.passed
    md = first.get_asset_materialization_events()[0].materialization.metadata
    assert md["calls"].value == 2 and md["tenant_id"].value == "acme-energie"
    assert not any("http" in str(v.value) for v in md.values())  # no presigned URL in Dagster metadata
    prefix = report_prefix("acme-energie", WEEK)
    keys = sorted(o.key for o in wh.store.list(prefix + "/"))
    # html, csv + parquet per extract, manifest, and the check record; nothing left in staging
    assert len(keys) == 1 + 2 * len(EXTRACTS) + 1 + 1 and f"{prefix}/check.json" in keys
    record = json.loads(wh.store.get_bytes(f"{prefix}/check.json"))
    assert record["passed"] is True and record["run_id"] == first.run_id and record["check"] == REPORT_ISOLATION_CHECK
    rows = control.fetch(sa.select(access_log).where(access_log.c.tenant_id == "acme-energie"))
    actions = sorted({r["action"] for r in rows})
    assert actions == ["delete", "export", "link", "read", "write"]  # delete: the staging copy
    assert all(
        r["run_id"] == first.run_id and r["object"].startswith(("reports/acme-energie/", "datasets/acme-energie"))
        for r in rows
    )
    if backend == "s3":
        link = generate_report(
            wh,
            control,
            Tenant(id="acme-energie", display_name="Acme", languages=["fr"], scorecard="default.v1"),
            WEEK,
            run_id="r2",
            actor="t",
            link_expiry_s=600,
        )["link"]
        assert link.startswith(store_res.endpoint_url) and ("X-Amz-Expires=600" in link or "Expires=" in link), link
    second = run("acme-energie")
    assert second.success and sorted(o.key for o in wh.store.list(prefix + "/")) == keys  # same period, same objects
    assert (
        control.fetch(sa.select(sa.func.count()).select_from(lineage).where(lineage.c.artefact_kind == "report"))[0][
            "count_1"
        ]
        >= 2
    )
    # P4, P14: a run whose report fails the blocking check publishes nothing; the check shows in Dagster
    published = {k: wh.store.sha256(k) for k in keys}
    registry_file.write_text(
        registry_file.read_text().replace("display_name: Acme", "display_name: Acme initech-paused")
    )
    failing = run("acme-energie")
    assert not failing.success
    (check,) = failing.get_asset_check_evaluations()
    assert check.check_name == REPORT_ISOLATION_CHECK and not check.passed
    assert (
        check.metadata["published"].value is False
        and "report.html names 1 other tenant" in check.metadata["detail"].value
    )
    assert {k: wh.store.sha256(k) for k in keys} == published  # the checked publication stays
    assert json.loads(wh.store.get_bytes(f"{prefix}/check.json"))["run_id"] == second.run_id
    assert sorted(o.key for o in wh.store.list(prefix + "/")) == keys  # no staging leftover
    suspended = run("initech-paused")  # P12: no report for a suspended tenant
    assert not suspended.success
    assert not list(wh.store.list("reports/initech-paused/"))


# -- publication after the blocking check, and links (P4, P14) ---------------------------------------
def _link(*argv: str) -> tuple[int, str, str]:
    import contextlib

    from ccr_pipelines import cli as ccr

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = ccr.main(["reports", "link", *argv])
    return rc, out.getvalue(), err.getvalue()


def test_p4_p14_a_report_is_published_only_after_its_check_passes_and_only_a_checked_report_is_linked(
    local_settings_env,
):
    from ccr_pipelines.loaders.settings_files import load_settings

    registry = load_settings().registry
    wh = Warehouse(LocalObjectStore(local_settings_env / "objects"))
    control = ControlStore(f"sqlite:///{local_settings_env}/control.db")
    control.migrate()
    write_scored_day(wh, control, CARD, "acme-energie", DAY1, {"c-1": "good", "c-2": "bad"})
    write_scored_day(wh, control, CARD, "globex-support", DAY1, {"c-7": "bad"})
    acme, globex = registry.require("acme-energie"), registry.require("globex-support")
    # normal path: staged, checked, published with a passed check record; the link is issued
    out = generate_report(wh, control, acme, WEEK, run_id="run-ok", actor="test", registry=registry)
    prefix = report_prefix("acme-energie", WEEK)
    assert out["published"] and out["problems"] == [] and out["link"]
    record = json.loads(wh.store.get_bytes(f"{prefix}/check.json"))
    assert record["passed"] is True and record["run_id"] == "run-ok" and record["checked_at"]
    assert record["files"]["report.html"] == wh.store.sha256(f"{prefix}/report.html") and len(
        record["files"]
    ) == 2 + 2 * len(EXTRACTS)
    assert not list(wh.store.list(f"{prefix}/staging/"))
    rc, link, err = _link("acme-energie", "--day", DAY1)
    assert rc == 0 and link.strip() == str(wh.store._path(f"{prefix}/report.html")) and err == ""
    # a report that fails its check (its own name carries another tenant's id) is never at the published keys
    leaky = globex.model_copy(update={"display_name": "Globex, formerly of acme-energie"})
    bad = generate_report(wh, control, leaky, WEEK, run_id="run-bad", actor="test", registry=registry)
    assert not bad["published"] and bad["link"] is None
    assert any("report.html names 1 other tenant" in p for p in bad["problems"]), bad["problems"]
    assert list(wh.store.list("reports/globex-support/")) == []  # neither published nor left in staging
    assert not control.fetch(
        sa.select(lineage).where(
            lineage.c.tenant_id == "globex-support", lineage.c.artefact_kind.in_(["report", "report_file"])
        )
    )
    rc, link, err = _link("globex-support", "--day", DAY1)
    assert rc == 2 and link == "" and err.strip() == "ccr: error: no weekly report 2026-W47 of tenant 'globex-support'"
    # a report at the published key without a check record (written around the pipeline) is refused
    gprefix = report_prefix("globex-support", WEEK)
    wh.store.put_bytes(f"{gprefix}/report.html", b"<html>acme-energie</html>")
    rc, link, err = _link("globex-support", "--day", DAY1)
    assert rc == 2 and link == "" and "has no passed isolation check record: not deliverable" in err
    assert err.count("\n") == 1
    # a published report changed after its check (tampered) is refused too
    html = wh.store.get_bytes(f"{prefix}/report.html")
    wh.store.put_bytes(f"{prefix}/report.html", html.replace(b"</body>", b"globex-support c-7</body>"))
    rc, link, err = _link("acme-energie", "--day", DAY1)
    assert rc == 2 and link == "" and "differs from what its isolation check passed" in err
    # a record that did not pass, or names another tenant, is no record
    wh.store.put_bytes(f"{prefix}/report.html", html)
    assert _link("acme-energie", "--day", DAY1)[0] == 0
    for change in ({"passed": False}, {"tenant_id": "globex-support"}):
        wh.store.put_bytes(f"{prefix}/check.json", json.dumps({**record, **change}).encode())
        rc, link, err = _link("acme-energie", "--day", DAY1)
        assert rc == 2 and "no passed isolation check record" in err, change
    links = control.fetch(sa.select(access_log).where(access_log.c.action == "link", access_log.c.actor != "test"))
    assert len(links) == 2  # only the two links issued were logged


def test_p4_issue19_drivers_sentiment_and_categories_sections_in_french_and_english_with_the_change_vs_last_week(
    tmp_path,
):
    """The report's conversation-analytics sections (top drivers, sentiment trend, categories) come
    from the tenant's own datasets, compare with the previous week, and pass the isolation check."""
    wh = Warehouse(LocalObjectStore(tmp_path / "objects"))
    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    for tid in ("acme-energie", "globex-support"):
        write_scored_day(wh, control, CARD, tid, PREV_DAY, {"c-0": "billing"})
        write_scored_day(wh, control, CARD, tid, DAY1, {"c-1": "billing", "c-2": "angry"})
        write_scored_day(wh, control, CARD, tid, DAY2, {"c-3": "billing"})
    registry = TenantRegistry([_tenant("acme-energie", "fr"), _tenant("globex-support", "en")])
    for tid, words in (
        ("acme-energie", ("Motifs d&#x27;appel", "Sentiment moyen du client", "Catégories")),
        ("globex-support", ("Call drivers", "Average customer sentiment", "Categories")),
    ):
        out = generate_report(wh, control, registry.require(tid), WEEK, run_id="r", actor="test", registry=registry)
        assert out["published"], out["problems"]
        prefix = report_prefix(tid, WEEK)
        html = wh.store.get_bytes(f"{prefix}/report.html").decode()
        assert all(w in html for w in words) and 'id="drivers"' in html and 'id="sentiment"' in html
        drivers = {
            r["driver"]: r
            for r in pq.read_table(io.BytesIO(wh.store.get_bytes(f"{prefix}/drivers.parquet"))).to_pylist()
        }
        assert drivers["billing"]["calls"] == 2 and drivers["billing"]["previous_calls"] == 1
        assert drivers["billing"]["change"] == 1 and drivers["technical_fault"]["calls"] == 1
        assert {r["tenant_id"] for r in drivers.values()} == {tid}
        sentiment = {
            r["measure"]: r
            for r in pq.read_table(io.BytesIO(wh.store.get_bytes(f"{prefix}/sentiment.parquet"))).to_pylist()
        }
        assert sentiment["negative_end_rate"]["value"] == pytest.approx(1 / 3)
        assert sentiment["negative_end_rate"]["previous"] == 0 and sentiment["customer"]["change"] is not None
        cats = {
            r["category"]: r
            for r in pq.read_table(io.BytesIO(wh.store.get_bytes(f"{prefix}/categories.parquet"))).to_pylist()
        }
        assert cats["unhappy_at_end"]["calls"] == 1
        assert verify_isolation(wh, registry, tid, WEEK) == []
