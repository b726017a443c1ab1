"""What the customer is told about their callback, in English, Thai and Persian (English when unknown)."""
from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "confirmed": {
        "en": "Your callback is booked: we will call {phone} between {start} and {end} ({tz}).",
        "th": "จองการโทรกลับเรียบร้อยแล้ว เราจะโทรหาหมายเลข {phone} ระหว่าง {start} ถึง {end} ({tz})",
        "fa": "درخواست تماس شما ثبت شد: بین {start} تا {end} ({tz}) با شماره {phone} تماس می‌گیریم.",
    },
    "manage": {
        "en": "To cancel or change the time: {url}",
        "th": "ยกเลิกหรือเปลี่ยนเวลาได้ที่: {url}",
        "fa": "برای لغو یا تغییر زمان: {url}",
    },
    "reminder": {
        "en": "Reminder: we will call {phone} between {start} and {end} ({tz}).",
        "th": "แจ้งเตือน: เราจะโทรหาหมายเลข {phone} ระหว่าง {start} ถึง {end} ({tz})",
        "fa": "یادآوری: بین {start} تا {end} ({tz}) با شماره {phone} تماس می‌گیریم.",
    },
    "rescheduled": {
        "en": "Your callback was moved: we will call {phone} between {start} and {end} ({tz}).",
        "th": "เลื่อนเวลาโทรกลับแล้ว เราจะโทรหาหมายเลข {phone} ระหว่าง {start} ถึง {end} ({tz})",
        "fa": "زمان تماس تغییر کرد: بین {start} تا {end} ({tz}) با شماره {phone} تماس می‌گیریم.",
    },
    "cancelled": {
        "en": "Your callback for {start} ({tz}) is cancelled.",
        "th": "ยกเลิกการโทรกลับเวลา {start} ({tz}) แล้ว",
        "fa": "تماس {start} ({tz}) لغو شد.",
    },
    "unreachable": {
        "en": "We tried to call {phone} {attempts} times but could not reach you. Write to us here or book a new time.",
        "th": "เราพยายามโทรหาหมายเลข {phone} แล้ว {attempts} ครั้งแต่ติดต่อไม่ได้ ตอบกลับที่นี่หรือจองเวลาใหม่ได้เลย",
        "fa": "{attempts} بار با شماره {phone} تماس گرفتیم ولی پاسخی نبود. همین‌جا بنویسید یا زمان تازه‌ای رزرو کنید.",
    },
    "offer": {
        "en": "Pick a time for our call ({tz}):",
        "th": "เลือกเวลาที่สะดวกให้เราโทรหา ({tz}):",
        "fa": "زمان تماس را انتخاب کنید ({tz}):",
    },
    "no_slots": {
        "en": "There are no free call times at the moment. Write to us here and an agent will answer.",
        "th": "ขณะนี้ไม่มีเวลาว่างสำหรับโทรกลับ พิมพ์ข้อความไว้ที่นี่ เจ้าหน้าที่จะตอบกลับ",
        "fa": "فعلاً زمان خالی برای تماس نداریم. همین‌جا بنویسید تا همکاران ما پاسخ دهند.",
    },
    "need_contact": {
        "en": "Please share your phone number first (attach, then Contact), then pick the time again.",
        "th": "กรุณาแชร์เบอร์โทรศัพท์ก่อน (แนบไฟล์ แล้วเลือก ผู้ติดต่อ) แล้วเลือกเวลาอีกครั้ง",
        "fa": "لطفاً اول شماره تلفن خود را بفرستید (پیوست، سپس مخاطب) و بعد دوباره زمان را انتخاب کنید.",
    },
    "taken": {
        "en": "That time was just taken or has passed. These are still free:",
        "th": "เวลานั้นถูกจองไปแล้วหรือผ่านไปแล้ว เวลาที่ยังว่างอยู่:",
        "fa": "آن زمان پر شده یا گذشته است. این زمان‌ها هنوز خالی‌اند:",
    },
}


def say(key: str, lang: str | None, **values: object) -> str:
    table = TEXTS[key]
    return table.get((lang or "en")[:2].lower(), table["en"]).format(**values)
