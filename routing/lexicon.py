"""Lexicons: the per-language word lists behind classification, read from YAML data files.

The shipped files live in routing/data/lexicons/; operators add their own through `routing.lexicons` in
config.yaml, and entries of the same language are merged, never replaced. Entries go through the same
`normalize` as the customer's text, so a file may spell Persian with either keyboard. Imports nothing from hub.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from nlp.normalize import lexicon_form as normalize

DATA_DIR = Path(__file__).parent / "data" / "lexicons"
COMPLAINT_WEIGHTS = {"strong": 2.0, "medium": 1.0, "weak": 0.5}
# Sections that hold plain lists of entries; "complaint" is nested by weight.
LIST_SECTIONS = ("when_negated", "praise", "insults", "sales", "callback", "question", "mask")
WORD_SECTIONS = ("negators", "negators_after", "intensifiers", "conditionals", "anger_emoji", "praise_emoji")
# Languages written without spaces between words: entries match as substrings of the space-free text.
UNSPACED = frozenset({"th", "lo", "km", "my", "zh", "ja"})


class LexiconError(ValueError):
    """A lexicon file that cannot be used, with the file and section named."""


@dataclass(frozen=True, slots=True)
class Entry:
    text: str  # normalised form, without the * markers
    category: str  # "complaint", "when_negated", "praise", ... ; complaint entries carry their weight
    weight: float
    pattern: re.Pattern[str]
    # A piece of `text` every match contains verbatim (the pattern joins the words with \s* and adds only
    # boundaries around them): a substring test that rules out most entries before their pattern runs.
    needle: str = field(init=False, default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "needle", max(self.text.split(), key=len, default=self.text))


@dataclass(frozen=True)
class Lexicon:
    language: str
    entries: tuple[Entry, ...] = ()  # longest first: the longer entry wins where two overlap
    negators: tuple[str, ...] = ()
    negators_after: tuple[str, ...] = ()
    intensifiers: tuple[str, ...] = ()
    conditionals: tuple[str, ...] = ()
    anger_emoji: tuple[str, ...] = ()
    praise_emoji: tuple[str, ...] = ()
    negation_window: int = 3
    sources: tuple[str, ...] = field(default=())
    # Facts of the lexicon worked out once, on first use (routing.classify): whether an entry is itself negative
    # ("nobody answers"), the negators as a Wildcards set.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def unspaced(self) -> bool:
        return self.language in UNSPACED


_FA_CLITICS = r"(?:ه|ست|یه|ی|م|ت|ش|مو|تو|شو|مون|تون|شون|ام|ای|اش|ید|ن|ند|یم)?(?!\w)"
# Thai vowels written before their consonant: a match starting right after one would cut a syllable in two
# ("ช้า" slow inside "เช้า" morning); tone marks and vowels written above/below must not follow a match either.
_TH_LEFT = r"(?<![\u0e40-\u0e44])"
_TH_RIGHT = r"(?![\u0e31\u0e34-\u0e3a\u0e47-\u0e4e])"


def compile_entry(raw: str, lang: str) -> tuple[str, re.Pattern[str]]:
    text = normalize(raw.strip(), lang)
    prefix_free, suffix_free = text.startswith("*"), text.endswith("*")
    core = text.strip("*").strip()
    if not core:
        raise LexiconError(f"empty entry {raw!r}")
    body = r"\s*".join(re.escape(part) for part in core.split()) if lang not in UNSPACED else re.escape(core)
    if lang == "th":
        return core, re.compile(_TH_LEFT + body + _TH_RIGHT)
    if lang in UNSPACED:
        return core, re.compile(body)
    left = r"\w*" if prefix_free else r"(?<!\w)"
    right = r"\w*" if suffix_free else r"(?!\w)"
    if lang == "fa" and not suffix_free and len(core) >= 3:
        # Colloquial Persian glues the copula and pronouns to the word: "خرابه", "اشتباهه", "مسئولیتشو".
        right = _FA_CLITICS
    return core, re.compile(left + body + right)


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, (str, int, float)) for v in value):
        raise LexiconError(f"{where}: expected a list of words or phrases")
    if any(isinstance(v, bool) for v in value):
        # YAML reads a bare no/yes/on/off as a boolean; the word was meant.
        raise LexiconError(f"{where}: a bare no/yes/on/off was read as true/false; quote it")
    return [str(v) for v in value]


def _entries(data: Mapping[str, Any], lang: str, where: str) -> list[Entry]:
    out: list[Entry] = []
    complaint = data.get("complaint") or {}
    if not isinstance(complaint, Mapping):
        raise LexiconError(f"{where}: complaint: expected strong/medium/weak lists")
    for level, items in complaint.items():
        if level not in COMPLAINT_WEIGHTS:
            raise LexiconError(f"{where}: complaint.{level}: expected one of {', '.join(COMPLAINT_WEIGHTS)}")
        for raw in _strings(items, f"{where}: complaint.{level}"):
            text, pattern = compile_entry(raw, lang)
            out.append(Entry(text, "complaint", COMPLAINT_WEIGHTS[level], pattern))
    for section in LIST_SECTIONS:
        for raw in _strings(data.get(section), f"{where}: {section}"):
            text, pattern = compile_entry(raw, lang)
            out.append(Entry(text, section, 2.0 if section == "insults" else 1.0, pattern))
    return out


def build(lang: str, documents: Iterable[tuple[str, Mapping[str, Any]]]) -> Lexicon:
    """Merge lexicon documents (source name, parsed YAML) into one lexicon for `lang`."""
    entries: list[Entry] = []
    words: dict[str, list[str]] = {k: [] for k in WORD_SECTIONS}
    window, sources = 3, []
    for where, data in documents:
        unknown = set(data) - {"language", "complaint", "negation_window", *LIST_SECTIONS, *WORD_SECTIONS}
        if unknown:
            raise LexiconError(f"{where}: unknown section(s) {', '.join(sorted(unknown))}")
        entries.extend(_entries(data, lang, where))
        for key in WORD_SECTIONS:
            # Emoji must not be case-folded or collapsed; the rest is matched in normalised form.
            keep = key.endswith("emoji")
            words[key].extend(w if keep else normalize(w, lang) for w in _strings(data.get(key), f"{where}: {key}"))
        if "negation_window" in data:
            window = int(data["negation_window"])
        sources.append(where)
    entries.sort(key=lambda e: -len(e.text))
    return Lexicon(
        language=lang,
        entries=tuple(entries),
        negators=tuple(words["negators"]),
        negators_after=tuple(words["negators_after"]),
        intensifiers=tuple(words["intensifiers"]),
        conditionals=tuple(words["conditionals"]),
        anger_emoji=tuple(words["anger_emoji"]),
        praise_emoji=tuple(words["praise_emoji"]),
        negation_window=window,
        sources=tuple(sources),
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise LexiconError(f"{path.name}: cannot read: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("language"), str):
        raise LexiconError(f"{path.name}: expected a mapping with a 'language' key")
    return data


def load_lexicons(extra: Iterable[str | Path] = ()) -> dict[str, Lexicon]:
    """The shipped lexicons merged with operator files `extra`; keyed by language ("*" entries go to every one)."""
    docs: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path in [*sorted(DATA_DIR.glob("*.yaml")), *map(Path, extra)]:
        data = _read(path)
        docs.setdefault(data["language"], []).append((path.name, data))
    common = docs.pop("*", [])
    return {lang: build(lang, [*common, *found]) for lang, found in docs.items()} | {"*": build("*", common)}


@lru_cache(maxsize=8)
def default_lexicons(extra: tuple[str, ...] = ()) -> dict[str, Lexicon]:
    return load_lexicons(extra)
