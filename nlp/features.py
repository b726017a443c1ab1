"""Lexical text features for the learned models: hashed, sublinear TF-IDF over character n-grams and words.

Character 2-5 grams (inside word boundaries for spaced scripts, over the whole space-free text for Thai) carry
spelling variants, typos, Persian stems with their suffixes and unsegmented Thai; words (pythainlp's newmm for
Thai) add the whole-word evidence.  Both are hashed into `DIM` buckets with CRC-32, so the feature space needs no
vocabulary file: a model is its IDF vector and weights, and training (nlp.train) and inference share this code.
Imports numpy and the language layer's normaliser.
"""
from __future__ import annotations

import zlib
from collections import Counter
from functools import lru_cache

import numpy as np

from nlp import thai
from nlp.normalize import normalize

__all__ = ["DIM", "counts", "tfidf"]

DIM = 1 << 18
_MASK = DIM - 1


def _hashes(text: str, lo: int = 2, hi: int = 5) -> list[int]:
    n = len(text)
    return [zlib.crc32(text[i:i + size].encode("utf-8")) & _MASK
            for size in range(lo, hi + 1) for i in range(n - size + 1)]


@lru_cache(maxsize=8192)
def _word_grams(word: str) -> tuple[int, ...]:
    """The n-gram buckets of one word with its boundaries: words repeat from message to message, texts do not.
    A cached word costs ~1 KB, so the cache holds the commonest few thousand (~9 MB), not every typo ever seen."""
    return tuple(_hashes(f" {word} "))


def _word(word: str) -> int:
    return zlib.crc32(b"w:" + word.encode("utf-8")) & _MASK


@lru_cache(maxsize=4096)
def counts(text: str, lang: str) -> tuple[tuple[int, int], ...]:
    """Raw term counts of `text` as (bucket, count) pairs."""
    norm = normalize(text, lang if lang in ("th", "fa", "ar") else "en")
    # The same buckets in the same order as always (the shipped models' weights are summed in this order).
    if lang == "th":
        hashes = _hashes(f" {norm.replace(' ', '')} ")
        words = thai.segment(norm, keep_stopwords=True)
    else:
        hashes = []
        words = norm.split()
        for w in words:
            hashes += _word_grams(w)
    hashes += [_word(w) for w in words]
    return tuple(Counter(hashes).items())


def tfidf(text: str, lang: str, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, L2-normalised sublinear TF-IDF values) of one text."""
    pairs = counts(text, lang)
    if not pairs:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    table = np.array(pairs, np.int64)
    idx, tf = table[:, 0], table[:, 1].astype(np.float32)
    val = (1.0 + np.log(tf)) * idf[idx]
    norm = float(np.sqrt((val * val).sum()))
    return idx, (val / norm if norm else val).astype(np.float32)
