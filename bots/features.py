"""Turning a message into sparse term counts for retrieval.

Two kinds of terms, kept apart by a prefix so the matcher can weigh them:

- "w:" word terms: stemmed words (en), stem candidates (fa), dictionary words (th).  Precise, but blind to typos,
  to words the Thai dictionary does not know and to Persian spelling variants.
- "c:" character trigrams, within word boundaries for en/fa and over the whole tone-stripped text for Thai (which
  has no word boundaries to respect).  Forgiving: "warrenty" still shares most trigrams with "warranty", and Thai
  needs no segmentation at all.

Numbers become one "w:#" term: an order number says "this is about an order" whatever its digits.
Imports bots.normalize and bots.thai only.
"""
from __future__ import annotations

from bots import thai
from bots.normalize import EN_STOPWORDS, FA_STOPWORDS, normalize, stem_en, stem_fa, strip_thai_tones

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


def _en(norm: str, counts: dict[str, float]) -> None:
    for w in norm.split():
        if w.isdigit():
            _add(counts, WORD + "#")
            continue
        if w in EN_STOPWORDS:
            continue
        _add(counts, WORD + stem_en(w))
        _char_grams(counts, w)


def _fa(norm: str, counts: dict[str, float]) -> None:
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
    # Trigrams across the whole message with particles removed: segmentation mistakes cannot hurt them.
    text = strip_thai_tones("".join(kept))
    if text:
        _char_grams(counts, text)


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
