"""Retrieval of the knowledge base entry that answers a message, with a calibrated confidence.

One index per language.  Every entry is one document, its profile: the example phrasings plus its answer, as
sparse TF-IDF vectors over word terms and character trigrams (bots.features), both L2-normalised and mixed with a
per-language weight, so a score is a cosine in [0, 1].  Query terms the index has never seen keep their weight in
the query norm: a message made mostly of unknown words therefore scores low, which helps reject off-topic questions.
Background chat (bots/data/background.yaml) is indexed as an out-of-scope pseudo-entry for the same reason.

The raw score is not a probability, and its scale differs by language and by knowledge base, so `Calibration`
(bots.calibration) maps (best score, margin over the runner-up entry) to the probability that the answer is right,
fitted when the index is built.  `match()` answers only when that probability reaches the threshold (config
`bot.threshold`, default 0.6).

When the sentence encoder is installed (nlp.encoder), `ensure_semantic()` adds a meaning-based index over all
languages at once (bots.semantic_index, over bots.semantic's entry model) with its own gate fitted on the knowledge
base (bots.calibration.fit_gate), over the embeddings extended by the intent space (nlp.space: directions that tell intents apart, learned from
public intent-labelled questions);
from then on it ranks and scores, and the lexical index above is the fallback.  It is built apart from the
constructor because embedding a knowledge base the first time takes seconds: the hub builds it in a worker thread
and keeps answering lexically meanwhile; embeddings are cached on disk (nlp.cache), so later starts are quick.

Everything heavy happens in the constructor: postings are flat tuples, so a query costs its own featurisation plus
one pass over the postings of its terms.  Imports bots.features, bots.kb, bots.calibration and the language layer (nlp).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import logging
import threading

import numpy as np

from bots.calibration import Calibration, background_for, fit_calibration, word_coverage
from bots.features import CHAR, WORD, Featurizer, terms
from bots.kb import Entry, KnowledgeBase
from bots.semantic_index import SemanticIndex, fingerprint, semantic_for, words_of
from nlp.cache import Stopped
from nlp.langid import language_of as detect_language

__all__ = ["Match", "Matcher", "LanguageIndex", "build"]

log = logging.getLogger("bots.matcher")

# Share of the word-term cosine in a document score; the rest is the character-trigram cosine.  Thai leans on
# trigrams because its words come from a small dictionary; English and Persian words are reliable once stemmed.
WORD_SHARE = {"en": 0.6, "fa": 0.55, "th": 0.45}
DEFAULT_WORD_SHARE = 0.55
ANSWER_WEIGHT = 0.5  # answer words count half as much as example words in an entry's profile
MIN_POSTING_WEIGHT = 0.005
POSTINGS_CAP = 64
FUSE = True
AGREE_PENALTY = 0.5
LEXICAL_VOTE = 0.3


@dataclass(frozen=True, slots=True)
class Match:
    entry: Entry
    confidence: float  # calibrated probability that this entry answers the message
    score: float  # raw similarity in [0, 1]
    lang: str  # the index that answered
    margin: float  # score minus the best score of any other entry


def _tf(x: float) -> float:
    return 1.0 + math.log(x) if x > 0 else 0.0


class LanguageIndex:
    """Sparse vectors and postings for the entries of one language.

    An entry is one document, its profile: the term counts of all its example phrasings plus its answer at a lower
    weight.  A message that uses an entry's vocabulary in a new combination then still scores, which measured
    better on held-out paraphrases than matching the closest single example, and it keeps the postings short.
    Background messages (bots/data/background.yaml) are kept as separate documents of one extra pseudo-entry,
    `self.background`, scored by the closest of them: off-topic chat is too varied to average.
    """

    def __init__(self, lang: str, entries: list[tuple[tuple[str, ...], str]], background: tuple[str, ...] = (),
                 featurize: Featurizer = terms) -> None:
        self.lang = lang
        self.featurize = featurize
        self.share = WORD_SHARE.get(lang, DEFAULT_WORD_SHARE)
        self.background = len(entries)  # entry number of the out-of-scope pseudo-entry
        self.doc_entry: list[int] = []  # example (and background message) -> entry number
        self.doc_terms: list[dict[str, float]] = []
        self.entry_terms: list[dict[str, float]] = []
        for e, (examples, answer) in enumerate(entries):
            profile: dict[str, float] = {}
            for text in examples:
                t = featurize(text, lang)
                self.doc_entry.append(e)
                self.doc_terms.append(t)
                for k, v in t.items():
                    profile[k] = profile.get(k, 0.0) + v
            for k, v in featurize(answer, lang).items() if answer else ():
                profile[k] = profile.get(k, 0.0) + ANSWER_WEIGHT * v
            self.entry_terms.append(profile)
        self.background_docs: list[dict[str, float]] = [featurize(text, lang) for text in background]
        # Document frequency counts entries, not examples: an entry with many phrasings must not look common.
        # Answers are left out of it: their wording is long and generic and would flatten every weight.
        df: dict[str, int] = {}
        for term in {(t, e) for e, d in zip(self.doc_entry, self.doc_terms) for t in d}:
            df[term[0]] = df.get(term[0], 0) + 1
        for t in {t for d in self.background_docs for t in d}:
            df[t] = df.get(t, 0) + 1
        n = len(entries) + (1 if background else 0)
        self.idf = {t: math.log(1.0 + n / c) for t, c in df.items()}
        # An unseen term is rarer than any seen one: it weighs as if it occurred in half an entry.
        self.unseen_idf = math.log(1.0 + 2.0 * max(n, 1))
        self.entry_postings = self._postings(self.entry_terms)
        self.background_postings = self._postings(self.background_docs)

    def _postings(self, vectors: list[dict[str, float]]) -> dict[str, tuple[tuple[int, float], ...]]:
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, counts in enumerate(vectors):
            for term, w in self.vector(counts).items():
                # Static pruning: a term this light in a long profile moves no ranking, only the query's cost.
                if w >= MIN_POSTING_WEIGHT:
                    postings.setdefault(term, []).append((i, w))
        # Impact-ordered truncation: a term shared by very many entries keeps only the entries where it weighs
        # most.  Below the cap (any knowledge base of up to POSTINGS_CAP entries) nothing changes; above it, the
        # cost of a query stays bounded by its number of terms times the cap.
        return {t: tuple(sorted(p, key=lambda x: -x[1])[:POSTINGS_CAP]) for t, p in postings.items()}

    def vector(self, counts: dict[str, float]) -> dict[str, float]:
        """TF-IDF per term kind, each kind L2-normalised, scaled by the square root of its share.

        With both sides scaled that way a dot product is share * word cosine + (1 - share) * trigram cosine.
        """
        out: dict[str, float] = {}
        for prefix, share in ((WORD, self.share), (CHAR, 1.0 - self.share)):
            part = {t: _tf(c) * self.idf.get(t, self.unseen_idf) for t, c in counts.items() if t.startswith(prefix)}
            norm = math.sqrt(sum(v * v for v in part.values()))
            if norm:
                scale = math.sqrt(share) / norm
                for t, v in part.items():
                    out[t] = v * scale
        return out

    def coverage(self, q: dict[str, float], entry: int, profile: dict[str, float] | None = None) -> float:
        """Share of the query's word weight (concepts and numbers aside) found in `entry`'s vocabulary.

        Off-topic messages are mostly made of words the knowledge base never uses ("tyre", "bitcoin"), while
        a real question's words mostly occur in the entry that answers it.
        """
        vocab = self.entry_terms[entry] if profile is None else profile
        total = found = 0.0
        for t, w in q.items():
            if t.startswith(WORD) and t[2:3] not in ("@", "#"):
                total += w * w
                if t in vocab:
                    found += w * w
        return found / total if total else 1.0

    @staticmethod
    def _accumulate(q: dict[str, float], postings: dict[str, tuple[tuple[int, float], ...]]) -> dict[int, float]:
        acc: dict[int, float] = {}
        get = acc.get
        for term, qw in q.items():
            plist = postings.get(term)
            if plist is not None:
                for i, w in plist:
                    acc[i] = get(i, 0.0) + qw * w
        return acc

    def scores(self, q: dict[str, float], skip_background: int = -1) -> dict[int, float]:
        """Score per entry number for query vector `q`, with `self.background` for the closest background message
        (leaving out background message number `skip_background`)."""
        out = self._accumulate(q, self.entry_postings)
        bg = [s for i, s in self._accumulate(q, self.background_postings).items() if i != skip_background]
        if bg:
            out[self.background] = max(bg)
        return out


class Matcher:
    """Answers "which entry, how sure" for a message; build one per knowledge base version."""

    def __init__(self, kb: KnowledgeBase, threshold: float = 0.6, calibrate: bool = True,
                 featurize: Featurizer = terms) -> None:
        self.kb = kb
        self.threshold = threshold
        self.semantic: SemanticIndex | None = None
        self._semantic_lock = threading.Lock()
        self.indexes: dict[str, LanguageIndex] = {}
        self.calibrations: dict[str, Calibration] = {}
        for lang in sorted(kb.languages):
            entries = [(e.examples.get(lang, ()), e.answers.get(lang, "")) for e in kb.entries]
            index = LanguageIndex(lang, entries, background_for(lang), featurize)
            self.indexes[lang] = index
            self.calibrations[lang] = fit_calibration(index) if calibrate else Calibration.default()

    def _index_lang(self, lang: str) -> str:
        index = self._index_for(lang)
        return index.lang if index is not None else lang

    def _index_for(self, lang: str) -> LanguageIndex | None:
        if lang in self.indexes:
            return self.indexes[lang]
        if lang == "ar":  # same script and normaliser; many words are shared
            return self.indexes.get("fa")
        return None

    @property
    def encoder(self) -> object | None:
        """The sentence encoder in use, once the meaning-based index is built."""
        return self.semantic.encoder if self.semantic is not None else None

    def ensure_semantic(self, stop: threading.Event | None = None) -> bool:
        """Build the meaning-based index if the encoder is installed (seconds the first time); True when in use.
        `stop` set: give up between chunks of examples (the hub is shutting down; nlp.cache)."""
        if self.semantic is not None:
            return True
        from nlp.encoder import load_encoder

        encoder = load_encoder()
        if encoder is None:
            return False
        with self._semantic_lock:
            if self.semantic is None:
                try:
                    self.semantic = semantic_for(fingerprint(self.kb), self.kb, encoder, stop)
                except Stopped as exc:
                    log.info("semantic index not built: stopped (%s)", exc)
                    return False
                except Exception:  # the lexical index keeps answering; a broken encoder must not stop the bot
                    log.exception("semantic index not built; answering with the lexical index")
                    return False
        return self.semantic is not None

    def _rank_semantic(self, sem: SemanticIndex, text: str, lang: str, k: int,
                       lexical: list[Match] | None = None) -> list[Match]:
        vec = sem.embed([text])
        s = sem.model.scores(vec)
        probs, cos = s.probs[0], s.cosines[0]
        # Word coverage only means something against examples in the question's own language: an entry without
        # any is judged on meaning alone (the gate's neutral coverage).
        qwords = words_of(text, lang) if sem.gate.uses_coverage and lang in sem.languages else None
        if lang not in sem.languages:
            # A question in a language the examples are not written in sits lower on every centroid at once (the
            # encoder's space is shared, not identical): lift it back to where questions in the examples' own
            # languages sit on average, so the gate judges it on the same scale.
            cos = cos + max(0.0, sem.mean_cosine - float(cos.mean()))
        fused = probs.copy()
        if lexical:
            # The lexical reading as a second opinion on the order: its calibrated confidence, weighted.
            for m in lexical:
                col = sem.column_of.get(m.entry.id)
                if col is not None:
                    fused[col] += LEXICAL_VOTE * m.confidence
        order = fused.argsort()[::-1][:k]
        out: list[Match] = []
        for pos, col in enumerate(order):
            e = sem.model.entries[int(col)]
            others = np.delete(probs, col)
            other_cos = np.delete(cos, col)
            # Each candidate is judged by the gate as if it were first: its own probability and cosine, and their
            # margins over the best of the rest.
            x = (float(probs[col]), float(probs[col] - (others.max() if len(others) else 0.0)),
                 float(cos[col]), float(cos[col] - (other_cos.max() if len(other_cos) else 0.0)))
            coverage = (word_coverage(qwords, sem.vocab[int(col)])
                        if qwords is not None and sem.vocab and lang in sem.column_languages[int(col)] else None)
            out.append(Match(self.kb.entries[e], sem.gate.confidence(*x, coverage), float(cos[col]), lang, x[1]))
        return out

    def rank(self, text: str, lang: str | None = None, k: int = 3) -> list[Match]:
        """The k best entries with their confidences, best first; no threshold applied."""
        lang = lang or detect_language(text)
        sem = self.semantic
        busy = getattr(sem.encoder, "busy", None) if sem is not None else None
        if sem is not None and text.strip() and not (busy is not None and busy([text])):
            lexical = self._rank_lexical(text, lang, 5) if FUSE else []
            ranked = self._rank_semantic(sem, text, lang if lang in self.indexes else self._index_lang(lang), k, lexical)
            return self._agree(ranked, lexical[:1]) if FUSE else ranked
        return self._rank_lexical(text, lang, k)

    @staticmethod
    def _agree(ranked: list[Match], lexical: list[Match]) -> list[Match]:
        """Two independent readings: when the lexical index picks the same entry, the answer is surer (noisy-or);
        when it is confident about another entry, less so."""
        if not ranked or not lexical:
            return ranked
        top, lex = ranked[0], lexical[0]
        if lex.entry.id == top.entry.id:
            conf = 1.0 - (1.0 - top.confidence) * (1.0 - lex.confidence)
        else:
            conf = top.confidence * (1.0 - AGREE_PENALTY * lex.confidence)
        return [Match(top.entry, conf, top.score, top.lang, top.margin), *ranked[1:]]

    def _rank_lexical(self, text: str, lang: str, k: int) -> list[Match]:
        index = self._index_for(lang)
        if index is None or not text.strip():
            return []
        q = index.vector(index.featurize(text, index.lang))
        scores = index.scores(q)
        background = scores.pop(index.background, 0.0)
        ordered = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        cal = self.calibrations[index.lang]
        out: list[Match] = []
        for pos, (e, s) in enumerate(ordered[:k]):
            other = ordered[1][1] if pos == 0 and len(ordered) > 1 else (ordered[0][1] if pos else 0.0)
            margin = s - other
            conf = cal.confidence(s, margin, s - background, index.coverage(q, e))
            out.append(Match(self.kb.entries[e], conf, s, index.lang, margin))
        return out

    def match(self, text: str, lang: str | None = None) -> Match | None:
        """The best entry if its confidence reaches the threshold, else None."""
        top = self.rank(text, lang, k=1)
        if top and top[0].confidence >= self.threshold:
            return top[0]
        return None

    def likely(self, text: str, lang: str | None = None, k: int = 3, floor: float = 0.3) -> list[Match]:
        """Up to k plausible entries (confidence >= floor): the "likely answers" of an email acknowledgement."""
        return [m for m in self.rank(text, lang, k) if m.confidence >= floor]


def build(kb: KnowledgeBase, threshold: float = 0.6) -> Matcher:
    """Factory for `KnowledgeBaseHolder(path, build=...)`; bind the threshold with functools.partial."""
    return Matcher(kb, threshold)


def entry_ids(matches: Iterable[Match]) -> list[str]:
    return [m.entry.id for m in matches]
