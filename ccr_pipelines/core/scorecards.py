"""Tenant scorecards and call scoring (P15, P23) — pure functions.

A scorecard is a versioned YAML file (``config/scorecards/{id}.yaml``):
sections of weighted questions worth points. A question is a *script step*
(a phrase the agent must say, matched fuzzily in the call's language, maybe
within the first N seconds), a *forbidden phrase* check, or not applicable
when its condition does not hold (excluded from the denominator). An
auto-fail question that fails sets the call's score to 0. Every result carries
its evidence: segment index, timestamps, matched phrase and similarity.
Scores are automated: ``review_status`` starts as ``unreviewed`` (P15).

Who spoke matters: a question for the agent (or the customer) is answered only by that
party's speech. Speech of ``unknown`` role (a mono call without diarization, a low-confidence
role) that would answer it makes the step ``unverifiable``: neither a pass nor a forbidden-phrase
failure, out of the denominator, never an auto-fail, and a review reason. Segments flagged
``no_speech`` by the ASR gate (words over non-speech: likely hallucinations) count for nothing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .config_yaml import UnsafeYamlError, load_config_yaml
from .errors import SettingsError

# 2: speaker-aware (unverifiable), no-speech gate, recording_notice; 3: phonetic fallback for script steps
# (core/phonetic.py); 4: one utterance is one step's evidence (words another step matched better are not a
# step's evidence). Unchanged by the pre-check.
SCORER_VERSION = "scorer-4"
STEP_KINDS = (
    "greeting",
    "agent_identification",
    "recording_disclosure",
    "ai_disclosure",
    "needs_discovery",
    "solution",
    "closing",
    "other",
)
Phrase = Annotated[str, Field(min_length=2, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    kind: Literal["script_step", "forbidden_phrases"]
    step: Literal[STEP_KINDS] = "other"  # type: ignore[valid-type]
    phrases: Annotated[list[Phrase], Field(min_length=1, max_length=50)]
    points: Annotated[float, Field(gt=0, le=100)]
    speaker: Literal["agent", "customer", "any"] = "agent"
    within_s: Annotated[float, Field(gt=0, le=7200)] | None = None
    auto_fail: bool = False
    applies_if: Literal["always", "uses_virtual_agents"] = "always"


class Section(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")]
    weight: Annotated[float, Field(gt=0, le=10)] = 1.0
    questions: Annotated[list[Question], Field(min_length=1, max_length=100)]


class Thresholds(_Strict):
    similarity: Annotated[float, Field(ge=0.5, le=1.0)] = 0.8
    borderline_low: Annotated[float, Field(ge=0, le=100)] = 55.0
    borderline_high: Annotated[float, Field(ge=0, le=100)] = 65.0
    low_confidence: Annotated[float, Field(ge=0, le=1)] = 0.6


class Scorecard(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,80}$")]
    version: Annotated[int, Field(ge=1)]
    language: Literal["fr", "en"]
    sections: Annotated[list[Section], Field(min_length=1, max_length=50)]
    thresholds: Thresholds = Thresholds()
    # The sidecar's recording_notice (a platform announcement played before the agent joins) satisfies
    # the recording disclosure, with evidence {"source": "sidecar"}: only where the tenant says so (P23).
    recording_notice_satisfies_disclosure: bool = False

    @model_validator(mode="after")
    def _unique(self) -> Scorecard:
        ids = [q.id for s in self.sections for q in s.questions]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"question id '{dupes[0]}' is used twice")
        if self.thresholds.borderline_low > self.thresholds.borderline_high:
            raise ValueError("thresholds.borderline_low is above borderline_high")
        return self

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    @property
    def version_tag(self) -> str:
        return f"{self.id}@v{self.version}-{self.digest}"

    def heard_script(self):
        """text -> character spans of the text that sound like one of this card's script-step phrases
        (``phonetic.heard_script_spans``): what the redactor must not take for a name (issue 17)."""
        from .phonetic import accented_words, heard_script_spans

        phrases = [
            tuple(accented_words(p))
            for s in self.sections
            for q in s.questions
            if q.kind == "script_step"
            for p in q.phrases
        ]
        return lambda text: heard_script_spans(text, phrases, self.language)


def parse_scorecard(text: str, *, source: str | Path = "<memory>") -> Scorecard:
    """The scorecard in *text* (a scorecard file's content), validated; *source* names it in errors.
    Reading the file is ``loaders/config_files.load_scorecard``'s job."""
    path = source
    try:
        raw = load_config_yaml(text)
    except UnsafeYamlError as exc:
        raise SettingsError(f"{path}: {exc}") from None
    except yaml.YAMLError:
        raise SettingsError(f"{path}: cannot read scorecard YAML") from None
    try:
        return Scorecard.model_validate(raw)
    except ValidationError as err:
        e = err.errors()[0]
        loc = ".".join(str(p) for p in e["loc"]) or "(root)"
        msg = "unknown field" if e["type"] == "extra_forbidden" else e["msg"]
        raise SettingsError(f"{path}: field '{loc}': {msg}") from None


# --- matching -------------------------------------------------------------------------
def normalise(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c)).replace("’", "'")
    return [w for w in re.split(r"[^a-z0-9']+", text) if w]


WORD_SIMILARITY = 0.75  # two words "match" from here: tolerates ASR slips (enregistrer / enregistré)


@lru_cache(maxsize=262_144)
def _words_close(a: str, b: str) -> bool:
    # cached: a call's words and a card's phrase words recur across segments and calls
    return a == b or SequenceMatcher(None, a, b, autojunk=False).ratio() >= WORD_SIMILARITY


@lru_cache(maxsize=4096)
def _phrase_words(phrase: str) -> tuple[str, ...]:
    return tuple(normalise(phrase))


def _word_recall(target: list[str] | tuple[str, ...], window: list[str]) -> float:
    """Share of the phrase's words found, in order, in the window (a word matches at ≥ 0.75 similarity)."""
    found, j = 0, 0
    for w in target:
        k = j
        while k < len(window):
            if _words_close(w, window[k]):
                found, j = found + 1, k + 1
                break
            k += 1
    return found / len(target)


def could_reach(phrase: str, words: set[str], threshold: float) -> bool:
    """Cheap, exact pre-check: can *phrase* reach *threshold* anywhere in a segment with these words?

    A window's similarity is at most its in-order word recall, and that recall counts phrase
    words that match some word of the window, hence of the segment. Fewer than threshold × n
    phrase words with a match anywhere in the segment: no window can reach the threshold.
    """
    target = _phrase_words(phrase)
    if not target or not words:
        return False
    found = sum(1 for w in target if w in words or any(_words_close(w, x) for x in words))
    return found >= threshold * len(target) - 1e-9


def best_match(phrase: str, words: list[str], at_least: float = 0.0) -> tuple[float, int]:
    """Best similarity of *phrase* against any window of *words* (phrase length ± 1); (score, start).

    The similarity is the lower of the character ratio (tolerates ASR slips such
    as « enregistrer » for « enregistré ») and the in-order word recall (so a
    long shared prefix — "thank you for calling" — does not pass for the phrase).

    *at_least*: only a result ≥ at_least matters to the caller. Windows that cannot reach it —
    fewer than at_least × n of their words match some phrase word, which bounds the recall — are
    skipped; a result ≥ at_least is then exactly the one without it (same score, same start),
    a result below it may differ. 0 (the default) compares every window.
    """
    target = list(_phrase_words(phrase))
    if not target or not words:
        return 0.0, -1
    joined_target = " ".join(target)
    best, where = 0.0, -1
    n = len(target)
    if at_least > 0:
        close = [0]
        target_words = tuple(target)
        for w in words:
            close.append(close[-1] + _close_to_any(target_words, w))
    for size in sorted({max(1, n - 1), n, n + 1}):
        for i in range(0, max(1, len(words) - size + 1)):
            if at_least > 0:
                if (close[min(i + size, len(words))] - close[i]) / n < at_least:
                    continue  # its recall, hence its similarity, is below at_least
                r = _window_similarity(joined_target, " ".join(words[i : i + size]), at_least)
                if r > best:
                    best, where = r, i
                continue
            window = words[i : i + size]
            sm = SequenceMatcher(None, joined_target, " ".join(window), autojunk=False)
            if sm.real_quick_ratio() <= best or sm.quick_ratio() <= best:
                continue  # cheap upper bounds first
            r = min(sm.ratio(), _word_recall(target, window))
            if r > best:
                best, where = r, i
    return best, where


@lru_cache(maxsize=524_288)
def _close_to_any(target: tuple[str, ...], word: str) -> int:
    return 1 if any(t == word or _words_close(t, word) for t in target) else 0


@lru_cache(maxsize=524_288)
def _window_similarity(joined_target: str, joined_window: str, at_least: float) -> float:
    """best_match's similarity of one window, or -1 when it is surely below *at_least* (cached:
    script lines recur across segments and calls)."""
    sm = SequenceMatcher(None, joined_target, joined_window, autojunk=False)
    if sm.real_quick_ratio() < at_least or sm.quick_ratio() < at_least:
        return -1.0
    return min(sm.ratio(), _word_recall(joined_target.split(" "), joined_window.split(" ")))


def time_at(segment: dict, word_index: int, n_words: int) -> float:
    """Estimated time of the word at *word_index*: the word's share of the segment's speech,
    laid over its exact speech regions (a packed segment spans other people's turns)."""
    regions = segment.get("speech_regions") or [[segment["start_s"], segment["end_s"]]]
    total = sum(b - a for a, b in regions)
    target = total * word_index / max(n_words, 1)
    for a, b in regions:
        if target <= b - a:
            return round(a + target, 3)
        target -= b - a
    return round(regions[-1][1], 3)


UNVERIFIABLE_REASON = "speaker_unverifiable"
SIDECAR_EVIDENCE = {"source": "sidecar", "field": "recording_notice"}


def _counts(seg: dict, role: str) -> str | None:
    """'verified' when the segment's speaker answers a question for *role*, 'unknown' when nobody
    knows who spoke it, None when it is the other party's (or non-speech)."""
    if seg.get("no_speech"):
        return None
    if role == "any":
        return "verified"
    speaker = seg.get("speaker")
    if speaker == role:
        return "verified"
    return "unknown" if speaker in ("unknown", None, "") else None


def _phonetic_hits(card: Scorecard, q, norm: list, claims: dict[int, list]) -> dict[str, list]:
    """Issue 17: a script step that no window matches word for word, found by sound (« C'est appelé
    Tangistré » for « cet appel est enregistré »); the earliest segment per role, evidence marked
    ``"method": "phonetic"``, as ``_word_hits`` gives them (evidence, first word, end word, similarity); never words
    another step matched word for word (``_claimed``). Never used for forbidden phrases: a sound-alike
    must not fail an agent."""
    from .phonetic import PHONETIC_SIMILARITY, Heard, accented_words, phonetic_window

    lang = "en" if card.language == "en" else "fr"
    hits: dict[str, list] = {"verified": [], "unknown": []}
    for seg, words, _vocab in norm:
        who = _counts(seg, q.speaker)
        if who is None or hits[who]:
            continue
        heard = Heard(accented_words(seg["text"] or ""), lang)
        for phrase in q.phrases:
            sim, pos, size = phonetic_window(tuple(accented_words(phrase)), heard, lang, floor=PHONETIC_SIMILARITY)
            if sim >= PHONETIC_SIMILARITY:
                if _claimed(q.id, seg["segment_index"], pos, pos + size, None, claims):
                    break  # these words are another step's: the next turn may hold this one
                evidence = {**_evidence(seg, words, pos, phrase, sim), "method": "phonetic"}
                hits[who].append((evidence, pos, pos + size, sim))
                break
    return hits


def _evidence(seg: dict, words: list[str], pos: int, phrase: str, sim: float) -> dict:
    """A step's evidence: the segment, the matched phrase's time inside it, the similarity."""
    return {
        "segment_index": seg["segment_index"],
        "start_s": time_at(seg, pos, len(words)),
        "segment_start_s": seg["start_s"],
        "segment_end_s": seg["end_s"],
        "matched_phrase": phrase,
        "similarity": round(sim, 3),
    }


def _word_hits(q: Question, norm: list, threshold: float, precheck: bool) -> dict[str, list]:
    """Every segment where one of *q*'s phrases reaches *threshold* word for word (the first phrase that
    does, in card order), in time order, by whose speech it is ('verified' / 'unknown', see
    ``_counts``): (evidence, first word, end word, similarity unrounded)."""
    hits: dict[str, list] = {"verified": [], "unknown": []}
    for seg, words, vocab in norm:
        who = _counts(seg, q.speaker)
        if who is None:
            continue
        for phrase in q.phrases:
            if precheck and not could_reach(phrase, vocab, threshold):
                continue  # exact: best_match could not reach the threshold here
            sim, pos = best_match(phrase, words)
            if sim >= threshold:
                hits[who].append((_evidence(seg, words, pos, phrase, sim), pos, pos + len(_phrase_words(phrase)), sim))
                break
    return hits


def _claims(card: Scorecard, found: dict[str, dict]) -> dict[int, list]:
    """Per segment, the words each script step's word matches cover: (first word, end word,
    similarity, question id)."""
    steps = {q.id for s in card.sections for q in s.questions if q.kind == "script_step"}
    out: dict[int, list] = {}
    for qid, hits in found.items():
        if qid in steps:
            for spans in hits.values():
                for evidence, lo, hi, sim in spans:
                    out.setdefault(evidence["segment_index"], []).append((lo, hi, sim, qid))
    return out


def _claimed(qid: str, segment_index: int, lo: int, hi: int, similarity: float | None, claims: dict) -> bool:
    """Whether words [lo, hi) of a segment, matched by question *qid* at *similarity* (None: by sound),
    are another script step's, matched word for word at a higher similarity: one utterance is the
    evidence of one step. "thank you for calling globex support" is the greeting (1.0); it reaches the
    closing "thank you for calling goodbye" at 0.8, the card's threshold, but is not the closing
    (issue 17). A sound-alike yields to any other step's word match."""
    mine = -1.0 if similarity is None else similarity
    return any(other != qid and a < hi and lo < b and sim > mine for a, b, sim, other in claims.get(segment_index, ()))


def score_call(
    card: Scorecard,
    segments: list[dict],
    *,
    uses_virtual_agents: bool,
    asr_confidence: float | None,
    precheck: bool = True,
    recording_notice: bool | None = None,
) -> dict:
    """Score one call. *segments*: redacted rows with segment_index, speaker, start_s, end_s, text
    (optionally ``no_speech``: the ASR gate's flag). *recording_notice*: the sidecar's field.

    *precheck* (``could_reach``) only skips work that cannot produce a hit; turning it off gives
    the same result, slower — which is how the test proves it.
    """
    segs = sorted(segments, key=lambda s: (s["start_s"], s["segment_index"]))
    norm = [(s, words, set(words)) for s in segs for words in [normalise(s["text"] or "")]]
    results, earned, possible, auto_failed = [], 0.0, 0.0, False
    notice = bool(recording_notice) and card.recording_notice_satisfies_disclosure
    # the earliest evidence wins: hits are collected in time order below
    threshold = card.thresholds.similarity
    found = {
        q.id: _word_hits(q, norm, threshold, precheck)
        for section in card.sections
        for q in section.questions
        if not (q.applies_if == "uses_virtual_agents" and not uses_virtual_agents)
    }
    claims = _claims(card, found)
    for section in card.sections:
        for q in section.questions:
            if q.id not in found:
                results.append({"question": q.id, "step": q.step, "section": section.id, "status": "not_applicable"})
                continue
            hits = found[q.id]
            if q.kind == "script_step":
                hits = {
                    who: [h for h in spans if not _claimed(q.id, h[0]["segment_index"], h[1], h[2], h[3], claims)]
                    for who, spans in hits.items()
                }
                if not hits["verified"] and not hits["unknown"]:
                    hits = _phonetic_hits(card, q, norm, claims)  # ASR misheard the step: does it SOUND said?
            hits = {who: [h[0] for h in spans] for who, spans in hits.items()}
            weight = section.weight * q.points
            first = hits["verified"][0] if hits["verified"] else None
            unknown = hits["unknown"][0] if hits["unknown"] else None
            if q.kind == "script_step":
                if first is None:
                    status, ok = ("unverifiable", False) if unknown else ("missing", False)
                elif q.within_s is not None and first["start_s"] > q.within_s:
                    status, ok = "late", False
                else:
                    status, ok = "passed", True
                if not ok and notice and q.step == "recording_disclosure":
                    status, ok, first = "passed", True, dict(SIDECAR_EVIDENCE)
            else:  # forbidden phrases: passing means none was said
                status, ok = (
                    ("forbidden_said", False) if first else (("unverifiable", False) if unknown else ("passed", True))
                )
            if status == "unverifiable":  # out of the denominator, never an auto-fail
                results.append(
                    {
                        "question": q.id,
                        "step": q.step,
                        "section": section.id,
                        "status": status,
                        "points": 0.0,
                        "possible": 0.0,
                        "auto_fail": q.auto_fail,
                        "evidence": unknown,
                    }
                )
                continue
            possible += weight
            earned += weight if ok else 0.0
            if not ok and q.auto_fail:
                auto_failed = True
            results.append(
                {
                    "question": q.id,
                    "step": q.step,
                    "section": section.id,
                    "status": status,
                    "points": weight if ok else 0.0,
                    "possible": weight,
                    "auto_fail": q.auto_fail,
                    "evidence": first,
                }
            )
    score = 0.0 if auto_failed else (100.0 * earned / possible if possible else 0.0)
    reasons = []
    if asr_confidence is not None and asr_confidence < card.thresholds.low_confidence:
        reasons.append("low_asr_confidence")
    if card.thresholds.borderline_low <= score <= card.thresholds.borderline_high:
        reasons.append("borderline_score")
    if auto_failed:
        reasons.append("auto_fail")
    if any(
        r["step"] in ("recording_disclosure", "ai_disclosure") and r["status"] in ("missing", "late") for r in results
    ):
        reasons.append("disclosure_missing_or_late")  # P23
    if any(r["status"] == "unverifiable" for r in results):
        reasons.append(UNVERIFIABLE_REASON)
    # confidence of the automated score: ASR confidence, lowered when the call is borderline
    confidence = (asr_confidence if asr_confidence is not None else 0.5) * (
        0.8 if "borderline_score" in reasons else 1.0
    )
    return {
        "score": round(score, 2),
        "auto_failed": auto_failed,
        "results": results,
        "needs_review": bool(reasons),
        "review_reasons": reasons,
        "review_status": "unreviewed",
        "confidence": round(confidence, 3),
        "scorer_version": SCORER_VERSION,
        "scorecard_version": card.version_tag,
    }
