"""The vectorised scorer (core/batch_scoring.py, the production path of call_scores) gives exactly
score_call's results — scores, statuses, evidence, review reasons, results_json text — on
generated calls (P15, P23)."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pyarrow as pa

from ccr_pipelines.core import batch_scoring as bs
from ccr_pipelines.core import scorecards as sc
from ccr_pipelines.loaders.config_files import load_scorecard

CARDS = sorted((Path(sc.__file__).parents[1] / "config" / "scorecards").glob("*.yaml"))
FILLER = [
    "ok",
    "d'accord",
    "yes",
    "so",
    "my",
    "bill",
    "is",
    "too",
    "high",
    "je",
    "voudrais",
    "un",
    "rendez-vous",
    "the",
    "line",
    "drops",
    "every",
    "evening",
    "merci",
    "bonjour",
    "monsieur",
    "hello",
    "[PHONE]",
    "[EMAIL]",
    "Zoë",
    "œuvre",
    "ﬁxe",
    "n°",
    "😀",
    "e\u0301te\u0301",
    "İstanbul",
    "ß",
    "Ĳssel",
    "42",
    "appelé",
    "enregistrée",
]


def _slip(rng: random.Random, phrase: str) -> str:
    out = []
    for w in phrase.split():
        r = rng.random()
        if r < 0.1:
            continue
        if r < 0.2 and len(w) > 3:
            i = rng.randrange(len(w))
            w = w[:i] + rng.choice("aeioustré") + w[i + 1 :]
        out.append(w.upper() if rng.random() < 0.05 else w)
    if len(out) > 2 and rng.random() < 0.2:
        i = rng.randrange(len(out) - 1)
        out[i], out[i + 1] = out[i + 1], out[i]
    return " ".join(out)


# Mishearings of the shipped cards' steps that no word window matches but that SOUND like them (issue 17:
# the phonetic fallback must give the same result on both paths)
MISHEARD = [
    "C'est appelé Tangistré.",
    "set à pelle est enregistré",
    "This cold is recorded.",
    "the scall is record it",
    "Thank you for calling Glow Bex Support.",
    "Comment puis je vous est dé ?",
    "bonjour vous êtes bien chez akmé énergie",
]


# Utterances one step matches word for word and another step reaches too, on the same words: the greeting
# that is also (at the threshold) the closing, a step's words that another step's phrase sounds like.
# One utterance is one step's evidence (issue 17): both paths must drop the weaker claim.
OVERLAPS = [
    "Hello, thank you for calling Globex support.",
    "thank you for calling globex support goodbye",
    "C'est appelé Tangistré.",
]
OVERLAPPING = sc.parse_scorecard(
    """
id: overlapping.v1
version: 1
language: fr
sections:
  - id: opening
    questions:
      - {id: disclosure, kind: script_step, step: recording_disclosure, points: 20, auto_fail: true, within_s: 60,
         phrases: ["cet appel est enregistré"]}
      - {id: named, kind: script_step, step: agent_identification, points: 10, phrases: ["c'est appelé"]}
      - {id: greeting, kind: script_step, step: greeting, points: 10, phrases: ["thank you for calling globex support"]}
      - {id: closing, kind: script_step, step: closing, points: 5, phrases: ["thank you for calling goodbye"]}
      - {id: courtesy, kind: forbidden_phrases, points: 5, phrases: ["calm down"]}
"""
)


def _calls(rng: random.Random, card: sc.Scorecard, n: int) -> list[list[dict]]:
    phrases = [p for s in card.sections for q in s.questions for p in q.phrases]
    calls = []
    for c in range(n):
        segs, t = [], 0.0
        for i in range(rng.randint(0, 22)):
            r = rng.random()
            if r < 0.06:
                text = rng.choice(MISHEARD)
            elif r < 0.1:
                text = rng.choice(OVERLAPS)
            elif r < 0.45:
                text = _slip(rng, rng.choice(phrases))
                if rng.random() < 0.3:
                    text = " ".join(rng.choices(FILLER, k=rng.randint(1, 5))) + ", " + text + "."
            elif r < 0.5:
                text = rng.choice([None, "", "...", "  "])
            else:
                text = " ".join(rng.choices(FILLER, k=rng.randint(1, 14)))
            dur = rng.uniform(0.5, 12.0)
            regions = (
                [[round(t, 3), round(t + dur / 3, 3)], [round(t + dur / 2, 3), round(t + dur, 3)]]
                if rng.random() < 0.2
                else ([] if rng.random() < 0.1 else [[round(t, 3), round(t + dur, 3)]])
            )
            segs.append(
                {
                    "call_id": f"c-{c:04d}",
                    "segment_index": i,
                    "speaker": rng.choice(["agent", "agent", "customer", "unknown"]),
                    "start_s": round(t, 3),
                    "end_s": round(t + dur, 3),
                    "text": text,
                    "speech_regions": regions,
                    "no_speech": rng.choice([None, False, False, False, True]),
                }
            )
            t += dur + rng.uniform(-1.0, 3.0)  # may overlap: order by start_s differs from segment_index
        if segs and rng.random() < 0.1:
            segs[-1]["start_s"] = segs[0]["start_s"]  # a tie on start_s: segment_index decides
        calls.append(segs)
    return calls


def test_the_vectorised_scorer_matches_score_call_on_generated_calls():
    rng = random.Random(5)
    compared = passed = late = forbidden = auto_failed = na = 0
    default = load_scorecard(CARDS[[p.name for p in CARDS].index("default.v1.yaml")])
    edge = default.model_copy(update={"thresholds": sc.Thresholds(borderline_low=50, borderline_high=50)})
    # a card that accepts the sidecar's recording_notice as the disclosure
    noticed = load_scorecard(CARDS[0]).model_copy(update={"recording_notice_satisfies_disclosure": True})
    borderline = unverifiable = by_notice = phonetic = claimed_words = claimed_sounds = 0
    cards = [load_scorecard(p) for p in CARDS] + [edge, noticed, OVERLAPPING]
    for card in cards:  # edge: a score of exactly 50 is borderline
        for uva in (False, True):
            calls = _calls(rng, card, 60)
            asr = {f"c-{c:04d}": (None if c % 7 == 0 else round(rng.uniform(0.3, 1.0), 4)) for c in range(len(calls))}
            notice = {f"c-{c:04d}": rng.choice([None, False, True]) for c in range(len(calls))}
            rows = [s for segs in calls for s in segs]
            table = pa.Table.from_pylist(
                rows,
                schema=pa.schema(
                    [
                        ("call_id", pa.string()),
                        ("segment_index", pa.int32()),
                        ("speaker", pa.string()),
                        ("start_s", pa.float64()),
                        ("end_s", pa.float64()),
                        ("text", pa.string()),
                        ("speech_regions", pa.list_(pa.list_(pa.float64()))),
                        ("no_speech", pa.bool_()),
                    ]
                ),
            )
            if rng.random() < 0.3:  # the column is optional
                table = table.drop_columns(["no_speech"])
                rows = [{k: v for k, v in r.items() if k != "no_speech"} for r in rows]
            scores, steps = bs.score_segments(
                card, table, uses_virtual_agents=uva, asr_confidence=asr, recording_notice=notice
            )
            got = {r["call_id"]: r for r in scores.to_pylist()}
            got_steps = {}
            for r in steps.to_pylist():
                got_steps.setdefault(r["call_id"], []).append(r)
            expected_ids = sorted({s["call_id"] for s in rows})
            assert scores.column("call_id").to_pylist() == expected_ids
            for call_id in expected_ids:
                segs = [s for s in rows if s["call_id"] == call_id]
                ref = sc.score_call(
                    card, segs, uses_virtual_agents=uva, asr_confidence=asr[call_id], recording_notice=notice[call_id]
                )
                g = got[call_id]
                assert g["results_json"] == json.dumps(ref["results"]), (card.id, call_id)
                for k in (
                    "score",
                    "auto_failed",
                    "needs_review",
                    "review_reasons",
                    "review_status",
                    "confidence",
                    "scorer_version",
                    "scorecard_version",
                ):
                    assert g[k] == ref[k], (card.id, call_id, k)
                out = ("not_applicable", "unverifiable")  # out of the denominator: no points, no possible
                flat = [
                    (
                        r["question"],
                        r["step"],
                        r["section"],
                        r["status"],
                        None if r["status"] in out else r.get("points"),
                        None if r["status"] in out else r.get("possible"),
                        (r.get("evidence") or {}).get("segment_index"),
                        (r.get("evidence") or {}).get("start_s"),
                        (r.get("evidence") or {}).get("similarity"),
                    )
                    for r in ref["results"]
                ]
                assert [
                    (
                        s["question"],
                        s["step"],
                        s["section"],
                        s["status"],
                        s["points"],
                        s["possible"],
                        s["evidence_segment"],
                        s["evidence_start_s"],
                        s["similarity"],
                    )
                    for s in got_steps[call_id]
                ] == flat, (card.id, call_id)
                compared += 1
                statuses = [r["status"] for r in ref["results"]]
                passed += statuses.count("passed")
                late += statuses.count("late")
                forbidden += statuses.count("forbidden_said")
                na += statuses.count("not_applicable")
                auto_failed += ref["auto_failed"]
                borderline += card is edge and "borderline_score" in ref["review_reasons"]
                unverifiable += statuses.count("unverifiable")
                by_notice += sum((r.get("evidence") or {}).get("source") == "sidecar" for r in ref["results"])
                phonetic += sum((r.get("evidence") or {}).get("method") == "phonetic" for r in ref["results"])
                # how often one utterance was claimed by two steps (counted with score_call's own parts)
                norm = [(x, w, set(w)) for x in segs for w in [sc.normalise(x["text"] or "")]]
                found = {
                    q.id: sc._word_hits(q, norm, card.thresholds.similarity, True)
                    for sec in card.sections
                    for q in sec.questions
                }
                claims = sc._claims(card, found)
                claimed_words += sum(
                    sc._claimed(qid, h[0]["segment_index"], h[1], h[2], h[3], claims)
                    for qid, hits in found.items()
                    for spans in hits.values()
                    for h in spans
                )
                if card is OVERLAPPING:
                    disclosure = card.sections[0].questions[0]
                    claimed_sounds += bool(sc._phonetic_hits(card, disclosure, norm, {})["verified"]) and not bool(
                        sc._phonetic_hits(card, disclosure, norm, claims)["verified"]
                    )
    assert compared > 300
    # the generated calls exercise every branch
    assert passed > 300 and late > 10 and forbidden > 10 and na > 30 and auto_failed > 30, (passed, late, forbidden, na)
    assert borderline >= 2, borderline
    assert unverifiable > 30 and by_notice > 10, (unverifiable, by_notice)
    assert phonetic > 10, phonetic  # steps passed (or late, or unverifiable) by sound, on both paths
    assert claimed_words > 20 and claimed_sounds > 5, (claimed_words, claimed_sounds)  # one utterance, one step


def test_arrow_normalisation_equals_normalise_on_every_fast_character():
    """Rows made only of _FAST_CHARS skip normalise(): each such character, alone and inside words,
    tokenises the same way both ways."""
    chars = [chr(c) for c in range(0x250)] + ["\u2019"]
    texts = [f"ab{c}cd {c} x{c}" for c in chars]
    arrow = bs.arrow_normalise(pa.array(texts)).to_pylist()
    for text, words in zip(texts, arrow):
        assert [w for w in words if w] == sc.normalise(text), (hex(ord(text[2])), unicodedata.name(text[2], "?"))
    offsets, words = bs.tokenise(pa.array(texts + ["e\u0301te\u0301 😀 ﬁxe İstanbul", None]))
    for i, text in enumerate(texts + ["e\u0301te\u0301 😀 ﬁxe İstanbul", None]):
        assert words[offsets[i] : offsets[i + 1]].to_pylist() == sc.normalise(text or "")
