"""Optional intent matching by meaning, with a small local embedding model — only when one is installed.

Keywords and synonyms (``understand.intent_score``) always work. A business that wants "can we come by
tonight, six of us?" to start the booking flow with no shared keyword can install ``model2vec`` and put a
static model in a local folder, named by ``CROCEVIA_BOT_EMBEDDING_MODEL``: an intent's ``examples`` are
then compared with the message (cosine similarity). Nothing is downloaded at run time, and without the
package or the folder this module answers "not available" and the bots work as before: the default
install stays light.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol

log = logging.getLogger(__name__)

ENV = "CROCEVIA_BOT_EMBEDDING_MODEL"
# Cosine similarity from which an example counts as the same request (static models score paraphrases ~0.7+).
THRESHOLD = 0.72


class Embedder(Protocol):
    def encode(self, sentences: list[str]) -> Any:
        """One vector per sentence."""


_lock = threading.Lock()
_loaded: dict[str, Embedder | None] = {}
_override: list[Embedder | None] = []
_example_vectors: dict[tuple[str, ...], list[list[float]]] = {}


def use(embedder: Embedder | None) -> None:
    """Set the embedder in code (another model library; tests); ``None`` goes back to the environment's."""
    with _lock:
        _override[:] = [embedder] if embedder is not None else []
        _example_vectors.clear()


def embedder() -> Embedder | None:
    """The installed model, loaded once; None when there is none (the usual case)."""
    if _override:
        return _override[0]
    path = os.environ.get(ENV, "").strip()
    if not path:
        return None
    with _lock:
        if path not in _loaded:
            _loaded[path] = _load(path)
        return _loaded[path]


def _load(path: str) -> Embedder | None:
    try:
        from model2vec import StaticModel
    except ImportError:
        log.warning("%s is set but model2vec is not installed: intents match by keywords only", ENV)
        return None
    try:
        model: Embedder = StaticModel.from_pretrained(path)
    except Exception as exc:  # a missing or broken folder must not stop the bots
        log.warning("cannot load the embedding model at %s (%s): intents match by keywords only", path, exc)
        return None
    return model


def _vectors(model: Embedder, sentences: Sequence[str]) -> list[list[float]]:
    return [[float(x) for x in row] for row in model.encode(list(sentences))]


def _cosine(a: list[float], b: list[float]) -> float:
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    if na == 0 or nb == 0:
        return 0.0
    return sum(x * y for x, y in zip(a, b, strict=False)) / (na * nb)


def similarity(text: str, examples: Sequence[str]) -> float:
    """The best cosine similarity between the message and an example; 0 without a model or examples."""
    model = embedder()
    if model is None or not examples or not text.strip():
        return 0.0
    key = tuple(examples)
    with _lock:
        known = _example_vectors.get(key)
    if known is None:
        known = _vectors(model, key)
        with _lock:
            _example_vectors[key] = known
    (vec,) = _vectors(model, [text])
    return max(_cosine(vec, ex) for ex in known)


def matches(text: str, examples: Sequence[str]) -> bool:
    return similarity(text, examples) >= THRESHOLD
