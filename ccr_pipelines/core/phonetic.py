"""Script-step matching robust to ASR mishearings (issue 17): compare how phrases SOUND.

Whisper's base model hears « cet appel est enregistré » as « C'est appelé Tangistré »: the
words differ, their boundaries move, but the sounds are nearly the same. Word matching
(``core/scorecards.best_match``) cannot see that; a phonetic key can. Each word is rewritten to
a rough phoneme string (French rules for ``fr``, English rules for ``en``: ``cet`` and ``c'est``
become ``se``, ``enregistré`` and ``tangistré`` ``AreJistrE`` and ``tAJistrE``), a window of
words is joined without spaces (boundaries are what ASR moves), and the similarity is the
character ratio of the two keys.

Used only as a fallback for script steps (never for forbidden phrases: a sound-alike must not
fail an agent) and only where no word match was found; the evidence says ``"method":
"phonetic"``. Pure: no I/O, no Dagster.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import accumulate

import numpy as np

# From here two keys "sound the same": the middle of the gap on the labelled set of test_phonetic.py
# (near-misses reach 0.83, garbled steps start at 0.90; garbled
# disclosures and greetings vs near-misses such as « je vous enregistre votre demande »).
PHONETIC_SIMILARITY = 0.87
# A phrase must carry this many key characters to be matched by sound: "au revoir", "my name is"
# are too short to tell from look-alikes by sound alone.
MIN_KEY_CHARS = 8

_VOWELS = set("aeiouyAEIOU")

# French: ordered rewrites on one accent-folded word (accents kept where they change the sound).
_FR_RULES: tuple[tuple[str, str], ...] = (
    (r"^(c|s)'", r"s"),
    (r"^(l|d|j|m|n|t|qu)'", r"\1"),  # elisions: c'est → sest, qu'il → quil
    (r"eaux?$", "o"),
    (r"eau", "o"),
    (r"aux?$", "o"),
    (r"au", "o"),
    (r"[éèêë]", "E"),
    (r"(ai|ei)", "E"),
    (r"(est|er|ez|et|es)$", "E"),
    (r"ph", "f"),
    (r"qu", "k"),
    (r"gu(?=[eiE])", "g"),
    (r"sch", "S"),
    (r"ch", "S"),
    (r"sh", "S"),
    (r"ç", "s"),
    (r"c(?=[eiyE])", "s"),
    (r"c", "k"),
    (r"g(?=[eiyE])", "J"),
    (r"j", "J"),
    (r"gn", "n"),
    (r"(ain|ein|aim|in|im|un|um|yn|ym)(?![aeiouyE])", "I"),
    (r"(an|am|en|em)(?![aeiouyE])", "A"),
    (r"(on|om)(?![aeiouyE])", "O"),
    (r"oi", "wa"),
    (r"ou", "u"),
    (r"y", "i"),
    (r"h", ""),
    (r"x", "ks"),
    (r"w", "v"),
    (r"z", "s"),
    (r"([a-zA-Z])\1+", r"\1"),
    (r"(?<=.)[stdpx]$", ""),
    (r"(?<=.)e$", ""),  # silent final consonants, mute e
)
# English: the few rewrites that matter for ASR confusions (spelling → sound classes).
_EN_RULES: tuple[tuple[str, str], ...] = (
    (r"'", ""),
    (r"ph", "f"),
    (r"ck", "k"),
    (r"gh(?![aeiou])", ""),
    (r"wr", "r"),
    (r"kn", "n"),
    (r"c(?=[eiy])", "s"),
    (r"c", "k"),
    (r"q", "k"),
    (r"x", "ks"),
    (r"z", "s"),
    (r"(ee|ea|ie|ey)", "i"),
    (r"(oo|ou)", "u"),
    (r"(ai|ay|ei)", "E"),
    (r"y$", "i"),
    (r"([a-zA-Z])\1+", r"\1"),
    (r"(?<=[^aeiou])e$", ""),  # silent final e
    (r"(?<=.)[aeiou]+(?=[^aeiouAEIOU])", lambda m: m.group(0)[0]),
)
_COMPILED = {
    "fr": tuple((re.compile(a), b) for a, b in _FR_RULES),
    "en": tuple((re.compile(a), b) for a, b in _EN_RULES),
}


class _FoldTable(dict):
    """ord -> folded text for ``str.translate``, filled on first sight of each character: accents
    removed (NFKD without combining marks) except French é/è/ê/ë and ç, which change the sound."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = (
            ch
            if ch in "éèêëç"
            else "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        )
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


def _fold(word: str) -> str:
    """Lower case, curly apostrophe straightened, accents removed except French é/è/ê/ë and ç."""
    low = word.lower().replace("’", "'")
    return low if low.isascii() else low.translate(_FOLD_TABLE)


@lru_cache(maxsize=262_144)
def word_key(word: str, lang: str = "fr") -> str:
    """The rough phoneme string of one word (cached: a day's words recur)."""
    w = re.sub(r"[^a-zéèêëç']", "", _fold(word))
    for pattern, repl in _COMPILED["en" if lang == "en" else "fr"]:
        w = pattern.sub(repl, w)
    return w


_SPLIT = re.compile(r"[^a-z0-9'éèêëç]+")


def accented_words(text: str) -> list[str]:
    """The words of *text* as ``scorecards.normalise`` splits them (same count, same order), keeping
    the accents that change a French sound (« appelé » is not « appel »)."""
    return [w for w in _SPLIT.split(_fold(text)) if w]


def phrase_key(words: list[str] | tuple[str, ...], lang: str = "fr") -> str:
    return _phrase_key(tuple(words), lang)


@lru_cache(maxsize=4096)
def _phrase_key(words: tuple[str, ...], lang: str) -> str:
    return "".join(word_key(w, lang) for w in words)


class Heard:
    """The words of one heard text with their phoneme keys, and (built once, on first use) the prefix
    sums of their character counts that ``phonetic_match``'s floor reads: a text is compared with
    many phrases, its keys are computed once."""

    __slots__ = ("words", "keys", "_offsets", "_prefix")

    def __init__(self, words: list[str], lang: str = "fr"):
        self.words = words
        self.keys = [word_key(w, lang) for w in words]
        self._offsets: np.ndarray | None = None
        self._prefix: np.ndarray | None = None

    @property
    def offsets(self) -> np.ndarray:
        """Where each word's key starts in the joined key (and the end): len(words) + 1 values."""
        if self._offsets is None:
            self._offsets = np.fromiter(accumulate((len(k) for k in self.keys), initial=0), dtype=np.intp)
        return self._offsets

    @property
    def prefix(self) -> np.ndarray:
        if self._prefix is None:
            total = int(self.offsets[-1])
            prefix = np.zeros((total + 1, _BINS), dtype=np.int32)
            if total:
                prefix[np.arange(1, total + 1), _codes("".join(self.keys))] = 1
                np.cumsum(prefix, axis=0, out=prefix)
            self._prefix = prefix
        return self._prefix


def phonetic_match(
    phrase_words: tuple[str, ...], words: list[str] | Heard, lang: str = "fr", *, floor: float = 0.0
) -> tuple[float, int]:
    """``phonetic_window``'s (score, start)."""
    score, start, _size = phonetic_window(phrase_words, words, lang, floor=floor)
    return score, start


def phonetic_window(
    phrase_words: tuple[str, ...], words: list[str] | Heard, lang: str = "fr", *, floor: float = 0.0
) -> tuple[float, int, int]:
    """Best phonetic similarity of the phrase against any window of *words* (phrase length −1 … +2:
    ASR splits one word in two, « enregistré » → « en registré », or merges two); (score, start, size
    in words). (0.0, -1, 0) when the phrase is too short to be told apart by sound. *words* may be a ``Heard``
    built with the same *lang* (a text compared with many phrases).

    With *floor* (the callers pass ``PHONETIC_SIMILARITY``), windows that cannot reach it are not
    compared: an upper bound of the ratio (the characters two keys share, whatever their order,
    ``_bag_bounds``) rules them out first. The answer is the same whenever the best score reaches
    *floor* (same score, same window); below it the score is only a lower bound and the start may
    be -1."""
    target = phrase_key(phrase_words, lang)
    heard = words if isinstance(words, Heard) else Heard(words, lang)
    if len(target) < MIN_KEY_CHARS or not heard.words:
        return 0.0, -1, 0
    keys = heard.keys
    size, start = _windows(len(phrase_words), len(keys))
    order = range(len(size))
    if floor > 0.0:
        order = np.flatnonzero(_bag_bounds(target, heard, size, start) >= floor - 1e-9).tolist()
    best, where, width = 0.0, -1, 0
    for w in order:
        i = int(start[w])
        window = "".join(keys[i : i + int(size[w])])
        if not window:
            continue
        sm = SequenceMatcher(None, target, window, autojunk=False)
        if sm.real_quick_ratio() <= best or sm.quick_ratio() <= best:
            continue
        r = sm.ratio()
        if r > best:
            best, where, width = r, i, int(size[w])
    return best, where, width


def word_spans(text: str) -> list[tuple[int, int]] | None:
    """The character span in *text* of each word of ``accented_words(text)`` (same count, same
    order), or None where folding changes a character's length (a ligature) and the two cannot be
    lined up."""
    spans, start = [], None
    for i, ch in enumerate(text):
        folded = _fold(ch)
        inside = _SPLIT.fullmatch(folded) is None  # no separator: part of a word
        if inside and len(folded) != 1:
            return None
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            spans.append((start, i))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans if len(spans) == len(accented_words(text)) else None


MIN_SCRIPT_WORDS = 3  # shorter phrases ("je m'appelle") sit next to the name they introduce


def heard_script_spans(text: str, phrases: list[tuple[str, ...]], lang: str = "fr") -> list[tuple[int, int]]:
    """Character spans of *text* that sound like one of a scorecard's *phrases* (of MIN_SCRIPT_WORDS
    words or more; ``PHONETIC_SIMILARITY``): the script as the ASR heard it, « C'est appelé Tangistré »
    for « cet appel est enregistré ». What the redactor must not take for a name (issue 17)."""
    phrases = [p for p in phrases if len(p) >= MIN_SCRIPT_WORDS]
    if not phrases or not text:
        return []
    spans = word_spans(text)
    if not spans:
        return []
    heard = Heard(accented_words(text), lang)
    out = []
    for phrase in phrases:
        score, start, size = phonetic_window(phrase, heard, lang, floor=PHONETIC_SIMILARITY)
        if score >= PHONETIC_SIMILARITY and start >= 0:
            out.append((spans[start][0], spans[start + size - 1][1]))
    return out


_BINS = 64


def _codes(text: str) -> np.ndarray:
    # 64 bins by code point: two characters sharing a bin only loosen the bound, never break it
    return (np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32) & (_BINS - 1)).astype(np.intp)


@lru_cache(maxsize=4096)
def _windows(n: int, n_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, start) of every window compared, sizes n−1 … n+2, in comparison order."""
    pairs = [(size, i) for size in range(max(1, n - 1), n + 3) for i in range(0, max(1, n_words - size + 1))]
    return np.array([p[0] for p in pairs], dtype=np.intp), np.array([p[1] for p in pairs], dtype=np.intp)


@lru_cache(maxsize=4096)
def _target_counts(target: str) -> np.ndarray:
    return np.bincount(_codes(target), minlength=_BINS)


def _bag_bounds(target: str, heard: Heard, size: np.ndarray, start: np.ndarray) -> np.ndarray:
    """For each window, 2·shared/(len(target) + len(window)) where *shared* counts the characters
    both hold regardless of order: ``SequenceMatcher.quick_ratio``, never below ``ratio``, for every
    window at once from the text's prefix sums of character counts."""
    last = len(heard.keys)
    lo = heard.offsets[np.minimum(start, last)]
    hi = heard.offsets[np.minimum(start + size, last)]
    prefix = heard.prefix
    shared = np.minimum(prefix[hi] - prefix[lo], _target_counts(target)).sum(axis=1)
    return 2.0 * shared / (len(target) + (hi - lo))


def bag_totals(texts: list[list[str]], lang: str = "fr") -> np.ndarray:
    """Character counts (64 bins) of each text's whole phoneme key, one row per text (its words as
    ``accented_words`` gives them). Each distinct word's key is counted once: texts share words."""
    vocab: dict[str, int] = {}
    ids = [vocab.setdefault(w, len(vocab)) for words in texts for w in words]
    totals = np.zeros((len(texts), _BINS), dtype=np.int32)
    if not ids:
        return totals
    keys = [word_key(w, lang) for w in vocab]
    vocab_codes = _codes("".join(keys))
    key_len = np.fromiter((len(k) for k in keys), dtype=np.intp, count=len(keys))
    key_start = np.concatenate([[0], np.cumsum(key_len)[:-1]])
    occ = np.asarray(ids, dtype=np.intp)  # each word said, as its vocabulary number
    occ_len = key_len[occ]
    owner = np.repeat(np.arange(len(texts)), [len(words) for words in texts])
    # every character of every word said: which text it belongs to and its bin
    ends = np.cumsum(occ_len)
    within = np.arange(int(ends[-1])) - np.repeat(ends - occ_len, occ_len)
    codes = vocab_codes[np.repeat(key_start[occ], occ_len) + within]
    flat = np.bincount(np.repeat(owner, occ_len) * _BINS + codes, minlength=len(texts) * _BINS)
    return flat.reshape(len(texts), _BINS).astype(np.int32)


def may_reach(phrase_words: tuple[str, ...], totals: np.ndarray, lang: str = "fr", *, floor: float) -> np.ndarray:
    """For each text (a row of ``bag_totals``), whether any of its windows can reach *floor* against
    the phrase: a window holds at most the characters of its text (*S* shared with the phrase), so
    its ratio is at most 2·S/(len(phrase key) + S). False rows need no ``phonetic_match``: their
    answer is below *floor* (all False for a phrase too short to be matched by sound)."""
    target = phrase_key(phrase_words, lang)
    if len(target) < MIN_KEY_CHARS:
        return np.zeros(len(totals), dtype=bool)
    shared = np.minimum(totals, _target_counts(target)).sum(axis=1)
    return 2.0 * shared >= (floor - 1e-9) * (len(target) + shared)
