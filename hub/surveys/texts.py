"""What the customer is asked and told by surveys and check-ins, in English, Thai and Persian (English when unknown).

Thai is written without spaces between words; Persian right to left with Persian digits (`digits`).
"""
from __future__ import annotations

import re

LANGS = ("en", "th", "fa")

TEXTS: dict[str, dict[str, str]] = {
    "ask_chat": {
        "en": "Your request \u201c{subject}\u201d is resolved. How satisfied are you with our help? Tap 1 (not at all) to 5 (very).",
        "th": "เรื่อง \u201c{subject}\u201d ได้รับการแก้ไขแล้ว คุณพอใจกับการช่วยเหลือของเราแค่ไหน แตะ1(ไม่พอใจเลย)ถึง5(พอใจมาก)",
        "fa": "درخواست «{subject}» شما حل شد. چقدر از کمک ما راضی هستید؟ از ۱ (اصلاً) تا ۵ (خیلی زیاد) انتخاب کنید.",
    },
    "ask_email": {
        "en": "Your request \u201c{subject}\u201d is resolved. How satisfied are you with our help? One tap on this page "
              "tells us (you can change your answer until {until}):\n\n{url}\n\nThank you!",
        "th": "เรื่อง \u201c{subject}\u201d ได้รับการแก้ไขแล้ว คุณพอใจกับการช่วยเหลือของเราแค่ไหน บอกเราได้ที่หน้านี้ "
              "(เปลี่ยนคำตอบได้ถึง {until}):\n\n{url}\n\nขอบคุณค่ะ",
        "fa": "درخواست «{subject}» شما حل شد. چقدر از کمک ما راضی هستید؟ در این صفحه به ما بگویید "
              "(تا {until} می‌توانید پاسخ را تغییر دهید):\n\n{url}\n\nسپاس‌گزاریم!",
    },
    "ask_nps": {
        "en": "How likely are you to recommend us to a friend? 0 (not at all) to 10 (extremely).",
        "th": "คุณจะแนะนำเราให้เพื่อนมากแค่ไหน 0(ไม่แนะนำเลย)ถึง10(แนะนำแน่นอน)",
        "fa": "چقدر احتمال دارد ما را به دوستانتان پیشنهاد کنید؟ از ۰ (اصلاً) تا ۱۰ (حتماً).",
    },
    "ask_comment": {
        "en": "Thank you! Is there anything you would like to add? Just write it here.",
        "th": "ขอบคุณค่ะ มีอะไรอยากบอกเราเพิ่มเติมไหม พิมพ์ไว้ที่นี่ได้เลย",
        "fa": "سپاس! اگر نکته‌ای دارید همین‌جا بنویسید.",
    },
    "sorry": {
        "en": "We are sorry we let you down. A supervisor will look into it and get back to you.",
        "th": "ขออภัยที่ทำให้คุณผิดหวัง หัวหน้างานจะตรวจสอบและติดต่อกลับค่ะ",
        "fa": "متأسفیم که راضی نبودید. سرپرست ما موضوع را بررسی می‌کند و با شما تماس می‌گیرد.",
    },
    "thanks": {
        "en": "Thank you for your feedback.",
        "th": "ขอบคุณสำหรับความคิดเห็นค่ะ",
        "fa": "از بازخورد شما سپاس‌گزاریم.",
    },
    "checkin": {
        "en": "We fixed the problem you reported (\u201c{subject}\u201d). Is everything still working?",
        "th": "เราแก้ไขปัญหาที่คุณแจ้ง(\u201c{subject}\u201d)แล้ว ตอนนี้ทุกอย่างยังใช้งานได้ดีไหม",
        "fa": "مشکلی که گزارش داده بودید («{subject}») برطرف شد. آیا همه‌چیز هنوز درست کار می‌کند؟",
    },
    "checkin_email": {
        "en": "We fixed the problem you reported (\u201c{subject}\u201d). Is everything still working? "
              "Just reply \u201cyes\u201d, or tell us what is wrong and we will reopen your request.",
        "th": "เราแก้ไขปัญหาที่คุณแจ้ง(\u201c{subject}\u201d)แล้ว ตอนนี้ทุกอย่างยังใช้งานได้ดีไหม "
              "ตอบกลับว่า\u201cใช่\u201d หรือบอกเราว่ามีปัญหาอะไร เราจะเปิดเรื่องของคุณอีกครั้ง",
        "fa": "مشکلی که گزارش داده بودید («{subject}») برطرف شد. آیا همه‌چیز هنوز درست کار می‌کند؟ "
              "کافی است «بله» پاسخ دهید، یا بگویید چه مشکلی هست تا درخواست شما دوباره باز شود.",
    },
    "yes": {"en": "Yes, all good", "th": "ใช่ ใช้งานได้ดี", "fa": "بله، همه‌چیز خوب است"},
    "no": {"en": "No, still a problem", "th": "ไม่ ยังมีปัญหา", "fa": "نه، هنوز مشکل دارد"},
    "checkin_ok": {
        "en": "Great to hear, thank you!",
        "th": "ดีใจที่ได้ยินค่ะ ขอบคุณค่ะ",
        "fa": "خوشحالیم که درست شد، سپاس!",
    },
    "checkin_reopened": {
        "en": "Sorry about that. We have reopened your request and an agent will get back to you.",
        "th": "ขออภัยค่ะ เราเปิดเรื่องของคุณอีกครั้งแล้ว เจ้าหน้าที่จะติดต่อกลับ",
        "fa": "متأسفیم. درخواست شما دوباره باز شد و همکاران ما پاسخ می‌دهند.",
    },
    # The link page.
    "page_title": {"en": "How did we do?", "th": "เราช่วยคุณได้ดีแค่ไหน", "fa": "کار ما چطور بود؟"},
    "page_question": {
        "en": "How satisfied are you with our help on \u201c{subject}\u201d?",
        "th": "คุณพอใจกับการช่วยเหลือเรื่อง\u201c{subject}\u201dแค่ไหน",
        "fa": "چقدر از کمک ما درباره «{subject}» راضی هستید؟",
    },
    "page_low": {"en": "not at all", "th": "ไม่พอใจเลย", "fa": "اصلاً"},
    "page_high": {"en": "very", "th": "พอใจมาก", "fa": "خیلی زیاد"},
    "page_comment": {
        "en": "Anything you would like to add? (optional)",
        "th": "มีอะไรอยากบอกเพิ่มเติมไหม (ไม่บังคับ)",
        "fa": "نکته‌ای برای گفتن دارید؟ (اختیاری)",
    },
    "page_submit": {"en": "Send", "th": "ส่ง", "fa": "ارسال"},
    "page_saved": {
        "en": "Thank you, your answer is saved. You can change it on this page until {until}.",
        "th": "ขอบคุณค่ะ บันทึกคำตอบแล้ว เปลี่ยนคำตอบในหน้านี้ได้ถึง {until}",
        "fa": "سپاس، پاسخ شما ثبت شد. تا {until} می‌توانید آن را در همین صفحه تغییر دهید.",
    },
    "page_pick": {
        "en": "Please pick a score from 1 to 5.",
        "th": "กรุณาเลือกคะแนน1ถึง5",
        "fa": "لطفاً امتیازی از ۱ تا ۵ انتخاب کنید.",
    },
    "page_gone": {
        "en": "This survey link has expired or was already used. Thank you all the same!",
        "th": "ลิงก์แบบสอบถามนี้หมดอายุหรือถูกใช้ไปแล้ว ขอบคุณค่ะ",
        "fa": "این پیوند نظرسنجی منقضی شده یا قبلاً استفاده شده است. به هر حال سپاس‌گزاریم!",
    },
}

_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
# Digits a customer may type: ASCII, Thai, Persian and Arabic-Indic.
_TO_ASCII = str.maketrans("๐๑๒๓๔๕๖๗๘๙۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 3)


def lang_of(lang: str | None) -> str:
    code = (lang or "en")[:2].lower()
    return code if code in LANGS else "en"


def say(key: str, lang: str | None, **values: object) -> str:
    return TEXTS[key][lang_of(lang)].format(**values)


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
