"""Call-driver suggestions from sentence embeddings (issue 19) — pure, given the vectors.

A call whose customer said none of a driver's phrases gets no driver from the rules. Where the
tenant's categories file gives a driver a few example sentences (``examples``), such a call may get
a SUGGESTED driver: the one whose examples the customer's opening words are most like (cosine of
sentence embeddings, nearest example per driver), when that similarity is high enough and clearly
above the next driver's. A suggestion is shown as such (call card, report), never counted as the
call's driver, and never used for a script step: embeddings do not tell a disclosure from a
look-alike sentence (P15).

The embedding model is an adapter (``loaders/embeddings.py``); everything here is arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from .categories import Categories, Turns

SUGGESTER_VERSION = "suggest-1"
OPENING_S = 90.0  # why people call is said at the start: the customer's words in the first 90 s
MAX_CHARS = 500  # of those words, at most this much text per call (the model reads ~128 tokens well)


@dataclass(frozen=True)
class Suggestions:
    """Per call of the tenant-day (in ``call_ids`` order): the suggested driver (None: none) and the
    similarity and margin it had; calls that have a rule driver are left without a suggestion."""

    driver: list[str | None]
    similarity: np.ndarray  # float, NaN where no suggestion was computed
    margin: np.ndarray


def wants_suggestions(cats: Categories) -> bool:
    """A categories file asks for suggestions by giving at least two drivers examples."""
    return sum(1 for c in cats.categories if c.driver and c.examples) >= 2


def examples(cats: Categories) -> tuple[list[str], list[str]]:
    """(driver id per example, example text) over the drivers that have examples, in file order."""
    ids, texts = [], []
    for c in cats.categories:
        if c.driver and c.examples:
            ids += [c.id] * len(c.examples)
            texts += list(c.examples)
    return ids, texts


def opening_texts(turns: Turns, need: np.ndarray) -> list[str]:
    """For each call where *need* is true, what the customer said in its first ``OPENING_S``
    seconds (turns of unknown role count: a mono call), joined, cut at ``MAX_CHARS``; "" elsewhere.
    Reads ``turns.texts``, the day's distinct redacted texts (P21)."""
    out = [""] * turns.n_calls
    if not turns.n_calls or not need.any():
        return out
    customer = np.isin(turns.speaker, ("customer", "unknown", "")) & turns.speech
    early = turns.start - turns.call_start[turns.call_of] <= OPENING_S
    rows = np.flatnonzero(customer & early & need[turns.call_of])
    if not len(rows):
        return out
    said = turns.texts.take(pa.array(turns.text_of[rows], pa.int64())).to_pylist()
    parts: dict[int, list[str]] = {}
    for c, text in zip(turns.call_of[rows].tolist(), said):  # rows are in call, then time order
        if text:
            parts.setdefault(c, []).append(text)
    for c, words in parts.items():
        out[c] = " ".join(words)[:MAX_CHARS]
    return out


def suggest(
    call_vectors: np.ndarray,
    example_vectors: np.ndarray,
    example_driver: list[str],
    *,
    min_similarity: float,
    min_margin: float,
) -> tuple[list[str | None], np.ndarray, np.ndarray]:
    """Nearest example per driver for each call vector (rows L2-normalised); the best driver is
    suggested when its similarity reaches *min_similarity* and beats the next driver's by
    *min_margin*. Returns (driver or None, best similarity, margin) per call."""
    drivers = list(dict.fromkeys(example_driver))
    n = len(call_vectors)
    if n == 0 or len(drivers) < 2:
        return [None] * n, np.full(n, np.nan), np.full(n, np.nan)
    sims = call_vectors @ example_vectors.T  # (calls, examples)
    which = np.array([drivers.index(d) for d in example_driver])
    per_driver = np.full((n, len(drivers)), -np.inf)
    for k in range(len(drivers)):
        per_driver[:, k] = sims[:, which == k].max(axis=1)
    order = np.argsort(-per_driver, axis=1, kind="stable")
    best = per_driver[np.arange(n), order[:, 0]]
    margin = best - per_driver[np.arange(n), order[:, 1]]
    ok = (best >= min_similarity) & (margin >= min_margin)
    return [drivers[i] if o else None for i, o in zip(order[:, 0].tolist(), ok.tolist())], best, margin
