"""Scorecards and scoring (P15, P23): every feature, N/A, auto-fail, evidence, FR and EN, late disclosure."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from ccr_pipelines.core.errors import SettingsError
from ccr_pipelines.core.scorecards import score_call
from ccr_pipelines.loaders.config_files import load_scorecard

CARDS = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "config" / "scorecards"


def seg(i, speaker, start, text):
    return {"segment_index": i, "speaker": speaker, "start_s": float(start), "end_s": float(start) + 4, "text": text}


FR_GOOD = [
    seg(0, "agent", 0.3, "Bonjour, vous êtes bien chez Acme Énergie. Je m'appelle Julie."),
    seg(1, "agent", 6.0, "Cet appel est enregistré pour la qualité de service."),
    seg(2, "customer", 10.0, "Bonjour, j'ai une question sur ma facture."),
    seg(3, "agent", 14.0, "Que puis-je faire pour vous ?"),
    seg(4, "agent", 20.0, "Je corrige votre facture et je vous envoie un avoir."),
    seg(5, "agent", 26.0, "Merci de votre appel, au revoir."),
]


def _by_q(result):
    return {r["question"]: r for r in result["results"]}


def test_p23_a_french_call_following_the_script_scores_full_marks_with_evidence():
    card = load_scorecard(CARDS / "acme-energie.v1.yaml")
    res = score_call(card, FR_GOOD, uses_virtual_agents=False, asr_confidence=0.9)
    q = _by_q(res)
    assert res["score"] == 100.0 and not res["auto_failed"] and res["needs_review"] is False
    assert q["ai_disclosure"]["status"] == "not_applicable"  # excluded from the denominator
    ev = q["recording_disclosure"]["evidence"]
    assert (ev["segment_index"], ev["start_s"], ev["matched_phrase"]) == (1, 6.0, "cet appel est enregistré")
    assert ev["similarity"] >= 0.8
    assert res["review_status"] == "unreviewed" and res["scorecard_version"].startswith("acme-energie.v1@v1-")


def test_fuzzy_matching_tolerates_asr_errors_but_not_other_sentences():
    card = load_scorecard(CARDS / "acme-energie.v1.yaml")
    garbled = [dict(s) for s in FR_GOOD]
    garbled[1]["text"] = "Cet appel est enregistrer pour la qualité de service."  # ASR slip
    assert (
        _by_q(score_call(card, garbled, uses_virtual_agents=False, asr_confidence=0.9))["recording_disclosure"][
            "status"
        ]
        == "passed"
    )
    garbled[1]["text"] = "Cette facture est élevée ce mois-ci."
    assert (
        _by_q(score_call(card, garbled, uses_virtual_agents=False, asr_confidence=0.9))["recording_disclosure"][
            "status"
        ]
        == "missing"
    )


def test_issue17_one_utterance_is_one_steps_evidence_the_greeting_is_not_the_closing():
    """The globex greeting reaches the closing "thank you for calling goodbye" at 0.80 (4 words of 5 in
    order), the card's threshold: before scorer-4 a call with no closing passed it on its greeting."""
    card = load_scorecard(CARDS / "globex-support.v1.yaml")
    call = [
        seg(0, "agent", 0.5, "Hello, thank you for calling Globex support."),
        seg(1, "agent", 5.0, "My name is Sam and this call is recorded."),
        seg(2, "customer", 10.0, "My line drops every evening."),
        seg(3, "agent", 15.0, "How can I help you? I will reset your line."),
    ]
    q = _by_q(score_call(card, call, uses_virtual_agents=False, asr_confidence=0.9))
    assert q["greeting"]["status"] == "passed" and q["greeting"]["evidence"]["segment_index"] == 0
    assert q["closing"]["status"] == "missing" and q["closing"]["evidence"] is None
    # with the call's own closing, that is the evidence (it used to be the greeting: the earliest hit)
    closed = [*call, seg(4, "agent", 22.0, "Thank you for calling, goodbye.")]
    q = _by_q(score_call(card, closed, uses_virtual_agents=False, asr_confidence=0.9))
    assert q["closing"]["status"] == "passed" and q["closing"]["evidence"]["segment_index"] == 4
    assert q["greeting"]["evidence"]["segment_index"] == 0
    # the same words said alone, with nothing to claim them, are the closing at the threshold
    alone = [seg(0, "agent", 0.5, "Thank you for calling Globex support.")]
    only_closing = card.model_copy(
        update={
            "sections": [
                s.model_copy(update={"questions": [x for x in s.questions if x.id == "closing"]})
                for s in card.sections
                if any(x.id == "closing" for x in s.questions)
            ]
        }
    )
    assert (
        _by_q(score_call(only_closing, alone, uses_virtual_agents=False, asr_confidence=0.9))["closing"]["status"]
        == "passed"
    )


def test_issue17_a_sound_alike_yields_to_another_steps_words():
    """« C'est appelé Tangistré » sounds like « cet appel est enregistré »; where a step of the card matches
    « c'est appelé » word for word, those words are that step's, not the disclosure's."""
    from ccr_pipelines.core.scorecards import parse_scorecard

    text = """
id: t.v1
version: 1
language: fr
sections:
  - id: s
    questions:
      - {id: disclosure, kind: script_step, step: recording_disclosure, points: 20, phrases: ["cet appel est enregistré"]}
      - {id: named, kind: script_step, step: agent_identification, points: 10, phrases: ["c'est appelé"]}
"""
    call = [seg(0, "agent", 0.5, "C'est appelé Tangistré.")]
    q = _by_q(score_call(parse_scorecard(text), call, uses_virtual_agents=False, asr_confidence=0.9))
    assert q["named"]["status"] == "passed" and q["disclosure"]["status"] == "missing"
    alone = parse_scorecard(
        text.replace(
            """      - {id: named, kind: script_step, step: agent_identification, points: 10, phrases: ["c'est appelé"]}\n""",
            "",
        )
    )
    q = _by_q(score_call(alone, call, uses_virtual_agents=False, asr_confidence=0.9))
    assert q["disclosure"]["status"] == "passed" and q["disclosure"]["evidence"]["method"] == "phonetic"


def test_p23_a_missing_disclosure_auto_fails_the_call_and_queues_it_for_review():
    card = load_scorecard(CARDS / "acme-energie.v1.yaml")
    res = score_call(
        card, [s for s in FR_GOOD if s["segment_index"] != 1], uses_virtual_agents=False, asr_confidence=0.9
    )
    assert res["auto_failed"] and res["score"] == 0.0
    assert set(res["review_reasons"]) >= {"auto_fail", "disclosure_missing_or_late"} and res["needs_review"]


def test_p23_a_disclosure_after_30_seconds_is_late_in_english():
    card = load_scorecard(CARDS / "globex-support.v1.yaml")
    segments = [
        seg(0, "agent", 0.3, "Hello, thank you for calling Globex support, my name is Alex."),
        seg(1, "customer", 5, "Hello, I would like to understand my last bill."),
        seg(2, "agent", 12, "Of course, how can I help you with it?"),
        seg(3, "agent", 36.5, "By the way, this call is recorded for quality purposes."),
        seg(4, "agent", 40, "I will add a travel option for next time. Thank you for calling, goodbye."),
    ]
    res = score_call(card, segments, uses_virtual_agents=False, asr_confidence=0.9)
    q = _by_q(res)
    ev = q["recording_disclosure"]["evidence"]
    assert (
        q["recording_disclosure"]["status"] == "late"
        and ev["segment_start_s"] == 36.5
        and 36.5 <= ev["start_s"] <= 40.5
    )
    assert res["auto_failed"] and "disclosure_missing_or_late" in res["review_reasons"]


def test_ai_disclosure_applies_to_virtual_agents_and_weights_count():
    card = load_scorecard(CARDS / "globex-support.v1.yaml")
    segments = [
        seg(0, "agent", 0.5, "Hello, welcome to Globex support, you are speaking with an automated assistant."),
        seg(1, "agent", 5, "This call is recorded. How can I help you?"),
        seg(2, "agent", 10, "Your address is updated. Thank you for calling, goodbye."),
    ]
    res = score_call(card, segments, uses_virtual_agents=True, asr_confidence=0.95)
    q = _by_q(res)
    assert q["ai_disclosure"]["status"] == "passed"
    # opening 50 pts at weight 1 (agent id matched by "you are speaking with"), resolution 30 pts at weight 2
    assert res["score"] == 100.0
    no_ai = score_call(card, segments[1:], uses_virtual_agents=True, asr_confidence=0.95)
    # greeting, agent id and AI disclosure missing: opening 20 of 50, resolution 60 of 60 -> 80 / 110
    assert _by_q(no_ai)["ai_disclosure"]["status"] == "missing" and no_ai["score"] == pytest.approx(
        100 * 80 / 110, abs=0.01
    )


def test_forbidden_phrases_cost_points_and_borderline_or_low_confidence_go_to_review():
    card = load_scorecard(CARDS / "acme-energie.v1.yaml")
    rude = FR_GOOD + [seg(6, "agent", 30, "Écoutez, c'est pas mon problème.")]
    res = score_call(card, rude, uses_virtual_agents=False, asr_confidence=0.9)
    # possible: accueil 40 (AI disclosure not applicable) + traitement 50 = 90; courtesy (10) lost
    assert _by_q(res)["courtesy"]["status"] == "forbidden_said" and res["score"] == pytest.approx(
        100 * 80 / 90, abs=0.01
    )
    assert score_call(card, FR_GOOD, uses_virtual_agents=False, asr_confidence=0.3)["review_reasons"] == [
        "low_asr_confidence"
    ]
    borderline = [s for s in FR_GOOD if s["segment_index"] not in (3, 4, 5)] + [seg(9, "agent", 28, "voilà")]
    r = score_call(card, borderline, uses_virtual_agents=False, asr_confidence=0.9)
    assert r["score"] == pytest.approx(100 * 50 / 90, abs=0.01) and "borderline_score" in r["review_reasons"]


def test_agent_questions_count_only_agent_speech_and_unknown_speech_is_unverifiable():
    """Issue 17: the customer's "my name is" does not identify the agent; a customer's "calm down" is no
    forbidden phrase of the agent's; speech of unknown role is neither a pass nor a failure."""
    card = load_scorecard(CARDS / "globex-support.v1.yaml")
    base = [
        seg(0, "agent", 0.3, "Hello, thank you for calling Globex support."),
        seg(1, "agent", 4, "This call is recorded. How can I help you?"),
        seg(2, "customer", 8, "Hi, my name is John Smith and honestly, calm down with the prices."),
        seg(3, "agent", 20, "Your address is updated. Thank you for calling, goodbye."),
    ]
    q = _by_q(res := score_call(card, base, uses_virtual_agents=False, asr_confidence=0.9))
    assert q["agent_identification"]["status"] == "missing" and q["courtesy"]["status"] == "passed"
    assert "speaker_unverifiable" not in res["review_reasons"]
    unknown = [dict(s, speaker="unknown") if s["segment_index"] == 2 else s for s in base]
    res = score_call(card, unknown, uses_virtual_agents=False, asr_confidence=0.9)
    q = _by_q(res)
    assert q["agent_identification"]["status"] == "unverifiable" and q["courtesy"]["status"] == "unverifiable"
    assert q["agent_identification"]["evidence"]["segment_index"] == 2  # what a reviewer should listen to
    assert q["agent_identification"]["possible"] == 0.0 and "speaker_unverifiable" in res["review_reasons"]
    # out of the denominator: greeting 10 + disclosure 20 (opening, weight 1) + resolution 3 x 10 at weight 2
    assert res["score"] == 100.0 and res["needs_review"]
    # a mono call where nobody knows who spoke: the auto-fail disclosure is unverifiable, not an auto-fail
    mono = [dict(s, speaker="unknown") for s in base]
    res = score_call(card, mono, uses_virtual_agents=False, asr_confidence=0.9)
    assert not res["auto_failed"] and _by_q(res)["recording_disclosure"]["status"] == "unverifiable"
    # ... but what nobody said is missing whoever the speakers are
    res = score_call(card, [s for s in mono if s["segment_index"] != 1], uses_virtual_agents=False, asr_confidence=0.9)
    assert res["auto_failed"] and _by_q(res)["recording_disclosure"]["status"] == "missing"


def test_p23_recording_notice_satisfies_the_disclosure_only_where_the_card_allows_it():
    card = load_scorecard(CARDS / "acme-energie.v1.yaml")
    no_disclosure = [s for s in FR_GOOD if s["segment_index"] != 1]
    res = score_call(card, no_disclosure, uses_virtual_agents=False, asr_confidence=0.9, recording_notice=True)
    assert res["auto_failed"]  # the packaged card does not accept the platform's announcement
    allowing = card.model_copy(update={"recording_notice_satisfies_disclosure": True})
    res = score_call(allowing, no_disclosure, uses_virtual_agents=False, asr_confidence=0.9, recording_notice=True)
    q = _by_q(res)["recording_disclosure"]
    assert q["status"] == "passed" and q["evidence"] == {"source": "sidecar", "field": "recording_notice"}
    assert res["score"] == 100.0 and not res["auto_failed"]
    for notice in (False, None):
        assert score_call(
            allowing, no_disclosure, uses_virtual_agents=False, asr_confidence=0.9, recording_notice=notice
        )["auto_failed"]
    # the agent's own disclosure keeps its evidence
    q = _by_q(score_call(allowing, FR_GOOD, uses_virtual_agents=False, asr_confidence=0.9, recording_notice=True))
    assert q["recording_disclosure"]["evidence"]["segment_index"] == 1


def test_segments_flagged_no_speech_count_neither_for_nor_against_a_step():
    card = load_scorecard(CARDS / "acme-energie.v1.yaml")
    gated = [dict(s, no_speech=True) if s["segment_index"] == 1 else s for s in FR_GOOD]
    assert (
        _by_q(score_call(card, gated, uses_virtual_agents=False, asr_confidence=0.9))["recording_disclosure"]["status"]
        == "missing"
    )
    rude = FR_GOOD + [dict(seg(6, "agent", 30, "Écoutez, c'est pas mon problème."), no_speech=True)]
    assert (
        _by_q(score_call(card, rude, uses_virtual_agents=False, asr_confidence=0.9))["courtesy"]["status"] == "passed"
    )


@pytest.mark.parametrize(
    "mutate,needle",
    [
        # a deep copy: a shared list would be dumped as a YAML alias, which the loader refuses first
        (lambda c: c["sections"][0]["questions"].append(copy.deepcopy(c["sections"][0]["questions"][0])), "used twice"),
        (lambda c: c["sections"][0]["questions"][0].update(points=10_000), "points"),
        (lambda c: c["sections"][0]["questions"][0].update(colour="red"), "unknown field"),
        (lambda c: c["sections"][0].update(weight=-1), "weight"),
        (lambda c: c.update(language="de"), "language"),
    ],
)
def test_invalid_scorecards_fail_at_load_in_one_line(tmp_path, mutate, needle):
    raw = yaml.safe_load((CARDS / "acme-energie.v1.yaml").read_text())
    mutate(raw)
    p = tmp_path / "card.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True))
    with pytest.raises(SettingsError) as exc:
        load_scorecard(p)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_every_packaged_scorecard_loads_and_versions_change_with_content(tmp_path):
    tags = {load_scorecard(p).version_tag for p in CARDS.glob("*.yaml")}
    assert len(tags) == 3
    raw = yaml.safe_load((CARDS / "default.v1.yaml").read_text())
    raw["sections"][0]["questions"][1]["points"] = 40
    p = tmp_path / "d.yaml"
    p.write_text(yaml.safe_dump(raw))
    assert load_scorecard(p).version_tag != load_scorecard(CARDS / "default.v1.yaml").version_tag


def test_p23_evidence_time_is_placed_inside_a_packed_segment_by_its_speech_regions():
    card = load_scorecard(CARDS / "globex-support.v1.yaml")
    # one packed agent window: regions 0-10 s and 36-46 s (the customer spoke in between)
    packed = {
        "segment_index": 0,
        "speaker": "agent",
        "start_s": 0.0,
        "end_s": 46.0,
        "speech_regions": [[0.0, 10.0], [36.0, 46.0]],
        "text": "Hello, thank you for calling Globex support, my name is Alex. How can I help you "
        "By the way, this call is recorded for quality purposes. Thank you for calling, goodbye.",
    }
    res = score_call(card, [packed], uses_virtual_agents=False, asr_confidence=0.9)
    ev = _by_q(res)["recording_disclosure"]["evidence"]
    assert ev["segment_start_s"] == 0.0 and ev["start_s"] > 30.0  # about 36 s: in the second region
    assert _by_q(res)["recording_disclosure"]["status"] == "late" and res["auto_failed"]


def test_the_pre_check_never_changes_a_score_or_its_evidence():
    """The could_reach pre-check skips segments that cannot match: on 150 generated calls made of the
    cards' own phrases with ASR-like slips (dropped, swapped and misspelt words) among unrelated talk,
    every result, evidence and similarity is the same with and without it."""
    import random

    from ccr_pipelines.core import scorecards as sc

    rng = random.Random(20261123)
    cards = [
        load_scorecard(p)
        for p in sorted(sc.Path(sc.__file__).parents[1].joinpath("config", "scorecards").glob("*.yaml"))
    ]
    filler = [
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
    ]

    def slip(phrase: str) -> str:
        words = phrase.split()
        out = []
        for w in words:
            r = rng.random()
            if r < 0.1:
                continue  # dropped word
            if r < 0.2 and len(w) > 3:
                i = rng.randrange(len(w))
                w = w[:i] + rng.choice("aeioustr") + w[i + 1 :]  # misheard letter
            out.append(w)
        if len(out) > 2 and rng.random() < 0.2:
            i = rng.randrange(len(out) - 1)
            out[i], out[i + 1] = out[i + 1], out[i]
        return " ".join(out)

    passed = 0
    for n in range(150):
        card = cards[n % len(cards)]
        phrases = [p for s in card.sections for q in s.questions for p in q.phrases]
        segments = []
        for i in range(rng.randint(3, 20)):
            text = (
                slip(rng.choice(phrases)) if rng.random() < 0.5 else " ".join(rng.choices(filler, k=rng.randint(2, 12)))
            )
            segments.append(
                {
                    "segment_index": i,
                    "speaker": rng.choice(["agent", "customer", "unknown"]),
                    "start_s": 4.0 * i,
                    "end_s": 4.0 * i + 3.5,
                    "text": text,
                }
            )
        fast = sc.score_call(card, segments, uses_virtual_agents=n % 2 == 0, asr_confidence=0.8)
        full = sc.score_call(card, segments, uses_virtual_agents=n % 2 == 0, asr_confidence=0.8, precheck=False)
        assert fast == full, (card.id, n)
        passed += sum(r["status"] in ("passed", "unverifiable") for r in full["results"])  # both carry evidence
    assert passed > 200  # the generated calls do match phrases: the comparison covers real evidence
