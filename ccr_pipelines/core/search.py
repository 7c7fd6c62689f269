"""Transcript search (issue 19): the pure rules, no I/O.

A query is a few words; a segment matches when it holds every word, whatever the case and the
accents (« Électricité » finds "electricite" and the other way round). Words are what is left of
the text once it is folded (NFKD, combining marks dropped, lower-cased) and split on anything that
is not a letter or a digit, so French elisions split too (« l'agent » holds "l" and "agent").
The same folding feeds both engines: SQLite FTS5 (``unicode61 remove_diacritics 2``, which folds
the same way) and PostgreSQL (a ``tsvector`` of the folded text, configuration ``simple``).

The access log keeps a keyed digest of the folded query, never the query: two searches for the
same words can be matched in an audit without the words being readable (P3, P16).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from .errors import CcrError

MAX_TERMS = 8
MAX_TERM_LEN = 40
MAX_QUERY_LEN = 300
SPEAKERS = ("agent", "customer")
_SPLIT = re.compile(r"[\W_]+")


class SearchQueryError(CcrError):
    """The query cannot be searched (message safe to print: it never quotes the query)."""


def fold(text: str) -> str:
    """Lower-case, accent-free, letters and digits separated by single spaces."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    return " ".join(w for w in _SPLIT.split(bare) if w)


def query_terms(query: str) -> tuple[str, ...]:
    """The distinct words of *query*, in order; refuses an empty, too long or too wide query."""
    if not isinstance(query, str) or len(query) > MAX_QUERY_LEN:
        raise SearchQueryError(f"query: at most {MAX_QUERY_LEN} characters")
    words = fold(query).split()
    terms = tuple(dict.fromkeys(words))
    if not terms:
        raise SearchQueryError("query: no word to search for (letters or digits)")
    if len(terms) > MAX_TERMS:
        raise SearchQueryError(f"query: at most {MAX_TERMS} words (got {len(terms)})")
    if any(len(t) > MAX_TERM_LEN for t in terms):
        raise SearchQueryError(f"query: a word of at most {MAX_TERM_LEN} characters")
    return terms


def fts5_match(terms: tuple[str, ...]) -> str:
    """An FTS5 MATCH expression: every term, each as a quoted string (no operator can be injected)."""
    return " AND ".join(f'"{t}"' for t in terms)


def pg_tsquery(terms: tuple[str, ...]) -> str:
    """A ``to_tsquery('simple', …)`` text: every term (folded words hold letters and digits only)."""
    return " & ".join(terms)


def query_digest(query: str, *, tenant_id: str, key: str) -> str:
    """What the access log keeps of a query: a keyed digest of its folded words and their count."""
    terms = " ".join(query_terms(query))
    mac = hmac.new(key.encode("utf-8"), f"{tenant_id}\x1f{terms}".encode(), hashlib.sha256)
    return f"hmac:{mac.hexdigest()[:16]} words {len(terms.split())}"


def clock(seconds: float | None) -> str:
    """``m:ss`` (``h:mm:ss`` past an hour) of an offset into a call."""
    s = int(seconds or 0)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
