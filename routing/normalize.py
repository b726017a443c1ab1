"""Text normalisation for matching lexicon entries and keywords.

The same function runs over customer text and over every lexicon/keyword entry, so both sides meet in one form:
Arabic-script variants folded to their Persian letters, ZWNJ and diacritics removed, Persian/Arabic/Thai digits
turned into ASCII, letters repeated for emphasis ("sooooo", "มากกกก") collapsed.
"""
from __future__ import annotations

import re
import unicodedata

from hub.text import ARABIC_TO_PERSIAN, DIGITS

_ARABIC_TO_PERSIAN = str.maketrans(
    {
        **ARABIC_TO_PERSIAN,
        "\u2019": "'",  # ’ -> ' so "don’t" negates like "don't"
        "\u2018": "'",
    }
)
_DIGITS = DIGITS
# Harakat, superscript alef and tatweel carry no meaning for matching.
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640]")
# Zero-width and direction marks that copy-paste and RTL editors insert; ZWNJ joins Persian word parts.
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# "می خواهم", "می‌خواهم" and "میخواهم" are one word; so are "سفارش ها" and "سفارش‌ها".
_FA_PREFIX = re.compile(r"(?<!\w)(ن?می)\s+(?=\w)")
_FA_SUFFIX = re.compile(r"(?<=\w)\s+(ها|های|هایی|هام|هاتون|تر|ترین)(?!\w)")
# Three or more of the same letter is emphasis, not spelling (no word in en/th/fa needs it).
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_SPACES = re.compile(r"\s+")

ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
THAI_SCRIPT = re.compile("[\u0e00-\u0e7f]")


def fold(text: str) -> str:
    """Script-level folding shared by all languages: compatibility forms, digits, Arabic variants, marks."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_DIGITS).translate(_ARABIC_TO_PERSIAN)
    text = _MARKS.sub("", text)
    return text


def normalize(text: str, lang: str | None = None) -> str:
    """The matching form of `text` for language `lang` (en, th, fa; anything else gets the common steps)."""
    text = fold(text).casefold()
    if lang == "fa" or (lang is None and ARABIC_SCRIPT.search(text)):
        text = _INVISIBLE.sub("", text)
        text = _FA_PREFIX.sub(r"\1", text)
        text = _FA_SUFFIX.sub(r"\1", text)
    else:
        text = _INVISIBLE.sub("", text)
    text = _ELONGATED.sub(r"\1", text)
    if lang == "th":
        # Thai writes words without spaces and uses spaces loosely between phrases; matching ignores them.
        return _SPACES.sub("", text)
    return _SPACES.sub(" ", text).strip()


def has_elongation(text: str) -> bool:
    return bool(_ELONGATED.search(fold(text)))
