"""Rule matching for `routing.rules`: the facts about one message and which rule they satisfy.

Pure functions over `RuleFacts`; first match wins. Each satisfied condition is reported in words so the ticket's
trace can say why a rule matched. Keywords use the lexicon syntax (whole words, `*` for a word that continues)
and are matched on normalised text, so Persian keywords match whichever keyboard the customer used.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from routing.config import Rule
from routing.lexicon import compile_entry
from nlp.normalize import lexicon_form as normalize


@dataclass(frozen=True, slots=True)
class RuleFacts:
    kind: str
    language: str
    channel: str
    text: str  # the raw message text; normalised per keyword language on demand
    tier: str | None = None
    tags: frozenset[str] = frozenset()
    open_now: bool = True
    complaint_score: float = 0.0


@dataclass(frozen=True, slots=True)
class RuleMatch:
    index: int
    rule: Rule
    reasons: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"rules[{self.index}]" + (f" {self.rule.name!r}" if self.rule.name else "")


@lru_cache(maxsize=4096)
def _pattern(word: str, lang: str) -> re.Pattern[str]:
    return compile_entry(word, lang)[1]


@lru_cache(maxsize=1024)
def _any_of(words: tuple[str, ...], lang: str) -> re.Pattern[str]:
    # One search says whether any of the words is there at all: most messages name none of a department's keywords,
    # and each department was a search per word.
    return re.compile("|".join(f"(?:{_pattern(w, lang).pattern})" for w in words))


def find_keyword(keywords: Mapping[str, Sequence[str]], language: str, text: str) -> tuple[str, str] | None:
    """The first (language, keyword) of `keywords` found in `text`; the message's language, then "*"."""
    for lang in (language, "*"):
        words = tuple(map(str, keywords.get(lang) or ()))
        if not words:
            continue
        as_lang = lang if lang != "*" else language
        norm = normalize(text, as_lang)
        if _any_of(words, as_lang).search(norm) is None:
            continue
        for word in words:  # the first in the list's order, as written
            if _pattern(word, as_lang).search(norm):
                return lang, word
    return None


def match_rule(rule: Rule, facts: RuleFacts) -> tuple[str, ...] | None:
    """The reasons each condition of `rule.when` holds, or None when one fails."""
    w = rule.when
    why: list[str] = []
    if w.kind is not None:
        if facts.kind not in w.kind:
            return None
        why.append(f"kind={facts.kind}")
    if w.language is not None:
        if facts.language not in w.language:
            return None
        why.append(f"language={facts.language}")
    if w.channel is not None:
        if facts.channel not in w.channel:
            return None
        why.append(f"channel={facts.channel}")
    if w.tier is not None:
        if facts.tier not in w.tier:
            return None
        why.append(f"tier={facts.tier}")
    if w.tags is not None:
        common = sorted(facts.tags.intersection(w.tags))
        if not common:
            return None
        why.append(f"customer tag {', '.join(common)}")
    if w.business_hours is not None:
        if facts.open_now != w.business_hours:
            return None
        why.append("within business hours" if facts.open_now else "outside business hours")
    if w.min_complaint_score is not None:
        if facts.complaint_score < w.min_complaint_score:
            return None
        why.append(f"complaint score {facts.complaint_score:g} >= {w.min_complaint_score:g}")
    if w.keywords is not None:
        found = find_keyword(w.keywords, facts.language, facts.text)
        if not found:
            return None
        why.append(f"keyword {found[1]!r} ({found[0]})")
    return tuple(why) or ("no conditions (catch-all)",)


def first_match(rules: Iterable[Rule], facts: RuleFacts) -> RuleMatch | None:
    for i, rule in enumerate(rules):
        reasons = match_rule(rule, facts)
        if reasons is not None:
            return RuleMatch(i, rule, reasons)
    return None
