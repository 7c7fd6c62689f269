"""Issue 17: script steps found despite ASR mishearings, never on look-alike sentences.

A labelled set, written before the threshold was chosen: for each script phrase of the shipped
scorecards (FR and EN), garbled variants the way Whisper mishears them (word splits and merges,
homophones, brand names misheard, a wrong gender or tense ending) that MUST match, and near-misses
that share words or sounds but are not the step (« je vous enregistre votre demande », "I recorded
this call", « votre demande est enregistrée ») that must NOT. Precision and recall are printed;
targets 0.95 / 0.90 (issue 17). The scorer uses the phonetic match only where no word match was
found, and only for script steps (test_scoring.py covers that wiring).
"""

from __future__ import annotations

import pytest

from ccr_pipelines.core.phonetic import (
    MIN_KEY_CHARS,
    PHONETIC_SIMILARITY,
    Heard,
    accented_words,
    bag_totals,
    may_reach,
    phonetic_match,
    word_key,
)

DISCLOSURE_FR = "cet appel est enregistré"
DISCLOSURE_FR_2 = "cet appel peut être enregistré"
GREETING_FR = "bonjour vous êtes bien chez acme énergie"
NEEDS_FR = "comment puis-je vous aider"
CLOSING_FR = "merci de votre appel au revoir"
DISCLOSURE_EN = "this call is recorded"
DISCLOSURE_EN_2 = "this call may be recorded"
GREETING_EN = "thank you for calling globex support"
NEEDS_EN = "how can i help you"

# (lang, phrase, heard, should_match)
LABELLED = [
    # -- French disclosure: garbled, must match
    ("fr", DISCLOSURE_FR, "C'est appelé Tangistré.", True),
    ("fr", DISCLOSURE_FR, "Bonjour, c'est appel est en registré.", True),
    ("fr", DISCLOSURE_FR, "set à pelle est enregistré", True),
    ("fr", DISCLOSURE_FR, "Cette appel est enregistrer.", True),
    ("fr", DISCLOSURE_FR, "c est a pelle est enregistrée", True),
    ("fr", DISCLOSURE_FR, "Je vous informe que cet appel et enregistré.", True),
    ("fr", DISCLOSURE_FR, "sept appels est enregistré", True),
    ("fr", DISCLOSURE_FR, "C'est tapé l'est enregistré.", True),
    ("fr", DISCLOSURE_FR, "cet appel est en registre", True),
    ("fr", DISCLOSURE_FR_2, "Cet appel peu être enregistré.", True),
    ("fr", DISCLOSURE_FR_2, "c'est appel peut êtres en registré", True),
    ("fr", DISCLOSURE_FR_2, "Cet appel peut-être enregistrer", True),
    ("fr", DISCLOSURE_FR_2, "Set appel peut être enregistré.", True),
    # -- French disclosure: near-misses, must not match
    ("fr", DISCLOSURE_FR, "Je vous enregistre votre demande.", False),
    ("fr", DISCLOSURE_FR, "Nous avons enregistré votre appel d'hier.", False),
    ("fr", DISCLOSURE_FR, "Votre demande est enregistrée.", False),
    ("fr", DISCLOSURE_FR, "Votre réclamation est bien enregistrée.", False),
    ("fr", DISCLOSURE_FR, "C'est enregistré dans le système.", False),
    ("fr", DISCLOSURE_FR, "Votre rendez-vous est enregistré pour mardi.", False),
    ("fr", DISCLOSURE_FR, "Ça y est, c'est enregistré.", False),
    ("fr", DISCLOSURE_FR, "Je rappelle demain pour le dossier.", False),
    ("fr", DISCLOSURE_FR, "Votre numéro est enregistré chez nous.", False),
    ("fr", DISCLOSURE_FR_2, "Votre paiement peut être enregistré demain.", False),
    ("fr", DISCLOSURE_FR_2, "Cela peut être réglé aujourd'hui.", False),
    ("fr", DISCLOSURE_FR_2, "Le compteur peut être remplacé.", False),
    # -- French greeting
    ("fr", GREETING_FR, "Bonjour, vous êtes bien chez Acné Énergie.", True),
    ("fr", GREETING_FR, "bonjour vous êtes bien chez akmé énergie", True),
    ("fr", GREETING_FR, "Bonjour, vous êtes bien chez Acme et Nergie.", True),
    ("fr", GREETING_FR, "Bonjour vous êtes bien chez Acmé énergique.", True),
    ("fr", GREETING_FR, "Bonjour, vous êtes bien chez vous ?", False),
    ("fr", GREETING_FR, "Bonjour, vous êtes bien madame Martin ?", False),
    ("fr", GREETING_FR, "Bonjour, vous êtes bien chez Engie ?", False),
    # -- French needs discovery and closing
    ("fr", NEEDS_FR, "Comment puis-je vous aidez ?", True),
    ("fr", NEEDS_FR, "Comment puis je vous est dé ?", True),
    ("fr", NEEDS_FR, "Comment pouvez-vous m'aider ?", False),
    ("fr", NEEDS_FR, "Comment je fais pour vous payer ?", False),
    ("fr", CLOSING_FR, "Merci de votre appel, au revoir.", True),
    ("fr", CLOSING_FR, "Merci de votre appel, orevoir.", True),
    ("fr", CLOSING_FR, "merci 2 votre appel aux revoir", True),
    ("fr", CLOSING_FR, "Merci de votre patience, je reviens.", False),
    ("fr", CLOSING_FR, "Merci de rappeler la semaine prochaine.", False),
    # -- English disclosure
    ("en", DISCLOSURE_EN, "This cold is recorded.", True),
    ("en", DISCLOSURE_EN, "the scall is record it", True),
    ("en", DISCLOSURE_EN, "This call is recorder.", True),
    ("en", DISCLOSURE_EN, "Thiscall is recorded", True),
    ("en", DISCLOSURE_EN, "This col is re-corded.", True),
    ("en", DISCLOSURE_EN_2, "This call maybe recorded.", True),
    ("en", DISCLOSURE_EN_2, "This call may be record it.", True),
    ("en", DISCLOSURE_EN_2, "This col may be recorded for training.", True),
    ("en", DISCLOSURE_EN, "I recorded this call myself.", False),
    ("en", DISCLOSURE_EN, "Your order is recorded.", False),
    ("en", DISCLOSURE_EN, "The payment is recorded on your account.", False),
    ("en", DISCLOSURE_EN, "This bill is correct.", False),
    ("en", DISCLOSURE_EN_2, "The refund may be returned.", False),
    ("en", DISCLOSURE_EN_2, "This card may be declined.", False),
    # -- English greeting and needs
    ("en", GREETING_EN, "Thank you for calling Globe X support.", True),
    ("en", GREETING_EN, "Thank you for calling Glow Bex Support.", True),
    ("en", GREETING_EN, "thank you for colin globex support", True),
    ("en", GREETING_EN, "Thank you for calling back, sir.", False),
    ("en", GREETING_EN, "Thank you for your support.", False),
    ("en", NEEDS_EN, "How can I help you?", True),
    ("en", NEEDS_EN, "How can I help ya?", True),
    ("en", NEEDS_EN, "How can you help me?", False),
    ("en", NEEDS_EN, "How can I pay you?", False),
]


def _matches(lang: str, phrase: str, heard: str) -> bool:
    return phonetic_match(tuple(accented_words(phrase)), accented_words(heard), lang)[0] >= PHONETIC_SIMILARITY


def test_issue17_phonetic_matching_meets_precision_and_recall_on_the_labelled_set(capsys):
    tp = fp = fn = tn = 0
    wrong = []
    for lang, phrase, heard, expected in LABELLED:
        got = _matches(lang, phrase, heard)
        tp += got and expected
        fp += got and not expected
        fn += expected and not got
        tn += not got and not expected
        if got != expected:
            wrong.append((heard, expected))
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    with capsys.disabled():
        print(
            f"\n  phonetic script-step matching: {len(LABELLED)} labelled sentences, threshold {PHONETIC_SIMILARITY}: "
            f"precision={precision:.3f} recall={recall:.3f} (tp={tp} fp={fp} fn={fn} tn={tn}); wrong: {wrong}"
        )
    assert sum(e for *_, e in LABELLED) >= 30 and sum(not e for *_, e in LABELLED) >= 25
    assert precision >= 0.95 and recall >= 0.90, wrong


def test_issue17_the_demo_mishearing_sounds_like_the_disclosure_and_the_request_sentence_does_not():
    phrase = tuple(accented_words(DISCLOSURE_FR))
    assert phonetic_match(phrase, accented_words("C'est appelé Tangistré."))[0] >= PHONETIC_SIMILARITY
    assert phonetic_match(phrase, accented_words("Je vous enregistre votre demande."))[0] < PHONETIC_SIMILARITY


def test_issue17_homophones_share_a_key_and_short_phrases_are_not_matched_by_sound():
    assert word_key("cet") == word_key("c'est") == word_key("C’est")
    assert word_key("enregistré") == word_key("enregistrer") == word_key("enregistrée")
    assert word_key("appel") != word_key("appelé")
    assert word_key("phone", "en") == word_key("fone", "en") and word_key("recorded", "en") == word_key(
        "rekorded", "en"
    )
    # "au revoir" or "my name is" hold too few sounds to tell from look-alikes: never matched by sound
    assert phonetic_match(tuple(accented_words("au revoir")), accented_words("au revoir"))[0] == 0.0
    assert len("".join(word_key(w, "en") for w in ("my", "name", "is"))) < MIN_KEY_CHARS


@pytest.mark.parametrize("text", ["", "   ", "…", "123 456"])
def test_issue17_empty_or_wordless_text_never_matches(text):
    assert phonetic_match(tuple(accented_words(DISCLOSURE_FR)), accented_words(text))[0] < PHONETIC_SIMILARITY


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("aàâäbcçdeéèêëfgiîïjklmnoôöœpqrstuùûüvwxyzAÉÈÇ'’- .,!?0123456789ßﬁ")), max_size=60
    )
)
def test_issue17_accented_words_split_text_exactly_as_the_scorer_does(text):
    """Evidence times come from word positions: the phonetic match's word count must be normalise()'s."""
    from ccr_pipelines.core.scorecards import normalise

    assert len(accented_words(text)) == len(normalise(text))


# -- the scorer uses it: a misheard step passes by sound, never a customer's words, never a forbidden phrase


def _card(name: str):
    from pathlib import Path

    import ccr_pipelines
    from ccr_pipelines.loaders.config_files import load_scorecard

    return load_scorecard(Path(ccr_pipelines.__file__).parent / "config" / "scorecards" / f"{name}.yaml")


def _seg(i: int, speaker: str, start: float, text: str) -> dict:
    return {
        "segment_index": i,
        "speaker": speaker,
        "start_s": start,
        "end_s": start + 3.0,
        "text": text,
        "speech_regions": [[start, start + 3.0]],
        "no_speech": False,
    }


def _step(result: dict, question: str) -> dict:
    return next(r for r in result["results"] if r["question"] == question)


def test_issue17_the_scorer_passes_a_misheard_disclosure_by_sound_with_its_evidence_marked():
    from ccr_pipelines.core.scorecards import score_call

    segs = [
        _seg(0, "agent", 0.0, "Bonjour, vous êtes bien chez Acme Énergie."),
        _seg(1, "agent", 4.0, "C'est appelé Tangistré."),
        _seg(2, "customer", 8.0, "Oui d'accord."),
    ]
    out = score_call(_card("acme-energie.v1"), segs, uses_virtual_agents=False, asr_confidence=0.9)
    step = _step(out, "recording_disclosure")
    assert step["status"] == "passed" and step["evidence"]["method"] == "phonetic"
    assert step["evidence"]["segment_index"] == 1 and 4.0 <= step["evidence"]["start_s"] <= 7.0
    assert not out["auto_failed"]
    # word matches keep their evidence as before (no method key)
    assert "method" not in _step(out, "greeting")["evidence"]


def test_issue17_a_sound_alike_said_by_the_customer_or_a_look_alike_request_does_not_pass_the_agents_step():
    from ccr_pipelines.core.scorecards import score_call

    segs = [
        _seg(0, "customer", 0.0, "C'est appelé Tangistré ?"),
        _seg(1, "agent", 4.0, "Je vous enregistre votre demande."),
    ]
    out = score_call(_card("acme-energie.v1"), segs, uses_virtual_agents=False, asr_confidence=0.9)
    assert _step(out, "recording_disclosure")["status"] == "missing" and out["auto_failed"]


def test_issue17_forbidden_phrases_are_never_matched_by_sound():
    from ccr_pipelines.core.scorecards import score_call

    # sounds exactly like « c'est pas mon problème » (phonetic 1.0, words 0.5): still not a failure
    segs = [_seg(0, "agent", 0.0, "Cet appel est enregistré."), _seg(1, "agent", 4.0, "Sais pas mon prob lème.")]
    out = score_call(_card("acme-energie.v1"), segs, uses_virtual_agents=False, asr_confidence=0.9)
    assert _step(out, "courtesy")["status"] == "passed"


@pytest.mark.timeout(120)
def test_issue19_the_floor_skips_windows_without_changing_any_answer_that_reaches_it():
    """The scorer passes ``floor=PHONETIC_SIMILARITY``: windows whose character-bag bound is below it
    are not compared. On the labelled set and on 3,000 generated mixes of its sentences and phrases,
    every answer that reaches the floor is the same (score and window); every other stays below."""
    import random

    rng = random.Random(17)
    pool = [w for _, phrase, heard, _ in LABELLED for w in accented_words(phrase) + accented_words(heard)]
    cases = [(lang, phrase, accented_words(heard)) for lang, phrase, heard, _ in LABELLED]
    for _ in range(3000):
        lang, phrase, heard, _ = rng.choice(LABELLED)
        words = rng.sample(pool, rng.randint(0, 12))
        at = rng.randint(0, len(words))
        words[at:at] = accented_words(rng.choice((phrase, heard)))  # the step, or a mishearing, somewhere
        cases.append((lang, phrase, words if rng.random() < 0.7 else rng.sample(pool, rng.randint(1, 25))))
    reached = ruled_out = 0
    for lang, phrase, words in cases:
        key = tuple(accented_words(phrase))
        full = phonetic_match(key, words, lang)
        fast = phonetic_match(key, words, lang, floor=PHONETIC_SIMILARITY)
        heard = Heard(words, lang)
        assert phonetic_match(key, heard, lang, floor=PHONETIC_SIMILARITY) == fast
        # the scorer's text-level filter: a text it rules out never reaches the threshold
        [may] = may_reach(key, bag_totals([words], lang), lang, floor=PHONETIC_SIMILARITY)
        ruled_out += not may
        if full[0] >= PHONETIC_SIMILARITY:
            reached += 1
            assert fast == full and may, (phrase, words)
        else:
            assert fast[0] < PHONETIC_SIMILARITY, (phrase, words)
    assert reached > 1000 and len(cases) - reached > 500  # both sides exercised
    assert ruled_out > 200  # and the filter does rule texts out
