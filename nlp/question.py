"""Does a message ask something?  A question mark in any script, or an interrogative word of en, th or fa.

Used where a complaint-looking message may still be a question the knowledge base can answer ("I want my money
back, how does that work?"), so it is answered and watched instead of handed off at once.
"""
from __future__ import annotations

import re

from nlp.normalize import lexicon_form

__all__ = ["looks_like_question"]

_MARK = re.compile(r"[?？؟]")
_WORDS = {
    "en": re.compile(r"(?<!\w)(how|what|when|where|which|why|can i|can you|could you|do you|is there|is it|are there)(?!\w)"),
    "fa": re.compile(r"(?<!\w)(چطور|چطوری|چگونه|چه|چی|چیه|کی|کجا|کجاست|آیا|ایا|چرا|چند|چقدر|میشه|میتونم|امکانش)(?!\w)"),
    # Thai is matched without word boundaries: it has none.
    "th": re.compile("ยังไง|อย่างไร|ไหม|มั้ย|เมื่อไหร่|เมื่อไร|ที่ไหน|เท่าไหร่|เท่าไร|อะไร|ทำไม|หรือเปล่า|ได้ไหม|กี่"),
}


def looks_like_question(text: str, lang: str) -> bool:
    if _MARK.search(text):
        return True
    pattern = _WORDS.get("fa" if lang == "ar" else lang)
    return bool(pattern and pattern.search(lexicon_form(text, lang)))
