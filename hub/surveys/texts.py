"""What the customer is asked and told by surveys and check-ins: the English source here, the translations in the
server catalogs (hub/locale, read through hub.i18n; English when a language has none).

Thai is written without spaces between words; Persian right to left with Persian digits (`digits`).
"""
from __future__ import annotations

import re

from hub.i18n import N_, known, tr

TEXTS: dict[str, str] = {
    "ask_chat": N_("Your request “{subject}” is resolved. "
                   "How satisfied are you with our help? Tap 1 (not at all) to 5 (very)."),
    "ask_email": N_("Your request “{subject}” is resolved. How satisfied are you with our help? "
                    "One tap on this page tells us (you can change your answer until {until}):\n\n{url}\n\nThank you!"),
    "ask_nps": N_("How likely are you to recommend us to a friend? 0 (not at all) to 10 (extremely)."),
    "ask_comment": N_("Thank you! Is there anything you would like to add? Just write it here."),
    "sorry": N_("We are sorry we let you down. A supervisor will look into it and get back to you."),
    "thanks": N_("Thank you for your feedback."),
    "checkin": N_("We fixed the problem you reported (“{subject}”). Is everything still working?"),
    "checkin_email": N_("We fixed the problem you reported (“{subject}”). Is everything still working? "
                        "Just reply “yes”, or tell us what is wrong and we will reopen your request."),
    "yes": N_("Yes, all good"),
    "no": N_("No, still a problem"),
    "checkin_ok": N_("Great to hear, thank you!"),
    "checkin_reopened": N_("Sorry about that. We have reopened your request and an agent will get back to you."),
    # The link page.
    "page_title": N_("How did we do?"),
    "page_question": N_("How satisfied are you with our help on “{subject}”?"),
    "page_low": N_("not at all"),
    "page_high": N_("very"),
    "page_comment": N_("Anything you would like to add? (optional)"),
    "page_submit": N_("Send"),
    "page_saved": N_("Thank you, your answer is saved. You can change it on this page until {until}."),
    "page_pick": N_("Please pick a score from 1 to 5."),
    "page_gone": N_("This survey link has expired or was already used. Thank you all the same!"),
}

_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Digits a customer may type: ASCII, Thai, Persian and Arabic-Indic.
_TO_ASCII = str.maketrans("๐๑๒๓๔๕๖๗๘๙۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 3)


def lang_of(lang: str | None) -> str:
    """The supported language of a stored tag ("th", "fa-IR"), English when there is no catalog for it."""
    return known(lang) or "en"


def say(key: str, lang: str | None, **values: object) -> str:
    return tr(lang, TEXTS[key], **values)


def digits(n: int | str, lang: str | None) -> str:
    """A number as the customer reads it: Persian digits in Persian."""
    s = str(n)
    return s.translate(_PERSIAN) if lang_of(lang) == "fa" else s


def number(text: str, low: int, high: int) -> int | None:
    """A bare number typed as an answer ("4", "๔", "۴", " 5 ", "4/5"), else None."""
    t = text.strip().translate(_TO_ASCII).rstrip(".!").strip()
    if "/" in t:
        t = t.split("/", 1)[0].strip()
    if not t.isdigit() or len(t) > 2:
        return None
    n = int(t)
    return n if low <= n <= high else None


_QUESTION_WORDS = {
    "en": ("how ", "what ", "where ", "when ", "why ", "who ", "which ", "can you", "could you", "can i", "do you",
           "does ", "is there", "are there", "is it", "will ", "i need", "i want", "please help", "help me"),
    "th": ("ไหม", "มั้ย", "อย่างไร", "ยังไง", "หรือเปล่า", "หรือยัง", "เมื่อไร", "เมื่อไหร่", "ที่ไหน", "ทำไม", "อะไร", "ได้ไหม",
           "ช่วย", "ต้องการ", "อยากทราบ"),
    "fa": ("چطور", "چگونه", "کجا", "کی ", "چرا", "چه ", "آیا", "میخواهم", "می‌خواهم", "کمک", "لطفا", "لطفاً"),
}


def looks_like_question(text: str) -> bool:
    """A new question or request rather than a remark on the survey: it opens or continues a ticket as usual."""
    t = text.strip().lower()
    if "?" in t or "؟" in t:
        return True
    return any(w in f"{t} " for words in _QUESTION_WORDS.values() for w in words)


_YES = ("yes", "yep", "yeah", "all good", "works", "working", "fine", "ok", "okay", "ใช่", "ได้แล้ว", "ใช้ได้", "เรียบร้อย",
        "ปกติ", "ดีแล้ว", "بله", "آره", "درست", "خوب است", "اوکی")
# Read first, and taken out of the text: they hold a "no" word ("no", "still", "ยัง", "ไม่") yet say all is well.
_FINE = ("no problem", "no problems", "no issues", "not broken", "still working", "still works", "still fine", "still good",
         "ไม่มีปัญหา", "ยังใช้ได้", "ยังใช้งานได้", "ยังดี", "مشکلی نیست", "مشکلی ندارد", "هنوز خوب")
_NO = ("no", "nope", "not", "still", "again", "broken", "doesn't", "does not", "isn't", "ไม่", "ยัง", "เสีย", "نه", "خیر",
       "هنوز", "خراب")
_THAI = re.compile(r"[\u0e00-\u0e7f]")


def _pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    """Whole words where words are spaced ("no" is not in "now", نه not in خانه); Thai, written without spaces
    between words, by its letters."""
    parts = [re.escape(w) if _THAI.search(w) else rf"(?<![\w\u200c]){re.escape(w)}(?![\w\u200c])" for w in words]
    return re.compile("|".join(sorted(parts, key=len, reverse=True)))


_YES_RE, _FINE_RE, _NO_RE = _pattern(_YES), _pattern(_FINE), _pattern(_NO)


def yes_no(text: str) -> bool | None:
    """A short check-in answer: True (still fine), False (still a problem), None (something else)."""
    t = " ".join(text.strip().lower().split())
    if len(t) > 80:
        return None
    t = _FINE_RE.sub(" fine ", t)  # "still working" must not read as "still" (a problem)
    if _NO_RE.search(t):
        return False
    if _YES_RE.search(t):
        return True
    return None
    if any(w in t for w in _FINE):
        return True
    if any(w in t for w in _NO):
        return False
    if any(w in t for w in _YES):
        return True
    return None
