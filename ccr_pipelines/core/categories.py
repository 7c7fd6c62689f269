"""Call categories and call drivers per tenant (issue 19) — versioned YAML, pure evaluation.

A categories file (``config/categories/{id}.yaml``, validated like a scorecard: unknown fields,
bad values and unsafe YAML are refused with the file and field named) lists categories, each a
rule over one call. A category marked ``driver: true`` is a call driver: a reason the customer
called. Conditions (Contact Lens style), combined with ``all`` / ``any`` to any depth:

* ``phrase``: one of the phrases said (accent- and case-insensitive, whole words) by ``speaker``
  (agent, customer, any; turns of unknown role — a mono call — match either), optionally within
  the first or the last N seconds of the call;
* ``sentiment``: the mean sentiment of a speaker's turns over the whole call, its first or its
  last third (their first or last turn when a short call leaves them none there), below or
  above a bound (``core/sentiment.py``);
* ``non_talk``: a silence (nobody speaking) longer than N seconds;
* ``interruptions``: more than N turns that start while the other party is still speaking.

Every hit carries its time points (seconds from the start of the call): where the phrase was
said, the turns that made the sentiment, where each long silence began, each interruption.
Evaluation is vectorised over a whole tenant-day (``evaluate``); nothing here reads a file
but ``loaders/config_files.load_categories``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .config_yaml import UnsafeYamlError, load_config_yaml
from .errors import SettingsError

CATEGORIES_VERSION = "categories-1"  # the evaluator's version (the file has its own)
Phrase = Annotated[str, Field(min_length=2, max_length=200)]
Seconds = Annotated[float, Field(gt=0, le=7200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhraseRule(_Strict):
    phrases: Annotated[list[Phrase], Field(min_length=1, max_length=100)]
    speaker: Literal["agent", "customer", "any"] = "any"
    within_first_s: Seconds | None = None
    within_last_s: Seconds | None = None


class SentimentRule(_Strict):
    speaker: Literal["agent", "customer", "any"] = "customer"
    part: Literal["call", "first_third", "last_third"] = "call"
    below: Annotated[float, Field(ge=-1, le=1)] | None = None
    above: Annotated[float, Field(ge=-1, le=1)] | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> SentimentRule:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of 'below' and 'above'")
        return self


class NonTalkRule(_Strict):
    longer_than_s: Seconds


class InterruptionsRule(_Strict):
    more_than: Annotated[int, Field(ge=0, le=1000)]
    by: Literal["agent", "customer", "any"] = "any"


class Condition(_Strict):
    phrase: PhraseRule | None = None
    sentiment: SentimentRule | None = None
    non_talk: NonTalkRule | None = None
    interruptions: InterruptionsRule | None = None
    all: Annotated[list[Condition], Field(min_length=1, max_length=20)] | None = None
    any: Annotated[list[Condition], Field(min_length=1, max_length=20)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Condition:
        given = [
            k
            for k in ("phrase", "sentiment", "non_talk", "interruptions", "all", "any")
            if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError("a condition is exactly one of phrase, sentiment, non_talk, interruptions, all, any")
        return self


Example = Annotated[str, Field(min_length=3, max_length=300)]


class Category(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    driver: bool = False  # a call driver: why the customer called
    description: Annotated[str, Field(max_length=300)] = ""
    match: Condition
    # a driver's example sentences (what a customer says when calling for it): with two drivers or
    # more that have some, calls no rule gives a driver get a SUGGESTED one (core/driver_suggestions)
    examples: Annotated[list[Example], Field(min_length=3, max_length=30)] | None = None

    @model_validator(mode="after")
    def _examples_for_drivers(self) -> Category:
        if self.examples is not None and not self.driver:
            raise ValueError("only a driver (driver: true) takes examples")
        return self


class SuggestionSettings(_Strict):
    """When a call with no rule driver gets a suggested one: its opening words' similarity to the
    driver's nearest example reaches *min_similarity* and beats the next driver's by *min_margin*."""

    min_similarity: Annotated[float, Field(ge=0.5, le=1)] = 0.85
    min_margin: Annotated[float, Field(ge=0, le=0.5)] = 0.01


class Categories(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,80}$")]
    version: Annotated[int, Field(ge=1)]
    language: Literal["fr", "en"]
    categories: Annotated[list[Category], Field(min_length=1, max_length=200)]
    suggestions: SuggestionSettings = SuggestionSettings()

    @model_validator(mode="after")
    def _unique(self) -> Categories:
        ids = [c.id for c in self.categories]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"category id '{dupes[0]}' is used twice")
        return self

    @property
    def digest(self) -> str:
        # fields added later count only when used: a file that does not use them keeps its digest
        exclude: dict = {}
        if self.suggestions == SuggestionSettings():
            exclude["suggestions"] = True
        if not any(c.examples for c in self.categories):
            exclude["categories"] = {"__all__": {"examples"}}
        return hashlib.sha256(self.model_dump_json(exclude=exclude or None).encode()).hexdigest()[:12]

    @property
    def version_tag(self) -> str:
        return f"{self.id}@v{self.version}-{self.digest}"


def parse_categories(text: str, *, source: str | Path) -> Categories:
    """A categories file's text, validated; every error one line naming *source* (the loader reads the
    file: ``loaders/config_files.load_categories``)."""
    try:
        raw = load_config_yaml(text)
    except UnsafeYamlError as exc:
        raise SettingsError(f"{source}: {exc}") from None
    except yaml.YAMLError:
        raise SettingsError(f"{source}: cannot read categories YAML") from None
    try:
        return Categories.model_validate(raw)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
        raise SettingsError(f"{source}: field '{loc}': {msg}") from None


# --- evaluation -------------------------------------------------------------------------
@dataclass
class Turns:
    """A tenant-day's turns sorted by (call, start), with what the rules need; built by
    ``core.conversation.prepare``. ``call_of[i]``: the call (0..n_calls-1) of turn i."""

    n_calls: int
    call_of: np.ndarray
    start: np.ndarray  # seconds from the start of the recording
    end: np.ndarray
    speaker: np.ndarray  # object array: agent / customer / unknown
    speech: np.ndarray  # bool: not flagged no_speech by the ASR gate
    norm_text: pa.Array  # " w1 w2 … " per DISTINCT text of the day: normalised words, space-padded
    text_of: np.ndarray  # turn -> index into norm_text
    compound: np.ndarray  # sentiment per turn
    call_start: np.ndarray  # per call: first turn's start, last turn's end
    call_end: np.ndarray
    texts: pa.Array | None = None  # the DISTINCT texts themselves (redacted), as text_of indexes them


@dataclass
class Hits:
    """One rule over every call: ``hit[c]``, and time points as (call index, seconds) pairs."""

    hit: np.ndarray
    point_call: np.ndarray
    point_s: np.ndarray


def _points(turns: Turns, rows: np.ndarray, times: np.ndarray) -> Hits:
    hit = np.bincount(turns.call_of[rows], minlength=turns.n_calls) > 0 if len(rows) else np.zeros(turns.n_calls, bool)
    return Hits(hit, turns.call_of[rows], times)


def normalise_phrase(phrase: str) -> str:
    """« Je vais » → " je vais ": as the turns' text is normalised (core.conversation.normalised_text)."""
    from .scorecards import normalise

    return " " + " ".join(normalise(phrase)) + " "


def _speaker_mask(turns: Turns, speaker: str) -> np.ndarray:
    return turns.speech & (np.ones(len(turns.speaker), bool) if speaker == "any" else turns.speaker == speaker)


def _phrase(turns: Turns, rule: PhraseRule) -> Hits:
    # one pass per rule over the DISTINCT texts of the day: the phrases as one alternation
    pattern = "(?:" + "|".join(re.escape(p) for p in sorted({normalise_phrase(p) for p in rule.phrases})) + ")"
    found = pc.match_substring_regex(turns.norm_text, pattern).to_numpy(zero_copy_only=False)
    # a mono call's turns have no known role: a phrase for either party matches them (the call's
    # reason is still its reason); a stereo call's other party never does
    who = _speaker_mask(turns, rule.speaker) | (turns.speech & (turns.speaker == "unknown"))
    ok = found[turns.text_of] & who
    rel = turns.start - turns.call_start[turns.call_of]
    if rule.within_first_s is not None:
        ok &= rel <= rule.within_first_s
    if rule.within_last_s is not None:
        ok &= turns.start >= turns.call_end[turns.call_of] - rule.within_last_s
    rows = np.flatnonzero(ok)
    return _points(turns, rows, rel[rows])


def part_mask(turns: Turns, part: str) -> np.ndarray:
    """Turns in the call's first or last third (by the turn's start time), or all of them."""
    if part == "call":
        return np.ones(len(turns.call_of), dtype=bool)
    length = np.maximum(turns.call_end - turns.call_start, 1e-9)[turns.call_of]
    frac = (turns.start - turns.call_start[turns.call_of]) / length
    return frac < 1 / 3 if part == "first_third" else frac >= 2 / 3


def mean_by_call(turns: Turns, mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Mean of *values* over the masked turns of each call; NaN where a call has none."""
    n = np.bincount(turns.call_of[mask], minlength=turns.n_calls)
    s = np.bincount(turns.call_of[mask], weights=values[mask], minlength=turns.n_calls)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def part_turns(turns: Turns, who: np.ndarray, part: str) -> np.ndarray:
    """The turns of *who* (a mask) in *part* of each call; where a call has none of theirs in its
    first (last) third — a short call — their first (last) turn stands for it."""
    mask = who & part_mask(turns, part)
    if part == "call":
        return mask
    idx = np.arange(len(turns.call_of))
    has = np.bincount(turns.call_of[mask], minlength=turns.n_calls) > 0
    pick = np.full(turns.n_calls, -1 if part == "last_third" else len(idx), dtype=np.int64)
    (np.maximum if part == "last_third" else np.minimum).at(pick, turns.call_of[who], idx[who])
    extra = pick[~has & (pick >= 0) & (pick < len(idx))]
    mask = mask.copy()
    mask[extra] = True
    return mask


def _sentiment(turns: Turns, rule: SentimentRule) -> Hits:
    mask = part_turns(turns, _speaker_mask(turns, rule.speaker), rule.part)
    mean = mean_by_call(turns, mask, turns.compound)
    if rule.below is not None:
        hit, turn_ok = mean < rule.below, turns.compound < rule.below
    else:
        hit, turn_ok = mean > rule.above, turns.compound > rule.above
    hit = np.nan_to_num(hit, nan=False).astype(bool)
    rows = np.flatnonzero(mask & turn_ok & hit[turns.call_of])  # the turns that pull the mean past the bound
    return Hits(hit, turns.call_of[rows], (turns.start - turns.call_start[turns.call_of])[rows])


def _running_max_end(turns: Turns, rows: np.ndarray) -> np.ndarray:
    """For each of *rows* (sorted by call, start): the latest end among the call's earlier rows
    (−inf for a call's first)."""
    call = turns.call_of[rows]
    end = turns.end[rows]
    span = float(np.max(turns.call_end - turns.call_start)) + 1.0 if turns.n_calls else 1.0
    offset = call * (span * 4 + float(np.max(np.abs(turns.end))) * 4 + 1.0) if len(rows) else call
    acc = np.maximum.accumulate(end + offset) - offset
    prev = np.full(len(rows), -np.inf)
    same = np.zeros(len(rows), bool)
    if len(rows) > 1:
        same[1:] = call[1:] == call[:-1]
        prev[1:] = np.where(same[1:], acc[:-1], -np.inf)
    return prev


def _non_talk(turns: Turns, rule: NonTalkRule) -> Hits:
    rows = np.flatnonzero(turns.speech)
    prev_end = _running_max_end(turns, rows)
    gap = turns.start[rows] - prev_end
    long = rows[np.isfinite(prev_end) & (gap > rule.longer_than_s)]
    prev = prev_end[np.isfinite(prev_end) & (gap > rule.longer_than_s)]
    return _points(turns, long, prev - turns.call_start[turns.call_of[long]])


def _interruptions(turns: Turns, rule: InterruptionsRule) -> Hits:
    rows = np.flatnonzero(turns.speech & ((turns.speaker == "agent") | (turns.speaker == "customer")))
    prev_end = _running_max_end(turns, rows)
    spk = turns.speaker[rows]
    change = np.zeros(len(rows), bool)
    if len(rows) > 1:
        change[1:] = (spk[1:] != spk[:-1]) & (turns.call_of[rows][1:] == turns.call_of[rows][:-1])
    cut = change & (turns.start[rows] < prev_end)
    if rule.by != "any":
        cut &= spk == rule.by
    at = rows[cut]
    count = np.bincount(turns.call_of[at], minlength=turns.n_calls)
    hit = count > rule.more_than
    keep = hit[turns.call_of[at]]
    at = at[keep]
    return Hits(hit, turns.call_of[at], turns.start[at] - turns.call_start[turns.call_of[at]])


def evaluate_condition(turns: Turns, cond: Condition) -> Hits:
    if cond.phrase is not None:
        return _phrase(turns, cond.phrase)
    if cond.sentiment is not None:
        return _sentiment(turns, cond.sentiment)
    if cond.non_talk is not None:
        return _non_talk(turns, cond.non_talk)
    if cond.interruptions is not None:
        return _interruptions(turns, cond.interruptions)
    parts = [evaluate_condition(turns, c) for c in (cond.all or cond.any)]
    hit = np.logical_and.reduce([p.hit for p in parts]) if cond.all else np.logical_or.reduce([p.hit for p in parts])
    pc_ = np.concatenate([p.point_call for p in parts])
    ps = np.concatenate([p.point_s for p in parts])
    keep = hit[pc_] if len(pc_) else np.zeros(0, bool)
    return Hits(hit, pc_[keep], ps[keep])


def evaluate(cats: Categories, turns: Turns) -> list[tuple[Category, Hits]]:
    """Every category over every call of *turns*."""
    return [(c, evaluate_condition(turns, c.match)) for c in cats.categories]


def hits_table(cats: Categories, results: list[tuple[Category, Hits]], call_ids: pa.Array) -> pa.Table:
    """One row per (call, category hit): call_id, category, is_driver, first_s, time_points (sorted,
    distinct, rounded to 0.1 s), categories_version. Sorted by call, then the file's order.
    Every hit has at least one time point (each rule's hits are made of its points)."""
    calls, order, times = [], [], []
    for k, (_, h) in enumerate(results):
        keep = h.hit[h.point_call] if len(h.point_call) else np.zeros(0, bool)
        calls.append(h.point_call[keep].astype(np.int64))
        order.append(np.full(int(keep.sum()), k, dtype=np.int64))
        times.append(np.round(h.point_s[keep], 1))
    call = np.concatenate(calls) if calls else np.zeros(0, np.int64)
    cat = np.concatenate(order) if order else np.zeros(0, np.int64)
    t = np.concatenate(times) if times else np.zeros(0)
    idx = np.lexsort((t, cat, call))
    call, cat, t = call[idx], cat[idx], t[idx]
    distinct = np.ones(len(t), bool)
    distinct[1:] = (call[1:] != call[:-1]) | (cat[1:] != cat[:-1]) | (t[1:] != t[:-1])
    call, cat, t = call[distinct], cat[distinct], t[distinct]
    new = np.ones(len(t), bool)
    new[1:] = (call[1:] != call[:-1]) | (cat[1:] != cat[:-1])
    heads = np.flatnonzero(new)
    offsets = np.append(heads, len(t)).astype(np.int32)
    n = len(heads)
    ids = np.array([c.id for c, _ in results] or [""], dtype=object)
    drivers = np.array([c.driver for c, _ in results] or [False], dtype=bool)
    return pa.table(
        {
            "call_id": call_ids.take(pa.array(call[heads], pa.int64())),
            "category": pa.array(ids[cat[heads]].tolist(), pa.string()),
            "is_driver": pa.array(drivers[cat[heads]], pa.bool_()),
            "first_s": pa.array(t[heads], pa.float64()),
            "time_points": pa.ListArray.from_arrays(pa.array(offsets), pa.array(t, pa.float64())),
            "categories_version": pa.array([cats.version_tag] * n, pa.string()),
        }
    )
