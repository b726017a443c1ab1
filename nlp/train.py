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
