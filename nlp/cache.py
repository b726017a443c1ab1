"""Sentence embeddings of knowledge-base texts, kept on disk so a restart does not embed them again.

Embedding a 1,500-example knowledge base takes ~10 s on two cores; reading it back takes milliseconds.  The file is
keyed by the encoder's name and each text's hash, so an edited example is embedded anew and a removed one is
dropped at the next save.  The folder is `HUB_CACHE_DIR`, else ~/.cache/feedback-hub.
"""
from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.encoder import Encoder, embed_bulk

__all__ = ["cache_dir", "embed_cached"]

log = logging.getLogger("nlp.cache")


def cache_dir() -> Path:
    env = os.environ.get("HUB_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "feedback-hub"


def _key(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).digest()


def embed_cached(encoder: Encoder, texts: Sequence[str], name: str) -> np.ndarray:
    """Embeddings of `texts`, reading and refreshing the cache file `name` (one per knowledge base)."""
    path = cache_dir() / f"{name}-{encoder.name}-v2.npz"
    known: dict[bytes, np.ndarray] = {}
    try:
        with np.load(path) as data:
            # Raw 12-byte digests in a uint8 matrix: a bytes dtype would drop trailing NUL bytes.
            known = {k.tobytes(): v for k, v in zip(data["keys"], data["vecs"])}
    except (OSError, KeyError, ValueError):
        pass
    keys = [_key(t) for t in texts]
    missing = [t for t, k in zip(texts, keys) if k not in known]
    if missing:
        uniq = sorted(dict.fromkeys(missing), key=len)  # batches of like lengths: the engine pads to the longest
        for i in range(0, len(uniq), 64):
            chunk = uniq[i:i + 64]
            for t, v in zip(chunk, embed_bulk(encoder, chunk)):
                known[_key(t)] = v
    out = np.stack([known[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, encoder.dim), np.float32)
    if missing or len(known) != len(set(keys)):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            uniq_keys = list(dict.fromkeys(keys))
            tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
            np.savez(tmp, keys=np.frombuffer(b"".join(uniq_keys), np.uint8).reshape(len(uniq_keys), 12),
                     vecs=np.stack([known[k] for k in uniq_keys]))
            tmp.replace(path)
        except OSError as exc:  # a read-only home is no reason to fail: the next start embeds again
            log.info("embedding cache %s not written: %s", path, exc)
    return out
