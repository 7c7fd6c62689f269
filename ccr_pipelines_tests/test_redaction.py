"""P21 redaction: per-type precision and recall on a labelled FR/EN corpus (ASR-style), plus the checksums,
North-American numbers, call ids, names and the agent-identification step on redacted text."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from ccr_pipelines.core.pii_engine import find_entities_batch, redact_batch
from ccr_pipelines.core.redaction import TYPES, iban_ok, luhn_ok, nir_ok, redact

CORPUS = [
    json.loads(line) for line in (Path(__file__).parent / "data" / "redaction_corpus.jsonl").open(encoding="utf-8")
]
# Issue 18: every checked number type and e-mails are found on the whole corpus; names at 0.90 / 0.85.
RECALL_TARGET = {
    "card": 1.0,
    "iban": 1.0,
    "nir": 1.0,
    "email": 1.0,
    "phone": 1.0,
    "person": 0.90,
    "address": 0.90,
    "dob": 0.90,
    "number": 0.90,
    "spelled": 0.90,
}
PRECISION_TARGET = {t: 0.90 for t in TYPES} | {"person": 0.85}


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(0, min(a[1], b[1]) - max(a[0], b[0]))


def measure() -> dict:
    tp, fn, fp = Counter(), Counter(), Counter()
    for row, found in zip(CORPUS, find_entities_batch([r["text"] for r in CORPUS]), strict=True):
        text = row["text"]
        gold = []
        for ent in row["entities"]:
            start = text.find(ent["text"])
            assert start >= 0, (text, ent)
            gold.append((ent["type"], (start, start + len(ent["text"]))))
        pred = [(e.kind, (e.start, e.end)) for e in found]
        for kind, span in gold:
            if any(k == kind and _overlap(span, s) >= 0.5 * (span[1] - span[0]) for k, s in pred):
                tp[kind] += 1
            else:
                fn[kind] += 1
        for kind, span in pred:
            if not any(k == kind and _overlap(span, s) > 0 for k, s in gold):
                fp[kind] += 1
    return {
        t: {
            "support": tp[t] + fn[t],
            "recall": tp[t] / max(1, tp[t] + fn[t]),
            "precision": tp[t] / max(1, tp[t] + fp[t]),
            "false_positives": fp[t],
        }
        for t in TYPES
    }


def test_p21_corpus_has_enough_positives_and_tricky_negatives():
    assert len(CORPUS) >= 600
    kinds = Counter(e["type"] for r in CORPUS for e in r["entities"])
    assert all(kinds[t] >= 20 for t in TYPES), kinds
    assert kinds["person"] >= 150
    assert sum(1 for r in CORPUS if not r["entities"]) >= 100
    texts = [r["text"] for r in CORPUS]
    # the real-call shapes of issue 18 are in it
    for needle in (
        "K O W A L C Z Y K",
        "four four seven one two three nine",
        "this is Dave",
        "(415) 555-0132",
        "1-800-555-0199",
        "la pierre de",
        "Mark speaking",
        "mark the date",
        "call-20261125-0001",
    ):
        assert any(needle in t for t in texts), needle
    assert {r["lang"] for r in CORPUS} == {"fr", "en"}


def test_p21_redaction_precision_and_recall_meet_the_targets(capsys):
    metrics = measure()
    with capsys.disabled():  # the figures belong in the test report
        print("\nredaction metrics (P21) on", len(CORPUS), "sentences:")
        for t, m in metrics.items():
            print(
                f"  {t:<6} support={m['support']:>3} recall={m['recall']:.3f} precision={m['precision']:.3f} "
                f"false_positives={m['false_positives']}"
            )
    for t, m in metrics.items():
        assert m["recall"] >= RECALL_TARGET[t], (t, m)
        assert m["precision"] >= PRECISION_TARGET[t], (t, m)


def test_p21_person_names_in_lower_cased_text_are_measured_too(capsys):
    """Some ASR engines write no capitals at all; the NER then sees little and names rest on the cues and
    the gazetteer. Not an issue-18 target: a floor against regression, printed with the other figures."""
    rows = [r for r in CORPUS if any(e["type"] == "person" for e in r["entities"]) or not r["entities"]]
    lowered = [r["text"].lower() for r in rows]
    tp = fn = fp = 0
    for row, text, found in zip(rows, lowered, find_entities_batch(lowered), strict=True):
        gold = [
            (text.find(e["text"].lower()), text.find(e["text"].lower()) + len(e["text"]))
            for e in row["entities"]
            if e["type"] == "person"
        ]
        pred = [(e.start, e.end) for e in found if e.kind == "person"]
        hits = sum(1 for g in gold if any(_overlap(g, p) >= 0.5 * (g[1] - g[0]) for p in pred))
        tp, fn = tp + hits, fn + len(gold) - hits
        fp += sum(1 for p in pred if not any(_overlap(g, p) > 0 for g in gold))
    recall, precision = tp / (tp + fn), tp / max(1, tp + fp)
    with capsys.disabled():
        print(f"\n  person, corpus lower-cased: support={tp + fn} recall={recall:.3f} precision={precision:.3f}")
    # 0.73 before the 80 held-out names were added (names no list knows: lower-cased, only the cues find
    # them); a floor measured on today's corpus, not a target
    assert recall >= 0.55 and precision >= 0.85


def _person_recall(rows: list[dict], texts: list[str], keep) -> tuple[int, int]:
    tp = total = 0
    for row, text, found in zip(rows, texts, find_entities_batch(texts), strict=True):
        for e in row["entities"]:
            if e["type"] != "person" or not keep(e["text"]):
                continue
            start = text.lower().find(e["text"].lower())
            g = (start, start + len(e["text"]))
            total += 1
            tp += any(_overlap(g, (p.start, p.end)) >= 0.5 * (g[1] - g[0]) for p in found if p.kind == "person")
    return tp, total


def test_p21_names_the_gazetteer_does_not_know_are_found_as_well_as_the_ones_it_knows(capsys):
    """The corpus is not built from the detector's name list: person recall is measured apart on names of
    which no word is in core/names.py (found by the NER and the cues alone), and must meet the target too."""
    import re

    from ccr_pipelines.core.names import AMBIGUOUS, FIRST_NAMES, SURNAMES

    known_words = FIRST_NAMES | SURNAMES | AMBIGUOUS

    def known(name: str) -> bool:
        return any(w in known_words for w in re.split(r"[\s\-']+", name.lower()) if w)

    rows = [r for r in CORPUS if any(e["type"] == "person" for e in r["entities"])]
    texts = [r["text"] for r in rows]
    unknown_tp, unknown_n = _person_recall(rows, texts, lambda n: not known(n))
    known_tp, known_n = _person_recall(rows, texts, known)
    with capsys.disabled():
        print(
            f"\n  person names unknown to the gazetteer: {unknown_tp}/{unknown_n} "
            f"recall={unknown_tp / unknown_n:.3f}; known: {known_tp}/{known_n} recall={known_tp / known_n:.3f}"
        )
    assert unknown_n >= 40 and unknown_tp / unknown_n >= RECALL_TARGET["person"]
    assert known_tp / known_n >= RECALL_TARGET["person"]


@pytest.mark.parametrize(
    "text",
    [
        "merci madame pour votre patience",
        "d'accord monsieur je regarde",
        "yes mrs i understand",
        "bonjour madame comment puis-je vous aider",
        "thank you mister for calling",
        "i miss the old plan",
        "merci monsieur au revoir",
        "madame la directrice est absente",
        "oui docteur très bien",
    ],
)
def test_p21_a_title_in_lower_case_text_takes_a_name_not_the_next_common_word(text):
    assert [e for e in find_entities_batch([text])[0] if e.kind == "person"] == []


@pytest.mark.parametrize(
    "text,name",
    [
        ("bonjour madame benali je vois votre dossier", "benali"),
        ("yeah it's mr clarke calling about the broadband", "clarke"),
        ("je passe le dossier à maître okonkwo", "okonkwo"),
    ],
)
def test_p21_a_title_in_lower_case_text_marks_an_unknown_name(text, name):
    found = [text[e.start : e.end] for e in find_entities_batch([text])[0] if e.kind == "person"]
    assert any(name in f for f in found), found


def test_p21_the_no_pii_check_finds_nothing_in_the_redacted_corpus():
    """The blocking check re-runs the detector on what was written: placeholders and what is left around
    them must not look like personal data, or every day with a name in it would be blocked."""
    redacted = [text for text, _counts in redact_batch([r["text"] for r in CORPUS])]
    leftovers = [(t, e) for t, ents in zip(redacted, find_entities_batch(redacted), strict=True) for e in ents]
    assert leftovers == []


def test_redaction_replaces_values_with_typed_placeholders_and_counts_only():
    text, counts = redact("Appelez le 06 12 34 56 78 ou écrivez à jean.dupont@exemple.fr, merci.")
    assert text == "Appelez le [PHONE] ou écrivez à [EMAIL], merci."
    assert counts == {t: 0 for t in TYPES} | {"phone": 1, "email": 1}
    text, counts = redact("bonjour je m'appelle Rose Dubois j'habite au douze rue des Lilas D U B O I S")
    assert text == "bonjour je m'appelle [PERSON] j'habite au [ADDRESS] [SPELLED]"
    assert (counts["person"], counts["address"], counts["spelled"]) == (1, 1, 1)


@pytest.mark.parametrize(
    "text, expected",
    [
        # a number right after the phone used to join its digit run and hide it (found by the Sentry e2e test)
        ("échec pour 06 12 34 56 78 (40 caractères)", "échec pour [PHONE] (40 caractères)"),
        ("appelez le 06 12 34 56 78, 12 euros", "appelez le [PHONE], 12 euros"),
        ("ref 12 06 12 34 56 78", "ref 12 [PHONE]"),
        # ...without carving a phone out of the middle of a longer number (a NIR with a wrong key): since
        # redaction-3 the whole 15-digit run is a [NUMBER]
        ("Le numéro de dossier est 1 85 05 78 006 084 99.", "Le numéro de dossier est [NUMBER]."),
    ],
)
def test_p21_a_phone_inside_a_longer_digit_run_is_found_at_either_end(text, expected):
    assert redact(text)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "Commande 123456 du 12 mars 2026 à 49,99 euros.",
        "I'll be at home at five.",
        "Au point où on en est.",
        "",
        "la pierre est tombée",
        "mark my words",
        "I will call back",
        "the call id is call-20261125-0001",
        "ticket c-2026-11-25-01 is closed",
        "il y a a peu près trois ans",
    ],
)
def test_tricky_negatives_are_left_alone(text):
    assert redact(text)[0] == text


@pytest.mark.parametrize(
    "number",
    [
        "415 555 0132",
        "(415) 555-0132",
        "1-800-555-0199",
        "+1 415 555 0132",
        "four one five five five five oh one three two",
        "415-555-0132",
    ],
)
def test_north_american_numbers_are_phones(number):
    assert redact(f"call me on {number} thanks", ner=False)[0] == "call me on [PHONE] thanks"


def test_spoken_digit_runs_of_seven_or_more_are_numbers_and_shorter_ones_are_not():
    assert redact("my account number is four four seven one two three nine")[0] == "my account number is [NUMBER]"
    assert redact("mon numéro client c'est le 12345678")[0] == "mon numéro client c'est le [NUMBER]"
    assert redact("order 123456 please")[0] == "order 123456 please"


def test_p21_names_that_are_common_words_need_a_cue_or_a_capital():
    assert redact("Bonjour je m'appelle Pierre")[0] == "Bonjour je m'appelle [PERSON]"
    assert redact("yes I spoke to Mark on Monday")[0] == "yes I spoke to [PERSON] on Monday"
    assert redact("there's a question mark on the bill")[0] == "there's a question mark on the bill"


def test_p21_the_sentry_scrubber_uses_the_rules_without_loading_the_model():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import sys; from ccr_pipelines.core.scrub import scrub_event; "
                "e = scrub_event({'message': 'failed for 415 555 0132, my name is Anne Martin'}); "
                "print(e['message'], sorted(m for m in ('spacy', 'presidio_analyzer', 'thinc') if m in sys.modules))"
            ),
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
        check=True,
    ).stdout
    assert out.strip() == "failed for [PHONE], my name is [PERSON] []"


def test_p23_agent_identification_is_still_scored_on_redacted_text():
    """The agent's own name is redacted (it is personal data); what scoring needs, that the agent said
    who they are, survives as the step result: the cue phrase stays, the name becomes [PERSON]."""
    from ccr_pipelines.core.scorecards import score_call
    from ccr_pipelines.loaders.config_files import load_scorecard

    cards = Path(__file__).resolve().parents[1] / "ccr_pipelines" / "config" / "scorecards"
    for card_file, text in (
        ("acme-energie.v1.yaml", "Bonjour vous êtes bien chez Acme Énergie je m'appelle Julie"),
        ("globex-support.v1.yaml", "thank you for calling Globex support my name is Alex"),
    ):
        redacted, counts = redact(text)
        assert counts["person"] == 1 and "[PERSON]" in redacted and "Julie" not in redacted and "Alex" not in redacted
        seg = {"segment_index": 0, "speaker": "agent", "start_s": 0.5, "end_s": 4.0, "text": redacted}
        res = score_call(load_scorecard(cards / card_file), [seg], uses_virtual_agents=False, asr_confidence=0.9)
        step = next(r for r in res["results"] if r["question"] == "agent_identification")
        assert step["status"] == "passed", step


def test_checksums():
    assert luhn_ok("4970101234567893") and not luhn_ok("4970101234567894")
    assert iban_ok("FR76 3000 6000 0112 3456 7890 189") and not iban_ok("FR76 3000 6000 0112 3456 7890 188")
    assert nir_ok("255081416802538") and not nir_ok("255081416802539")
    assert nir_ok("1850578006084" + f"{97 - 1850578006084 % 97:02d}")


def test_skipping_the_model_is_exact_on_the_corpus(monkeypatch):
    """Segments that skip spaCy (no capital past the first letter, no known first word) get exactly what
    the full Presidio pass would give them."""
    from ccr_pipelines.core import pii_engine

    texts = [r["text"] for r in CORPUS] + [r["text"].lower() for r in CORPUS[::3]] + ["Oui d'accord", "Okay so"]
    assert any(not pii_engine._ner_may_find(t) for t in texts) and any(pii_engine._ner_may_find(t) for t in texts)
    fast = pii_engine.find_entities_batch(texts)
    monkeypatch.setattr(pii_engine, "_ner_may_find", lambda _t: True)
    assert pii_engine.find_entities_batch(texts) == fast


def test_the_redaction_benchmark_runs_at_a_small_size():
    """benchmarks/redaction.py (figures in benchmarks/RESULTS.md) at 60 segments, one run."""
    repo = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / "redaction.py"), "--segments", "60", "--runs", "1"],
        capture_output=True,
        text=True,
        cwd=repo,
        timeout=300,
        check=True,
    ).stdout
    report = json.loads(out)
    assert set(report["contenders"]) == {"rules", "presidio+ner"} and report["segments"] == 60
    assert all(c["segments_per_s"] > 0 and c["day_core_hours"] > 0 for c in report["contenders"].values())


def test_p21_the_redacted_text_is_a_fixed_point_of_the_detector_even_when_a_placeholder_changes_the_context():
    """Seen on the demo with the Silero-VAD worker: the NER tags « Khmer Nenshi » (a mishearing of the
    greeting), and only once that became [PERSON] does it tag « Mankaraparei » beside it. The redactor
    looks again at what it changed, so the blocking no_pii_left check (same detector) passes."""
    text = "Bonjour, à Khmer Nenshi, Mankaraparei."
    [(out, counts)] = redact_batch([text])
    assert find_entities_batch([out]) == [[]], out
    assert "Mankaraparei" not in out and counts["person"] >= 2


def test_issue17_p21_the_tenants_script_as_the_asr_heard_it_is_not_redacted_as_a_name():
    """The French demo call's disclosure comes back from the ASR as « C'est appelé Tangistré… »; the
    name cue "appelé" made "Tangistré" a [PERSON], and scoring (which reads redacted text only) never
    heard the disclosure: every French demo call auto-failed. The tenant's script phrases heard by
    sound are spared; a known first name inside them, and any name outside them, are still redacted."""
    import ccr_pipelines
    from ccr_pipelines.loaders.config_files import load_scorecard

    card = load_scorecard(Path(ccr_pipelines.__file__).parent / "config" / "scorecards" / "acme-energie.v1.yaml")
    script = card.heard_script()
    texts = [
        "C'est appelé Tangistré pour la qualité de service.",
        "C'est appelé Julie pour la qualité de service.",
        "Cet appel est enregistré, je vous passe Monsieur Dupont.",
        "Le technicien appelé Marceaux viendra demain.",
    ]
    spared = [t for t, _c in redact_batch(texts, script)]
    assert spared == [
        "C'est appelé Tangistré pour la qualité de service.",
        "C'est appelé [PERSON] pour la qualité de service.",
        "Cet appel est enregistré, je vous passe Monsieur [PERSON].",
        "Le technicien appelé [PERSON] viendra demain.",
    ]
    assert [t for t, _c in redact_batch(texts[:1])] == ["C'est appelé [PERSON] pour la qualité de service."]
    # the blocking no_pii_left check verifies with the same script: the spared output is a fixed point
    assert find_entities_batch(spared, script) == [[], [], [], []]
