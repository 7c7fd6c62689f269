"""Conversation analytics step (issue 19): sentiment per turn and per call, categories and call
drivers, call cards — from a tenant-day's REDACTED segments only (P21), written as Parquet
partitions beside the scores (``datasets/{tenant}/{dataset}/day=…``), one tenant at a time (P4).

Run inside the scoring step (``services/score.score_partition``): the call card needs the
scorecard's solution step, and a customer who ends strongly negative is a review reason (P15).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..core.categories import Categories, Turns
from ..core.conversation import (
    CALL_CARDS_DATASET,
    CALL_CATEGORIES_DATASET,
    CALL_SENTIMENT_DATASET,
    TURN_SENTIMENT_DATASET,
    call_cards,
    call_sentiment,
    categories_table,
    prepare,
    turn_sentiment,
    with_suggestions,
)
from ..core.driver_suggestions import examples, opening_texts, suggest, wants_suggestions
from ..core.tenants import Tenant
from ..loaders.config_files import load_categories
from ..stores.warehouse import Warehouse

PACKAGED_CATEGORIES = Path(__file__).resolve().parents[1] / "config" / "categories"


def categories_dir() -> Path:
    return Path(os.environ.get("CCR_CATEGORIES_DIR") or PACKAGED_CATEGORIES)


def categories_id(tenant: Tenant) -> str:
    return tenant.categories or f"default-{tenant.languages[0]}.v1"


def categories_for(tenant: Tenant) -> Categories:
    return load_categories(categories_dir() / f"{categories_id(tenant)}.yaml")


def analyse_partition(
    tenant: Tenant,
    day: str,
    segs: pa.Table,
    *,
    language_of: dict[str, str],
    steps: pa.Table | None,
    cats: Categories | None = None,
) -> dict[str, pa.Table]:
    """The four tables of a tenant-day (pure given its inputs): turn_sentiment, call_sentiment,
    call_categories, call_cards. *language_of*: call id -> language (the manifest's), else the
    tenant's first language."""
    cats = cats or categories_for(tenant)
    turns, call_ids, ordered = prepare(segs, language_of, tenant.languages[0])
    sentiment = call_sentiment(turns, call_ids, tenant.id, day)
    categories = categories_table(cats, turns, call_ids, tenant.id, day)
    cards = call_cards(turns, ordered, call_ids, categories, sentiment, steps, tenant.id, day)
    if wants_suggestions(cats):
        cards = suggest_drivers(cats, turns, cards)
    return {
        TURN_SENTIMENT_DATASET: turn_sentiment(turns, ordered, tenant.id, day),
        CALL_SENTIMENT_DATASET: sentiment,
        CALL_CATEGORIES_DATASET: categories,
        CALL_CARDS_DATASET: cards,
    }


def suggest_drivers(cats: Categories, turns: Turns, cards: pa.Table) -> pa.Table:
    """Suggested drivers for the cards no rule gave one (issue 19): the customer's opening words and
    the drivers' examples embedded by the packaged model, compared in ``core/driver_suggestions``."""
    from ..loaders.embeddings import embed_passages, embed_queries

    need = ~pc.is_valid(cards.column("driver")).to_numpy(zero_copy_only=False)
    if not need.any():
        return cards
    openings = opening_texts(turns, need)
    asked = [i for i, text in enumerate(openings) if text]
    if not asked:
        return cards
    driver_of, examples_text = examples(cats)
    vectors = embed_queries([openings[i] for i in asked])
    picked, best, _margin = suggest(
        vectors,
        embed_passages(examples_text),
        driver_of,
        min_similarity=cats.suggestions.min_similarity,
        min_margin=cats.suggestions.min_margin,
    )
    driver: list[str | None] = [None] * cards.num_rows
    similarity = np.full(cards.num_rows, np.nan)
    for i, d, b in zip(asked, picked, best.tolist()):
        driver[i], similarity[i] = d, b
    return with_suggestions(cards, driver, similarity)


def write_partition(warehouse: Warehouse, tenant_id: str, day: str, tables: dict[str, pa.Table]) -> dict[str, str]:
    """Write each table as the tenant-day's partition of its dataset; returns dataset -> object key."""
    return {name: warehouse.write_partition(name, tenant_id, day, table).key for name, table in tables.items()}
