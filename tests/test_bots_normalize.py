"""Normalisation and language detection for Persian, Thai and English."""
from __future__ import annotations

import pytest

from nlp import thai
from bots.features import terms
from nlp.langid import language_of as detect_language
from nlp.normalize import normalize, stem_en, stem_fa, strip_thai_tones, words


@pytest.mark.parametrize(
    "variant",
    ["می‌خواهم", "میخواهم", "می خواهم", "مي‌خواهم", "مى خواهم", "میـخواهم"],
)
def test_persian_zwnj_space_and_arabic_letters_meet(variant: str) -> None:
    assert normalize(variant, "fa") == "میخواهم"


def test_persian_arabic_variants_and_diacritics() -> None:
    assert normalize("كتاب", "fa") == normalize("کتاب", "fa")
    assert normalize("هزينه", "fa") == "هزینه"
    assert normalize("مدرسة", "fa") == "مدرسه"
    assert normalize("آدرس", "fa") == normalize("ادرس", "fa")
    assert normalize("سَلامٌ", "fa") == "سلام"
    assert normalize("کتاب ها", "fa") == normalize("کتاب‌ها", "fa") == "کتابها"


def test_persian_and_arabic_digits_become_ascii() -> None:
    assert normalize("سفارش ۱۲۳۴", "fa") == "سفارش 1234"
    assert normalize("سفارش ١٢٣٤", "fa") == "سفارش 1234"
    assert normalize("คำสั่งซื้อ ๑๒๓", "th") == "คำสั่งซื้อ 123"


def test_persian_stems_share_a_term() -> None:
    assert "سفارش" in stem_fa("سفارشمو")
    assert "سفارش" in stem_fa("سفارشم")
    assert stem_fa("میرسه")[-1] == stem_fa("میرسد")[-1]
    assert set(terms("سفارشم كجاست", "fa")) & set(terms("سفارش من کجاست", "fa"))


def test_thai_sara_am_and_repeat_mark() -> None:
    decomposed = "\u0e17\u0e4d\u0e32"  # NIKHAHIT + SARA AA
    assert normalize(decomposed, "th") == normalize("ทำ", "th") == "ทำ"
    assert normalize("ดีๆ", "th") == "ดี"


def test_thai_tone_marks_can_be_stripped() -> None:
    assert strip_thai_tones("ค่าส่งเท่าไหร่") == "คาสงเทาไหร"
    assert strip_thai_tones("ค่า") == strip_thai_tones("คา")


def test_thai_segmentation_without_spaces_drops_particles() -> None:
    assert thai.segment(normalize("ค่าส่งเท่าไหร่คะ", "th")) == ["ค่า", "ส่ง", "เท่าไหร่"]
    assert thai.segment(normalize("ลืมรหัสผ่านครับ", "th")) == ["ลืม", "รหัสผ่าน"]
    # Unknown words survive as one piece instead of being lost.
    assert "".join(thai.segment("ฟหกดเสว")) == "ฟหกดเสว"


def test_english_case_punctuation_stemming_and_runs() -> None:
    assert normalize("Where's my PARCEL??", "en") == "wheres my parcel"
    assert normalize("soooo slow", "en") == "so slow"
    assert stem_en("deliveries") == "delivery"
    assert stem_en("shipping") == stem_en("ships") == "ship"
    assert words("The refunds were delayed", "en") == ["refund", "delay"]


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("ร้านเปิดกี่โมงคะ", "th"),
        ("سفارشم کجاست؟", "fa"),
        ("سفارشم كجاست", "fa"),  # Arabic kaf, still Persian by its words
        ("هل الطلب في الطريق", "ar"),
        ("Where is my order?", "en"),
        ("Где мой заказ", "ru"),
        ("12345 !!", "und"),
        ("", "und"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_fold_gives_the_plain_definitions_answer_on_any_text() -> None:
    """`fold` translates only a text holding one of its table's characters, through one table for both: the same
    answer as the two translations it replaces, on generated text mixing those characters with Thai, Persian,
    English, marks and compatibility forms."""
    import re
    import unicodedata

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from hub.text import ARABIC_MARKS, DIGITS
    from nlp.normalize import _LEX_ARABIC, fold

    def plain(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).translate(DIGITS).translate(_LEX_ARABIC)
        return re.sub(f"[{ARABIC_MARKS}]", "", text)

    table = "".join(map(chr, {**DIGITS, **_LEX_ARABIC}))
    alphabet = table + ARABIC_MARKS + "abc 09-]^\\ กไม่สวัสดี๑سلامکیﻙﯼ\u200c①ﬁ’'"

    @settings(max_examples=500, deadline=None)
    @given(st.text(alphabet=alphabet, max_size=24) | st.text(max_size=12))
    def check(text: str) -> None:
        assert fold(text) == plain(text)

    check()
    assert fold("سفارش ۱۲۳ كيك") == "سفارش 123 کیک"
    assert fold("สั่ง ๓ ชิ้น") == "สั่ง 3 ชิ้น"
    assert fold("don’t") == "don't"
