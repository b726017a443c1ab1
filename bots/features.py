"""Turning a message into sparse term counts for retrieval.

Two kinds of terms, kept apart by a prefix so the matcher can weigh them:

- "w:" word terms: stemmed words (en), stem candidates (fa), dictionary words (th).  Precise, but blind to typos,
  to words the Thai dictionary does not know and to Persian spelling variants.
- "c:" character trigrams, within word boundaries for en/fa and over the whole tone-stripped text for Thai (which
  has no word boundaries to respect).  Forgiving: "warrenty" still shares most trigrams with "warranty", and Thai
  needs no segmentation at all.

- "w:@concept" terms from the concept lexicon (bots/data/lexicon.yaml): synonyms meet even when the knowledge
  base uses only one of them.

Numbers become one "w:#" term: an order number says "this is about an order" whatever its digits.
Imports the language layer (nlp.normalize, nlp.thai) only.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from importlib import resources

import yaml

from nlp import thai
from nlp.normalize import EN_STOPWORDS, FA_STOPWORDS, normalize, stem_en, stem_fa, strip_thai_tones

__all__ = ["terms", "WORD", "CHAR"]

WORD = "w:"
CHAR = "c:"


def _add(counts: dict[str, float], term: str, weight: float = 1.0) -> None:
    counts[term] = counts.get(term, 0.0) + weight


def _char_grams(counts: dict[str, float], word: str, n: int = 3) -> None:
    padded = f"<{word}>"
    if len(padded) <= n:
        _add(counts, CHAR + padded)
        return
    for i in range(len(padded) - n + 1):
        _add(counts, CHAR + padded[i:i + n])


class _Lexicon:
    """Concept forms of one language, split into single words (a dict lookup) and phrases (a substring test)."""

    def __init__(self, lang: str, concepts: dict[str, list[str]]) -> None:
        self.words: dict[str, set[str]] = {}
        self.phrases: list[tuple[str, str]] = []
        for concept, forms in concepts.items():
            for form in forms:
                key = self._key(lang, str(form))
                if lang != "th" and " " not in key:
                    self.words.setdefault(key, set()).add(concept)
                else:
                    self.phrases.append((f" {key} " if lang != "th" else key, concept))

    @staticmethod
    def _key(lang: str, form: str) -> str:
        norm = normalize(form, lang)
        if lang == "th":
            return strip_thai_tones(norm)
        if lang in ("fa", "ar"):
            return " ".join(stem_fa(w)[0] for w in norm.split())
        return " ".join(stem_en(w) for w in norm.split())

    def add(self, counts: dict[str, float], tokens: list[list[str]] | None, text: str) -> None:
        """Add "w:@concept" once per concept found: in `tokens` (candidate forms per word) or in `text`."""
        found: set[str] = set()
        if tokens is not None:
            for cands in tokens:
                for c in cands:
                    hit = self.words.get(c)
                    if hit:
                        found |= hit
        for phrase, concept in self.phrases:
            if concept not in found and phrase in text:
                found.add(concept)
        for concept in found:
            _add(counts, WORD + "@" + concept)


@lru_cache(maxsize=8)
def _lexicon(lang: str) -> _Lexicon:
    data = yaml.safe_load(resources.files("bots").joinpath("data/lexicon.yaml").read_text(encoding="utf-8"))
    key = "fa" if lang == "ar" else lang
    return _Lexicon(lang, data.get(key) or {})


def _en(norm: str, counts: dict[str, float]) -> None:
    stems = [stem_en(w) for w in norm.split()]
    _lexicon("en").add(counts, [[s] for s in stems], f" {' '.join(stems)} ")
    for w in norm.split():
        if w.isdigit():
            _add(counts, WORD + "#")
            continue
        if w in EN_STOPWORDS:
            continue
        _add(counts, WORD + stem_en(w))
        _char_grams(counts, w)


def _fa(norm: str, counts: dict[str, float]) -> None:
    variants_all = [stem_fa(w) for w in norm.split()]
    _lexicon("fa").add(counts, variants_all, f" {' '.join(v[0] for v in variants_all)} ")
    for w in norm.split():
        if w.isdigit():
            _add(counts, WORD + "#")
            continue
        if w in FA_STOPWORDS:
            continue
        variants = stem_fa(w)
        # The full word counts fully; each shorter stem candidate a little less, being a guess.
        for i, v in enumerate(variants):
            _add(counts, WORD + v, 1.0 if i == 0 else 0.6)
        _char_grams(counts, variants[0])


def _th(norm: str, counts: dict[str, float]) -> None:
    kept: list[str] = []
    for tok in thai.segment(norm):
        if tok.isdigit():
            _add(counts, WORD + "#")
            continue
        if tok.isascii():  # a Latin word inside Thai text ("size M", "JCB")
            _add(counts, WORD + stem_en(tok))
            _char_grams(counts, tok)
            continue
        _add(counts, WORD + strip_thai_tones(tok))
        kept.append(tok)
    _lexicon("th").add(counts, None, strip_thai_tones(norm).replace(" ", ""))
    # Trigrams across the whole message with particles removed: segmentation mistakes cannot hurt them.
    text = strip_thai_tones("".join(kept))
    if text:
        _char_grams(counts, text)


# (text, lang) -> term counts: `terms` below, or another for an experiment (bots.matcher, bots.semantic_index).
Featurizer = Callable[[str, str], dict[str, float]]


def terms(text: str, lang: str) -> dict[str, float]:
    """Term counts of `text` for the index of language `lang` ("th", "fa"/"ar", anything else as English)."""
    norm = normalize(text, lang)
    counts: dict[str, float] = {}
    if lang == "th":
        _th(norm, counts)
    elif lang in ("fa", "ar"):
        _fa(norm, counts)
    else:
        _en(norm, counts)
    return counts
