"""Language identification by script first, then vocabulary: th, fa, ar, en (and other scripts by block).

Script decides most cases (Thai and Arabic script are unambiguous against Latin). Within Arabic script, Persian
and Arabic are told apart by letters only one of them uses (پ چ ژ گ vs ة and Arabic-only forms) and by function
words. A caller's hint (widget `lang`, Telegram language_code, the customer's stored language) settles text that
carries no letters at all, and an Arabic-script text with no distinguishing mark. The one detector of the project:
routing, the FAQ bot and the learned models all ask it. Imports nothing from the hub.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import unicodedata

from nlp.normalize import ARABIC_SCRIPT, THAI_SCRIPT

_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_WORD = re.compile(r"[^\W\d_]+")

# Letters Arabic does not have; ی and ک are the Persian code points (Arabic uses ي and ك).
_PERSIAN_LETTERS = set("پچژگ")
# ة is Arabic's; Persian writes ه (loanwords aside). ي ى ك also appear in Persian typed on Arabic keyboards.
_ARABIC_LETTERS = set("ة")
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Common function words. Compared after folding ي/ك to Persian forms, so both spellings count.
_PERSIAN_WORDS = frozenset(
    "است هست نیست این آن اون که را رو برای از به با می نمی چرا چی چه کجا کی شما من هم یا اگر ولی اما تا"
    " خیلی هنوز دیگه هیچ باید شده شد کردم کنید میخواهم سلام ممنون مرسی لطفا".split()
)
_ARABIC_WORDS = frozenset(
    "في على هذا هذه التي الذي الى إلى هل لا لم لن كان كانت أن ان ماذا لماذا عن مع قد ذلك هناك انا أنا نحن"
    " شكرا مرحبا السلام عليكم لقد ليس كيف متى".split()
)


def _fold_word(word: str) -> str:
    return word.replace("ي", "ی").replace("ى", "ی").replace("ك", "ک")


_PERSIAN_WORDS = frozenset(map(_fold_word, _PERSIAN_WORDS))
_ARABIC_WORDS = frozenset(map(_fold_word, _ARABIC_WORDS))
_ENGLISH_WORDS = frozenset(
    "the and is are was to of my i you your it this that not no why how what when where can please thanks"
    " order do does did have has for with".split()
)


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    code: str  # ISO 639-1: "th", "fa", "ar", "en", or the hint / "und" when nothing tells
    reason: str


def detect_language(text: str, hint: str | None = None) -> LanguageGuess:
    """Detect the language of `text`; `hint` is used when the text itself cannot tell."""
    # Not nlp.normalize.fold: that folds ي/ك to Persian letters, which is the very evidence needed here.
    folded = _MARKS.sub("", unicodedata.normalize("NFKC", text))
    thai = len(THAI_SCRIPT.findall(folded))
    arabic = len(ARABIC_SCRIPT.findall(folded))
    latin = len(_LATIN.findall(folded))
    total = thai + arabic + latin + (_other_script(folded) or ("", 0))[1]
    hint = (hint or "").split("-")[0].split("_")[0].lower() or None
    if total == 0:
        return LanguageGuess(hint or "und", f"no letters; {'using hint ' + hint if hint else 'nothing to go on'}")
    # Product names and order ids are Latin inside Thai and Persian messages, so a native script only
    # needs a good share of the letters to win.
    if thai >= arabic and thai / total >= 0.3:
        return LanguageGuess("th", f"Thai script: {thai} of {total} letters")
    if arabic / total >= 0.3:
        return _persian_or_arabic(folded, arabic, total, hint)
    other = _other_script(folded)
    if other and other[1] > latin:
        return LanguageGuess(other[0], f"{other[0]} script: {other[1]} letters")
    words = [w.lower() for w in _WORD.findall(folded)]
    english = sum(w in _ENGLISH_WORDS for w in words)
    if english:
        return LanguageGuess("en", f"Latin script with {english} English function word(s)")
    if hint and hint not in ("th", "fa", "ar"):
        return LanguageGuess(hint, f"Latin script, no English function words; using hint {hint}")
    return LanguageGuess("en", "Latin script (no distinguishing vocabulary)")


def _persian_or_arabic(folded: str, arabic: int, total: int, hint: str | None) -> LanguageGuess:
    letters_fa = sum(ch in _PERSIAN_LETTERS for ch in folded)
    letters_ar = sum(ch in _ARABIC_LETTERS for ch in folded)
    # ي and ك are no evidence either way: a Persian text typed on an Arabic keyboard is full of them.
    words = [_fold_word(w) for w in _WORD.findall(folded)]
    words_fa = sum(w in _PERSIAN_WORDS for w in words)
    words_ar = sum(w in _ARABIC_WORDS for w in words)
    al_prefix = sum(w.startswith("ال") and len(w) > 3 for w in words)
    score_fa = 2.0 * letters_fa + 2.0 * words_fa
    score_ar = 2.0 * letters_ar + 2.0 * words_ar + 0.5 * al_prefix
    detail = (
        f"Arabic script: {arabic} of {total} letters; Persian marks {letters_fa} letters/{words_fa} words,"
        f" Arabic marks {letters_ar} letters/{words_ar} words/{al_prefix} al- prefixes"
    )
    if score_fa == score_ar:
        chosen = hint if hint in ("fa", "ar") else "fa"
        return LanguageGuess(chosen, f"{detail}; undecided, {'hint' if hint in ('fa', 'ar') else 'default'} {chosen}")
    return LanguageGuess("fa" if score_fa > score_ar else "ar", detail)


_BLOCKS = (("ru", 0x0400, 0x04FF), ("zh", 0x4E00, 0x9FFF), ("ja", 0x3040, 0x30FF), ("ko", 0xAC00, 0xD7AF))
# One character class per script: counted by the regex engine, not a Python loop over every character.
_SCRIPTS = tuple((code, re.compile(f"[{chr(lo)}-{chr(hi)}]")) for code, lo, hi in _BLOCKS)
_ANY_OTHER = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for _, lo, hi in _BLOCKS) + "]")


def _other_script(text: str) -> tuple[str, int] | None:
    """The most used of the other scripts a customer may write in (Cyrillic, Han, kana, Hangul), if any."""
    if _ANY_OTHER.search(text) is None:
        return None
    counts = {code: len(pattern.findall(text)) for code, pattern in _SCRIPTS}
    code = max(counts, key=lambda k: counts[k])
    return (code, counts[code]) if counts[code] else None


def language_of(text: str, hint: str | None = None) -> str:
    """Just the code: "th", "fa", "ar", "en", "ru", "zh", "ja", "ko", a hint's language or "und"."""
    return detect_language(text, hint).code
