"""Language-aware text normalisation, one module for the FAQ bot, routing and the learned models.

Two forms of a text, for two kinds of matching; both fold the same script-level variants (hub.text), so a
customer's "ك", "۴" or ZWNJ means the same everywhere:

- `lexicon_form(text, lang)` keeps punctuation and word order: lexicons, negation windows and clause splitting
  (routing) need to see "not ... bad" and where a clause ends.  Elongated letters collapse, ZWNJ and Persian verb
  prefixes join, Thai loses its spaces.
- `normalize(text, lang)` returns a canonical form used for matching: Unicode compatibility forms folded,
  digits (Persian, Arabic-Indic, Thai) made ASCII, case folded, punctuation turned into spaces, repeated letters
  ("soooo", "มากกกก") collapsed, plus per-language rules described next to `_normalize_fa` / `_normalize_th`.
- `words(text, lang)` splits normalised text into matching tokens: stopwords dropped, light stemming applied.
  Thai has no spaces between words, so its tokens come from `nlp.thai.segment` (pythainlp's newmm dictionary).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from nlp import thai
from hub.text import ARABIC_MARKS, ARABIC_TO_PERSIAN, DIGITS

__all__ = ["fold", "lexicon_form", "has_elongation", "ARABIC_SCRIPT", "THAI_SCRIPT", "normalize", "words", "strip_thai_tones", "stem_en", "stem_fa", "EN_STOPWORDS", "FA_STOPWORDS"]

# --- shared helpers ------------------------------------------------------------------------------------------------

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits, Thai digits (U+0E50..) -> ASCII.
_DIGITS = DIGITS

_RUNS = re.compile(r"(.)\1{2,}")  # three or more of the same character: emphasis, not spelling
_NON_WORD = re.compile(r"[^\w\u0E00-\u0E7F\u200c]+")  # keeps letters, digits, Thai marks and ZWNJ
_SPACES = re.compile(r"\s+")


def _common(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DIGITS).casefold()
    text = _RUNS.sub(r"\1", text)
    return text


# --- Persian -------------------------------------------------------------------------------------------------------

_FA_MAP = str.maketrans(
    {
        **ARABIC_TO_PERSIAN,
        "ئ": "ی",  # hamza seat spelled either way ("مسئول"/"مسيول") in everyday writing
        "ـ": None,  # tatweel is decoration
        "\u200d": None,  # ZWJ
        "\u200c": None,  # ZWNJ joins: "می‌خواهم" == "میخواهم"
        "\u200f": None,
        "\u200e": None,
        "٪": "%",
        "؟": " ",
        "،": " ",
        "؛": " ",
        "«": " ",
        "»": " ",
    }
)
_FA_DIACRITICS = re.compile(r"[\u064B-\u065F\u0670\u06D6-\u06ED]")
# A space where a ZWNJ belongs: verb prefix "می"/"نمی" before the stem, plural and comparative suffixes after it.
_FA_PREFIX_GAP = re.compile(r"(?:(?<=\s)|^)(ن?می) (?=\S)")
_FA_SUFFIX_GAP = re.compile(r"(?<=\S) (ها|های|هایی|هایم|هایت|هایش|هامون|هاتون|تر|ترین|ام|ای|اید)(?=\s|$)")


def _normalize_fa(text: str) -> str:
    text = _FA_DIACRITICS.sub("", text).translate(_FA_MAP)
    text = _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()
    text = _FA_PREFIX_GAP.sub(r"\1", text)
    return _FA_SUFFIX_GAP.sub(r"\1", text)


# --- Thai ----------------------------------------------------------------------------------------------------------

_TH_TONES = re.compile(r"[\u0E48-\u0E4B]")  # mai ek, mai tho, mai tri, mai chattawa


def strip_thai_tones(text: str) -> str:
    """Drop Thai tone marks: customers often mistype or omit them, and they rarely tell FAQ topics apart."""
    return _TH_TONES.sub("", text)


def _normalize_th(text: str) -> str:
    # NFKC splits SARA AM into NIKHAHIT + SARA AA; put it back so both spellings are one string.
    text = text.replace("\u0e4d\u0e32", "\u0e33")
    text = text.replace("\u0e46", " ")  # mai yamok repeats the previous word: no new information
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


def normalize(text: str, lang: str) -> str:
    """Canonical form of `text` for matching in language `lang` (see the module docstring)."""
    text = _common(text)
    if lang == "fa" or lang == "ar":
        return _normalize_fa(text)
    if lang == "th":
        return _normalize_th(text)
    text = text.replace("'", "").replace("\u2019", "")  # "don't" -> "dont", "order's" -> "orders"
    return _SPACES.sub(" ", _NON_WORD.sub(" ", text)).strip()


# --- tokens --------------------------------------------------------------------------------------------------------

EN_STOPWORDS = frozenset(
    """a an the i me my mine we our us you your yours he she it its they them their this that these those is are was
    were be been being am do does did doing have has had having to of in on at by for with from about as into
    and or but if so than too very just can could would should will shall may might must please pls plz hi hello
    hey thanks thank thx there here any some there's im ive id youre u ur r yo guys dear sir madam ok okay also
    again still get got want wanna need know tell let like would any anyone someone one""".split()
)
# Question words are kept on purpose: "when" vs "where" vs "how much" separates FAQ topics.


def stem_en(word: str) -> str:
    """A light suffix stripper: enough to meet "deliveries"/"delivery", "refunded"/"refund", "shipping"/"ship"."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suf, rep in (("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ness", ""), ("ments", ""), ("ment", "")):
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            return word[: -len(suf)] + rep
    for suf in ("ing", "ed", "ly", "es", "s"):
        if word.endswith(suf) and len(word) - len(suf) >= 3 and not word.endswith("ss"):
            stem = word[: -len(suf)]
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]  # "shipping" -> "shipp" -> "ship"
            return stem
    return word


FA_STOPWORDS = frozenset(
    """و در به از که را با این آن اون این ای یک برای تا هم یا اما ولی من ما شما تو او ایشان اونا است هست هستش
    هستید هستم بود شد شده میشه باشه باشد کنم کنید کنین کن لطفا سلام ممنون مرسی خسته نباشید عزیز جان دوست
    ببخشید یه رو بر سر پس چون اگه اگر هر خب خوب خیلی باید میخواستم میخوام میخواهم خواستم بپرسم سوال داشتم
    """.replace("آ", "ا").split()
)
_FA_PREFIXES = ("نمی", "می")
_FA_SUFFIXES = ("هایی", "هایم", "هایش", "های", "ها", "ترین", "تر", "مان", "تان", "شان", "یم", "ید", "ین", "ند", "ام", "ات",
                "اش", "رو", "ست", "ه", "م", "ی", "د", "ن", "ت", "ش", "و")


def stem_fa(word: str) -> list[str]:
    """Stem candidates of one Persian word: the word without its verb prefix, then up to two suffixes stripped.

    Persian stacks suffixes ("سفارشمو" = سفارش + م + و) and informal and formal verb endings differ ("میرسه" /
    "میرسد"), while a single stripping rule cannot tell a suffix from a root letter ("سفارش" ends in ش).  Emitting
    every candidate lets "سفارشمو", "سفارشم" and "سفارش" share a term; the wrong candidates are rare and weigh
    little next to the full word and its character n-grams.
    """
    w = word
    for p in _FA_PREFIXES:
        if w.startswith(p) and len(w) - len(p) >= 2:
            w = w[len(p):]
            break
    else:
        if w.startswith("ب") and len(w) >= 4 and w[-1] in "دمیه":  # subjunctive "برسد", "بگیرم"
            w = w[1:]
    out = [w]
    for _ in range(2):
        for s in _FA_SUFFIXES:
            if w.endswith(s) and len(w) - len(s) >= 2:
                w = w[: -len(s)]
                out.append(w)
                break
        else:
            break
    return out


def words(text: str, lang: str) -> list[str]:
    """Matching tokens of `text` (raw, not yet normalised) in language `lang`."""
    norm = normalize(text, lang)
    if lang == "th":
        return thai.segment(norm)
    if lang in ("fa", "ar"):
        return [stem_fa(w)[0] for w in norm.split() if w not in FA_STOPWORDS]
    return [stem_en(w) for w in norm.split() if w not in EN_STOPWORDS]


# --- the lexicon form (routing) ------------------------------------------------------------------------------

_LEX_ARABIC = str.maketrans(
    {
        **ARABIC_TO_PERSIAN,
        "\u2019": "'",  # ’ -> ' so "don’t" negates like "don't"
        "\u2018": "'",
    }
)
# Harakat, superscript alef and tatweel carry no meaning for matching.
_LEX_MARKS = re.compile(f"[{ARABIC_MARKS}]")
# Zero-width and direction marks that copy-paste and RTL editors insert; ZWNJ joins Persian word parts.
_LEX_INVISIBLE = re.compile("[\u200b\u200c\u200d\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# "می خواهم", "می‌خواهم" and "میخواهم" are one word; so are "سفارش ها" and "سفارش‌ها".
_LEX_FA_PREFIX = re.compile(r"(?<!\w)(ن?می)\s+(?=\w)")
_LEX_FA_SUFFIX = re.compile(r"(?<=\w)\s+(ها|های|هایی|هام|هاتون|تر|ترین)(?!\w)")
# Three or more of the same letter is emphasis, not spelling (no word in en/th/fa needs it).
_LEX_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_LEX_SPACES = re.compile(r"\s+")

ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
THAI_SCRIPT = re.compile("[\u0e00-\u0e7f]")


# The digits and the Arabic variants as one table (their keys are apart, and no value of one is a key of the other),
# applied only to a text that holds one of its characters: str.translate looks every character of a non-ASCII text
# up in the table, which cost more than the rest of `fold` for the Thai and English most messages are written in.
_FOLD_TABLE: dict[int, str] = {**DIGITS, **_LEX_ARABIC}
_FOLD_CHARS = re.compile("[" + re.escape("".join(map(chr, _FOLD_TABLE))) + "]")


@lru_cache(maxsize=64)
def fold(text: str) -> str:
    """Script-level folding shared by all languages: compatibility forms, digits, Arabic variants, marks.

    Kept for the last few texts, as `lexicon_form` is: routing folds a message for its lexicon form and again for
    the anger cues (`has_elongation`)."""
    text = unicodedata.normalize("NFKC", text)
    if _FOLD_CHARS.search(text) is not None:
        text = text.translate(_FOLD_TABLE)
    return _LEX_MARKS.sub("", text)


@lru_cache(maxsize=64)
def lexicon_form(text: str, lang: str | None = None) -> str:
    """The lexicon form of `text` for language `lang` (en, th, fa; anything else gets the common steps).

    Kept for the last few texts: routing one message asks for the same form several times (the kind's keyword
    scan, each department's keywords, the rules), in the intake and again in the review."""
    text = fold(text).casefold()
    if lang == "fa" or (lang is None and ARABIC_SCRIPT.search(text)):
        text = _LEX_INVISIBLE.sub("", text)
        text = _LEX_FA_PREFIX.sub(r"\1", text)
        text = _LEX_FA_SUFFIX.sub(r"\1", text)
    else:
        text = _LEX_INVISIBLE.sub("", text)
    text = _LEX_ELONGATED.sub(r"\1", text)
    if lang == "th":
        # Thai writes words without spaces and uses spaces loosely between phrases; matching ignores them.
        return _LEX_SPACES.sub("", text)
    return _LEX_SPACES.sub(" ", text).strip()


def has_elongation(text: str) -> bool:
    return bool(_LEX_ELONGATED.search(fold(text)))
