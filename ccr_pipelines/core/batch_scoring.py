"""Vectorised call scoring (P15, P23): a whole tenant-day of segments at once, same results as
``scorecards.score_call`` (the reference implementation, kept for tests and single calls).

How it stays exact while skipping almost all of score_call's work:

1. Segments are normalised and tokenised with Arrow kernels (lower, NFKD, drop combining marks,
   split on ``[^a-z0-9']+``). Rows holding a character outside ``_FAST_CHARS`` — whose Arrow
   handling is proven equal to ``normalise()`` character by character in the tests — go through
   ``normalise()`` itself.
2. Word similarities are computed once per DISTINCT word of the day against the card's phrase
   words: an upper bound (character multiset, as difflib's ``quick_ratio``) in numpy, then the
   exact ``_words_close`` on the few survivors.
3. The ``could_reach`` pre-check for every (segment, phrase) is then a count over a boolean
   segment × phrase-word matrix; ``best_match`` runs only on the surviving pairs, once per
   distinct (phrase, normalised text).
4. The first hit per (call, question), statuses, points, score, auto-fail, review reasons and the
   ``results_json`` text (built from fragments rendered by ``json.dumps``) are assembled with numpy
   and Arrow; only what depends on a float rounding is computed per distinct value in Python.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .scorecards import (
    SCORER_VERSION,
    SIDECAR_EVIDENCE,
    UNVERIFIABLE_REASON,
    WORD_SIMILARITY,
    Scorecard,
    _phrase_words,
    _words_close,
    best_match,
    normalise,
    time_at,
)

# Characters whose Arrow normalisation equals normalise()'s (checked one by one in the tests):
# ASCII, Latin-1 supplement, Latin Extended-A/B and the typographic apostrophe.
_FAST_CHARS = r"^[\x{0000}-\x{024F}\x{2019}]*$"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789'"
_CHAR_COL = np.full(256, len(_ALPHABET), dtype=np.int64)
_CHAR_COL[np.frombuffer(_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(_ALPHABET))

STATUSES = ("not_applicable", "passed", "missing", "late", "forbidden_said", "unverifiable")
NA, PASSED, MISSING, LATE, FORBIDDEN, UNVERIFIABLE = range(6)
SCORE_COLUMNS = (
    "call_id",
    "score",
    "auto_failed",
    "needs_review",
    "review_reasons",
    "review_status",
    "confidence",
    "scorer_version",
    "scorecard_version",
    "results_json",
)


def arrow_normalise(text: pa.Array) -> pa.Array:
    """list<string> of words per row; equals normalise() for rows made of ``_FAST_CHARS``."""
    low = pc.utf8_normalize(pc.utf8_lower(pc.fill_null(text, "")), "NFKD")
    low = pc.replace_substring(pc.replace_substring_regex(low, r"\p{Mn}", ""), "’", "'")
    return pc.split_pattern_regex(low, r"[^a-z0-9']+")


def tokenise(text: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """(offsets, words): words of row i are words[offsets[i]:offsets[i+1]], as normalise() gives them."""
    text = pc.fill_null(text, "")
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    n = len(text)
    lists = arrow_normalise(text)
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy()
    keep = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
    slow = ~pc.match_substring_regex(text, _FAST_CHARS).to_numpy(zero_copy_only=False)
    if slow.any():
        keep &= ~slow[parent]
        rows = np.flatnonzero(slow)
        extra = [normalise(s) for s in text.take(pa.array(rows)).to_pylist()]
        words = pa.concat_arrays([flat.filter(pa.array(keep)), pa.array([w for ws in extra for w in ws], pa.string())])
        parent = np.concatenate([parent[keep], np.repeat(rows, [len(ws) for ws in extra])])
        order = np.argsort(parent, kind="stable")
        words, parent = words.take(pa.array(order)), parent[order]
    else:
        words, parent = flat.filter(pa.array(keep)), parent[keep]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(parent, minlength=n), out=offsets[1:])
    return offsets, words


def close_matrix(vocab: pa.Array, phrase_words: list[str]) -> np.ndarray:
    """bool [len(vocab), len(phrase_words)]: _words_close(phrase word, vocabulary word), exactly.

    difflib's ratio is 2·M/T with M at most the size of the two words' common character multiset:
    pairs whose multiset bound is below the threshold are not compared at all."""
    nv = len(vocab)
    out = np.zeros((nv, len(phrase_words)), dtype=bool)
    if nv == 0 or not phrase_words:
        return out
    width = np.int64 if pa.types.is_large_string(vocab.type) else np.int32
    raw = np.frombuffer(vocab.buffers()[1], dtype=width)[vocab.offset : vocab.offset + nv + 1].astype(np.int64)
    data = np.frombuffer(vocab.buffers()[2], dtype=np.uint8)[raw[0] : raw[-1]]
    offs = raw - raw[0]
    lens = np.diff(offs)
    counts = np.zeros((nv, len(_ALPHABET) + 1), dtype=np.int32)
    np.add.at(counts, (np.repeat(np.arange(nv), lens), _CHAR_COL[data]), 1)
    words = None
    for j, p in enumerate(phrase_words):
        cp = np.zeros(len(_ALPHABET) + 1, dtype=np.int32)
        for ch in p:
            cp[_CHAR_COL[ord(ch)] if ord(ch) < 256 else len(_ALPHABET)] += 1
        lp = len(p)
        total = lens + lp
        bound = 2.0 * np.minimum(counts, cp).sum(axis=1) / np.maximum(total, 1)
        cand = np.flatnonzero(bound >= WORD_SIMILARITY - 1e-9)
        if len(cand) == 0:
            continue
        if words is None:
            words = vocab.to_pylist()
        out[cand, j] = [_words_close(p, words[i]) for i in cand]
    return out


@lru_cache(maxsize=262_144)
def _best(phrase: str, text: str, threshold: float) -> tuple[float, int]:
    """best_match where it reaches *threshold* (exact there); below it, only "no hit" is used."""
    return best_match(phrase, text.split(" ") if text else [], at_least=threshold)


@dataclass(frozen=True)
class _Q:
    id: str
    step: str
    section: str
    kind: str
    phrases: tuple[str, ...]
    weight: float
    within_s: float | None
    auto_fail: bool
    speaker: str
    applies: bool


def _questions(card: Scorecard, uses_virtual_agents: bool) -> list[_Q]:
    return [
        _Q(
            q.id,
            q.step,
            s.id,
            q.kind,
            tuple(q.phrases),
            s.weight * q.points,
            q.within_s,
            q.auto_fail,
            q.speaker,
            not (q.applies_if == "uses_virtual_agents" and not uses_virtual_agents),
        )
        for s in card.sections
        for q in s.questions
    ]


def _fragments(qs: list[_Q]) -> list[str]:
    """json.dumps of each (question, status) result with the evidence left open: index q*5+status."""
    out = []
    for q in qs:
        for code, status in enumerate(STATUSES):
            if code == NA:
                out.append(json.dumps({"question": q.id, "step": q.step, "section": q.section, "status": status}))
                continue
            ok = code == PASSED
            text = json.dumps(
                {
                    "question": q.id,
                    "step": q.step,
                    "section": q.section,
                    "status": status,
                    "points": q.weight if ok else 0.0,
                    "possible": 0.0 if code == UNVERIFIABLE else q.weight,
                    "auto_fail": q.auto_fail,
                    "evidence": None,
                }
            )
            out.append(text[: -len("null}")])
    return out


def _num(x: float) -> str:
    return repr(x) if math.isfinite(x) else json.dumps(x)


def _pattern_outcome(card: Scorecard, qs: list[_Q], codes: tuple[int, ...]) -> tuple[float, bool, bool, bool, bool]:
    """(score, auto_failed, borderline, disclosure missing or late, unverifiable) — score_call's arithmetic,
    in its order."""
    earned = possible = 0.0
    auto_failed = disclosure = False
    unverifiable = UNVERIFIABLE in codes
    for q, code in zip(qs, codes):
        if code in (NA, UNVERIFIABLE):
            continue
        ok = code == PASSED
        possible += q.weight
        earned += q.weight if ok else 0.0
        if not ok and q.auto_fail:
            auto_failed = True
        if q.step in ("recording_disclosure", "ai_disclosure") and code in (MISSING, LATE):
            disclosure = True
    score = 0.0 if auto_failed else (100.0 * earned / possible if possible else 0.0)
    th = card.thresholds  # as score_call: the borderline test sees the unrounded score
    return round(score, 2), auto_failed, th.borderline_low <= score <= th.borderline_high, disclosure, unverifiable


def score_segments(
    card: Scorecard,
    segs: pa.Table,
    *,
    uses_virtual_agents: bool,
    asr_confidence: dict[str, float | None],
    recording_notice: dict[str, bool | None] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """Score every call of *segs* (columns call_id, segment_index, speaker, start_s, end_s, text,
    speech_regions, optionally no_speech). Returns (scores: one row per call, sorted by call_id, columns
    SCORE_COLUMNS; steps: one row per call and question). Same values as score_call for each call,
    given each call's sidecar ``recording_notice``."""
    qs = _questions(card, uses_virtual_agents)
    sg = _segments(segs)
    # 1-3: candidate (segment, question, phrase) triples and their best_match
    cand_seg, cand_q, cand_p, sim, pos = _candidates(qs, sg, card.thresholds.similarity)
    # 4: the first hit per (call, question, who), and its evidence
    hits = _first_hits(qs, sg, cand_seg, cand_q, cand_p, sim, pos, card.thresholds.similarity)
    # 4b: script steps no window matched word for word, found by sound (score_call's _phonetic_hits)
    hits = _with_phonetic_hits(card, qs, sg, hits)
    ev = _evidence(qs, sg, hits)
    st = _statuses(card, qs, sg, hits, ev, recording_notice)
    return _scores_table(card, qs, sg, st, ev, asr_confidence), _steps_table(qs, sg, st, ev, len(hits.seg))


@dataclass
class _Segments:
    """The day's segments in score_call's order (call, start, index), with each one's call and its text
    among the DISTINCT texts, tokenised once."""

    t: pa.Table
    call_of: np.ndarray  # segment -> call number
    call_ids: pa.Array  # call number -> call id (sorted)
    text_of: np.ndarray  # segment -> distinct text
    offsets: np.ndarray  # distinct text -> its words (offsets into *words*)
    words: pa.Array
    ntok: np.ndarray  # segment -> number of words
    is_agent: np.ndarray
    is_customer: np.ndarray
    is_unknown: np.ndarray  # role unknown (or empty)
    speech: np.ndarray  # not flagged no_speech
    texts: pa.Array | None = None  # distinct text -> its text (null read as "")

    @property
    def nc(self) -> int:
        return len(self.call_ids)

    @property
    def nu(self) -> int:
        return len(self.offsets) - 1


def _segments(segs: pa.Table) -> _Segments:
    if "no_speech" not in segs.column_names:
        segs = segs.append_column("no_speech", pa.nulls(segs.num_rows, pa.bool_()))
    t = segs.select(["call_id", "segment_index", "speaker", "start_s", "end_s", "text", "speech_regions", "no_speech"])
    t = t.sort_by([("call_id", "ascending"), ("start_s", "ascending"), ("segment_index", "ascending")])
    n = t.num_rows
    call_col = t.column("call_id").combine_chunks() if n else pa.array([], pa.string())
    if n:
        change = np.concatenate([[True], pc.not_equal(call_col[1:], call_col[:-1]).to_numpy(zero_copy_only=False)])
    else:
        change = np.zeros(0, dtype=bool)
    call_of = np.cumsum(change) - 1
    starts = np.flatnonzero(change)
    call_ids = call_col.take(pa.array(starts, pa.int64()))
    text_enc = pc.dictionary_encode(
        pc.fill_null(t.column("text").combine_chunks() if n else pa.array([], pa.string()), "")
    )
    text_of = text_enc.indices.to_numpy().astype(np.int64)
    offsets, words = tokenise(text_enc.dictionary)
    ntok_u = np.diff(offsets)
    ntok = ntok_u[text_of] if n else np.zeros(0, dtype=np.int64)
    speaker = pc.fill_null(t.column("speaker"), "").to_numpy(zero_copy_only=False)
    speech = ~pc.fill_null(t.column("no_speech"), False).to_numpy(zero_copy_only=False).astype(bool)
    return _Segments(
        texts=text_enc.dictionary,
        t=t,
        call_of=call_of,
        call_ids=call_ids,
        text_of=text_of,
        offsets=offsets,
        words=words,
        ntok=ntok,
        is_agent=speaker == "agent",
        is_customer=speaker == "customer",
        is_unknown=(speaker == "unknown") | (speaker == ""),
        speech=speech,
    )


def _candidates(qs: list[_Q], sg: _Segments, threshold: float) -> tuple[np.ndarray, ...]:
    """Tokens of each DISTINCT text, word similarities per distinct word, the exact could_reach pre-check,
    then best_match on the surviving (phrase, text) pairs only, once per distinct pair. Returns the
    candidates' segment, question, phrase (index within the question), similarity and word position."""
    nu, ntok_u = sg.nu, np.diff(sg.offsets)
    enc = pc.dictionary_encode(sg.words) if len(sg.words) else None
    phrase_words = sorted({w for q in qs if q.applies for p in q.phrases for w in _phrase_words(p)})
    pw_col = {w: j for j, w in enumerate(phrase_words)}
    text_has = np.zeros((nu, len(phrase_words)), dtype=bool)
    if enc is not None and phrase_words:
        close = close_matrix(enc.dictionary, phrase_words)
        word_of = enc.indices.to_numpy()
        tok_text = np.repeat(np.arange(nu), ntok_u)
        useful = close.any(axis=1)[word_of]
        ti, pj = np.nonzero(close[word_of[useful]])
        text_has[tok_text[useful][ti], pj] = True
    cand_seg, cand_q, cand_p, cand_phrase = [], [], [], []
    phrase_ids: dict[str, int] = {}
    reach: dict[str, np.ndarray] = {}
    for qi, q in enumerate(qs):
        if not q.applies:
            continue
        if q.speaker == "any":
            sp_ok = sg.speech
        else:
            sp_ok = ((sg.is_agent if q.speaker == "agent" else sg.is_customer) | sg.is_unknown) & sg.speech
        for pi, phrase in enumerate(q.phrases):
            target = _phrase_words(phrase)
            if not target:
                continue
            if phrase not in reach:  # could_reach, per distinct text
                found = text_has[:, [pw_col[w] for w in target]].sum(axis=1)
                reach[phrase] = (found >= threshold * len(target) - 1e-9) & (ntok_u > 0)
            rows = np.flatnonzero(sp_ok & reach[phrase][sg.text_of])
            cand_seg.append(rows)
            cand_q.append(np.full(len(rows), qi))
            cand_p.append(np.full(len(rows), pi))
            cand_phrase.append(np.full(len(rows), phrase_ids.setdefault(phrase, len(phrase_ids))))
    cat = lambda xs: np.concatenate(xs).astype(np.int64) if xs else np.zeros(0, dtype=np.int64)
    cand_seg, cand_q, cand_p, cand_phrase = cat(cand_seg), cat(cand_q), cat(cand_p), cat(cand_phrase)
    phrases = list(phrase_ids)
    # best_match once per distinct (phrase, text), on the text's normalised words
    key = cand_phrase * (nu + 1) + sg.text_of[cand_seg]
    ukey, key_inv = np.unique(key, return_inverse=True)
    utext = ukey % (nu + 1)
    needed, needed_inv = np.unique(utext, return_inverse=True)
    joined = _joined(sg.offsets, sg.words, needed)
    res = [_best(phrases[k], joined[j], threshold) for k, j in zip((ukey // (nu + 1)).tolist(), needed_inv.tolist())]
    sim = np.array([r[0] for r in res], dtype=np.float64)[key_inv] if res else np.zeros(0)
    pos = np.array([r[1] for r in res], dtype=np.int64)[key_inv] if res else np.zeros(0, dtype=np.int64)
    return cand_seg, cand_q, cand_p, sim, pos


@dataclass
class _Hits:
    """The earliest hit per (call, question, who): its segment, question, phrase, similarity, word
    position, and ``pair`` = (call * questions + question) * 2 + who."""

    seg: np.ndarray
    q: np.ndarray
    p: np.ndarray
    sim: np.ndarray
    pos: np.ndarray
    pair: np.ndarray
    phonetic: np.ndarray | None = None  # bool per hit: found by sound (core/phonetic.py), None: none was
    claims: _Claims | None = None  # the script steps' word matches (one utterance is one step's evidence)


def _with_phonetic_hits(card: Scorecard, qs: list[_Q], sg: _Segments, hits: _Hits) -> _Hits:
    """Issue 17, as score_call does it: for each (call, script step) with no hit of either kind, the
    earliest segment per role whose words SOUND like one of the step's phrases (first phrase that does,
    in card order). Loops only over the missing steps' calls; each (phrase, text) is compared once,
    and only where the text holds enough of the phrase's sounds to reach the threshold at all
    (``phonetic.may_reach``, one array operation per phrase over every text concerned)."""
    from .phonetic import PHONETIC_SIMILARITY, Heard, accented_words, bag_totals, may_reach, phonetic_window

    nq = len(qs)
    steps = [qi for qi, q in enumerate(qs) if q.applies and q.kind == "script_step"]
    if not steps or sg.nc == 0:
        return hits
    have = np.zeros(sg.nc * nq, dtype=bool)
    have[hits.pair // 2] = True
    missing = ~have.reshape(sg.nc, nq)[:, steps]  # (call, step): no hit of either kind
    if not missing.any():
        return hits
    lang = "en" if card.language == "en" else "fr"
    # who may say each step: 0 = its speaker (or anyone), 1 = a turn of unknown role, -1 = nobody
    who_by_step = []
    for qi in steps:
        q = qs[qi]
        if q.speaker == "any":
            who_by_step.append(np.zeros(len(sg.call_of), dtype=np.int64))
        else:
            own = sg.is_agent if q.speaker == "agent" else sg.is_customer
            who_by_step.append(np.where(own, 0, np.where(sg.is_unknown, 1, -1)))
    # the distinct texts that can be read: speech a missing step's speaker said in its call
    readable = np.zeros(len(sg.call_of), dtype=bool)
    for j, who_of in enumerate(who_by_step):
        readable |= missing[sg.call_of, j] & (who_of >= 0)
    used = np.unique(sg.text_of[readable & sg.speech])
    slot = np.full(sg.nu, -1, dtype=np.int64)
    slot[used] = np.arange(len(used))
    said = [accented_words(x) for x in sg.texts.take(pa.array(used, pa.int64())).to_pylist()]
    totals = bag_totals(said, lang)
    heards: dict[int, Heard] = {}  # built for the few texts a phrase may reach
    phrase_words = {p: tuple(accented_words(p)) for qi in steps for p in qs[qi].phrases}
    reach = {p: may_reach(w, totals, lang, floor=PHONETIC_SIMILARITY) for p, w in phrase_words.items()}
    memo: dict[tuple[str, int], tuple[float, int, int]] = {}
    row_slot = slot[sg.text_of]
    new = []
    for j, qi in enumerate(steps):
        q, who_of = qs[qi], who_by_step[j]
        can = np.zeros(len(used), dtype=bool)
        for phrase in q.phrases:
            can |= reach[phrase]
        # the only turns that can hold the step by sound: every other one is below the threshold
        cand = np.flatnonzero(
            missing[sg.call_of, j] & sg.speech & (who_of >= 0) & (row_slot >= 0) & can[np.maximum(row_slot, 0)]
        )
        current, found = -1, [False, False]
        for r, c, who, k in zip(
            cand.tolist(), sg.call_of[cand].tolist(), who_of[cand].tolist(), row_slot[cand].tolist()
        ):
            if c != current:
                current, found = c, [False, False]
            if found[who]:
                continue
            for pi, phrase in enumerate(q.phrases):
                if not reach[phrase][k]:
                    continue  # below the threshold whatever the window
                key = (phrase, k)
                if key not in memo:
                    if k not in heards:
                        heards[k] = Heard(said[k], lang)
                    memo[key] = phonetic_window(phrase_words[phrase], heards[k], lang, floor=PHONETIC_SIMILARITY)
                sim, pos, size = memo[key]
                if sim >= PHONETIC_SIMILARITY:
                    if hits.claims is None or not hits.claims.holds(r, qi, pos, pos + size):
                        new.append((r, qi, pi, sim, pos, (c * nq + qi) * 2 + who))
                        found[who] = True
                    break  # another step's words: the next turn may hold this one
    new.sort(key=lambda h: (h[5] // 2, h[0]))  # call, step, then turn: the order of the hits found by words
    if not new:
        return hits
    add = np.array(new, dtype=object)
    cat = lambda a, col, dt: np.concatenate([a, add[:, col].astype(dt)])
    phon = np.concatenate(
        [
            hits.phonetic if hits.phonetic is not None else np.zeros(len(hits.seg), dtype=bool),
            np.ones(len(new), dtype=bool),
        ]
    )
    return _Hits(
        seg=cat(hits.seg, 0, np.int64),
        q=cat(hits.q, 1, np.int64),
        p=cat(hits.p, 2, np.int64),
        sim=cat(hits.sim, 3, np.float64),
        pos=cat(hits.pos, 4, np.int64),
        pair=cat(hits.pair, 5, np.int64),
        phonetic=phon,
        claims=hits.claims,
    )


def _first_hits(qs: list[_Q], sg: _Segments, cand_seg, cand_q, cand_p, sim, pos, threshold: float) -> _Hits:
    """Segments are in score_call's order, then phrase order; who = 0 when the segment's speaker answers
    the question, 1 when its role is unknown."""
    nq = len(qs)
    hit = sim >= threshold
    hs, hq, hp, hsim, hpos = cand_seg[hit], cand_q[hit], cand_p[hit], sim[hit], pos[hit]
    # per segment and question, the first phrase (card order) that reaches the threshold
    o = np.lexsort((hp, hq, hs))
    hs, hq, hp, hsim, hpos = hs[o], hq[o], hp[o], hsim[o], hpos[o]
    head = np.ones(len(hs), dtype=bool)
    head[1:] = (hs[1:] != hs[:-1]) | (hq[1:] != hq[:-1])
    hs, hq, hp, hsim, hpos = hs[head], hq[head], hp[head], hsim[head], hpos[head]
    # one utterance, one step: a script step's hit on words another step matched better is no evidence
    claims = _Claims.of(qs, hs, hq, hp, hsim, hpos)
    kept = np.ones(len(hs), dtype=bool)
    kept[claims.row] = ~claims.beaten()
    hs, hq, hp, hsim, hpos = hs[kept], hq[kept], hp[kept], hsim[kept], hpos[kept]
    any_q = np.array([q.speaker == "any" for q in qs] + [False], dtype=bool)
    who = (sg.is_unknown[hs] & ~any_q[hq]).astype(np.int64) if len(hs) else np.zeros(0, dtype=np.int64)
    order = np.lexsort((hp, hs, who, hq))
    hs, hq, hp, hsim, hpos, who = hs[order], hq[order], hp[order], hsim[order], hpos[order], who[order]
    pair = (sg.call_of[hs] * nq + hq) * 2 + who if len(hs) else np.zeros(0, dtype=np.int64)
    _, first = np.unique(pair, return_index=True)
    return _Hits(
        seg=hs[first], q=hq[first], p=hp[first], sim=hsim[first], pos=hpos[first], pair=pair[first], claims=claims
    )


@dataclass
class _Claims:
    """The words each script step's word match covers, per segment (score_call's ``_claims``): the
    hits sorted by segment, with their question, span [lo, hi) and unrounded similarity."""

    row: np.ndarray  # the hit each claim is
    seg: np.ndarray
    q: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    sim: np.ndarray

    @classmethod
    def of(cls, qs: list[_Q], hs, hq, hp, hsim, hpos) -> _Claims:
        """From the first-phrase hits *hs*.. (sorted by segment): those of script steps."""
        step = np.array([q.kind == "script_step" for q in qs] + [False], dtype=bool)
        size = np.zeros((len(qs) + 1, max([len(q.phrases) for q in qs] + [1])), dtype=np.int64)
        for qi, q in enumerate(qs):
            size[qi, : len(q.phrases)] = [len(_phrase_words(p)) for p in q.phrases]
        mine = np.flatnonzero(step[hq]) if len(hq) else np.zeros(0, dtype=np.int64)
        return cls(mine, hs[mine], hq[mine], hpos[mine], hpos[mine] + size[hq[mine], hp[mine]], hsim[mine])

    def beaten(self) -> np.ndarray:
        """Per claim, whether another step's claim on the same segment overlaps it with a higher
        similarity (``scorecards._claimed``), compared pairwise within each segment's run."""
        out = np.zeros(len(self.seg), dtype=bool)
        runs = np.unique(self.seg, return_counts=True)[1] if len(self.seg) else np.zeros(0, dtype=np.int64)
        for d in range(1, int(runs.max()) if len(runs) else 0):
            a, b = np.arange(len(self.seg) - d), np.arange(d, len(self.seg))
            both = (self.seg[a] == self.seg[b]) & (self.q[a] != self.q[b])
            both &= (self.lo[a] < self.hi[b]) & (self.lo[b] < self.hi[a])
            out[a[both & (self.sim[b] > self.sim[a])]] = True
            out[b[both & (self.sim[a] > self.sim[b])]] = True
        return out

    def holds(self, seg: int, qi: int, lo: int, hi: int) -> bool:
        """Whether another step matched words of [lo, hi) of *seg* word for word (a sound-alike's test)."""
        a, b = np.searchsorted(self.seg, [seg, seg + 1])
        return bool(((self.q[a:b] != qi) & (self.lo[a:b] < hi) & (lo < self.hi[a:b])).any())


@dataclass
class _Evidence:
    seg_index: list  # the hit segment's index
    start: np.ndarray  # the hit's time (time_at on the segment's speech regions)
    sim: np.ndarray  # its rounded similarity
    json: list[str]  # its evidence, as results_json writes it


def _evidence(qs: list[_Q], sg: _Segments, hits: _Hits) -> _Evidence:
    """Evidence of each first hit: time_at on the segment's speech regions, json text."""
    t, hs, phonetic = sg.t, hits.seg, (hits.phonetic.tolist() if hits.phonetic is not None else None)
    hit_rows = pa.array(hs, pa.int64())
    seg_index_l = t.column("segment_index").take(hit_rows).to_pylist()
    seg_start_l = t.column("start_s").take(hit_rows).to_pylist()
    seg_end_l = t.column("end_s").take(hit_rows).to_pylist()
    regions = (
        t.column("speech_regions").take(hit_rows).combine_chunks()
        if len(hs)
        else pa.array([], pa.list_(pa.list_(pa.float64())))
    )
    n_regions = pc.fill_null(pc.list_value_length(regions), 0).to_numpy()
    flat_regions = pc.list_flatten(regions)
    bounds = pc.list_flatten(flat_regions).to_numpy(zero_copy_only=False).tolist()
    region_at = np.concatenate([[0], np.cumsum(n_regions)]).tolist()
    hq_l, hp_l, hpos_l, hsim_l = hits.q.tolist(), hits.p.tolist(), hits.pos.tolist(), hits.sim.tolist()
    ntok_l = sg.ntok[hs].tolist()
    ev_start = np.zeros(len(hs))
    ev_sim = np.zeros(len(hs))
    ev_json = []
    finite = (
        bool(np.isfinite(bounds).all() and np.isfinite(seg_start_l).all() and np.isfinite(seg_end_l).all())
        if len(hs)
        else True
    )
    num = repr if finite else _num  # json.dumps writes a finite float as its repr
    phrase_json = [[_phrase_json(p) for p in q.phrases] for q in qs]
    for k in range(len(hs)):
        a, b = region_at[k], region_at[k + 1]
        if b - a == 1:  # time_at's arithmetic for one speech region, inlined
            r0, r1 = bounds[2 * a], bounds[2 * a + 1]
            target = (0 + (r1 - r0)) * hpos_l[k] / max(ntok_l[k], 1)
            st = round(r0 + target, 3) if target <= r1 - r0 else round(r1, 3)
        else:
            st = time_at(
                {
                    "start_s": seg_start_l[k],
                    "end_s": seg_end_l[k],
                    "speech_regions": [bounds[2 * r : 2 * r + 2] for r in range(a, b)],
                },
                hpos_l[k],
                ntok_l[k],
            )
        sm = round(hsim_l[k], 3)
        ev_start[k], ev_sim[k] = st, sm
        ev_json.append(
            f'{{"segment_index": {seg_index_l[k]}, "start_s": {num(st)}, '
            f'"segment_start_s": {num(seg_start_l[k])}, "segment_end_s": {num(seg_end_l[k])}, '
            f'"matched_phrase": {phrase_json[hq_l[k]][hp_l[k]]}, "similarity": {num(sm)}'
            + (', "method": "phonetic"}' if phonetic is not None and phonetic[k] else "}")
        )
    return _Evidence(seg_index=seg_index_l, start=ev_start, sim=ev_sim, json=ev_json)


@dataclass
class _Statuses:
    """Per (call, question), flattened call-major: status code, which hit is its evidence, whether it has
    one, whether the sidecar's recording notice is the evidence, and the question's number."""

    code: np.ndarray
    hit_at: np.ndarray
    has: np.ndarray
    by_notice: np.ndarray
    hq_all: np.ndarray


def _statuses(
    card: Scorecard,
    qs: list[_Q],
    sg: _Segments,
    hits: _Hits,
    ev: _Evidence,
    recording_notice: dict[str, bool | None] | None,
) -> _Statuses:
    nc, nq, n_hits = sg.nc, len(qs), len(hits.seg)
    both = np.full(nc * nq * 2, -1, dtype=np.int64)
    both[hits.pair] = np.arange(len(hits.pair))
    verified_at, unknown_at = both[0::2], both[1::2]
    has, has_unknown = verified_at >= 0, unknown_at >= 0
    hq_all = np.tile(np.arange(nq), nc)
    kinds = np.array([q.kind == "script_step" for q in qs])[hq_all]
    within = np.array([q.within_s if q.within_s is not None else np.inf for q in qs])[hq_all]
    start_all = np.where(has, ev.start[np.maximum(verified_at, 0)] if n_hits else 0.0, 0.0)
    code = np.where(
        kinds,
        np.where(~has, np.where(has_unknown, UNVERIFIABLE, MISSING), np.where(start_all > within, LATE, PASSED)),
        np.where(has, FORBIDDEN, np.where(has_unknown, UNVERIFIABLE, PASSED)),
    )
    # the sidecar's recording_notice satisfies the recording disclosure where the card allows it
    notice_calls = np.zeros(nc, dtype=bool)
    if card.recording_notice_satisfies_disclosure and recording_notice:
        notice_calls = np.array([bool(recording_notice.get(c)) for c in sg.call_ids.to_pylist()], dtype=bool)
    disclosure_q = np.array([q.kind == "script_step" and q.step == "recording_disclosure" for q in qs])[hq_all]
    by_notice = disclosure_q & np.repeat(notice_calls, nq) & (code != PASSED)
    code = np.where(by_notice, PASSED, code)
    applies = np.array([q.applies for q in qs])[hq_all]
    code = np.where(applies, code, NA).astype(np.int64)
    by_notice &= applies
    # evidence: the verified hit, the unknown-role one for an unverifiable step, the sidecar's notice
    hit_at = np.where(code == UNVERIFIABLE, unknown_at, verified_at)
    hit_at = np.where(by_notice, n_hits, hit_at)  # the sidecar evidence sits after the hits
    has = (hit_at >= 0) & ~by_notice
    return _Statuses(code=code, hit_at=hit_at, has=has, by_notice=by_notice, hq_all=hq_all)


def _scores_table(
    card: Scorecard, qs: list[_Q], sg: _Segments, st: _Statuses, ev: _Evidence, asr_confidence: dict[str, float | None]
) -> pa.Table:
    """One row per call: its outcome (computed once per distinct pattern of statuses), review reasons,
    confidence and results_json."""
    nc, nq, code = sg.nc, len(qs), st.code
    patterns, pinv = np.unique(code.reshape(nc, nq), axis=0, return_inverse=True) if nc else (np.zeros((0, nq)), [])
    outcomes = [_pattern_outcome(card, qs, tuple(int(c) for c in p)) for p in patterns]
    pinv = np.asarray(pinv).reshape(-1)
    score = [outcomes[i][0] for i in pinv.tolist()]
    auto_failed = [outcomes[i][1] for i in pinv.tolist()]
    borderline = [outcomes[i][2] for i in pinv.tolist()]
    disclosure = [outcomes[i][3] for i in pinv.tolist()]
    asr = [asr_confidence.get(c) for c in sg.call_ids.to_pylist()]
    low = card.thresholds.low_confidence
    unverifiable = [outcomes[i][4] for i in pinv.tolist()]
    reasons = [
        [
            r
            for r, on in (
                ("low_asr_confidence", a is not None and a < low),
                ("borderline_score", b),
                ("auto_fail", f),
                ("disclosure_missing_or_late", d),
                (UNVERIFIABLE_REASON, u),
            )
            if on
        ]
        for a, b, f, d, u in zip(asr, borderline, auto_failed, disclosure, unverifiable)
    ]
    confidence = [round((a if a is not None else 0.5) * (0.8 if b else 1.0), 3) for a, b in zip(asr, borderline)]
    # results_json: fragments in question order, evidence from the hits
    frags = pa.array(_fragments(qs), pa.string())
    prefix = frags.take(pa.array(st.hq_all * len(STATUSES) + code, pa.int64()))
    ev_arr = pa.array(ev.json + [json.dumps(SIDECAR_EVIDENCE), "null"], pa.string()).take(
        pa.array(np.where(st.has | st.by_notice, st.hit_at, len(ev.json) + 1), pa.int64())
    )
    ev_arr = pc.if_else(pa.array(code == NA), "", ev_arr)
    closing = pc.if_else(pa.array(code == NA), "", "}")
    frag = pc.binary_join_element_wise(prefix, ev_arr, closing, "")
    per_call = pa.ListArray.from_arrays(pa.array(np.arange(nc + 1) * nq, pa.int32()), frag)
    results_json = pc.binary_join_element_wise("[", pc.binary_join(per_call, ", "), "]", "")
    return pa.table(
        {
            "call_id": sg.call_ids,
            "score": pa.array(score, pa.float64()),
            "auto_failed": pa.array(auto_failed, pa.bool_()),
            "needs_review": pa.array([bool(r) for r in reasons], pa.bool_()),
            "review_reasons": pa.array(reasons, pa.list_(pa.string())),
            "review_status": pa.array(["unreviewed"] * nc, pa.string()),
            "confidence": pa.array(confidence, pa.float64()),
            "scorer_version": pa.array([SCORER_VERSION] * nc, pa.string()),
            "scorecard_version": pa.array([card.version_tag] * nc, pa.string()),
            "results_json": results_json,
        }
    )


def _steps_table(qs: list[_Q], sg: _Segments, st: _Statuses, ev: _Evidence, n_hits: int) -> pa.Table:
    """One row per call and question: status, points, possible, and the evidence's segment, time and
    similarity."""
    nc, nq, code = sg.nc, len(qs), st.code
    weight = np.array([q.weight for q in qs])[st.hq_all]
    ok = code == PASSED
    na = (code == NA) | (code == UNVERIFIABLE)  # both out of the denominator
    shown = st.has & (code != NA)
    hit_idx = pa.array(np.where(shown, st.hit_at, -1), pa.int64())
    valid = pa.array(~shown)
    seg_index = pa.array(ev.seg_index + [0], pa.int32())
    return pa.table(
        {
            "call_id": sg.call_ids.take(pa.array(np.repeat(np.arange(nc), nq), pa.int64())),
            "question": pa.array([q.id for q in qs] * nc, pa.string()),
            "step": pa.array([q.step for q in qs] * nc, pa.string()),
            "section": pa.array([q.section for q in qs] * nc, pa.string()),
            "status": pa.array(STATUSES, pa.string()).take(pa.array(code, pa.int64())),
            "points": pa.array(np.where(ok, weight, 0.0), pa.float64(), mask=na),
            "possible": pa.array(weight, pa.float64(), mask=na),
            "evidence_segment": _masked_take(seg_index, hit_idx, valid, n_hits),
            "evidence_start_s": _masked_take(pa.array(np.append(ev.start, 0.0)), hit_idx, valid, n_hits),
            "similarity": _masked_take(pa.array(np.append(ev.sim, 0.0)), hit_idx, valid, n_hits),
        }
    )


def _masked_take(values: pa.Array, idx: pa.Array, missing: pa.Array, sentinel: int) -> pa.Array:
    taken = values.take(pc.if_else(missing, sentinel, idx))
    return pc.if_else(missing, pa.scalar(None, values.type), taken)


@lru_cache(maxsize=4096)
def _phrase_json(phrase: str) -> str:
    return json.dumps(phrase)


def _joined(offsets: np.ndarray, words: pa.Array, rows: np.ndarray) -> list[str]:
    """The normalised words of each row in *rows*, joined by one space (best_match's input)."""
    if len(rows) == 0:
        return []
    lens = offsets[rows + 1] - offsets[rows]
    ends = np.cumsum(lens)
    idx = np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - lens, lens) + np.repeat(offsets[rows], lens)
    lists = pa.ListArray.from_arrays(
        pa.array(np.concatenate([[0], np.cumsum(lens)]), pa.int64()), words.take(pa.array(idx, pa.int64()))
    )
    return pc.binary_join(lists, " ").to_pylist()
