"""Scoring benchmark (issue 5): N synthetic redacted transcripts through call metrics, scoring and
the dbt marts, with a per-call pandas baseline measured in the same run.

    .venv/bin/python benchmarks/scoring.py --calls 1000000

Stages, each in its own process (spawned), timed separately:

* ``generate`` (not part of the target): synthetic redacted transcripts (~20 segments a call,
  14-26), French and English, several tenants and scorecards, written as Parquet partitions through
  the real ``Warehouse`` with the manifest and transcript_calls partitions the stages read. Agent
  lines are the cards' phrases with ASR-like slips (dropped, misheard, swapped words), names and
  filler around them; steps are present, missing, late (disclosure after 30 s), forbidden phrases
  are said now and then; customer lines are composed from templates with numbers and redaction
  placeholders ([PHONE], [EMAIL], [IBAN]...). The share of distinct segment texts is printed.
* ``metrics+scoring``: ``services.metrics.metrics_partition`` then ``services.score.score_partition``
  (the production path: vectorised scorer, conversation analytics — sentiment per turn, categories,
  call cards, issue 19 —, Parquet writes, review queue in SQLite) per tenant-day,
  over ``--workers`` processes (2 = the machine's cores).
* ``marts``: ``dbt build`` of the project's models and tests over all partitions.
* ``baseline``: a straightforward per-call pandas implementation of metrics + scoring on a sample
  of the calls (one DataFrame per call, difflib per segment and phrase through ``score_call`` with
  its pre-check off — and, as a second, stricter baseline, with it on), extrapolated to N calls.

Peak memory: the largest resident set of the whole process tree, sampled from /proc every 0.1 s
(workers and dbt included), and each stage's ``ru_maxrss``. ccr_pipelines_tests/test_scoring_benchmark.py
runs a small size in CI; the figures in benchmarks/RESULTS.md come from this script.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRST_DAY = date(2026, 11, 2)
PARTITION_CALLS = 25_000  # calls per tenant-day at most: a large tenant's busy day
TENANTS = [  # (id, scorecard, language, uses_virtual_agents, weight)
    ("acme-energie", "acme-energie.v1", "fr", False, 5),
    ("globex-support", "globex-support.v1", "en", True, 4),
    ("bretagne-eau", "acme-energie.v1", "fr", True, 2),
    ("northwind-care", "globex-support.v1", "en", False, 3),
    ("mairie-services", "default.v1", "fr", False, 1),
    ("initech-help", "globex-support.v1", "en", False, 2),
    ("provence-gaz", "acme-energie.v1", "fr", False, 2),
    ("helios-bank", "default.v1", "fr", True, 1),
]
NAMES = [
    "julie",
    "marc",
    "sophie",
    "thomas",
    "camille",
    "nicolas",
    "léa",
    "hugo",
    "chloé",
    "lucas",
    "sarah",
    "karim",
    "émilie",
    "antoine",
    "inès",
    "paul",
    "laura",
    "mehdi",
    "claire",
    "julien",
    "sam",
    "olivia",
    "james",
    "emma",
    "noah",
    "grace",
    "david",
    "priya",
    "tom",
    "amelia",
]
TEXT = {
    "fr": {
        "lead": ["", "", "", "", "alors", "euh", "oui", "d'accord", "très bien", "bon", "écoutez", "donc", "ah"],
        "agent": [
            "je regarde votre dossier",
            "un instant s'il vous plaît",
            "je vérifie votre contrat",
            "vous avez reçu un courrier le {n} du mois",
            "votre consommation a augmenté de {n} pour cent",
            "je vois une régularisation de {n} euros",
            "le compteur a été relevé le {n}",
            "je note votre numéro {ph}",
            "votre adresse mail est bien {em}",
            "je vous mets en attente",
            "c'est noté",
            "le prélèvement se fait sur le compte {ib}",
            "votre échéancier est à {n} euros",
            "je transmets au service technique",
            "il y a une coupure dans votre secteur",
            "vous pouvez aussi passer par l'espace client",
            "la facture de {mo} est de {n} euros",
        ],
        "customer": [
            "oui bonjour j'appelle pour ma facture",
            "ma facture est trop élevée",
            "je ne comprends pas le montant",
            "mon numéro c'est {ph}",
            "vous pouvez m'écrire à {em}",
            "le numéro de contrat c'est {n} {n} {n}",
            "j'ai déménagé le {n} {mo}",
            "j'habite au {n} rue {st}",
            "le compteur affiche {n}",
            "ça fait {n} jours que j'attends",
            "d'accord merci",
            "oui",
            "non pas du tout",
            "c'est ça",
            "je voudrais un rendez-vous",
            "le technicien n'est jamais venu",
            "mon iban c'est {ib}",
            "vous m'avez prélevé {n} euros en {mo}",
            "je suis madame {nm}",
            "c'est au nom de {nm}",
            "ah bon",
            "je vous écoute",
            "pouvez-vous répéter",
        ],
        "months": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre"],
        "streets": ["des lilas", "victor hugo", "de la gare", "pasteur", "jean jaurès", "du moulin", "des écoles"],
    },
    "en": {
        "lead": ["", "", "", "", "ok", "so", "right", "alright", "um", "well", "yes", "sure", "oh"],
        "agent": [
            "let me pull up your account",
            "one moment please",
            "i can see the ticket from {mo} {n}",
            "your router model is {n}",
            "i am checking the line now",
            "i have your number as {ph}",
            "is your email still {em}",
            "the outage in your area was fixed at {n} pm",
            "i will put you on hold for a minute",
            "the balance is {n} dollars",
            "your plan includes {n} gigabytes",
            "i see a payment from card {cd}",
            "that is noted",
            "there is a credit of {n} dollars on the account",
            "can you restart the modem for me",
        ],
        "customer": [
            "hi i am calling about my internet",
            "the line drops every evening",
            "my bill is too high",
            "my number is {ph}",
            "you can email me at {em}",
            "the account number is {n} {n} {n}",
            "i moved on {mo} {n}",
            "i live at {n} {st} street",
            "it has been {n} days",
            "ok thanks",
            "yes",
            "no not really",
            "that's right",
            "can you send a technician",
            "the card ending {cd} was charged twice",
            "i paid {n} dollars in {mo}",
            "this is {nm}",
            "the account is under {nm}",
            "really",
            "go ahead",
            "sorry can you repeat that",
        ],
        "months": ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october"],
        "streets": ["maple", "oak", "main", "elm", "park", "cedar", "hill"],
    },
}
PLACEHOLDERS = {"ph": "[PHONE]", "em": "[EMAIL]", "ib": "[IBAN]", "cd": "[CARD]"}


def _plan(calls: int) -> list[tuple[str, str, int]]:
    """(tenant, day, calls) partitions: calls spread over tenants by weight, then over days of ≤ PARTITION_CALLS."""
    total_w = sum(t[4] for t in TENANTS)
    per_tenant = [calls * t[4] // total_w for t in TENANTS]
    per_tenant[0] += calls - sum(per_tenant)
    out = []
    for (tenant, *_), n in zip(TENANTS, per_tenant):
        days = max(1, -(-n // PARTITION_CALLS))
        for d in range(days):
            k = n // days + (1 if d < n % days else 0)
            if k:
                out.append((tenant, (FIRST_DAY + timedelta(days=d)).isoformat(), k))
    return out


def _registry(work: Path) -> Path:
    import yaml

    path = work / "tenants.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "tenants": [
                    {"id": t, "display_name": t, "languages": [lang], "scorecard": card, "uses_virtual_agents": uva}
                    for t, card, lang, uva, _ in TENANTS
                ],
            }
        )
    )
    return path


# -- synthetic transcripts -------------------------------------------------------------------
def _slip(rng: random.Random, text: str) -> str:
    """ASR-like slips: dropped words, a misheard letter, two words swapped, a lost accent."""
    out = []
    for w in text.split():
        r = rng.random()
        if r < 0.03:
            continue
        if r < 0.09 and len(w) > 3:
            i = rng.randrange(len(w))
            w = w[:i] + rng.choice("aeiounrst") + w[i + 1 :]
        elif r < 0.15:
            w = w.replace("é", "e").replace("è", "e").replace("à", "a")
        out.append(w)
    if len(out) > 2 and rng.random() < 0.1:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


def _fill(rng: random.Random, template: str, lang: str) -> str:
    t = TEXT[lang]
    out = template
    while "{" in out:
        a = out.index("{")
        key = out[a + 1 : out.index("}", a)]
        val = {
            "n": lambda: str(rng.choice([rng.randint(1, 31), rng.randint(10, 999), rng.randint(1000, 99999)])),
            "mo": lambda: rng.choice(t["months"]),
            "st": lambda: rng.choice(t["streets"]),
            "nm": lambda: rng.choice(NAMES),
        }.get(key, lambda key=key: PLACEHOLDERS[key])()
        out = out[:a] + val + out[out.index("}", a) + 1 :]
    return out


def generate_partition(wh, tenant: str, day: str, n_calls: int, card, lang: str, seed: int) -> dict:
    """Write one tenant-day: redacted segments, manifest and transcript_calls. Vectorised over
    segments (numpy + Arrow); Python only builds the pools of phrases, slips and sentences."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from ccr_pipelines.core.redaction import TYPES
    from ccr_pipelines.services.ingest import MANIFEST_DATASET, MANIFEST_SCHEMA
    from ccr_pipelines.services.redact import REDACTED_DATASET, REDACTED_SCHEMA, REDACTOR_VERSION
    from ccr_pipelines.services.transcribe import CALLS_DATASET, CALLS_SCHEMA

    rng = random.Random(seed)
    npr = np.random.default_rng(seed)
    questions = {q.id: q for s in card.sections for q in s.questions}
    pool: list[str] = [""]
    ranges: dict[str, tuple[int, int]] = {}

    def add(name: str, texts: list[str]) -> None:
        ranges[name] = (len(pool), len(pool) + len(texts))
        pool.extend(texts)

    for qid, q in questions.items():
        add(qid, [_slip(rng, rng.choice(q.phrases)) for _ in range(400)])
    agents = [rng.choice(NAMES) for _ in range(25)]
    add("name", agents)
    add("lead", TEXT[lang]["lead"])
    add("agent", [_slip(rng, _fill(rng, rng.choice(TEXT[lang]["agent"]), lang)) for _ in range(6000)])
    add("customer", [_slip(rng, _fill(rng, rng.choice(TEXT[lang]["customer"]), lang)) for _ in range(20000)])
    pool_arr = pa.array(pool, pa.string())

    def pick(name: str, size: int) -> np.ndarray:
        a, b = ranges[name]
        return npr.integers(a, b, size=size)

    nseg = npr.integers(14, 27, size=n_calls)
    total = int(nseg.sum())
    call_of = np.repeat(np.arange(n_calls), nseg)
    first = np.concatenate([[0], np.cumsum(nseg)[:-1]])
    pos = np.arange(total) - first[call_of]
    speaker = np.where(pos % 2 == 0, 0, 1)  # 0 agent, 1 customer, 2 unknown
    speaker[npr.random(total) < 0.03] = 2
    lead = pick("lead", total)
    core = pick("customer", total)
    tail = np.zeros(total, dtype=np.int64)
    agent = speaker != 1
    core[agent] = pick("agent", int(agent.sum()))

    def place(qid: str, where: np.ndarray, p: float) -> None:
        if qid in questions:
            rows = np.flatnonzero(where & (npr.random(total) < p))
            core[rows] = pick(qid, len(rows))

    def row_at(offset: np.ndarray) -> np.ndarray:
        return first + np.minimum(offset, nseg - 1)

    said = npr.random(n_calls)
    # opening: greeting (95 %), agent's name (80 %), disclosures (recording: 85 % on time, 7 % late,
    # 8 % missing; AI: 75 %), needs discovery (85 %), solution (75 %), closing (85 %), forbidden (3 %)
    opening = np.zeros(total, dtype=bool)
    opening[first] = True
    place("greeting", opening, 0.95)
    ident = np.zeros(total, dtype=bool)
    ident[first[npr.random(n_calls) < 0.8]] = True
    ident_rows = np.flatnonzero(ident)
    if "agent_identification" in questions:
        lead[ident_rows] = core[ident_rows]  # the greeting (or a line), then "my name is <agent>"
        core[ident_rows] = pick("agent_identification", len(ident_rows))
        tail[ident_rows] = 0
    disc = np.zeros(total, dtype=bool)
    disc[row_at(np.where(said < 0.85, 2, 8))[said < 0.92]] = True
    place("recording_disclosure", disc, 1.0)
    ai = np.zeros(total, dtype=bool)
    ai[row_at(np.full(n_calls, 4))] = True
    place("ai_disclosure", ai, 0.75)
    needs = np.zeros(total, dtype=bool)
    needs[row_at(np.full(n_calls, 6))] = True
    place("needs_discovery", needs, 0.85)
    sol = np.zeros(total, dtype=bool)
    sol[row_at(10 + 2 * npr.integers(0, 3, size=n_calls))] = True
    place("solution", sol, 0.75)
    closing = np.zeros(total, dtype=bool)
    closing[first + (nseg - 1) - (nseg - 1) % 2] = True  # the agent's last turn
    place("closing", closing, 0.85)
    place("courtesy", agent & ~opening & ~closing, 0.003)
    names = pick("name", len(ident_rows))
    text = pc.binary_join_element_wise(
        pool_arr.take(pa.array(lead)), pool_arr.take(pa.array(core)), pool_arr.take(pa.array(tail)), " "
    )
    name_text = pc.binary_join_element_wise(
        pool_arr.take(pa.array(core[ident_rows])), pool_arr.take(pa.array(names)), " "
    )
    text_np = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)
    text_np[ident_rows] = np.asarray(
        pc.binary_join_element_wise(
            pool_arr.take(pa.array(lead[ident_rows])), name_text, pool_arr.take(pa.array(tail[ident_rows])), " "
        ).to_numpy(zero_copy_only=False),
        dtype=object,
    )
    text = pc.utf8_trim_whitespace(pc.replace_substring_regex(pa.array(text_np, pa.string()), " +", " "))
    n_words = pc.add(pc.count_substring(text, " "), 1).to_numpy()
    dur = np.round(0.8 + 0.32 * n_words + npr.uniform(0, 1.2, total), 3)
    gap = np.round(npr.uniform(0.15, 1.6, total), 3)
    step = dur + gap
    cum = np.cumsum(step)
    start = np.round(cum - step - (cum - step)[first][call_of], 3)
    end = np.round(start + dur, 3)
    two = npr.random(total) < 0.1  # a pause inside the segment: two speech regions
    mid_a = np.round(start + dur * 0.45, 3)
    mid_b = np.round(start + dur * 0.6, 3)
    flat = np.where(two[:, None], np.stack([start, mid_a, mid_b, end], 1), np.stack([start, end, start, end], 1))
    n_regions = np.where(two, 2, 1)
    pairs = flat.reshape(-1, 2)[
        np.flatnonzero(np.repeat(np.ones(total, bool), 2) & (np.tile([True, False], total) | np.repeat(two, 2)))
    ]
    inner = pa.ListArray.from_arrays(pa.array(np.arange(len(pairs) + 1) * 2, pa.int32()), pa.array(pairs.reshape(-1)))
    regions = pa.ListArray.from_arrays(pa.array(np.concatenate([[0], np.cumsum(n_regions)]), pa.int32()), inner)
    call_ids = pa.array([f"c-{day.replace('-', '')}-{i:06d}" for i in range(n_calls)], pa.string())
    seg_call = call_ids.take(pa.array(call_of))
    zeros16 = pa.array(np.zeros(total, dtype=np.int16))
    redacted = (
        pa.table(
            {
                "tenant_id": pa.array([tenant] * total, pa.string()),
                "call_id": seg_call,
                "segment_index": pa.array(pos.astype(np.int32)),
                "speaker": pa.array(["agent", "customer", "unknown"], pa.string()).take(pa.array(speaker)),
                "channel": pa.array((pos % 2).astype(np.int8)),
                "start_s": pa.array(start),
                "end_s": pa.array(end),
                "text": text,
                "avg_logprob": pa.array(np.round(npr.uniform(-0.9, -0.05, total), 3)),
                "speech_regions": regions,
                **{f"pii_{t}": zeros16 for t in TYPES},
                "redactor_version": pa.array([REDACTOR_VERSION] * total, pa.string()),
                # the ASR no-speech gate flags ~1 % of segments (noise decoded as words): they never count
                "no_speech": pa.array(npr.random(total) < 0.01),
            }
        )
        .select(REDACTED_SCHEMA.names)
        .cast(REDACTED_SCHEMA)
    )
    wh.write_partition(REDACTED_DATASET, tenant, day, redacted)
    duration = np.round(end[first + nseg - 1] + npr.uniform(0.5, 4.0, n_calls), 3)
    agent_ids = pa.array([f"ag-{i:02d}" for i in range(25)]).take(pa.array(npr.integers(0, 25, n_calls)))

    def const(v, typ=None):
        return pa.array([v] * n_calls, typ if typ is not None else pa.string())

    manifest = {
        "tenant_id": const(tenant),
        "call_id": call_ids,
        "day": const(day),
        "source_key": pc.binary_join_element_wise(const(f"raw/{tenant}/{day}/"), call_ids, ""),
        "audio_key": pc.binary_join_element_wise(const(f"audio/{tenant}/{day}/"), call_ids, ""),
        "etag": call_ids,
        "sha256": call_ids,
        "size_bytes": pa.array((duration * 32000).astype(np.int64)),
        "duration_s": pa.array(duration),
        "sample_rate": const(8000, pa.int32()),
        "channels": const(2, pa.int8()),
        "codec": const("pcm_s16le"),
        "container": const("wav"),
        "agent_id": agent_ids,
        "team": pa.array([f"team-{i}" for i in range(4)]).take(pa.array(npr.integers(0, 4, n_calls))),
        "direction": const("inbound"),
        "campaign": const(None),
        "script_id": const(None),
        "started_at": const(f"{day}T09:00:00+01:00"),
        "language": const(lang),
        "customer_ref_hash": call_ids,
        "subject_hashes": pa.array([[]] * n_calls, pa.list_(pa.string())),
        "has_sidecar": const(True, pa.bool_()),
        "recording_notice": const(True, pa.bool_()),
        "ingested_at": pa.array(np.full(n_calls, np.datetime64(f"{day}T20:00:00", "us")), pa.timestamp("us", tz="UTC")),
        "run_id": const("bench"),
    }
    wh.write_partition(MANIFEST_DATASET, tenant, day, pa.table(manifest).cast(MANIFEST_SCHEMA))
    calls = {f.name: pa.nulls(n_calls, f.type) for f in CALLS_SCHEMA}
    calls.update(
        {
            "tenant_id": const(tenant),
            "call_id": call_ids,
            "day": const(day),
            "status": const("transcribed"),
            "model_name": const("bench"),
            "model_revision": const("bench-rev"),
            "language_configured": const(lang),
            "language_detected": const(lang),
            "segments": pa.array(nseg.astype(np.int32)),
            "mean_confidence": pa.array(np.round(npr.uniform(0.45, 0.98, n_calls), 4)),
            "audio_seconds": pa.array(duration),
        }
    )
    wh.write_partition(CALLS_DATASET, tenant, day, pa.table(calls).cast(CALLS_SCHEMA))
    return {"segments": total, "distinct_texts": pc.count_distinct(text).as_py()}


# -- stages ----------------------------------------------------------------------------------
def _warehouse(work: str):
    from ccr_pipelines.stores.object_store import LocalObjectStore
    from ccr_pipelines.stores.warehouse import Warehouse

    return Warehouse(LocalObjectStore(Path(work) / "objects"))


def _card(work: str, tenant: str):
    from ccr_pipelines.loaders.config_files import load_tenant_registry
    from ccr_pipelines.services.score import scorecard_for

    return scorecard_for(load_tenant_registry(Path(work) / "tenants.yaml").require(tenant))


def stage_generate(work: str, plan: list) -> dict:
    wh = _warehouse(work)
    segments = distinct = 0
    langs = {t: lang for t, _, lang, _, _ in TENANTS}
    for i, (tenant, day, n) in enumerate(plan):
        out = generate_partition(wh, tenant, day, n, _card(work, tenant), langs[tenant], seed=1000 + i)
        segments += out["segments"]
        distinct += out["distinct_texts"]
    return {
        "calls": sum(p[2] for p in plan),
        "segments": segments,
        "partitions": len(plan),
        "distinct_text_share": round(distinct / max(segments, 1), 3),
    }


def _score_tenant(args: tuple[str, str, list[str]]) -> list[tuple[int, int, float, float]]:
    work, tenant, days = args
    return [_score_one(work, tenant, day) for day in days]


def _score_one(work: str, tenant: str, day: str) -> tuple[int, int, float, float]:
    from ccr_pipelines.loaders.config_files import load_tenant_registry
    from ccr_pipelines.services.metrics import metrics_partition
    from ccr_pipelines.services.score import score_partition
    from ccr_pipelines.stores.control_store import ControlStore

    wh = _warehouse(work)
    t0 = time.perf_counter()
    measured = metrics_partition(wh, tenant, day)["calls"]
    t1 = time.perf_counter()
    control = ControlStore(f"sqlite:///{work}/control-{tenant}.db")  # one per tenant: SQLite has one writer
    scored = score_partition(wh, control, load_tenant_registry(Path(work) / "tenants.yaml").require(tenant), day)[
        "calls"
    ]
    control.engine.dispose()
    return measured, scored, t1 - t0, time.perf_counter() - t1


def _worker_init() -> None:
    """Pool workers take SIGTERM's default action whatever they inherited: a parent started with
    SIGINT ignored (nohup, CI runners) under Dagster's in-process execution ignores SIGTERM too
    (its interrupt handlers map SIGTERM onto SIGINT's), and ``Pool.terminate()`` would then wait
    forever on a worker that cannot be terminated."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stage_score(work: str, plan: list, workers: int) -> dict:
    from ccr_pipelines.stores.control_store import ControlStore

    for tenant in {p[0] for p in plan}:
        ControlStore(f"sqlite:///{work}/control-{tenant}.db").migrate()
    # a job per tenant (its partitions in turn: one SQLite writer each), largest tenants first
    sizes: dict[str, int] = {}
    for t, _, n in plan:
        sizes[t] = sizes.get(t, 0) + n
    jobs = [(work, t, [d for tt, d, _ in plan if tt == t]) for t in sorted(sizes, key=lambda t: -sizes[t])]
    if workers > 1:
        with mp.get_context("spawn").Pool(workers, initializer=_worker_init) as pool:
            results = [r for rs in pool.imap_unordered(_score_tenant, jobs) for r in rs]
            pool.close()  # workers exit on their own; __exit__'s terminate() then has nothing to wait on
            pool.join()
    else:
        results = [r for j in jobs for r in _score_tenant(j)]
    return {
        "calls": sum(p[2] for p in plan),
        "metrics_rows": sum(r[0] for r in results),
        "scored": sum(r[1] for r in results),
        "metrics_worker_s": round(sum(r[2] for r in results), 1),
        "scoring_worker_s": round(sum(r[3] for r in results), 1),
    }


def stage_marts(work: str, plan: list) -> dict:
    import duckdb

    from ccr_pipelines.services.marts import run_dbt

    run_dbt(
        "build",
        datasets_root=Path(work) / "objects" / "datasets",
        duckdb_file=Path(work) / "warehouse.duckdb",
        extra_args=["--target-path", str(Path(work) / "dbt_target"), "--log-path", str(Path(work) / "dbt_logs")],
    )
    con = duckdb.connect(str(Path(work) / "warehouse.duckdb"), read_only=True)
    calls = con.execute("select sum(calls) from mart_tenant_month").fetchone()[0]
    steps = con.execute("select count(*) from stg_call_score_steps").fetchone()[0]
    drivers = con.execute("select sum(driver_calls) from mart_driver_week").fetchone()[0]  # issue 19
    con.close()
    return {
        "calls": sum(p[2] for p in plan),
        "calls_in_marts": int(calls),
        "step_rows": int(steps),
        "calls_in_driver_mart": int(drivers or 0),
    }


def _pandas_metrics(df):
    """Straightforward per-call metrics on one call's DataFrame (what a first version would write)."""
    import pandas as pd

    reg = df[["speaker", "speech_regions"]].explode("speech_regions").dropna()
    reg = pd.DataFrame(
        {
            "speaker": reg["speaker"].to_numpy(),
            "s": [r[0] for r in reg["speech_regions"]],
            "e": [r[1] for r in reg["speech_regions"]],
        }
    )
    reg = reg[reg.e > reg.s].sort_values(["s", "e"]).reset_index(drop=True)
    talk = (reg.e - reg.s).groupby(reg.speaker).sum()
    prev_e = reg.e.cummax().shift()
    turns = int((reg.speaker != reg.speaker.shift()).iloc[1:].sum()) if len(reg) else 0
    agent, customer = reg[reg.speaker == "agent"], reg[reg.speaker == "customer"]
    pairs = agent.merge(customer, how="cross", suffixes=("_a", "_c"))
    pairs = pairs[(pairs.s_a < pairs.e_c) & (pairs.s_c < pairs.e_a)]
    words = df.text.fillna("").str.split().str.len()
    return {
        "agent_talk_s": float(talk.get("agent", 0.0)),
        "customer_talk_s": float(talk.get("customer", 0.0)),
        "turns": turns,
        "longest_gap_s": float((reg.s - prev_e).clip(lower=0).max() if len(reg) > 1 else 0.0),
        "overlap_s": float((pairs[["e_a", "e_c"]].min(axis=1) - pairs[["s_a", "s_c"]].max(axis=1)).sum()),
        "words": int(words.sum()),
        "agent_words": int(words[df.speaker == "agent"].sum()),
    }


def stage_baseline(work: str, plan: list, sample: int, precheck: bool) -> dict:
    """Per-call pandas: one DataFrame per call (groupby), pandas metrics, score_call per call. Only
    the per-call loop is timed (reading and writing the partitions are left out: favours the baseline)."""
    import pandas as pd

    from ccr_pipelines.core.scorecards import score_call
    from ccr_pipelines.loaders.config_files import load_tenant_registry
    from ccr_pipelines.services.redact import REDACTED_DATASET
    from ccr_pipelines.services.transcribe import CALLS_DATASET

    wh = _warehouse(work)
    registry = load_tenant_registry(Path(work) / "tenants.yaml")
    total = sum(p[2] for p in plan)
    done, elapsed, scores = 0, 0.0, []
    for tenant, day, n in plan:
        k = max(1, round(sample * n / total))
        tenant_obj = registry.require(tenant)
        card = _card(work, tenant)
        segs = wh.read_partition(REDACTED_DATASET, tenant, day).to_pandas()
        keep = sorted(segs.call_id.unique())[:k]
        segs = segs[segs.call_id.isin(keep)]
        meta = wh.read_partition(CALLS_DATASET, tenant, day).to_pandas().set_index("call_id")
        t0 = time.perf_counter()
        rows = []
        for call_id, df in segs.groupby("call_id"):
            m = _pandas_metrics(df)
            records = df.to_dict("records")
            for rec in records:  # numpy arrays from pandas -> the lists score_call takes
                rec["speech_regions"] = (
                    [list(r) for r in rec["speech_regions"]] if rec["speech_regions"] is not None else None
                )
            res = score_call(
                card,
                records,
                uses_virtual_agents=tenant_obj.uses_virtual_agents,
                asr_confidence=float(meta.at[call_id, "mean_confidence"]),
                precheck=precheck,
            )
            rows.append({"call_id": call_id, **m, "score": res["score"], "results_json": json.dumps(res["results"])})
        pd.DataFrame(rows)
        elapsed += time.perf_counter() - t0
        done += len(rows)
        scores += [r["score"] for r in rows]
    return {
        "sample_calls": done,
        "loop_s": round(elapsed, 2),
        "ms_per_call": round(1000 * elapsed / done, 3),
        "extrapolated_s": round(elapsed / done * total, 1),
        "precheck": precheck,
        "mean_score": round(sum(scores) / len(scores), 2),
    }


STAGES = {"generate": stage_generate, "metrics+scoring": stage_score, "marts": stage_marts, "baseline": stage_baseline}


def _child(name: str, args: tuple, queue) -> None:
    t0 = time.perf_counter()
    try:
        result = STAGES[name](*args)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        result["cpu_s"] = round(own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime, 1)  # all cores
        result["maxrss_mb"] = round(
            max(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
            )
            / 1024
        )
        queue.put(result)
    except Exception as exc:  # reported, not swallowed: the parent raises it
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def _tree_rss(root: int) -> int:
    """Resident bytes of *root* and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            fields = stat[stat.rindex(")") + 2 :].split()
            pid = int(entry)
            children.setdefault(int(fields[1]), []).append(pid)
            rss[pid] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += rss.get(pid, 0)
        todo += children.get(pid, [])
    return total


def _run_stage(name: str, args: tuple) -> dict:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(name, args, queue))
    peak = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            if proc.pid:
                peak[0] = max(peak[0], _tree_rss(proc.pid))
            stop.wait(0.1)

    proc.start()
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    result = queue.get()
    proc.join()
    stop.set()
    sampler.join()
    if "error" in result:
        raise RuntimeError(f"stage {name}: {result['error']}")
    return {"stage": name, **result, "tree_peak_mb": round(peak[0] / 2**20)}


def run(
    calls: int,
    work: Path,
    *,
    workers: int = 2,
    baseline: int = 2000,
    baseline_full: int | None = None,
    report=lambda row: None,
) -> list[dict]:
    """All stages at *calls*; returns one row per stage and a summary row (stage "total"),
    handing each row to *report* as soon as its stage ends."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    _registry(work)
    plan = _plan(calls)
    w = str(work)
    rows = []
    for name, args in (
        ("generate", (w, plan)),
        ("metrics+scoring", (w, plan, workers)),
        ("marts", (w, plan)),
        ("baseline", (w, plan, baseline, True)),
        ("baseline", (w, plan, baseline_full or max(1, baseline // 10), False)),
    ):
        rows.append(_run_stage(name, args))
        report(rows[-1])
    timed = [r for r in rows if r["stage"] in ("metrics+scoring", "marts")]
    ours = sum(r["seconds"] for r in timed)
    base_on, base_off = rows[3]["extrapolated_s"], rows[4]["extrapolated_s"]
    rows.append(
        {
            "stage": "total",
            "calls": calls,
            "seconds": round(ours, 1),
            "cpu_s": round(sum(r["cpu_s"] for r in timed), 1),
            "peak_mb": max(r["tree_peak_mb"] for r in timed),
            "speedup_vs_pandas_difflib": round(base_off / ours, 1),
            "speedup_vs_pandas_score_call_precheck": round(base_on / ours, 1),
            "target_120s_4gb_10x": ours <= 120
            and max(r["tree_peak_mb"] for r in timed) <= 4096
            and base_off / ours >= 10,
        }
    )
    report(rows[-1])
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2, help="processes for metrics + scoring (tenant-days)")
    ap.add_argument("--baseline", type=int, default=2000, help="sample size of the pandas baseline (pre-check on)")
    ap.add_argument(
        "--baseline-full",
        type=int,
        default=None,
        help="sample of the pandas + difflib baseline without pre-check (default baseline/10)",
    )
    ap.add_argument("--work", default="var/bench_scoring")
    ap.add_argument("--keep", action="store_true", help="keep the generated partitions")
    args = ap.parse_args()
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(
        json.dumps(
            {
                "machine": platform.platform(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "date": date.today().isoformat(),
                "uptime_before": load,
            }
        ),
        flush=True,
    )
    work = Path(args.work) / f"{args.calls}"
    run(
        args.calls,
        work,
        workers=args.workers,
        baseline=args.baseline,
        baseline_full=args.baseline_full,
        report=lambda row: print(json.dumps(row), flush=True),
    )
    print(json.dumps({"uptime_after": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()}))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
