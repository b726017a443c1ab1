"""Confidence calibration: from raw retrieval scores to the probability that an answer is right.

A raw cosine means different things for a 20-entry and a 1,000-entry knowledge base, and for Thai trigrams and
English words, so no fixed cut-off works everywhere.  When an index is built, `fit_calibration` replays the
knowledge base against itself: each example phrasing (a sample of them for big bases) is matched with itself and
about half of its entry's other examples left out, and labelled right or wrong by whether its own entry came first; each background message (the out-of-scope
pseudo-entry, left out likewise) is a negative.  A logistic regression over (best score, margin over the runner-up
entry, gap over the background, query word coverage) is fitted to those labels with both classes weighted equally, so
a confidence of 0.6 means "six in ten such answers were right" at an even prior of in- and out-of-scope messages.

Imports PyYAML and the standard library; the index is passed in (duck-typed, see `bots.matcher.LanguageIndex`).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = ["Calibration", "background_for", "fit_calibration"]

MAX_SAMPLES = 400  # replayed examples per language: enough for three weights, cheap for a big knowledge base


@dataclass(frozen=True, slots=True)
class Calibration:
    bias: float
    w_score: float
    w_margin: float
    w_gap: float
    w_coverage: float

    def confidence(self, score: float, margin: float, gap: float, coverage: float) -> float:
        z = self.bias + self.w_score * score + self.w_margin * margin + self.w_gap * gap + self.w_coverage * coverage
        if z < -30.0:
            return 0.0
        return 1.0 / (1.0 + math.exp(-z))

    @classmethod
    def default(cls) -> Calibration:
        """Used when there is too little to fit on: answers only clear, well separated matches."""
        return cls(bias=-7.0, w_score=8.0, w_margin=6.0, w_gap=3.0, w_coverage=3.0)


@lru_cache(maxsize=8)
def background_for(lang: str) -> tuple[str, ...]:
    data = yaml.safe_load(resources.files("bots").joinpath("data/background.yaml").read_text(encoding="utf-8"))
    return tuple(data.get(lang, ()))


def _features(index: Any, q: dict[str, float], held_out: frozenset[int], own: int | None,
              skip_background: int = -1) -> tuple[float, ...]:
    """(score, margin, gap, coverage, best entry) for `q` with the `held_out` examples removed from `own`."""
    scores: dict[int, float] = index.scores(q, skip_background)
    own_profile = None
    if own is not None:
        # Rebuild the entry's profile without the held-out examples, or the replay would flatter every entry.
        own_profile = dict(index.entry_terms[own])
        for d in held_out:
            for t, c in index.doc_terms[d].items():
                own_profile[t] = own_profile.get(t, 0.0) - c
        own_profile = {t: c for t, c in own_profile.items() if c > 1e-9}
        pv = index.vector(own_profile)
        scores[own] = sum(w * pv.get(t, 0.0) for t, w in q.items())
    background = scores.pop(index.background, 0.0)
    if not scores:
        return 0.0, 0.0, -background, 0.0, -1
    ordered = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    top, s1 = ordered[0]
    s2 = ordered[1][1] if len(ordered) > 1 else 0.0
    cov = index.coverage(q, top, own_profile if top == own else None)
    return s1, s1 - s2, s1 - background, cov, top


def _fit(xs: list[tuple[float, ...]], ys: list[int], ws: list[float], l2: float = 0.01) -> list[float]:
    """Weighted logistic regression by Newton's method (four parameters: a 4x4 solve per step)."""
    dim = len(xs[0]) + 1
    beta = [0.0] * dim
    for _ in range(30):
        grad = [0.0] * dim
        hess = [[0.0] * dim for _ in range(dim)]
        for x, y, w in zip(xs, ys, ws):
            row = (1.0, *x)
            z = sum(b * v for b, v in zip(beta, row))
            p = 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
            for i in range(dim):
                grad[i] += w * (y - p) * row[i]
                for j in range(dim):
                    hess[i][j] += w * p * (1.0 - p) * row[i] * row[j]
        for i in range(1, dim):  # ridge on the weights, not the bias
            grad[i] -= l2 * beta[i]
            hess[i][i] += l2
        step = _solve(hess, grad)
        beta = [b + s for b, s in zip(beta, step)]
        if max(abs(s) for s in step) < 1e-6:
            break
    return beta


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        if abs(m[c][c]) < 1e-12:
            return [0.0] * n
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit_calibration(index: Any, seed: int = 7) -> Calibration:
    """Fit a `Calibration` for one language index by replaying its own examples and background messages."""
    rng = random.Random(seed)
    docs = list(range(len(index.doc_entry)))
    # Entries with a single example cannot be replayed: nothing of theirs would be left to match.
    counts: dict[int, int] = {}
    for d in docs:
        counts[index.doc_entry[d]] = counts.get(index.doc_entry[d], 0) + 1
    docs = [d for d in docs if counts[index.doc_entry[d]] > 1]
    bg_docs = list(range(len(index.background_docs)))
    if len(docs) > MAX_SAMPLES:
        docs = rng.sample(docs, MAX_SAMPLES)
    if len(docs) < 10 or len(bg_docs) < 10:
        return Calibration.default()
    xs: list[tuple[float, ...]] = []
    ys: list[int] = []
    groups: list[int] = []
    by_entry: dict[int, list[int]] = {}
    for d, e in enumerate(index.doc_entry):
        by_entry.setdefault(e, []).append(d)
    for d in docs:
        own = index.doc_entry[d]
        # Hold out the example and about half of its siblings: a real question is a new paraphrase, not the
        # near-twin of an example that a leave-one-out replay would still find.
        siblings = [s for s in by_entry[own] if s != d]
        held = frozenset([d, *rng.sample(siblings, len(siblings) // 2)])
        q = index.vector(index.doc_terms[d])
        *x, top = _features(index, q, held, own)
        xs.append(tuple(x))
        ys.append(1 if top == own else 0)
        groups.append(1)
    for d in bg_docs:
        q = index.vector(index.background_docs[d])
        *x, _ = _features(index, q, frozenset(), None, skip_background=d)
        xs.append(tuple(x))
        ys.append(0)
        groups.append(0)
    n_in, n_out = groups.count(1), groups.count(0)
    ws = [0.5 / n_in if g else 0.5 / n_out for g in groups]
    total = len(xs)
    ws = [w * total for w in ws]
    b = _fit(xs, ys, ws)
    return Calibration(bias=b[0], w_score=b[1], w_margin=b[2], w_gap=b[3], w_coverage=b[4])
