"""Transcript search (issue 19) on real control stores, SQLite (FTS5) and PostgreSQL (tsvector):
case and accents folded, one tenant only (P4), every search access-logged with a keyed digest and
never the words (P3), restricted calls out until the restriction is lifted (P16), erased calls out
in the erasure's own transaction and checked by its verification scan (P17), index rows follow the
redacted partition they come from and leave with its retention (P19)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pyarrow as pa
import pytest
import sqlalchemy as sa

from ccr_pipelines.core.search import SearchQueryError, fold, fts5_match, pg_tsquery, query_digest, query_terms
from ccr_pipelines.services import dsr
from ccr_pipelines.services import search as svc
from ccr_pipelines.services.redact import REDACTED_DATASET, REDACTED_SCHEMA
from ccr_pipelines.stores.control_store import ControlStore, access_log, search_segments
from ccr_pipelines.stores.object_store import LocalObjectStore
from ccr_pipelines.stores.warehouse import Warehouse

from .cli_helpers import is_traceback, run_cli
from .test_dsr import EMAIL, PHONE, SECRET, T, _world

DAY = "2026-11-16"
OTHER = "globex-support"


def _segments(tenant: str, rows: list[tuple[str, int, str, str]]) -> pa.Table:
    """(call id, index, speaker, text) -> a redacted_segments table as the redaction step writes it."""
    return pa.Table.from_pylist(
        [
            {
                "tenant_id": tenant,
                "call_id": c,
                "segment_index": i,
                "speaker": sp,
                "channel": 0 if sp == "agent" else 1,
                "start_s": 5.0 * i,
                "end_s": 5.0 * i + 4.0,
                "text": text,
                "avg_logprob": -0.2,
                "speech_regions": [],
                "pii_phone": 0,
                "pii_email": 0,
                "pii_card": 0,
                "pii_iban": 0,
                "pii_nir": 0,
                "redactor_version": "t",
                "no_speech": False,
            }
            for c, i, sp, text in rows
        ],
        schema=REDACTED_SCHEMA,
    )


ACME = [
    ("c-fr-1", 0, "agent", "Bonjour, votre facture d'Électricité est prête."),
    ("c-fr-1", 1, "customer", "Elle est beaucoup trop CHÈRE, je veux résilier !"),
    ("c-fr-2", 0, "agent", "L'électricité verte coûte moins cher."),
    ("c-fr-2", 1, "customer", "Merci, je n'ai pas de problème."),
    ("c-fr-3", 0, "customer", "[PERSON] voudrait résilier son contrat."),
]
GLOBEX = [("g-1", 0, "customer", "My electricite bill is too high, I want to resilier")]


def _search(control, tenant, query, **kw):
    return svc.search(control, tenant, query, actor="test", digest_key=SECRET, **kw)


def test_the_query_is_folded_like_the_index_and_an_empty_or_too_wide_one_is_refused():
    assert fold("Électricité CHÈRE, l'agent") == "electricite chere l agent"
    assert query_terms("  Résilier résilier RESILIER ") == ("resilier",)
    assert fts5_match(("a", "b")) == '"a" AND "b"' and pg_tsquery(("a", "b")) == "a & b"
    for bad in ("", "   ", "!!! ?? --", "a b c d e f g h i", "x" * 41, "y" * 301):
        with pytest.raises(SearchQueryError):
            query_terms(bad)
    # the access log's digest: keyed, the same for the same words in any case or accents, never the words
    d = query_digest("Électricité", tenant_id=T, key="k1")
    assert d == query_digest("ELECTRICITE", tenant_id=T, key="k1") != query_digest("electricite", tenant_id=T, key="k2")
    assert "electricit" not in d and d.endswith("words 1")


def test_p4_search_folds_case_and_accents_and_answers_from_its_own_tenant_only(control_store):
    svc.index_partition(control_store, T, DAY, _segments(T, ACME))
    svc.index_partition(control_store, OTHER, DAY, _segments(OTHER, GLOBEX))

    def calls(rows):
        return sorted({(r["call_id"], r["segment_index"]) for r in rows})

    # accents and case, both ways
    assert calls(_search(control_store, T, "ELECTRICITE")) == [("c-fr-1", 0), ("c-fr-2", 0)]
    assert calls(_search(control_store, T, "électricité")) == [("c-fr-1", 0), ("c-fr-2", 0)]
    assert calls(_search(control_store, T, "chère")) == [("c-fr-1", 1)]
    assert calls(_search(control_store, T, "RÉSILIER")) == [("c-fr-1", 1), ("c-fr-3", 0)]
    # every word must be there; elisions split
    assert calls(_search(control_store, T, "résilier contrat")) == [("c-fr-3", 0)]
    assert calls(_search(control_store, T, "n'ai probleme")) == [("c-fr-2", 1)]
    # speaker and days
    assert calls(_search(control_store, T, "résilier", speaker="agent")) == []
    assert calls(_search(control_store, T, "résilier", speaker="customer")) == [("c-fr-1", 1), ("c-fr-3", 0)]
    assert _search(control_store, T, "résilier", day_from="2026-11-17") == []
    assert len(_search(control_store, T, "résilier", day_from=DAY, day_to=DAY)) == 2
    # results name call, day, time and speaker; the redacted text as written
    [hit] = _search(control_store, T, "contrat")
    assert (hit["call_id"], hit["day"], hit["start_s"], hit["speaker"]) == ("c-fr-3", DAY, 0.0, "customer")
    assert hit["text"].startswith("[PERSON]")
    # P4: the other tenant's words are never an answer, and its own search sees only its rows
    assert all(
        r["call_id"].startswith("c-fr")
        for q in ("electricite", "resilier", "bill")
        for r in _search(control_store, T, q)
    )
    assert [r["call_id"] for r in _search(control_store, OTHER, "électricité résilier")] == ["g-1"]
    assert _search(control_store, OTHER, "contrat") == []
    # at most --limit, newest indexed first
    assert len(_search(control_store, T, "résilier", limit=1)) == 1


def test_a_new_redacted_partition_replaces_its_days_index_rows_and_no_speech_segments_are_left_out(control_store):
    svc.index_partition(control_store, T, DAY, _segments(T, ACME))
    assert svc.count_rows(control_store, T) == 5
    table = _segments(T, ACME[:2])
    table = table.set_column(table.schema.get_field_index("no_speech"), "no_speech", pa.array([False, True]))
    assert svc.index_partition(control_store, T, DAY, table) == 1
    assert svc.count_rows(control_store, T) == 1
    assert _search(control_store, T, "résilier") == [] and len(_search(control_store, T, "facture")) == 1
    with pytest.raises(ValueError, match="another tenant"):
        svc.index_partition(control_store, T, DAY, _segments(OTHER, GLOBEX))
    assert svc.count_rows(control_store, T) == 1  # refused whole: the day's rows are untouched


def test_p3_every_search_writes_one_access_log_row_with_a_keyed_digest_and_never_the_words(control_store):
    svc.index_partition(control_store, T, DAY, _segments(T, ACME))
    before = control_store.fetch(sa.select(sa.func.count()).select_from(access_log))[0]["count_1"]
    _search(control_store, T, "Résilier contrat")
    _search(control_store, T, "mot absent")
    rows = control_store.fetch(sa.select(access_log).order_by(access_log.c.id))[before:]
    assert [(r["tenant_id"], r["actor"], r["action"]) for r in rows] == [(T, "test", "search")] * 2
    assert (
        rows[0]["object"] == f"search/{T} query {query_digest('resilier contrat', tenant_id=T, key=SECRET)} results 1"
    )
    assert rows[1]["object"].endswith("results 0")
    text = json.dumps(rows, default=str).lower()
    assert not any(w in text for w in ("resilier", "résilier", "contrat", "absent"))


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
def test_p16_p17_a_restricted_call_leaves_search_until_lifted_and_an_erased_one_leaves_with_the_erasure(
    engine, tmp_path, request
):
    url = f"sqlite:///{tmp_path}/control.db" if engine == "sqlite" else request.getfixturevalue("pg_url")
    control = ControlStore(url)
    control.migrate()
    env = _world(LocalObjectStore(tmp_path / "objects"), control)  # c-1 (phone) and c-3 (e-mail): the subject's
    svc.index_partition(control, T, DAY, env.warehouse.read_partition(REDACTED_DATASET, T, DAY))

    def calls():
        return sorted({r["call_id"] for r in _search(control, T, "goodbye", limit=200)})

    assert calls() == ["c-1", "c-2", "c-3"]
    rid = dsr.register(env, T, "restriction", {"email": EMAIL})
    dsr.restrict(env, rid)
    assert calls() == ["c-1", "c-2"]  # the restriction's commit is enough: nothing re-indexed
    assert svc.count_rows(control, T, {"c-3"}) > 0  # kept, only not shown
    dsr.restrict(env, rid, lift=True)
    assert calls() == ["c-1", "c-2", "c-3"]

    rid = dsr.register(env, T, "erasure", {"phone": PHONE})
    proof = dsr.erase(env, rid)
    assert proof["scan"]["passed"], proof["scan"]["findings"]
    assert calls() == ["c-2", "c-3"] and svc.count_rows(control, T, {"c-1"}) == 0
    assert {"store": "control_store", "location": "search_segments", "rows": 5} in proof["deleted"]
    # the verification scan reads the index too: a row left behind is a finding
    svc.index_partition(control, T, "2026-11-17", _segments(T, [("c-1", 0, "agent", "left behind")]))
    calls_of = [{"call_id": "c-1", "day": DAY}]
    assert "control_store: 1 row(s) in search_segments" in dsr.verify_erasure(env, T, calls_of, [])
    control.dispose()


def test_p19_the_purge_of_a_redacted_partition_and_an_offboarding_take_their_index_rows(tmp_path):
    from ccr_pipelines.core.tenants import Tenant, TenantRegistry
    from ccr_pipelines.services.retention import PurgeEnv, run_purge

    control = ControlStore(f"sqlite:///{tmp_path}/control.db")
    control.migrate()
    store = LocalObjectStore(tmp_path / "objects")
    wh = Warehouse(store)
    old, new = "2025-01-06", DAY
    for day in (old, new):
        wh.write_partition(REDACTED_DATASET, T, day, _segments(T, ACME))
        svc.index_partition(control, T, day, wh.read_partition(REDACTED_DATASET, T, day))
    registry = TenantRegistry([Tenant(id=T, display_name="Acme", languages=["fr"], scorecard="default.v1")])
    run_purge(
        PurgeEnv(store=store, warehouse=wh, control=control, registry=registry, today=date(2026, 11, 30), run_id="r1"),
        dry_run=False,
    )
    days = {r["day"] for r in control.fetch(sa.select(search_segments.c.day).where(search_segments.c.tenant_id == T))}
    assert days == {new}
    gone = TenantRegistry(
        [
            Tenant(
                id=T,
                display_name="Acme",
                languages=["fr"],
                scorecard="default.v1",
                terminated_on=date(2026, 11, 30) - timedelta(days=400),
            )
        ]
    )
    run_purge(
        PurgeEnv(store=store, warehouse=wh, control=control, registry=gone, today=date(2026, 11, 30), run_id="r2"),
        dry_run=False,
    )
    assert svc.count_rows(control, T) == 0
    control.dispose()


def test_p3_ccr_search_prints_call_time_and_speaker_logs_the_search_and_refuses_bad_input(local_settings_env):
    ok = "search-admin@example.org"
    rc, _o, err, _ = run_cli(["access", "grant", "ana@example.org", "analyst", "--reason", "QA"], principal=ok)
    assert rc == 0, err
    control = ControlStore(f"sqlite:///{local_settings_env}/control.db")
    svc.index_partition(control, "acme-energie", DAY, _segments("acme-energie", ACME))
    rc, out, err, esc = run_cli(
        ["search", "acme-energie", "RESILIER", "--speaker", "customer"], principal="ana@example.org"
    )
    assert rc == 0 and not is_traceback(rc, err, esc), err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["c-fr-3", DAY, "0:00-0:04", "customer"]  # newest indexed first
    assert lines[1].split()[:4] == ["c-fr-1", DAY, "0:05-0:09", "customer"] and "CHÈRE" in lines[1]
    assert lines[-1].startswith("2 segment(s) in tenant acme-energie")
    rc, out, _err, _ = run_cli(["search", "acme-energie", "absent", "--json"], principal="ana@example.org")
    assert rc == 1 and json.loads(out) == []
    [last] = control.fetch(sa.select(access_log).order_by(access_log.c.id.desc()).limit(1))
    assert last["action"] == "search" and last["actor"] == "ana@example.org" and "absent" not in last["object"]
    # one-line refusals, nothing written
    n = control.fetch(sa.select(sa.func.count()).select_from(access_log))[0]["count_1"]
    for argv, why in (
        (["search", "acme-energie", "!!!"], "no word"),
        (["search", "acme-energie", "x", "--from", "2026-11-20", "--to", "2026-11-01"], "before"),
        (["search", "no-such", "x"], "unknown tenant"),
        (["search", "acme-energie", "x", "--limit", "500"], "--limit"),
        (["search", "acme-energie", "x", "--category", "a/b"], "--category"),
    ):
        rc, out, err, esc = run_cli(argv, principal="ana@example.org")
        assert rc == 2 and why in err and err.count("\n") == 1 and not is_traceback(rc, err, esc), (argv, err)
    assert control.fetch(sa.select(sa.func.count()).select_from(access_log))[0]["count_1"] == n
    # --category without the categories step's dataset: a clear message, and the filter once it exists
    rc, _o, err, _ = run_cli(["search", "acme-energie", "résilier", "--category", "churn"], principal="ana@example.org")
    assert rc == 2 and "no category hits yet" in err
    wh = Warehouse(LocalObjectStore(local_settings_env / "objects"))
    wh.write_partition(
        svc.CATEGORY_HITS_DATASET,
        "acme-energie",
        DAY,
        pa.table({"tenant_id": ["acme-energie"], "call_id": ["c-fr-3"], "category": ["churn"]}),
    )
    rc, out, err, _ = run_cli(
        ["search", "acme-energie", "résilier", "--category", "churn"], principal="ana@example.org"
    )
    assert rc == 0 and [ln.split()[0] for ln in out.splitlines()[:-1]] == ["c-fr-3"], err
    control.dispose()


def test_a_window_in_the_past_finds_its_days_only_however_many_newer_rows_follow(control_store):
    """--to before the newest day: the scan is bounded by the window's ids, and the answer is the same."""
    days = ["2026-11-10", "2026-11-12", "2026-11-16"]
    for i, day in enumerate(days):
        svc.index_partition(
            control_store, T, day, _segments(T, [(f"c-{i}-{k}", k, "customer", "je veux résilier") for k in range(30)])
        )
    svc.index_partition(control_store, T, "2026-11-12", _segments(T, [("c-1-x", 0, "agent", "résilier encore")]))
    assert {r["day"] for r in _search(control_store, T, "résilier", day_to="2026-11-10", limit=200)} == {"2026-11-10"}
    old = _search(control_store, T, "résilier", day_from="2026-11-11", day_to="2026-11-13", limit=200)
    assert [r["call_id"] for r in old] == ["c-1-x"]  # the day was indexed again: its new rows only
    assert _search(control_store, T, "résilier", day_to="2026-11-09") == []
    assert len(_search(control_store, T, "résilier", day_to="2026-11-30", limit=200)) == 61


@pytest.mark.timeout(300)
def test_issue19_postgres_reads_the_index_for_a_rare_word_and_walks_newest_first_for_a_common_one(pg_url):
    """At 20M rows a word found nowhere took 6.8 s newest-first (benchmarks/RESULTS.md): where the
    column's statistics say the rarest term is in few rows, the query reads the index's matches.
    Same answers either way, and the plan setting does not outlive the search's transaction."""
    from ccr_pipelines.stores.search_index import FEW_MATCHES, _pg_few_matches

    control = ControlStore(pg_url)
    control.migrate()
    rows = [
        (f"c-{i:05d}", 0, "agent", "bonjour facture " + ("huissier" if i % 3000 == 7 else "merci")) for i in range(9000)
    ]
    svc.index_partition(control, T, DAY, _segments(T, rows))
    with control.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE search_segments")
    assert 9000 > FEW_MATCHES
    with control.engine.connect() as conn:
        assert _pg_few_matches(conn, ("huissier",)) and _pg_few_matches(conn, ("introuvable",))
        assert not _pg_few_matches(conn, ("facture",)) and _pg_few_matches(conn, ("facture", "huissier"))
    got = [r["call_id"] for r in _search(control, T, "Huissier", limit=20)]
    assert got == ["c-06007", "c-03007", "c-00007"]  # newest first, as the walk gives them
    assert _search(control, T, "introuvable", limit=20) == []
    assert len(_search(control, T, "facture", limit=20)) == 20
    with control.engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW enable_indexscan").scalar() == "on"
    control.dispose()
