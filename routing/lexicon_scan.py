"""Where a lexicon's entries occur in a message (`find_hits`), each with its context: negated ("not bad",
"ไม่แย่", "بد نیست"), intensified, or inside a conditional clause ("if it arrives damaged...").  Spaced languages
look at the words around a hit within its clause; Thai, written without spaces, at the characters around it.

Two indexes keep the scan short, each held to the plain definition it replaces by tests/test_routing_classify.py:
`NeedleIndex` tests a message only against the entries whose rarest two characters it holds, and `Near` finds
the words next to a hit with one regular expression.  Facts of a lexicon are worked out on first use and kept
with it (`Lexicon.memo`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from routing.lexicon import Entry, Lexicon

_CLAUSE = re.compile(r"[.!?؟,،;:\n()]")
_TOKEN = re.compile(r"[\w'*]+")


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    start: int
    end: int
    negated: bool
    intensified: bool
    conditional: bool


class Wildcards:
    """Words with `*` wildcards ("*n't", "never*") as one set: a token is tested with three C-level calls instead of
    a Python loop over the words (negators are tested on every token beside every hit)."""

    __slots__ = ("exact", "prefixes", "suffixes")

    def __init__(self, words: Iterable[str]) -> None:
        words = tuple(words)
        self.exact = frozenset(w for w in words if not w.startswith("*") and not w.endswith("*"))
        self.prefixes = tuple(w[:-1] for w in words if w.endswith("*") and not w.startswith("*"))
        self.suffixes = tuple(w[1:] for w in words if w.startswith("*"))

    def any_in(self, tokens: Iterable[str]) -> bool:
        return any(t in self.exact or t.startswith(self.prefixes) or t.endswith(self.suffixes) for t in tokens)


T = TypeVar("T")


def _memo(lex: Lexicon, key: Any, make: Callable[[], T]) -> T:
    """A fact of the lexicon worked out on first use and kept with it (`Lexicon.memo`)."""
    found = lex.memo.get(key)
    if found is None:
        found = lex.memo[key] = make()
    return found  # type: ignore[no-any-return]


def _wildcards(lex: Lexicon, which: str) -> Wildcards:
    return _memo(lex, which, lambda: Wildcards(getattr(lex, which)))


def _tokens_before(text: str, start: int, n: int) -> list[str]:
    clause = _CLAUSE.split(text[:start])[-1]
    return _TOKEN.findall(clause)[-n:] if n else []


def _tokens_after(text: str, end: int, n: int) -> list[str]:
    clause = _CLAUSE.split(text[end:])[0]
    return _TOKEN.findall(clause)[:n]


class Near:
    """Unspaced scripts: is one of these words right before or right after a hit?  One regular expression for
    all the words (longest first) instead of a substring test per word; the same answers as testing each word."""

    __slots__ = ("pattern", "longest")

    def __init__(self, words: Iterable[str]) -> None:
        words = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
        # A lookahead reports, at each position, the longest word there: the one that reaches furthest right.
        self.pattern = re.compile("(?=(" + "|".join(map(re.escape, words)) + "))") if words else None
        self.longest = len(words[0]) if words else 0

    def before(self, text: str, start: int, gap: int) -> bool:
        """Does one of the words end at most `gap` characters before `start`?"""
        if self.pattern is None:
            return False
        lo = max(0, start - self.longest - gap)
        return any(m.start() + len(m.group(1)) >= start - gap for m in self.pattern.finditer(text, lo, start))

    def after(self, text: str, end: int, gap: int) -> bool:
        """Does one of the words start at most `gap` characters after `end`?"""
        if self.pattern is None:
            return False
        m = self.pattern.search(text, end, end + self.longest + gap)
        return m is not None and m.start() - end <= gap


def _near(lex: Lexicon, which: str) -> Near:
    return _memo(lex, ("near", which), lambda: Near(getattr(lex, which)))


def _carries_negation(lex: Lexicon, entry: Entry) -> bool:
    """"nobody", "ไม่ได้รับ", "هیچ کس": the entry is already negative; a negator beside it does not flip it."""
    def work_out() -> bool:
        if lex.unspaced:
            return any(w in entry.text for w in lex.negators)
        tokens = _TOKEN.findall(entry.text)
        return _wildcards(lex, "negators").any_in(tokens) or _wildcards(lex, "negators_after").any_in(tokens)

    return _memo(lex, ("carries_negation", entry.text), work_out)


def _context(lex: Lexicon, text: str, start: int, end: int) -> tuple[bool, bool, bool]:
    """(negated, intensified, conditional) for the entry found at text[start:end].

    `text` has the other hits blanked out, so a negator that belongs to another entry ("never arrived and nobody
    answers") does not negate this one.
    """
    if lex.unspaced:
        window = lex.negation_window
        negated = _near(lex, "negators").before(text, start, window) or _near(lex, "negators_after").after(text, end, 1)
        intensifiers = _near(lex, "intensifiers")
        intensified = intensifiers.before(text, start, 1) or intensifiers.after(text, end, 1)
        conditional = _near(lex, "conditionals").before(text, start, 12)
        return negated, intensified, conditional
    n = lex.negation_window
    preceding = _tokens_before(text, start, max(n, 8))  # one tokenisation for the three windows below
    before, after = preceding[-n:] if n else [], _tokens_after(text, end, n)
    negated = _wildcards(lex, "negators").any_in(before) or _wildcards(lex, "negators_after").any_in(after)
    near = preceding[-2:]
    intensified = any(t in lex.intensifiers for t in near) or any(
        " ".join(near[i:]) in lex.intensifiers for i in range(len(near))
    )
    clause = " " + " ".join(preceding[-8:]) + " "
    conditional = any(f" {c} " in clause for c in lex.conditionals)
    return negated, intensified, conditional


class NeedleIndex:
    """The entries keyed by one two-character piece of their needle, so a message is tested only against the
    entries whose piece it contains: a few dozen substring tests instead of one per entry (several hundred per
    language), which was the larger part of routing a message.

    Every bigram of a needle occurs in any text that contains the needle, so the candidates always include every
    entry `find_hits` would find, in the lexicon's order.  Each needle is keyed by its bigram shared with the fewest
    other needles: a proxy for the rarest in text that keeps the lists short."""

    __slots__ = ("keyed", "always")

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        grams = [{e.needle[i:i + 2] for i in range(len(e.needle) - 1)} for e in entries]
        spread: dict[str, int] = {}
        for g in grams:
            for gram in g:
                spread[gram] = spread.get(gram, 0) + 1
        keyed: dict[str, list[int]] = {}
        always: list[int] = []  # one-character needles
        for i, g in enumerate(grams):
            if g:
                keyed.setdefault(min(g, key=lambda gram: (spread[gram], gram)), []).append(i)
            else:
                always.append(i)
        self.keyed = {gram: tuple(ids) for gram, ids in keyed.items()}
        self.always = tuple(always)

    def candidates(self, text: str) -> list[int]:
        keyed = self.keyed
        found = list(self.always)
        for gram in {text[i:i + 2] for i in range(len(text) - 1)}:
            ids = keyed.get(gram)
            if ids:
                found.extend(ids)
        found.sort()
        return found


def _needles(lex: Lexicon) -> NeedleIndex:
    return _memo(lex, "needles", lambda: NeedleIndex(lex.entries))


def find_hits(lex: Lexicon, text: str) -> list[Hit]:
    """Non-overlapping lexicon hits in normalised `text`, longest entries first."""
    taken: list[tuple[int, int]] = []
    spans: dict[tuple[int, int], list[Entry]] = {}
    entries = lex.entries
    for i in _needles(lex).candidates(text):
        entry = entries[i]
        if entry.needle not in text:
            continue
        for m in entry.pattern.finditer(text):
            span = (m.start(), m.end())
            if span in spans:  # the same words listed in two sections count once in each
                if all(e.category != entry.category for e in spans[span]):
                    spans[span].append(entry)
            elif not any(s < span[1] and span[0] < e for s, e in taken):
                taken.append(span)
                spans[span] = [entry]
    hits = []
    for (start, end), found in sorted(spans.items()):
        blank = text
        for s, e in taken:
            if (s, e) != (start, end) and spans[(s, e)][0].category != "mask":
                blank = blank[:s] + "_" * (e - s) + blank[e:]  # still a word, so distances stay right
        negated, intensified, conditional = _context(lex, blank, start, end)
        hits.extend(
            Hit(e, start, end, negated and not _carries_negation(lex, e), intensified, conditional) for e in found
        )
    return hits
