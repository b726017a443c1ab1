"""Sentence embeddings of knowledge-base texts, kept on disk so a restart does not embed them again.

Embedding a 1,500-example knowledge base takes ~10 s on two cores; reading it back takes milliseconds.  The file is
keyed by the encoder's name and each text's hash, so an edited example is embedded anew and a removed one is
dropped at the next save.  The folder is `HUB_CACHE_DIR`, else ~/.cache/feedback-hub.

A build can be asked to stop between chunks (`stop`: the hub is shutting down): a thread cannot be cancelled, and a
first build of a large knowledge base would otherwise hold the process's exit for as long as it takes.  What was
embedded by then is saved, so the next start carries on from there.
"""
from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from nlp.encoder import Encoder, embed_bulk, encoder_input

__all__ = ["Stopped", "cache_dir", "embed_cached", "text_key"]

CHUNK = 64  # texts embedded at a time: a stop waits for at most one chunk


class Stopped(Exception):
    """The build was asked to stop before every text was embedded."""

log = logging.getLogger("nlp.cache")


def cache_dir() -> Path:
    env = os.environ.get("HUB_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "feedback-hub"


def text_key(text: str) -> bytes:
    """A text's key in an embedding cache: the hash of what the encoder reads (nlp.encoder.encoder_input)."""
    return hashlib.blake2b(encoder_input(text).encode("utf-8"), digest_size=12).digest()


def embed_cached(encoder: Encoder, texts: Sequence[str], name: str, stop: threading.Event | None = None) -> np.ndarray:
    """Embeddings of `texts`, reading and refreshing the cache file `name` (one per knowledge base)."""
    path = cache_dir() / f"{name}-{encoder.name}-v2.npz"
    known: dict[bytes, np.ndarray] = {}
    try:
        with np.load(path) as data:
            # Raw 12-byte digests in a uint8 matrix: a bytes dtype would drop trailing NUL bytes.
            known = {k.tobytes(): v for k, v in zip(data["keys"], data["vecs"])}
    except (OSError, KeyError, ValueError):
        pass
    keys = [text_key(t) for t in texts]
    missing = [t for t, k in zip(texts, keys) if k not in known]
    if missing:
        uniq = sorted(dict.fromkeys(missing), key=len)  # batches of like lengths: the engine pads to the longest
        for i in range(0, len(uniq), CHUNK):
            if stop is not None and stop.is_set():
                _save(path, [k for k in dict.fromkeys(keys) if k in known], known)
                raise Stopped(f"{len(uniq) - i} of {len(uniq)} texts not embedded yet")
            chunk = uniq[i:i + CHUNK]
            for t, v in zip(chunk, embed_bulk(encoder, chunk)):
                known[text_key(t)] = v
    out = np.stack([known[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, encoder.dim), np.float32)
    if missing or len(known) != len(set(keys)):
        _save(path, list(dict.fromkeys(keys)), known)
    return out


def _save(path: Path, keys: list[bytes], known: dict[bytes, np.ndarray]) -> None:
    """Write these keys' vectors (a removed example's vector is dropped here)."""
    if not keys:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=np.frombuffer(b"".join(keys), np.uint8).reshape(len(keys), 12),
                 vecs=np.stack([known[k] for k in keys]))
        tmp.replace(path)
    except OSError as exc:  # a read-only home is no reason to fail: the next start embeds again
        log.info("embedding cache %s not written: %s", path, exc)
