"""Sentiment per turn, French and English — pure, offline, vectorised (issue 19).

Engine: VADER's lexicon method (Hutto & Gilbert 2014), run over a whole tenant-day of turns at
once with Arrow and numpy instead of one Python call per sentence:

* English: VADER's own lexicon, negation words and boosters, read from the ``vadersentiment``
  wheel (MIT; the lexicon file ships inside it, nothing is fetched), with the project's
  call-centre entries over it (``core/sentiment_en.py``).
* French: the project's own lexicon (``core/sentiment_fr.py``), with « ne … pas » negation —
  « je n'ai pas de problème » is not negative.

Rules kept from VADER: word valences summed; a negation within the three preceding words flips
and damps a valence (×−0.74); boosters within three words (decaying 1, 0.95, 0.9) strengthen it;
after a contrast word (« but », « mais ») words weigh 1.5, before it 0.5; exclamation marks add
emphasis; the sum is normalised to a compound in [−1, 1] by x/√(x²+15). Rules left out (ASR text
has no capitals or emoticons to speak of): all-caps emphasis, emoticons, idioms.

Limits (measured in ccr_pipelines_tests/test_sentiment.py on the labelled turns in
ccr_pipelines_tests/data/sentiment_turns.csv, and stated in docs/analytics.md): sarcasm reads as
its surface words, a polite apology reads slightly negative, and a word missing from the lexicon
counts for nothing.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import sentiment_fr

SENTIMENT_VERSION = "sentiment-1"
LANGUAGES = ("fr", "en")
POSITIVE_FROM = 0.25
NEGATIVE_TO = -0.25
N_SCALAR = -0.74  # VADER: a negated valence is flipped and damped
# A negated NEGATIVE word is flipped but damped much more (« pas de problème », "no worries": a
# formula, not praise): our change to VADER's rule, measured on the labelled turns.
N_SCALAR_NEGATIVE = -0.3
ALPHA = 15.0  # VADER's normalisation constant
EXCLAMATION = 0.292  # VADER: emphasis per "!" (at most 4)
DECAY = (1.0, 0.95, 0.9)  # booster weight by distance (1, 2, 3 words before)
LABELS = ("negative", "neutral", "positive")


class Lexicon:
    """Valences and rule words of one language, as dictionaries keyed by normalised word."""

    def __init__(
        self,
        valence: dict[str, float],
        negations: frozenset[str],
        boosters: dict[str, float],
        contrast: frozenset[str],
        ne: frozenset[str] = frozenset(),
        needs_ne: frozenset[str] = frozenset(),
    ):
        self.valence, self.negations, self.boosters = valence, negations, boosters
        self.contrast, self.ne, self.needs_ne = contrast, ne, needs_ne


def _strip(word: str) -> str:
    import unicodedata

    w = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in w if not unicodedata.combining(c)).replace("’", "'")


@lru_cache(maxsize=2)
def lexicon(lang: str) -> Lexicon:
    if lang == "fr":
        return Lexicon(
            dict(sentiment_fr.LEXICON),
            sentiment_fr.NEGATIONS,
            dict(sentiment_fr.BOOSTERS),
            sentiment_fr.CONTRAST,
            ne=sentiment_fr.NE,
            needs_ne=frozenset({"plus", "point"}),
        )
    if lang != "en":
        raise ValueError(f"no sentiment lexicon for language {lang!r} (one of {', '.join(LANGUAGES)})")
    from vaderSentiment import vaderSentiment as vs

    valence: dict[str, float] = {}
    text = (Path(vs.__file__).with_name("vader_lexicon.txt")).read_text(encoding="utf-8")
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) >= 2:
            word = _strip(parts[0])
            if word and all(c.isalnum() or c == "'" for c in word):  # words only: no emoticons in ASR text
                valence[word] = float(parts[1])
    from .sentiment_en import SUPPLEMENT

    valence.update(SUPPLEMENT)
    negations = frozenset(_strip(w) for w in vs.NEGATE) | {"no", "not", "never", "nothing", "nobody", "none"}
    boosters = {_strip(w): float(v) for w, v in vs.BOOSTER_DICT.items() if " " not in w}
    return Lexicon(valence, negations, boosters, frozenset({"but", "however", "although"}))


def _tokens(texts: pa.Array, lang: str) -> tuple[pa.Array, np.ndarray]:
    """(words, parent): the normalised words of every text and the text each belongs to.
    Lower case, accents dropped, French elisions split (« n'ai » → « n' », « ai »)."""
    low = pc.utf8_normalize(pc.utf8_lower(pc.fill_null(texts, "")), "NFKD")
    low = pc.replace_substring(pc.replace_substring_regex(low, r"\p{Mn}", ""), "’", "'")
    if lang == "fr":
        low = pc.replace_substring_regex(low, r"\b([a-z]{1,3})'", r"\1' ")
    lists = pc.split_pattern_regex(low, r"[^a-z0-9']+")
    flat = pc.list_flatten(lists)
    parent = pc.list_parent_indices(lists).to_numpy()
    keep = pc.not_equal(flat, "").to_numpy(zero_copy_only=False)
    return flat.filter(pa.array(keep)), parent[keep]


def _shift(a: np.ndarray, k: int, fill) -> np.ndarray:
    """a[i-k] (k > 0) or a[i+|k|] (k < 0), *fill* outside."""
    out = np.full_like(a, fill)
    if k > 0:
        out[k:] = a[:-k]
    elif k < 0:
        out[:k] = a[-k:]
    return out


def score_texts(texts: pa.Array | list[str], lang: str) -> np.ndarray:
    """Compound sentiment in [−1, 1] of each text (float64; 0.0 for an empty text)."""
    if not isinstance(texts, (pa.Array, pa.ChunkedArray)):
        texts = pa.array(texts, pa.string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    n = len(texts)
    if n == 0:
        return np.zeros(0)
    lex = lexicon(lang)
    words, parent = _tokens(texts, lang)
    if len(words) == 0:
        return np.zeros(n)
    enc = pc.dictionary_encode(words)
    vocab = enc.dictionary.to_pylist()
    idx = enc.indices.to_numpy()
    val = np.array([lex.valence.get(w, 0.0) for w in vocab])[idx]
    neg = np.array([w in lex.negations and w not in lex.needs_ne for w in vocab])[idx]
    neg_ne = np.array([w in lex.needs_ne for w in vocab])[idx]
    boost = np.array([lex.boosters.get(w, 0.0) for w in vocab])[idx]
    contrast = np.array([w in lex.contrast for w in vocab])[idx]
    is_ne = np.array([w in lex.ne for w in vocab])[idx]
    m = len(val)
    # VADER: a negation word that carries a valence of its own ("no") counts for nothing before a
    # word that has one ("no problem": only "problem", negated)
    next_val = (_shift(val, -1, 0.0) != 0) & (_shift(parent, -1, -1) == parent)
    val = np.where((neg | neg_ne) & next_val, 0.0, val)
    sign = np.sign(val)
    out = val.copy()
    negated = np.zeros(m, dtype=bool)
    ne_before = np.zeros(m, dtype=bool)
    for k in range(1, 4):
        same = _shift(parent, k, -1) == parent
        out += sign * _shift(boost, k, 0.0) * DECAY[k - 1] * same
        negated |= _shift(neg, k, False) & same
        ne_before |= _shift(is_ne, k, False) & same
    if lex.ne:
        # « ne » + verb + « pas »: the negation follows the word it negates (« ça ne marche pas »)
        for k in (1, 2):
            same = _shift(parent, -k, -1) == parent
            negated |= ne_before & (_shift(neg, -k, False) | _shift(neg_ne, -k, False)) & same
        for k in range(1, 4):  # « ne … plus » before the word
            negated |= ne_before & _shift(neg_ne, k, False) & (_shift(parent, k, -1) == parent)
    out = np.where(negated & (val > 0), out * N_SCALAR, np.where(negated & (val < 0), out * N_SCALAR_NEGATIVE, out))
    # contrast: the first contrast word of a text splits it into a damped head and a stressed tail
    pos = np.arange(m)
    first_c = np.full(n, np.iinfo(np.int64).max)
    if contrast.any():
        np.minimum.at(first_c, parent[contrast], pos[contrast])
        fc = first_c[parent]
        has = fc < np.iinfo(np.int64).max
        out = np.where(has & (pos < fc), out * 0.5, np.where(has & (pos > fc), out * 1.5, out))
    total = np.bincount(parent, weights=out, minlength=n)
    bangs = np.minimum(pc.count_substring(pc.fill_null(texts, ""), "!").to_numpy(zero_copy_only=False), 4)
    total = total + np.sign(total) * bangs * EXCLAMATION
    compound = total / np.sqrt(total * total + ALPHA)
    return np.clip(compound, -1.0, 1.0)


def score_text(text: str, lang: str) -> float:
    return float(score_texts([text], lang)[0])


def label_of(compound: float | np.ndarray):
    """'negative', 'neutral' or 'positive' by VADER's cut-offs (vectorised over an array)."""
    code = np.where(np.asarray(compound) >= POSITIVE_FROM, 2, np.where(np.asarray(compound) <= NEGATIVE_TO, 0, 1))
    return LABELS[int(code)] if np.ndim(code) == 0 else np.array(LABELS, dtype=object)[code]
