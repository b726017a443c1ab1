"""Language detection and text normalisation (nlp.langid, nlp.normalize)."""
from __future__ import annotations

import pytest

from nlp.langid import detect_language
from nlp.normalize import lexicon_form as normalize


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Hello, where is my order?", "en"),
        ("สวัสดีครับ ของยังไม่ถึงเลย", "th"),
        ("iPhone 15 Pro ของผมจอแตกครับ", "th"),  # Latin product names inside Thai
        ("سلام، سفارش من هنوز نرسیده", "fa"),
        ("سفارشم رسيده ولي نصفش خرابه، خيلي بده", "fa"),  # Persian typed with Arabic ي/ك
        ("گوشی که خریدم خراب است", "fa"),  # گ is Persian-only
        ("مرحبا، لماذا لم يصل طلبي حتى الآن؟", "ar"),
        ("هذه الخدمة سيئة جدا في الحقيقة", "ar"),
    ],
)
def test_detects_script_and_vocabulary(text: str, code: str) -> None:
    guess = detect_language(text)
    assert guess.code == code, guess.reason
    assert guess.reason


def test_hint_decides_only_when_text_cannot() -> None:
    assert detect_language("😡😡 !!!", "fa-IR").code == "fa"
    assert detect_language("12345").code == "und"
    # The text wins over a wrong hint.
    assert detect_language("ของยังไม่มาเลยค่ะ", "en").code == "th"


def test_persian_normaliser_folds_variants_digits_and_zwnj() -> None:
    a = normalize("مي‌خواهم كيفيت ۱۲۳ را بدانم", "fa")
    b = normalize("میخواهم کیفیت 123 را بدانم", "fa")
    c = normalize("می خواهم کیفیت ١٢٣ را بدانم", "fa")
    assert a == b == c


def test_persian_normaliser_strips_diacritics_and_tatweel() -> None:
    assert normalize("مُشـــکل", "fa") == normalize("مشکل", "fa")


def test_thai_normaliser_drops_spaces_and_collapses_elongation() -> None:
    assert normalize("แย่ มากกกกก ๆ", "th") == normalize("แย่มากๆ", "th")
    assert normalize("ราคา ๑๒๐ บาท", "th") == "ราคา120บาท"


def test_english_normaliser_straightens_quotes() -> None:
    assert normalize("It DOESN’T work", "en") == "it doesn't work"
