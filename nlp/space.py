"""An intent space for FAQ matching: the encoder's embeddings with the directions that tell intents apart added.

A general-purpose sentence encoder places "what is my balance" and "top up my balance" close together, because they
share a topic; a helpdesk needs them apart, because they are different questions with different answers.  Linear
discriminant analysis over public intent-labelled questions (clinc150's 150 intents, the Thai call-centre intents
of truevoice; see DATA.md) finds the directions along which questions of different intents differ more than
paraphrases of one intent do.  Each fitted projection is appended to the embedding at a fixed weight and the whole
is renormalised, so the original space (which carries the cross-language alignment and the general meaning) stays,
and the intent directions are stretched.  Fitted on the sources' train splits; the weights and dimensions were
chosen on their dev splits (BENCHMARKS.md, "Language understanding").

Applied by the FAQ matcher's meaning-based index (bots.matcher) to the knowledge base's examples and to every
question alike; nothing else uses it.  Inference is numpy only; `fit_from_sources` (the `hub nlp space` command)
rebuilds the artifact from the documented files, checksums verified, with the sentence encoder.
"""
from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

__all__ = ["IntentSpace", "Part", "fit_lda", "load_space", "fit_from_sources", "DEFAULT_PATH"]

log = logging.getLogger("nlp.space")
DEFAULT_PATH = Path(__file__).parent / "data" / "intent_space.npz"

# (source, dimensions kept, weight of the part against the original embedding), chosen on the dev splits by one
# rule: the most questions answered right without answering more out-of-scope ones than the plain embeddings do.
# clinc150 keeps all 149 discriminant directions of its 150 intents, truevoice the 26 strongest of the 33 of its
# 34 action:object intents (more directions answered more Thai questions right but rejected fewer off-topic ones);
# 0.5 leaves the original space, and its alignment across languages, the larger share.
PARTS: tuple[tuple[str, int, float], ...] = (("truevoice", 26, 0.5), ("clinc150", 149, 0.5))
RIDGE = 0.05  # added to the normalised within-intent covariance: its smallest eigenvalues are noise


@dataclass(frozen=True)
class Part:
    name: str
    mean: np.ndarray  # (dim,)
    projection: np.ndarray  # (dim, k)
    weight: float


@dataclass(frozen=True)
class IntentSpace:
    encoder: str  # the encoder the projections were fitted on; another encoder's vectors do not fit
    parts: tuple[Part, ...]
    version: str

    @property
    def extra_dims(self) -> int:
        return sum(p.projection.shape[1] for p in self.parts)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        """(n, dim) unit rows -> (n, dim + extra) unit rows."""
        x = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        out = [x]
        for p in self.parts:
            z = (x - p.mean) @ p.projection
            z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-9)
            out.append(p.weight * z)
        full = np.concatenate(out, axis=1)
        full /= np.maximum(np.linalg.norm(full, axis=1, keepdims=True), 1e-9)
        return full.astype(np.float32)

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {}
        meta = {"encoder": self.encoder, "version": self.version,
                "parts": [{"name": p.name, "weight": p.weight} for p in self.parts]}
        for i, p in enumerate(self.parts):
            arrays[f"mean{i}"] = p.mean.astype(np.float32)
            arrays[f"projection{i}"] = p.projection.astype(np.float32)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **arrays)
        os.replace(tmp, path)


def fit_lda(vectors: np.ndarray, labels: Sequence[str], dims: int, ridge: float = RIDGE) -> tuple[np.ndarray, np.ndarray]:
    """Mean and projection (dim x dims) of linear discriminant analysis: the within-intent covariance whitened,
    then the directions of largest between-intent spread in that whitened space."""
    x = np.asarray(vectors, dtype=np.float64)
    y = np.asarray(labels)
    classes = sorted(set(y.tolist()))
    if len(classes) < 2:
        raise ValueError("an intent space needs at least two intents")
    mean = x.mean(axis=0)
    centred = x.copy()
    means = []
    for c in classes:
        rows = y == c
        m = x[rows].mean(axis=0)
        centred[rows] -= m
        means.append(m - mean)
    d = x.shape[1]
    within = centred.T @ centred / len(x)
    within *= d / max(float(np.trace(within)), 1e-12)  # unit average variance, so the ridge means the same anywhere
    w_vals, w_vecs = np.linalg.eigh(within + ridge * np.eye(d))
    whiten = w_vecs @ np.diag(w_vals ** -0.5) @ w_vecs.T
    between = np.stack(means)
    spread = whiten.T @ (between.T @ between / len(classes)) @ whiten
    b_vals, b_vecs = np.linalg.eigh(spread)
    keep = b_vecs[:, ::-1][:, :dims]
    # Sign of each eigenvector fixed by its largest component, so a refit on the same data gives the same file.
    signs = np.sign(keep[np.abs(keep).argmax(axis=0), np.arange(keep.shape[1])])
    return mean.astype(np.float32), (whiten @ (keep * signs)).astype(np.float32)


@lru_cache(maxsize=4)
def load_space(encoder: str, path: str | None = None) -> IntentSpace | None:
    """The shipped (or HUB_NLP_SPACE-named) intent space for `encoder`, or None: off, missing, or another encoder's."""
    choice = os.environ.get("HUB_NLP_SPACE", "").strip()
    if choice.lower() in ("none", "off"):
        return None
    p = Path(path or choice or DEFAULT_PATH)
    if not p.exists():
        return None
    try:
        with np.load(p, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            parts = tuple(Part(spec["name"], data[f"mean{i}"], data[f"projection{i}"], float(spec["weight"]))
                          for i, spec in enumerate(meta["parts"]))
    except (OSError, KeyError, ValueError) as exc:
        log.warning("intent space %s not loaded (%s): matching on the plain embeddings", p, exc)
        return None
    if meta.get("encoder") != encoder:
        log.info("intent space %s was fitted for %s, not %s: not used", p, meta.get("encoder"), encoder)
        return None
    return IntentSpace(meta["encoder"], parts, str(meta.get("version", "")))


# --- fitting from the documented sources ------------------------------------------------------------------------

def _clinc150(data: Path) -> tuple[list[str], list[str]]:
    d = json.loads((data / "clinc150-en" / "train_val.json").read_text(encoding="utf-8"))
    return [t for t, _ in d["train"]], [i for _, i in d["train"]]


def _truevoice(data: Path) -> tuple[list[str], list[str]]:
    from nlp.corpus import split_of

    texts: list[str] = []
    labels: list[str] = []
    seen: set[str] = set()
    with open(data / "truevoice-th" / "mari_train.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            t = row["texts"].strip()
            # The train split only (the dev split chose the settings, the test split reports them).
            if t and t not in seen and split_of(t) == "train":
                seen.add(t)
                texts.append(t)
                labels.append(f"{row['action']}:{row['object']}")
    return texts, labels


SOURCES = {"clinc150": _clinc150, "truevoice": _truevoice}


def fit_from_sources(data: Path, encoder: object, parts: Sequence[tuple[str, int, float]] = PARTS,
                     embed: object | None = None) -> IntentSpace:
    """Fit every part on its source's train split, embedding with `encoder` (or `embed(texts)` when given)."""
    from nlp import corpus

    corpus.verify(data)
    embed_fn = embed or (lambda texts: _embed_all(encoder, texts))
    fitted = []
    for name, dims, weight in parts:
        texts, labels = SOURCES[name](data)
        vectors = embed_fn(texts)  # type: ignore[operator]
        mean, projection = fit_lda(vectors, labels, dims)
        fitted.append(Part(name, mean, projection, weight))
        log.info("intent space: %s, %d questions, %d intents, %d directions", name, len(texts), len(set(labels)),
                 projection.shape[1])
    import time

    return IntentSpace(getattr(encoder, "name", ""), tuple(fitted), time.strftime("%Y%m%d%H%M%S", time.gmtime()))


def _embed_all(encoder: object, texts: list[str], batch: int = 64) -> np.ndarray:
    return np.concatenate([encoder.embed(texts[i:i + batch]) for i in range(0, len(texts), batch)])  # type: ignore[attr-defined]
