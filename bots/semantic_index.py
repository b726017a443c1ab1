"""The knowledge base's meaning-based index (bots.matcher's `ensure_semantic`): every example embedded by the
sentence encoder and extended by the intent space (nlp.space), an entry model over them (bots.semantic) and its gate
fitted on the knowledge base (bots.calibration.fit_gate).  Built once per knowledge-base content and encoder, and
shared by the hubs of one process; the embeddings are cached on disk (nlp.cache)."""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from bots.calibration import Gate, Vocab, background_for, fit_gate
from bots.features import WORD, Featurizer, terms
from bots.kb import KnowledgeBase
from bots.semantic import EntryModel, train_entry_model
from nlp.cache import embed_cached
from nlp.space import IntentSpace, load_space

@dataclass(frozen=True)
class SemanticIndex:
    model: EntryModel
    gate: Gate
    encoder: object  # nlp.encoder.Encoder
    languages: frozenset[str]  # languages the examples are written in
    column_of: dict[str, int]  # entry id -> its column in the model
    mean_cosine: float  # an example's mean cosine to all centroids, averaged: where same-language questions sit
    space: IntentSpace | None = None  # applied to examples and questions alike (nlp.space)
    vocab: tuple[Vocab, ...] = ()  # per model column: the word terms of the entry's examples (the gate's coverage)
    column_languages: tuple[frozenset[str], ...] = ()  # per model column: the languages of the entry's examples

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.encoder.embed(texts)  # type: ignore[attr-defined]
        return self.space.apply(vectors) if self.space is not None else vectors


def words_of(text: str, lang: str, featurize: Featurizer = terms) -> Vocab:
    """A message's word terms for the gate's coverage feature (concept and number terms left out: they are not
    words the customer chose)."""
    return frozenset(t for t in featurize(text, lang) if t.startswith(WORD) and t[2:3] not in ("@", "#"))


def fingerprint(kb: KnowledgeBase) -> str:
    h = hashlib.blake2b(digest_size=16)
    for e in kb.entries:
        h.update(e.id.encode())
        for lang in sorted(e.examples):
            for t in e.examples[lang]:
                h.update(b"\x00" + lang.encode() + b"\x01" + t.encode("utf-8"))
    return h.hexdigest()


_BUILT: dict[tuple[str, str], SemanticIndex | None] = {}


def semantic_for(fingerprint: str, kb: KnowledgeBase, encoder: object,
                  stop: threading.Event | None = None) -> SemanticIndex | None:
    """Build once per knowledge-base content and encoder: several hubs in one process share it."""
    space = load_space(getattr(encoder, "name", ""))
    key = (fingerprint, getattr(encoder, "name", ""), space.version if space is not None else "")
    if key not in _BUILT:
        if len(_BUILT) >= 4:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[key] = _build_semantic(fingerprint, kb, encoder, space, stop)
    return _BUILT[key]


def _build_semantic(fingerprint: str, kb: KnowledgeBase, encoder: object,
                    space: IntentSpace | None = None, stop: threading.Event | None = None) -> SemanticIndex | None:
    texts: list[str] = []
    labels: list[int] = []
    words: list[Vocab] = []
    for e, entry in enumerate(kb.entries):
        for lang in sorted(entry.examples):
            for t in entry.examples[lang]:
                texts.append(t)
                labels.append(e)
                words.append(words_of(t, lang))
    if len(set(labels)) < 2:
        return None
    vectors = embed_cached(encoder, texts, f"kb-{fingerprint[:16]}", stop)  # type: ignore[arg-type]
    bg_pairs = [(t, lang) for lang in ("en", "th", "fa") for t in background_for(lang)]
    background = [t for t, _ in bg_pairs]
    bg_words = [words_of(t, lang) for t, lang in bg_pairs]
    bg = embed_cached(encoder, background, "background", stop) if background else None  # type: ignore[arg-type]
    if space is not None:  # the cache keeps the encoder's own vectors; the space is cheap to apply again
        vectors = space.apply(vectors)
        bg = space.apply(bg) if bg is not None else None
    y = np.array(labels)
    entries = tuple(sorted(set(labels)))
    model = train_entry_model(vectors, y, entries)
    gate = fit_gate(vectors, y, bg, train_entry_model, words=words, background_words=bg_words)
    mean_cosine = float((vectors @ model.centroids.T).mean())
    languages = frozenset(lang for entry in kb.entries for lang, ex in entry.examples.items() if ex)
    column_of = {kb.entries[e].id: col for col, e in enumerate(model.entries)}
    vocab: dict[int, set[str]] = {}
    for w, e in zip(words, labels):
        vocab.setdefault(e, set()).update(w)
    per_column = tuple(frozenset(vocab.get(e, ())) for e in model.entries)
    column_languages = tuple(frozenset(lg for lg, ex in kb.entries[e].examples.items() if ex) for e in model.entries)
    return SemanticIndex(model, gate, encoder, languages, column_of, mean_cosine, space, per_column, column_languages)
