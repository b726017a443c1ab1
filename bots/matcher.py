"""Retrieval of the knowledge base entry that answers a message, with a calibrated confidence.

One index per language.  Every example phrasing is a document of sparse TF-IDF vectors over word terms and
character trigrams (bots.features), both L2-normalised and mixed with a per-language weight, so a document score is
a cosine in [0, 1].  An entry scores as its best example.  Query terms the index has never seen keep their weight
in the query norm: a message made mostly of unknown words therefore scores low, which is what rejects off-topic
questions.

The raw score is not a probability, and its scale differs by language and by knowledge base, so `Calibration`
(bots.calibration) maps (best score, margin over the runner-up entry) to the probability that the answer is right,
fitted when the index is built.  `match()` answers only when that probability reaches the threshold (config
`bot.threshold`, default 0.6).

Everything heavy happens in the constructor: postings are flat tuples, so a query costs its own featurisation plus
one pass over the postings of its terms.  Imports bots.features, bots.kb, bots.normalize, bots.calibration.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bots.calibration import Calibration, fit_calibration
from bots.features import CHAR, WORD, terms
from bots.kb import Entry, KnowledgeBase
from bots.normalize import detect_language

__all__ = ["Match", "Matcher", "LanguageIndex"]

# Share of the word-term cosine in a document score; the rest is the character-trigram cosine.  Thai leans on
# trigrams because its words come from a small dictionary; English and Persian words are reliable once stemmed.
WORD_SHARE = {"en": 0.6, "fa": 0.55, "th": 0.45}
DEFAULT_WORD_SHARE = 0.55


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
    """Sparse vectors and postings for the examples of one language."""

    def __init__(self, lang: str, docs: list[tuple[int, str]], n_entries: int) -> None:
        self.lang = lang
        self.share = WORD_SHARE.get(lang, DEFAULT_WORD_SHARE)
        self.doc_entry: list[int] = [e for e, _ in docs]
        self.doc_text: list[str] = [t for _, t in docs]
        doc_terms = [terms(text, lang) for _, text in docs]
        # Document frequency counts entries, not examples: an entry with many phrasings must not look common.
        df: dict[str, int] = {}
        for t in {(t, e) for (e, _), d in zip(docs, doc_terms) for t in d}:
            df[t[0]] = df.get(t[0], 0) + 1
        n = max(n_entries, 1)
        self.idf = {t: math.log(1.0 + n / c) for t, c in df.items()}
        # An unseen term is rarer than any seen one: it weighs as if it occurred in half an entry.
        self.unseen_idf = math.log(1.0 + 2.0 * n)
        postings: dict[str, list[tuple[int, float]]] = {}
        for doc_id, d in enumerate(doc_terms):
            for term, w in self._vector(d).items():
                postings.setdefault(term, []).append((doc_id, w))
        self.postings: dict[str, tuple[tuple[int, float], ...]] = {t: tuple(p) for t, p in postings.items()}

    def _vector(self, counts: dict[str, float]) -> dict[str, float]:
        """TF-IDF per term kind, each kind L2-normalised and scaled by its share."""
        out: dict[str, float] = {}
        for prefix, share in ((WORD, self.share), (CHAR, 1.0 - self.share)):
            part = {t: _tf(c) * self.idf.get(t, self.unseen_idf) for t, c in counts.items() if t.startswith(prefix)}
            norm = math.sqrt(sum(v * v for v in part.values()))
            if norm:
                for t, v in part.items():
                    out[t] = share * v / norm
        return out

    def scores(self, text: str, exclude_doc: int = -1) -> dict[int, float]:
        """Best document score per entry index (entries without any shared term are absent)."""
        q = self._vector(terms(text, self.lang))
        # Each side carries its share once; dividing the query side keeps the total a weighted mean of cosines.
        acc: dict[int, float] = {}
        postings = self.postings
        for term, qw in q.items():
            plist = postings.get(term)
            if plist is None:
                continue
            qw = qw / (self.share if term.startswith(WORD) else 1.0 - self.share)
            for doc, dw in plist:
                acc[doc] = acc.get(doc, 0.0) + qw * dw
        best: dict[int, float] = {}
        doc_entry = self.doc_entry
        for doc, s in acc.items():
            if doc == exclude_doc:
                continue
            e = doc_entry[doc]
            if s > best.get(e, 0.0):
                best[e] = s
        return best


class Matcher:
    """Answers "which entry, how sure" for a message; build one per knowledge base version."""

    def __init__(self, kb: KnowledgeBase, threshold: float = 0.6, calibrate: bool = True) -> None:
        self.kb = kb
        self.threshold = threshold
        self.indexes: dict[str, LanguageIndex] = {}
        self.calibrations: dict[str, Calibration] = {}
        n = len(kb.entries)
        for lang in sorted(kb.languages):
            docs = [(i, ex) for i, e in enumerate(kb.entries) for ex in e.examples.get(lang, ())]
            if docs:
                self.indexes[lang] = LanguageIndex(lang, docs, n)
        for lang, index in self.indexes.items():
            self.calibrations[lang] = fit_calibration(index, lang) if calibrate else Calibration.default(lang)

    def _index_for(self, lang: str) -> LanguageIndex | None:
        if lang in self.indexes:
            return self.indexes[lang]
        if lang == "ar":  # same script and normaliser; many words are shared
            return self.indexes.get("fa")
        return None

    def rank(self, text: str, lang: str | None = None, k: int = 3) -> list[Match]:
        """The k best entries with their confidences, best first; no threshold applied."""
        lang = lang or detect_language(text)
        index = self._index_for(lang)
        if index is None or not text.strip():
            return []
        best = index.scores(text)
        ordered = sorted(best.items(), key=lambda kv: kv[1], reverse=True)
        cal = self.calibrations[index.lang]
        out: list[Match] = []
        for pos, (e, s) in enumerate(ordered[:k]):
            other = ordered[1][1] if pos == 0 and len(ordered) > 1 else (ordered[0][1] if pos else 0.0)
            margin = s - other
            out.append(Match(self.kb.entries[e], cal.confidence(s, margin), s, index.lang, margin))
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
