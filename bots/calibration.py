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

MAX_SAMPLES = 400
# Ridge on the gate's weights: a small knowledge base replays only a few dozen questions, which a free fit would
# separate perfectly with huge weights (and then trust only near-copies of its examples).
GATE_L2 = 0.001  # replayed examples per language: enough for three weights, cheap for a big knowledge base


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


# --- the semantic index's gate ---------------------------------------------------------------------------------

Vocab = frozenset  # an entry's (or a message's) word terms, bots.features.WORD prefixed

# The fifth gate feature: the share of the message's words that the candidate entry's examples use.  Meaning alone
# cannot tell "is learning Thai hard?" from a shipping question (both are about Thailand and the shop's country); an
# off-topic question shares almost none of an entry's words, a paraphrase most.  How much it counts is fitted per
# knowledge base by the replay, like the other features: strong where examples are close to how customers write,
# near nothing where they are not.
USE_COVERAGE = True


def word_coverage(query: Vocab, vocab: Vocab) -> float:
    """Share of the query's words found in `vocab` (1.0 for a message without words: nothing to judge)."""
    return len(query & vocab) / len(query) if query else 1.0


@dataclass(frozen=True, slots=True)
class Gate:
    """P(the top entry answers the message) from (top softmax probability, its margin over the runner-up, cosine
    to the top entry's centroid, that cosine's margin over the next closest centroid[, word coverage])."""

    beta: tuple[float, ...]
    # A message in a language the examples are not written in shares no words with any entry: it gets this value
    # instead (the replayed in-scope questions' mean), so a cross-language answer is judged on meaning alone.
    neutral_coverage: float = 1.0

    @property
    def uses_coverage(self) -> bool:
        return len(self.beta) > 5

    def confidence(self, p1: float, p_margin: float, cos1: float, cos_margin: float,
                   coverage: float | None = None) -> float:
        b = self.beta
        z = b[0] + b[1] * p1 + b[2] * p_margin + b[3] * cos1 + b[4] * cos_margin
        if len(b) > 5:
            z += b[5] * (self.neutral_coverage if coverage is None else coverage)
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))

    @classmethod
    def default(cls) -> Gate:
        # Too small a knowledge base to replay: answer only a clear, close match.
        return cls((-40.0, 4.0, 2.0, 40.0, 10.0))


def gate_features(probs: Any, cosines: Any) -> list[tuple[tuple[float, float, float, float], int]]:
    """Gate features and the top column for each row of softmax probabilities and centroid cosines."""
    out = []
    for p, c in zip(probs, cosines):
        order = p.argsort()[::-1]
        top = int(order[0])
        p2 = float(p[order[1]]) if len(order) > 1 else 0.0
        others = [float(c[i]) for i in range(len(c)) if i != top]
        c2 = max(others) if others else 0.0
        out.append(((float(p[top]), float(p[top]) - p2, float(c[top]), float(c[top]) - c2), top))
    return out


def fit_gate(vectors: Any, labels: Any, background: Any, train: Any, folds: int = 4, seed: int = 7,
             hard_share: float = 0.3, query_share: float = 0.2, in_share: float = 0.95,
             words: list[Vocab] | None = None, background_words: list[Vocab] | None = None) -> Gate:
    """Fit a `Gate` by replaying the knowledge base against itself.

    Entries are dealt into `folds` groups.  For each group, a model is trained (`train(vectors, labels, entries)`)
    on the other entries with most of their examples; the rest are in-scope questions (right when their own
    entry comes first) and the held-out group's examples, plus the background chat, are out-of-scope questions,
    which is what a customer's unanswerable question looks like: close to the topics, yet none of them.

    The replay is harder than service on both sides (fewer examples per entry, out-of-scope questions drawn from
    the knowledge base's own domain), so with even class weights the gate would turn down most answerable
    questions.  `in_share` weighs the in-scope side (0.95, chosen on clinc150's dev split and checked on
    banking77, truevoice and the Persian set): at the default threshold 0.6 the bot then answers about 80% of
    answerable questions while turning down about 90% of out-of-scope ones.  `hard_share` is the part of the
    out-of-scope weight given to held-out entries rather than the background chat.

    `words` (each example's word terms) and `background_words` add the word-coverage feature: a question's words
    against the vocabulary of the candidate entry's examples that stayed in the model.
    """
    import numpy as np

    rng = random.Random(seed)
    by_entry: dict[int, list[int]] = {}
    for i, e in enumerate(labels):
        by_entry.setdefault(int(e), []).append(i)
    usable = [e for e, rows in by_entry.items() if len(rows) >= 2]
    if len(usable) < 4 or len(labels) < 20:
        return Gate.default()
    cover = USE_COVERAGE and words is not None
    rng.shuffle(usable)
    groups = [usable[i::folds] for i in range(folds)]
    xs: list[tuple[float, ...]] = []
    ys: list[int] = []
    scope: list[int] = []

    def add(x: tuple[float, ...], top: int, y: int, group: int, q: Vocab | None, vocab: dict[int, Vocab]) -> None:
        if cover:
            x = (*x, word_coverage(q or frozenset(), vocab.get(top, frozenset())))
        xs.append(x)
        ys.append(y)
        scope.append(group)

    for held in groups:
        held_set = set(held)
        kept = [e for e in by_entry if e not in held_set]
        train_rows, query_rows = [], []
        for e in kept:
            rows = list(by_entry[e])
            rng.shuffle(rows)
            if len(rows) >= 2:
                # Most of the entry stays in the model, as it will in service; the rest are the questions.
                cut = max(1, len(rows) - max(1, round(len(rows) * query_share)))
                train_rows += rows[:cut]
                query_rows += rows[cut:]
            else:
                train_rows += rows
        model = train(vectors[train_rows], labels[train_rows], tuple(sorted(kept)))
        cols = model.entries
        vocab: dict[int, Vocab] = {}
        if cover:
            acc: dict[int, set[str]] = {}
            for r in train_rows:
                acc.setdefault(cols.index(int(labels[r])), set()).update(words[r])  # type: ignore[index]
            vocab = {c: frozenset(v) for c, v in acc.items()}
        s = model.scores(vectors[query_rows])
        for (x, top), r in zip(gate_features(s.probs, s.cosines), query_rows):
            add(x, top, int(cols[top] == int(labels[r])), 1, words[r] if cover else None, vocab)  # type: ignore[index]
        out_rows = [r for e in held for r in by_entry[e]]
        s = model.scores(vectors[out_rows])
        for (x, top), r in zip(gate_features(s.probs, s.cosines), out_rows):
            add(x, top, 0, 0, words[r] if cover else None, vocab)  # type: ignore[index]
        if background is not None and len(background):
            s = model.scores(background)
            for i, (x, top) in enumerate(gate_features(s.probs, s.cosines)):
                add(x, top, 0, 2, background_words[i] if cover and background_words else None, vocab)
    n_in, n_hard, n_bg = scope.count(1), scope.count(0), scope.count(2)
    if not n_in or not (n_hard or n_bg):
        return Gate.default()
    hard = hard_share if n_bg else 1.0
    out_share = 1.0 - in_share
    share = {1: in_share / n_in, 0: out_share * hard / max(n_hard, 1), 2: out_share * (1 - hard) / max(n_bg, 1)}
    ws = [share[g] * len(xs) for g in scope]
    neutral = float(np.mean([x[-1] for x, g in zip(xs, scope) if g == 1])) if cover else 1.0
    return Gate(tuple(_fit(xs, ys, ws, l2=GATE_L2)), neutral)
