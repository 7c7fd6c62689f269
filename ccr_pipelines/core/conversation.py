"""Conversation analytics of a tenant-day (issue 19) — pure, vectorised over all its turns.

From the redacted segments only: sentiment per turn and per call (``core/sentiment.py``),
categories and call drivers (``core/categories.py``) and the call card — why the customer called
(the first driver said), how it ended (the scorecard's solution step and the customer's closing
sentiment) and what the agent committed to (« je vais… », "I will…"), each with its time.
Everything here is extractive: the card quotes the redacted turn, it writes nothing of its own.

The dataset names are declared here, once (the services, retention and the marts use these).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .batch_scoring import arrow_normalise
from .catalog import CALL_CARDS as _CARDS  # noqa: E402

# The datasets this step writes, and their columns: the catalogue's (core/catalog.py)
from .catalog import (  # noqa: E402
    CALL_CARDS_SCHEMA as CARDS_SCHEMA,
)
from .catalog import CALL_CATEGORIES as _CATS
from .catalog import (
    CALL_CATEGORIES_SCHEMA as CATEGORIES_SCHEMA,
)
from .catalog import CALL_SENTIMENT as _CSENT  # noqa: E402
from .catalog import (
    CALL_SENTIMENT_SCHEMA,
    COMMITMENT,
    CONVERSATION_DATASETS,  # noqa: F401  (re-exported: the step's datasets)
    TURN_SENTIMENT_SCHEMA,
)
from .catalog import TURN_SENTIMENT as _TSENT
from .categories import (
    Categories,
    Turns,
    evaluate,
    hits_table,
    mean_by_call,
    part_mask,
    part_turns,
)
from .sentiment import LANGUAGES, SENTIMENT_VERSION, label_of, score_texts

TURN_SENTIMENT_DATASET, CALL_SENTIMENT_DATASET = _TSENT.name, _CSENT.name
CALL_CATEGORIES_DATASET, CALL_CARDS_DATASET = _CATS.name, _CARDS.name

CARD_VERSION = "card-1"
# A review reason (P15): the customer's turns in the last third of the call average below this.
NEGATIVE_END_REASON = "customer_negative_at_end"
NEGATIVE_END_BELOW = -0.5
COMMITMENT_MAX_CHARS = 160
# What an agent promises, at the start of a clause; the quote runs to the end of the sentence.
COMMITMENT_OPENINGS = {
    "fr": r"je vais|je vous (?:envoie|renvoie|rappelle|transmets|fais parvenir|confirme)|nous allons|on va vous|"
    r"je m'engage à|je m'occupe de|je m'en occupe|vous recevrez",
    "en": r"i will|i'll|we will|we'll|i am going to|i'm going to|i promise|you will receive|you'll receive",
}
OUTCOMES = ("resolved", "solution_given_customer_unhappy", "unresolved_customer_unhappy", "no_solution_step")


def normalised_text(texts: pa.Array) -> pa.Array:
    """ " w1 w2 … " per text: lower case, accents dropped, words joined by one space and padded,
    so that a phrase matches whole words only (``categories.normalise_phrase``)."""
    joined = pc.binary_join(arrow_normalise(texts), " ")
    joined = pc.utf8_trim_whitespace(pc.replace_substring_regex(joined, " +", " "))
    return pc.binary_join_element_wise(" ", joined, " ", "")


def prepare(segs: pa.Table, language_of: dict[str, str], default_language: str) -> tuple[Turns, pa.Array, pa.Table]:
    """Sort a tenant-day's redacted segments by (call, start), score every turn's sentiment in its
    call's language, and gather what the rules need. Returns (turns, call_ids, sorted segments)."""
    if "no_speech" not in segs.column_names:
        segs = segs.append_column("no_speech", pa.nulls(segs.num_rows, pa.bool_()))
    t = segs.select(["call_id", "segment_index", "speaker", "start_s", "end_s", "text", "no_speech"])
    t = t.sort_by([("call_id", "ascending"), ("start_s", "ascending"), ("segment_index", "ascending")])
    n = t.num_rows
    call_col = t.column("call_id").combine_chunks() if n else pa.array([], pa.string())
    change = np.ones(n, dtype=bool)
    if n > 1:
        change[1:] = pc.not_equal(call_col[1:], call_col[:-1]).to_numpy(zero_copy_only=False)
    call_of = np.cumsum(change) - 1 if n else np.zeros(0, np.int64)
    heads = np.flatnonzero(change) if n else np.zeros(0, np.int64)
    call_ids = call_col.take(pa.array(heads, pa.int64()))
    nc = len(heads)
    start = t.column("start_s").to_numpy().astype(np.float64) if n else np.zeros(0)
    end = t.column("end_s").to_numpy().astype(np.float64) if n else np.zeros(0)
    # texts: everything per DISTINCT text (a day's turns repeat: "oui", "d'accord", script lines)
    enc = pc.dictionary_encode(pc.fill_null(t.column("text").combine_chunks() if n else pa.array([], pa.string()), ""))
    text_of = enc.indices.to_numpy().astype(np.int64) if n else np.zeros(0, np.int64)
    langs = np.array(
        [language_of.get(c, default_language) for c in call_ids.to_pylist()] or [default_language], dtype=object
    )
    lang_turn = langs[call_of] if n else np.zeros(0, dtype=object)
    compound = np.zeros(n)
    for lang in LANGUAGES:
        rows = np.flatnonzero(lang_turn == lang) if n else np.zeros(0, np.int64)
        if not len(rows):
            continue
        used, inv = np.unique(text_of[rows], return_inverse=True)
        compound[rows] = score_texts(enc.dictionary.take(pa.array(used, pa.int64())), lang)[inv]
    norm = normalised_text(enc.dictionary) if n else pa.array([], pa.string())
    call_start = np.full(nc, np.inf)
    call_end = np.full(nc, -np.inf)
    np.minimum.at(call_start, call_of, start)
    np.maximum.at(call_end, call_of, end)
    turns = Turns(
        n_calls=nc,
        call_of=call_of,
        start=start,
        end=end,
        speaker=np.asarray(pc.fill_null(t.column("speaker"), "unknown").to_numpy(zero_copy_only=False), dtype=object),
        speech=~pc.fill_null(t.column("no_speech"), False).to_numpy(zero_copy_only=False).astype(bool),
        norm_text=norm,
        text_of=text_of,
        compound=compound,
        call_start=call_start,
        call_end=call_end,
        texts=enc.dictionary,
    )
    t = t.append_column("language", pa.array(lang_turn.tolist() if n else [], pa.string()))
    return turns, call_ids, t


def _const(v, n: int, typ: pa.DataType | None = None) -> pa.Array:
    return pa.repeat(pa.scalar(v, typ or pa.string()), n)


def turn_sentiment(turns: Turns, sorted_segs: pa.Table, tenant_id: str, day: str) -> pa.Table:
    n = sorted_segs.num_rows
    return pa.table(
        {
            "tenant_id": _const(tenant_id, n),
            "call_id": sorted_segs.column("call_id"),
            "day": _const(day, n),
            "segment_index": sorted_segs.column("segment_index").cast(pa.int32()),
            "speaker": sorted_segs.column("speaker"),
            "start_s": sorted_segs.column("start_s").cast(pa.float64()),
            "language": sorted_segs.column("language"),
            "compound": pa.array(np.round(turns.compound, 4).astype(np.float32)),
            "label": pa.array(label_of(turns.compound).tolist() if n else [], pa.string()),
            "sentiment_version": _const(SENTIMENT_VERSION, n),
        },
        schema=TURN_SENTIMENT_SCHEMA,
    )


def call_sentiment(turns: Turns, call_ids: pa.Array, tenant_id: str, day: str) -> pa.Table:
    """Per call: the mean compound overall, per speaker, per third, the customer's first and last
    third (their first or last turn where a third has none of theirs) and the change between them,
    and whether the customer ends strongly negative (a review reason)."""
    nc = turns.n_calls
    speech = turns.speech
    cust = speech & (turns.speaker == "customer")
    first, last = part_mask(turns, "first_third"), part_mask(turns, "last_third")

    def m(mask):
        return mean_by_call(turns, mask, turns.compound)

    c_first = m(part_turns(turns, cust, "first_third"))  # a short call: the customer's first / last turn
    c_last = m(part_turns(turns, cust, "last_third"))
    change = c_last - c_first
    negative_end = np.nan_to_num(c_last, nan=0.0) < NEGATIVE_END_BELOW
    to = lambda a: pa.array(np.round(a, 4), pa.float64(), mask=np.isnan(a))
    return pa.table(
        {
            "tenant_id": _const(tenant_id, nc),
            "call_id": call_ids,
            "day": _const(day, nc),
            "turns": pa.array(np.bincount(turns.call_of[speech], minlength=nc).astype(np.int32)),
            "overall": to(m(speech)),
            "agent": to(m(speech & (turns.speaker == "agent"))),
            "customer": to(m(cust)),
            "first_third": to(m(speech & first)),
            "last_third": to(m(speech & last)),
            "customer_first_third": to(c_first),
            "customer_last_third": to(c_last),
            "customer_change": to(change),
            "negative_end": pa.array(negative_end, pa.bool_()),
            "sentiment_version": _const(SENTIMENT_VERSION, nc),
        },
        schema=CALL_SENTIMENT_SCHEMA,
    )


def categories_table(cats: Categories, turns: Turns, call_ids: pa.Array, tenant_id: str, day: str) -> pa.Table:
    hits = hits_table(cats, evaluate(cats, turns), call_ids)
    n = hits.num_rows
    return pa.table(
        {
            "tenant_id": _const(tenant_id, n),
            "call_id": hits["call_id"],
            "day": _const(day, n),
            **{k: hits[k] for k in ("category", "is_driver", "first_s", "time_points", "categories_version")},
        },
        schema=CATEGORIES_SCHEMA,
    )


def commitments(turns: Turns, sorted_segs: pa.Table) -> tuple[np.ndarray, pa.Array]:
    """(call index, list of {start_s, text}) per call: the agent's turns that promise something,
    quoted from the clause's first word to the end of its sentence (at most 160 characters)."""
    n = sorted_segs.num_rows
    nc = turns.n_calls
    if not n:
        return np.zeros(nc, np.int32), pa.array([[]] * nc, pa.list_(COMMITMENT))
    text = pc.fill_null(sorted_segs.column("text").combine_chunks(), "")
    lang = sorted_segs.column("language").combine_chunks().to_numpy(zero_copy_only=False)
    agent = turns.speech & (turns.speaker == "agent")
    found_rows, found_text = [], []
    for code, opening in COMMITMENT_OPENINGS.items():
        pattern = r"(?i)(?:^|[\s,;:])(?P<q>(?:" + opening + r")\b[^.?!]*)"
        rows = np.flatnonzero(agent & (lang == code))
        if not len(rows):
            continue
        sub = text.take(pa.array(rows, pa.int64()))
        hit = pc.fill_null(pc.match_substring_regex(sub, pattern), False).to_numpy(zero_copy_only=False)
        if not hit.any():
            continue
        rows = rows[hit]
        quote = pc.struct_field(pc.extract_regex(sub.filter(pa.array(hit)), pattern), [0])
        found_rows.append(rows)
        found_text.append(pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(quote), 0, COMMITMENT_MAX_CHARS))
    if not found_rows:
        return np.zeros(nc, np.int32), pa.ListArray.from_arrays(
            pa.array(np.zeros(nc + 1, np.int32)), pa.array([], COMMITMENT)
        )
    rows = np.concatenate(found_rows)
    texts = pa.concat_arrays([a.combine_chunks() if isinstance(a, pa.ChunkedArray) else a for a in found_text])
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    texts = texts.take(pa.array(order, pa.int64()))
    rel = np.round(turns.start[rows] - turns.call_start[turns.call_of[rows]], 1)
    count = np.bincount(turns.call_of[rows], minlength=nc).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum(count)]).astype(np.int32)
    values = pa.StructArray.from_arrays([pa.array(rel, pa.float64()), texts], fields=list(COMMITMENT))
    return count, pa.ListArray.from_arrays(pa.array(offsets), values)


def call_cards(
    turns: Turns,
    sorted_segs: pa.Table,
    call_ids: pa.Array,
    categories: pa.Table,
    sentiment: pa.Table,
    steps: pa.Table | None,
    tenant_id: str,
    day: str,
) -> pa.Table:
    """One card per call: driver (the earliest driver category hit), outcome, commitments."""
    nc = turns.n_calls
    # drivers: hits sorted by call then time; the first per call is the card's driver
    d = categories.filter(categories.column("is_driver"))
    at = (
        pc.index_in(d.column("call_id"), value_set=call_ids).to_numpy(zero_copy_only=False)
        if d.num_rows
        else np.zeros(0, np.int64)
    )
    first = pc.fill_null(d.column("first_s"), np.inf).to_numpy(zero_copy_only=False) if d.num_rows else np.zeros(0)
    order = np.lexsort((np.arange(len(at)), first, at))
    at_sorted = at[order].astype(np.int64)
    names = (
        d.column("category").combine_chunks().take(pa.array(order, pa.int64()))
        if d.num_rows
        else pa.array([], pa.string())
    )
    heads = np.flatnonzero(np.r_[True, at_sorted[1:] != at_sorted[:-1]]) if len(at_sorted) else np.zeros(0, np.int64)
    driver_idx = np.full(nc, -1, dtype=np.int64)
    driver_idx[at_sorted[heads]] = heads
    has_driver = driver_idx >= 0
    driver = (
        pc.if_else(
            pa.array(has_driver),
            names.take(pa.array(np.maximum(driver_idx, 0))) if len(names) else pa.nulls(nc, pa.string()),
            pa.scalar(None, pa.string()),
        )
        if nc
        else pa.array([], pa.string())
    )
    driver_s = np.where(has_driver, first[order][np.maximum(driver_idx, 0)] if len(first) else np.nan, np.nan)
    counts = np.bincount(at_sorted, minlength=nc) if len(at_sorted) else np.zeros(nc, np.int64)
    drivers = pa.ListArray.from_arrays(pa.array(np.r_[0, np.cumsum(counts)].astype(np.int32)), names)
    # the scorecard's solution step: passed wins over any other status, then the first listed
    sol_idx = np.full(nc, -1, dtype=np.int64)
    status_arr = pa.array([], pa.string())
    ev = np.zeros(0)
    if steps is not None and steps.num_rows:
        s = steps.filter(pc.equal(steps.column("step"), "solution"))
        if s.num_rows:
            ix = pc.fill_null(pc.index_in(s.column("call_id"), value_set=call_ids), -1).to_numpy(zero_copy_only=False)
            status_arr = s.column("status").combine_chunks()
            rank = np.where(pc.equal(status_arr, "passed").to_numpy(zero_copy_only=False), 0, 1)
            ev = pc.fill_null(s.column("evidence_start_s"), np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
            o = np.lexsort((np.arange(len(ix)), rank, ix))
            o = o[ix[o] >= 0]
            firsts = o[np.r_[True, ix[o][1:] != ix[o][:-1]]] if len(o) else o
            sol_idx[ix[firsts]] = firsts
    has_sol = sol_idx >= 0
    sol_status = (
        pc.if_else(
            pa.array(has_sol),
            status_arr.take(pa.array(np.maximum(sol_idx, 0))) if len(status_arr) else pa.nulls(nc, pa.string()),
            pa.scalar(None, pa.string()),
        )
        if nc
        else pa.array([], pa.string())
    )
    sol_s = np.where(has_sol, ev[np.maximum(sol_idx, 0)] if len(ev) else np.nan, np.nan)
    closing = (
        pc.fill_null(sentiment.column("customer_last_third"), sentiment.column("last_third"))
        .to_numpy(zero_copy_only=False)
        .astype(np.float64)
        if nc
        else np.zeros(0)
    )
    closing = np.where(np.isfinite(closing), closing, np.nan)
    closing_label = np.where(np.isnan(closing), None, label_of(np.nan_to_num(closing))) if nc else np.zeros(0, object)
    passed = (
        pc.fill_null(pc.equal(sol_status, "passed"), False).to_numpy(zero_copy_only=False) if nc else np.zeros(0, bool)
    )
    unhappy = closing_label == "negative"
    outcome = np.where(
        passed & ~unhappy, OUTCOMES[0], np.where(passed, OUTCOMES[1], np.where(unhappy, OUTCOMES[2], OUTCOMES[3]))
    )
    count, promised = commitments(turns, sorted_segs)
    f = lambda a: pa.array(a, pa.float64(), mask=np.isnan(a))
    return pa.table(
        {
            "tenant_id": _const(tenant_id, nc),
            "call_id": call_ids,
            "day": _const(day, nc),
            "driver": driver,
            "driver_s": f(driver_s),
            "drivers": drivers,
            "solution_status": sol_status,
            "solution_s": f(sol_s),
            "closing_sentiment": f(np.round(closing, 4)),
            "closing_label": pa.array(closing_label.tolist(), pa.string()),
            "outcome": pa.array(outcome.tolist(), pa.string()),
            "commitments": promised,
            "commitments_n": pa.array(count, pa.int32()),
            "card_version": _const(CARD_VERSION, nc),
            "suggested_driver": pa.nulls(nc, pa.string()),
            "suggested_similarity": pa.nulls(nc, pa.float64()),
        },
        schema=CARDS_SCHEMA,
    )


def with_suggestions(cards: pa.Table, driver: list[str | None], similarity: np.ndarray) -> pa.Table:
    """The cards with their suggested drivers (one per card, None: none) and similarities; a card
    that has a driver keeps no suggestion."""
    has = pc.is_valid(cards.column("driver")).to_numpy(zero_copy_only=False)
    keep = np.array([d is not None for d in driver], dtype=bool) & ~has
    names = pa.array([d if k else None for d, k in zip(driver, keep.tolist())], pa.string())
    sims = pa.array(np.round(np.where(keep, similarity, np.nan), 4), pa.float64(), mask=~keep)
    cards = cards.set_column(cards.schema.get_field_index("suggested_driver"), "suggested_driver", names)
    return cards.set_column(cards.schema.get_field_index("suggested_similarity"), "suggested_similarity", sims)
