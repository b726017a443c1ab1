"""What the bot says, in English, Thai and Persian.  Short, polite, plain text (channels render it as they can).

Pure functions; imports only the standard library.  Unknown languages fall back to English.
"""
from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["t", "LANGS", "format_wait", "queue_notice_text", "email_ack_text", "feedback_reply", "did_you_mean_text"]

LANGS = ("en", "th", "fa")

_T: dict[str, dict[str, str]] = {
    "did_it_help": {
        "en": "Did this answer your question?",
        "th": "คำตอบนี้ช่วยได้ไหมคะ",
        "fa": "آیا این پاسخ به سؤال شما کمک کرد؟",
    },
    "did_it_help_text": {
        "en": "Did this answer your question? Reply yes or no.",
        "th": "คำตอบนี้ช่วยได้ไหมคะ ตอบ ใช่ หรือ ไม่ ได้เลยค่ะ",
        "fa": "آیا این پاسخ کمک کرد؟ لطفاً «بله» یا «نه» بنویسید.",
    },
    "did_you_mean": {
        "en": "I'm not quite sure what you mean. Did you mean one of these?",
        "th": "ไม่แน่ใจว่าเข้าใจถูกไหมคะ หมายถึงเรื่องใดเรื่องหนึ่งต่อไปนี้หรือเปล่าคะ",
        "fa": "مطمئن نیستم منظورتان را درست فهمیده باشم. منظورتان یکی از این‌هاست؟",
    },
    "did_you_mean_text": {
        "en": "Reply with the number of your choice, or describe your question in other words.",
        "th": "พิมพ์หมายเลขที่ต้องการ หรือพิมพ์คำถามใหม่อีกแบบได้เลยค่ะ",
        "fa": "شماره گزینه را بفرستید یا سؤالتان را به شکل دیگری بنویسید.",
    },
    "none_of_these": {"en": "None of these", "th": "ไม่ใช่ทั้งหมด", "fa": "هیچ‌کدام"},
    "yes": {"en": "Yes, thanks", "th": "ใช่ ขอบคุณค่ะ", "fa": "بله، ممنون"},
    "no": {"en": "No, talk to a person", "th": "ไม่ใช่ ขอคุยกับเจ้าหน้าที่", "fa": "نه، با کارشناس صحبت کنم"},
    "glad": {
        "en": "Glad I could help! Anything else, just ask.",
        "th": "ยินดีค่ะ หากมีคำถามอื่น พิมพ์มาได้เลยนะคะ",
        "fa": "خوشحالیم که کمک کرد! اگر سؤال دیگری دارید، بپرسید.",
    },
    "rephrase": {
        "en": "Sorry, I'm not sure I understood. Could you say it another way? Or type \"agent\" to talk to a person.",
        "th": "ขออภัยค่ะ ไม่แน่ใจว่าเข้าใจถูกไหม ช่วยพิมพ์ใหม่อีกแบบได้ไหมคะ หรือพิมพ์ \"คุยกับพนักงาน\" เพื่อคุยกับเจ้าหน้าที่",
        "fa": "ببخشید، مطمئن نیستم منظورتان را فهمیده باشم. می‌شود طور دیگری بنویسید؟ یا بنویسید «اپراتور» تا با کارشناس صحبت کنید.",
    },
    "handoff": {
        "en": "I'm passing you to a member of our team. They'll reply here as soon as they can.",
        "th": "กำลังส่งต่อให้เจ้าหน้าที่ค่ะ เจ้าหน้าที่จะตอบกลับในแชทนี้โดยเร็วที่สุด",
        "fa": "گفت‌وگو را به یکی از همکارانمان می‌سپارم. در اولین فرصت همین‌جا پاسخ می‌دهند.",
    },
    "handoff_complaint": {
        "en": "I'm sorry about this. I've passed your message to our team, and a person will look into it shortly.",
        "th": "ขออภัยในความไม่สะดวกค่ะ ได้ส่งเรื่องให้เจ้าหน้าที่แล้ว จะรีบตรวจสอบและติดต่อกลับโดยเร็วค่ะ",
        "fa": "بابت این موضوع متأسفیم. پیام شما را به همکارانمان دادیم و به‌زودی رسیدگی می‌کنند.",
    },
    "email_ack_head": {
        "en": "This is an automatic reply: we have received your message and a member of our team will answer you personally.",
        "th": "ข้อความนี้ตอบกลับอัตโนมัติ: เราได้รับข้อความของคุณแล้ว เจ้าหน้าที่จะตอบกลับโดยตรงค่ะ",
        "fa": "این یک پاسخ خودکار است: پیام شما را دریافت کردیم و یکی از همکارانمان شخصاً پاسخ می‌دهد.",
    },
    "email_ack_likely": {
        "en": "Meanwhile, this may already answer your question:",
        "th": "ระหว่างนี้ ข้อมูลต่อไปนี้อาจตอบคำถามของคุณได้:",
        "fa": "تا آن زمان، شاید این پاسخ سؤال شما باشد:",
    },
    "queue_position": {
        "en": "Thanks for waiting. You're number {position} in the queue.",
        "th": "ขอบคุณที่รอค่ะ ตอนนี้คุณอยู่ลำดับที่ {position} ในคิว",
        "fa": "ممنون از صبرتان. شما نفر {position} در صف هستید.",
    },
    "queue_next": {
        "en": "Thanks for waiting. You're next in line.",
        "th": "ขอบคุณที่รอค่ะ คิวถัดไปคือคุณ",
        "fa": "ممنون از صبرتان. نفر بعدی شما هستید.",
    },
    "queue_wait": {
        "en": "Expected wait: about {wait}.",
        "th": "เวลารอโดยประมาณ {wait}",
        "fa": "زمان انتظار تقریبی: {wait}.",
    },
    "closed": {
        "en": "Our team is offline right now and will be back {when}. Your message is saved and we'll reply then.",
        "th": "ขณะนี้อยู่นอกเวลาทำการ เจ้าหน้าที่จะกลับมา{when} ข้อความของคุณถูกบันทึกไว้แล้ว และจะตอบกลับเมื่อเปิดทำการค่ะ",
        "fa": "همکاران ما الان در دسترس نیستند و {when} برمی‌گردند. پیام شما ثبت شده و همان موقع پاسخ می‌دهیم.",
    },
    "callback_offer": {
        "en": "Prefer a call? Ask for a callback and pick a time that suits you.",
        "th": "หากสะดวกให้โทรกลับ ขอนัดโทรกลับและเลือกเวลาที่สะดวกได้เลยค่ะ",
        "fa": "ترجیح می‌دهید با شما تماس بگیریم؟ درخواست تماس بدهید و زمان مناسب را انتخاب کنید.",
    },
    "minutes": {"en": "{n} min", "th": "{n} นาที", "fa": "{n} دقیقه"},
    "hours": {"en": "{n} h", "th": "{n} ชั่วโมง", "fa": "{n} ساعت"},
    "at": {"en": "on {day} at {time}", "th": "วัน{day} เวลา {time} น.", "fa": "{day} ساعت {time}"},
}

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "th": ("จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์"),
    "fa": ("دوشنبه", "سه‌شنبه", "چهارشنبه", "پنجشنبه", "جمعه", "شنبه", "یکشنبه"),
}
_FA_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _lang(lang: str | None) -> str:
    return lang if lang in LANGS else "en"


def t(key: str, lang: str | None, **values: object) -> str:
    text = _T[key][_lang(lang)].format(**values)
    return text.translate(_FA_DIGITS) if _lang(lang) == "fa" else text


def format_wait(wait: timedelta, lang: str | None) -> str:
    minutes = max(1, round(wait.total_seconds() / 60))
    if minutes < 90:
        return t("minutes", lang, n=minutes)
    return t("hours", lang, n=round(minutes / 60))


def queue_notice_text(lang: str | None, position: int | None, wait: timedelta | None, open_now: bool,
                      next_opening: datetime | None, offer_callback: bool) -> str:
    """One short status message for a queued customer (see bots.policy.queue_notice)."""
    parts: list[str] = []
    if not open_now:
        when = ""
        if next_opening is not None:
            day = _DAYS[_lang(lang)][next_opening.weekday()]
            when = t("at", lang, day=day, time=next_opening.strftime("%H:%M"))
        parts.append(t("closed", lang, when=when).replace("  ", " "))
    else:
        if position is not None and position <= 1:
            parts.append(t("queue_next", lang))
        elif position is not None:
            parts.append(t("queue_position", lang, position=position))
        if wait is not None:
            parts.append(t("queue_wait", lang, wait=format_wait(wait, lang)))
    if offer_callback:
        parts.append(t("callback_offer", lang))
    return " ".join(parts)


def email_ack_text(lang: str | None, answers: list[str]) -> str:
    """The single automatic acknowledgement on email, with the likely answers (if any) below it."""
    lines = [t("email_ack_head", lang)]
    if answers:
        lines += ["", t("email_ack_likely", lang), ""]
        lines += [f"- {a}" for a in answers]
    return "\n".join(lines)


def did_you_mean_text(lang: str | None, titles: list[str], with_buttons: bool) -> str:
    """The question that offers the closest entries; without buttons the choices are numbered in the text."""
    if with_buttons:
        return t("did_you_mean", lang)
    digits = _FA_DIGITS if _lang(lang) == "fa" else None
    lines = [t("did_you_mean", lang), ""]
    for i, title in enumerate(titles, 1):
        n = str(i).translate(digits) if digits else str(i)
        lines.append(f"{n}. {title}")
    lines += ["", t("did_you_mean_text", lang)]
    return "\n".join(lines)


def feedback_reply(lang: str | None) -> str:
    return t("glad", lang)
