"""Meaning-based retrieval of the knowledge-base entry for a message, over sentence embeddings (nlp.encoder).

One index for every language: all example phrasings of all languages sit in one multilingual space, so a Persian
question finds an entry that only has English examples.  An entry is scored two ways:

- a softmax classifier over the entries, trained on the example embeddings when the knowledge base loads (which
  learns what tells neighbouring entries apart far better than distances alone), and
- the cosine to the entry's centroid (the mean of its examples), which says how close the message is in absolute
  terms: a confident softmax over entries that are all far away is an out-of-scope message.

Both are mapped to a probability of being right by `Gate`, fitted on the knowledge base itself (bots.calibration).
Imports numpy and the language layer's encoder interface.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EntryModel", "SemanticScores", "train_entry_model"]

SCALE = 30.0  # embeddings are unit vectors: a temperature that lets the softmax become confident
L2 = 1e-3
EPOCHS = 200
RATE = 0.5


@dataclass(frozen=True)
class EntryModel:
    entries: tuple[int, ...]  # entry numbers of the knowledge base, in column order
    weights: np.ndarray  # (dim, K)
    bias: np.ndarray  # (K,)
    centroids: np.ndarray  # (K, dim), unit rows

    def scores(self, q: np.ndarray) -> SemanticScores:
        """Scores of one or several query embeddings (rows)."""
        q2 = np.atleast_2d(q)
        z = (q2 * SCALE) @ self.weights + self.bias
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return SemanticScores(p, q2 @ self.centroids.T)


@dataclass(frozen=True)
class SemanticScores:
    probs: np.ndarray  # (n, K) softmax over entries
    cosines: np.ndarray  # (n, K) cosine to each entry's centroid


def train_entry_model(vectors: np.ndarray, labels: np.ndarray, entries: tuple[int, ...]) -> EntryModel:
    """Softmax regression by full-batch gradient descent (a few hundred milliseconds for 150 entries)."""
    k = len(entries)
    col = {e: i for i, e in enumerate(entries)}
    y = np.array([col[int(e)] for e in labels])
    x = vectors * SCALE
    w = np.zeros((vectors.shape[1], k), np.float32)
    b = np.zeros(k, np.float32)
    onehot = np.eye(k, dtype=np.float32)[y]
    # Every entry weighs the same whatever its number of examples.
    counts = onehot.sum(axis=0)
    sw = (1.0 / counts[y]) * (len(y) / k)
    for _ in range(EPOCHS):
        z = x @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * (sw / len(y))[:, None]
        w -= RATE * (x.T @ g + L2 * w)
        b -= RATE * g.sum(axis=0)
    cent = np.stack([vectors[y == i].mean(axis=0) for i in range(k)])
    cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-9)
    return EntryModel(tuple(entries), w, b, cent.astype(np.float32))
