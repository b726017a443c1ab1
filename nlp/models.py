"""The learned classifiers at inference time: numpy only, no scikit-learn or scipy.

An artifact (nlp/data/models.npz plus models.json beside it) holds, for two variants, a complaint head (binary)
and a kind head (question, complaint, sales, callback, feedback):

- "full": over [sentence embedding | hashed TF-IDF]; used when the encoder (nlp.encoder) is installed;
- "lexical": over hashed TF-IDF only; used without the encoder, and the variant that carries the least risk.

Each head is a logistic regression exported as arrays: weights for the embedding part (dim x K), a dense
weight table for the hashed buckets (DIM x K, float16 on disk), a bias.  models.json records per-language complaint
thresholds chosen on dev splits, the dev/test figures, the sources and their checksums, and the encoder name.
"""
from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp import features
from nlp.encoder import Encoder, load_encoder

__all__ = ["Head", "Prediction", "TextModels", "DEFAULT_PATH", "installed_path", "load_models", "current_models"]

log = logging.getLogger("nlp.models")
DEFAULT_PATH = Path(__file__).parent / "data" / "models.npz"


@dataclass(frozen=True)
class Head:
    classes: tuple[str, ...]  # one name for a binary head (the positive class)
    lex: np.ndarray  # (DIM, K) float32
    bias: np.ndarray  # (K,)
    emb: np.ndarray | None = None  # (dim, K) or None for a lexical head

    def logits(self, vec: np.ndarray | None, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        z = self.bias.astype(np.float64).copy()
        if len(idx):
            z += val @ self.lex[idx]
        if self.emb is not None and vec is not None:
            z += vec @ self.emb
        return z


@dataclass(frozen=True, slots=True)
class Prediction:
    complaint: float  # probability that the message is a complaint
    threshold: float  # the language's complaint threshold
    kind: str  # most likely kind
    kind_probs: dict[str, float]
    variant: str  # "full" or "lexical"
    logit: float  # complaint log-odds, the outside signal included

    @property
    def is_complaint(self) -> bool:
        return self.complaint >= self.threshold


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))


@dataclass
class TextModels:
    idf: np.ndarray
    heads: dict[str, Head]  # "full.complaint", "full.kind", "lexical.complaint", "lexical.kind"
    meta: dict[str, Any]
    encoder: Encoder | None = None
    version: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def variant(self) -> str:
        return "full" if self.encoder is not None and "full.complaint" in self.heads else "lexical"

    def threshold(self, lang: str, variant: str | None = None) -> float:
        table = self.meta.get("thresholds", {}).get(variant or self.variant, {})
        return float(table.get(lang, table.get("*", 0.5)))

    def predict(self, text: str, lang: str, variant: str | None = None, signal: float = 0.0) -> Prediction:
        """`variant`: "lexical" to skip the encoder (cheaper, for a backlog); None for the best available."""
        variant = "lexical" if variant == "lexical" else self.variant
        vec = self.encoder.embed([text])[0] if variant == "full" and self.encoder is not None else None
        return self.predict_with(text, lang, vec, variant, signal)

    def signal_weight(self, lang: str, variant: str | None = None) -> float:
        """Log-odds per point of the outside signal (routing's lexicon score) for `lang`, as chosen on dev."""
        table = self.meta.get("signal_weights", {}).get(variant or self.variant, {})
        return float(table.get(lang, table.get("*", 0.0)))

    def predict_with(self, text: str, lang: str, vec: np.ndarray | None, variant: str,
                     signal: float = 0.0) -> Prediction:
        """`signal`: the outside score the thresholds were chosen with (routing's lexicon points, capped)."""
        idx, val = features.tfidf(text, lang, self.idf)
        z = float(self.heads[f"{variant}.complaint"].logits(vec, idx, val)[0]) + self.signal_weight(lang, variant) * signal
        kind_head = self.heads[f"{variant}.kind"]
        kz = kind_head.logits(vec, idx, val)
        kz = np.exp(kz - kz.max())
        kp = kz / kz.sum()
        probs = {c: round(float(p), 4) for c, p in zip(kind_head.classes, kp)}
        return Prediction(
            complaint=_sigmoid(z), threshold=self.threshold(lang, variant), kind=kind_head.classes[int(kp.argmax())],
            kind_probs=probs, variant=variant, logit=z,
        )

    # --- files ---------------------------------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        arrays: dict[str, np.ndarray] = {"idf": self.idf.astype(np.float16)}
        for name, h in self.heads.items():
            # Buckets no training text ever hit keep a zero weight: store the others only.
            used = np.flatnonzero(np.abs(h.lex).sum(axis=1) > 0)
            arrays[f"{name}.lex_idx"] = used.astype(np.int32)
            arrays[f"{name}.lex_w"] = h.lex[used].astype(np.float16)
            arrays[f"{name}.bias"] = h.bias.astype(np.float32)
            if h.emb is not None:
                arrays[f"{name}.emb"] = h.emb.astype(np.float32)
        meta = dict(self.meta, heads={n: list(h.classes) for n, h in self.heads.items()})
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)
        path.with_suffix(".json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH, encoder: Encoder | None = None) -> TextModels:
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        heads: dict[str, Head] = {}
        with np.load(path) as data:
            idf = data["idf"].astype(np.float32)
            for name, classes in meta["heads"].items():
                k = len(classes)
                lex = np.zeros((features.DIM, k), np.float32)
                lex[data[f"{name}.lex_idx"]] = data[f"{name}.lex_w"].astype(np.float32).reshape(-1, k)
                emb = data[f"{name}.emb"].reshape(-1, k) if f"{name}.emb" in data else None
                heads[name] = Head(tuple(classes), lex, data[f"{name}.bias"].reshape(k), emb)
        if encoder is not None and meta.get("encoder") != encoder.name:
            log.warning("models were trained with encoder %s, not %s: lexical variant only", meta.get("encoder"),
                        encoder.name)
            encoder = None
        return cls(idf, heads, meta, encoder, version=str(meta.get("version", "")))


def installed_path() -> Path:
    """Where `hub nlp train` installs models retrained with the desk's labels (HUB_MODEL_DIR, else the cache)."""
    env = os.environ.get("HUB_MODEL_DIR")
    from nlp.cache import cache_dir

    return (Path(env) if env else cache_dir() / "models") / "models.npz"


def _active_path() -> Path:
    p = installed_path()
    return p if p.exists() else DEFAULT_PATH


def _stamp(path: Path) -> tuple[str, int] | None:
    try:
        return str(path), path.stat().st_mtime_ns
    except OSError:
        return None


_current: TextModels | None = None
_current_stamp: tuple[str, int] | None = None
_checked = 0.0
_current_lock = threading.Lock()
RECHECK = 5.0  # seconds between looks at the model files: a retrained model is picked up without a restart


def load_models(path: Path | None = None) -> TextModels | None:
    """Load (and make current) the models at `path` (default: the installed ones, else the shipped ones)."""
    global _current, _current_stamp
    path = path or _active_path()
    try:
        models = TextModels.load(path, load_encoder())
    except (OSError, KeyError, ValueError) as exc:
        log.warning("language models at %s not loaded (%s): keyword lexicons only", path, exc)
        return None
    with _current_lock:
        _current, _current_stamp = models, _stamp(path)
    log.info("language models %s loaded from %s (%s variant)", models.version, path, models.variant)
    return models


def current_models() -> TextModels | None:
    """The models in use; loaded on first call and reloaded when `hub nlp train` installs new ones."""
    global _checked
    now = time.monotonic()
    if _current is not None and now - _checked < RECHECK:
        return _current
    _checked = now
    path = _active_path()
    if _current is None or _stamp(path) != _current_stamp:
        return load_models(path) or _current
    return _current
