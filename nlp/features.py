"""Lexical text features for the learned models: hashed, sublinear TF-IDF over character n-grams and words.

Character 2-5 grams (inside word boundaries for spaced scripts, over the whole space-free text for Thai) carry
spelling variants, typos, Persian stems with their suffixes and unsegmented Thai; words (pythainlp's newmm for
Thai) add the whole-word evidence.  Both are hashed into `DIM` buckets with CRC-32, so the feature space needs no
vocabulary file: a model is its IDF vector and weights, and training (nlp.train) and inference share this code.
Imports numpy and the language layer's normaliser.
"""
from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

from nlp import thai
from nlp.normalize import normalize

__all__ = ["DIM", "counts", "tfidf"]

DIM = 1 << 18
_MASK = DIM - 1


def _grams(out: dict[int, float], text: str, lo: int = 2, hi: int = 5) -> None:
    n = len(text)
    for size in range(lo, hi + 1):
        for i in range(n - size + 1):
            h = zlib.crc32(text[i:i + size].encode("utf-8")) & _MASK
            out[h] = out.get(h, 0.0) + 1.0


@lru_cache(maxsize=4096)
def counts(text: str, lang: str) -> tuple[tuple[int, float], ...]:
    """Raw term counts of `text` as (bucket, count) pairs."""
    norm = normalize(text, lang if lang in ("th", "fa", "ar") else "en")
    out: dict[int, float] = {}
    if lang == "th":
        _grams(out, f" {norm.replace(' ', '')} ")
        words = thai.segment(norm, keep_stopwords=True)
    else:
        words = norm.split()
        for w in words:
            _grams(out, f" {w} ")
    for w in words:
        h = zlib.crc32(b"w:" + w.encode("utf-8")) & _MASK
        out[h] = out.get(h, 0.0) + 1.0
    return tuple(out.items())


def tfidf(text: str, lang: str, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, L2-normalised sublinear TF-IDF values) of one text."""
    pairs = counts(text, lang)
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    idx = np.fromiter((k for k, _ in pairs), np.int64, len(pairs))
    tf = np.fromiter((v for _, v in pairs), np.float32, len(pairs))
    val = (1.0 + np.log(tf)) * idf[idx]
    norm = float(np.sqrt((val * val).sum()))
    return idx, (val / norm if norm else val).astype(np.float32)
