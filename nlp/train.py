"""Training the complaint and kind classifiers (needs the `train` extra: scikit-learn).

`hub nlp train` (hub.cli) runs `train()`: it reads the documented sources (nlp.corpus, checksums verified), adds
the labels agents produced at the desk (nlp.labels), embeds every text with the sentence encoder when it is
installed (cached on disk by text hash, so a retrain embeds only new texts), fits one logistic regression per task
over [embedding | hashed TF-IDF], picks each language's complaint threshold on the dev split, evaluates on the
held-back test split, and installs the new artifacts only when they are not worse than the installed ones.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp import corpus, features
from nlp.corpus import Example
from nlp.encoder import Encoder, load_encoder

log = logging.getLogger("nlp.train")


class EmbeddingCache:
    """Embeddings of training texts on disk, keyed by the text's hash, so retraining embeds only what is new."""

    def __init__(self, folder: Path, encoder: Encoder | None = None) -> None:
        self.folder = folder
        self.encoder = encoder or load_encoder()
        name = self.encoder.name if self.encoder else "none"
        self.path = folder / f"embeddings-{name}.npz"
        self._index: dict[bytes, int] = {}
        self._rows: list[np.ndarray] = []
        if self.path.exists():
            data = np.load(self.path)
            for i, k in enumerate(data["keys"]):
                self._index[bytes(k)] = i
            self._rows = list(data["vecs"])

    @staticmethod
    def _key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._index, key=self._index.__getitem__), dtype="S12")
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=keys, vecs=np.stack(self._rows) if self._rows else np.zeros((0, 1), np.float32))
        tmp.replace(self.path)

    def embed(self, texts: Sequence[str], progress: bool = False, batch: int = 64) -> np.ndarray:
        if self.encoder is None:
            raise RuntimeError("no sentence encoder installed")
        todo = list(dict.fromkeys(t for t in texts if self._key(t) not in self._index))
        started = time.monotonic()
        for n, i in enumerate(range(0, len(todo), batch)):
            chunk = todo[i:i + batch]
            for t, v in zip(chunk, self.encoder.embed(chunk)):
                self._index[self._key(t)] = len(self._rows)
                self._rows.append(v.astype(np.float32))
            if n % 50 == 49:
                self.save()
                if progress:
                    log.warning("embedded %d of %d new texts (%.0f s)", i + len(chunk), len(todo),
                                time.monotonic() - started)
        if todo:
            self.save()
        return np.stack([self._rows[self._index[self._key(t)]] for t in texts]) if texts else np.zeros((0, 0))


# --- fitting ------------------------------------------------------------------------------------------------------

KIND_CLASSES = corpus.KINDS
MIN_PRECISION = 0.80  # the product's goal: recall as high as it goes while precision stays at or above this


@dataclass
class Dataset:
    examples: list[Example]
    emb: np.ndarray | None  # (n, dim) or None without an encoder
    lex: Any  # scipy CSR (n, DIM)


def _idf(examples: Sequence[Example]) -> np.ndarray:
    df = np.zeros(features.DIM, np.float64)
    for ex in examples:
        for k, _ in features.counts(ex.text, ex.lang):
            df[k] += 1
    n = len(examples)
    return np.log((1.0 + n) / (1.0 + df)).astype(np.float32) + 1.0


def _lexical(examples: Sequence[Example], idf: np.ndarray) -> Any:
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for i, ex in enumerate(examples):
        idx, val = features.tfidf(ex.text, ex.lang, idf)
        rows.append(np.full(len(idx), i))
        cols.append(idx)
        vals.append(val)
    return csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(len(examples), features.DIM), dtype=np.float32)


def _design(ds: Dataset, full: bool, emb_scale: float) -> Any:
    from scipy.sparse import csr_matrix, hstack

    if not full or ds.emb is None:
        return ds.lex
    return hstack([csr_matrix(ds.emb * emb_scale), ds.lex]).tocsr()


def _weights(examples: Sequence[Example], source_weight: dict[str, float]) -> np.ndarray:
    """Each source weighs by its size's square root: big sets lead, the small Persian set still counts."""
    sizes: dict[str, int] = {}
    for ex in examples:
        sizes[ex.source] = sizes.get(ex.source, 0) + 1
    w = np.array([source_weight.get(ex.source, 1.0) * np.sqrt(sizes[ex.source]) / sizes[ex.source]
                  for ex in examples])
    return w * len(examples) / w.sum()


def _split_head(coef: np.ndarray, intercept: np.ndarray, classes: Sequence[str], dim: int | None,
                emb_scale: float) -> Any:
    from nlp.models import Head

    coef = np.atleast_2d(coef).T  # (features, K)
    emb = None
    if dim:
        emb, coef = coef[:dim] * emb_scale, coef[dim:]
    return Head(tuple(classes), coef.astype(np.float32), np.atleast_1d(intercept).astype(np.float32),
                None if emb is None else emb.astype(np.float32))


def pick_threshold(y: np.ndarray, p: np.ndarray, min_precision: float = MIN_PRECISION) -> tuple[float, float, float]:
    """(threshold, precision, recall): the highest recall at precision >= min_precision, else the best F1."""
    order = np.argsort(-p)
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys)
    prec = tp / np.arange(1, len(ys) + 1)
    rec = tp / max(ys.sum(), 1)
    ok = np.flatnonzero(prec >= min_precision)
    if len(ok):
        i = ok[-1]
    else:
        f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-9)
        i = int(f1.argmax())
    return float(ps[i]), float(prec[i]), float(rec[i])


def auc(y: np.ndarray, p: np.ndarray) -> float:
    pos, neg = p[y == 1], p[y == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    ranks = np.argsort(np.argsort(np.concatenate([pos, neg]))) + 1
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


@dataclass
class Report:
    per_lang: dict[str, dict[str, float]] = field(default_factory=dict)

    def score(self) -> float:
        """One number to compare models: mean test recall at the dev-chosen thresholds, over languages."""
        vals = [v["recall"] for v in self.per_lang.values() if "recall" in v]
        return float(np.mean(vals)) if vals else 0.0


def _fit_binary(X: Any, y: np.ndarray, w: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000, solver="liblinear").fit(X, y, sample_weight=w)


def _fit_kind(X: Any, y: np.ndarray, w: np.ndarray, c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000).fit(X, y, sample_weight=w)


def build(examples: list[Example], encoder_name: str | None, embed: Any, *, c: float = 4.0, emb_scale: float = 2.0,
          source_weight: dict[str, float] | None = None) -> tuple[Any, dict[str, Any]]:
    """Fit both variants on the train split; thresholds per language on dev; figures on dev and test.

    `embed(texts) -> array` gives sentence embeddings (None: lexical variant only).  Returns (TextModels, report).
    """
    from nlp.models import TextModels

    source_weight = source_weight or {}
    train = [e for e in examples if e.split == "train"]
    idf = _idf(train)
    parts = {s: [e for e in examples if e.split == s] for s in ("train", "dev", "test")}
    sets = {s: Dataset(exs, embed([e.text for e in exs]) if embed else None, _lexical(exs, idf))
            for s, exs in parts.items()}
    heads: dict[str, Any] = {}
    thresholds: dict[str, dict[str, float]] = {}
    report: dict[str, Any] = {}
    variants = ["lexical"] + (["full"] if embed else [])
    for variant in variants:
        full = variant == "full"
        dim = sets["train"].emb.shape[1] if full else None
        tr = sets["train"]
        X = _design(tr, full, emb_scale)
        y = np.array([e.complaint for e in tr.examples], dtype=int)
        w = _weights(tr.examples, source_weight)
        model = _fit_binary(X, y, w, c)
        heads[f"{variant}.complaint"] = _split_head(model.coef_[0], model.intercept_, ["complaint"], dim, emb_scale)
        kind_idx = [i for i, e in enumerate(tr.examples) if e.kind]
        ky = np.array([KIND_CLASSES.index(tr.examples[i].kind) for i in kind_idx])
        kmodel = _fit_kind(X[kind_idx], ky, w[kind_idx], c)
        classes = [KIND_CLASSES[int(k)] for k in kmodel.classes_]
        heads[f"{variant}.kind"] = _split_head(kmodel.coef_, kmodel.intercept_, classes, dim, emb_scale)
        thresholds[variant] = {}
        figures: dict[str, Any] = {}
        for split in ("dev", "test"):
            ds = sets[split]
            Xs = _design(ds, full, emb_scale)
            p = model.predict_proba(Xs)[:, 1]
            yk = [e.kind for e in ds.examples]
            kp = kmodel.predict(Xs)
            for lang in sorted({e.lang for e in ds.examples}):
                sel = np.array([e.lang == lang for e in ds.examples])
                ys = np.array([e.complaint for e in ds.examples], dtype=int)[sel]
                if split == "dev":
                    th, _, _ = pick_threshold(ys, p[sel])
                    thresholds[variant][lang] = round(th, 4)
                th = thresholds[variant].get(lang, 0.5)
                pred = p[sel] >= th
                tp = int((pred & (ys == 1)).sum())
                ksel = [i for i in np.flatnonzero(sel) if yk[i]]
                figures.setdefault(split, {})[lang] = {
                    "n": int(sel.sum()), "positives": int(ys.sum()),
                    "precision": round(tp / max(int(pred.sum()), 1), 3), "recall": round(tp / max(int(ys.sum()), 1), 3),
                    "auc": round(auc(ys, p[sel]), 3), "threshold": round(th, 4),
                    "kind_accuracy": round(float(np.mean([KIND_CLASSES[0] if False else classes[int(np.flatnonzero(kmodel.classes_ == kp[i])[0])] == yk[i] for i in ksel])), 3) if ksel else None,
                }
        thresholds[variant]["*"] = round(float(np.median(list(thresholds[variant].values()))), 4)
        report[variant] = figures
    meta = {
        "version": time.strftime("%Y%m%d%H%M%S"),
        "encoder": encoder_name if embed else None,
        "thresholds": thresholds,
        "figures": report,
        "training": {"examples": len(train), "c": c, "emb_scale": emb_scale,
                     "by_source": {s: sum(e.source == s for e in train) for s in sorted({e.source for e in train})}},
    }
    return TextModels(idf, heads, meta), report
