"""Matching against the default knowledge base in each language, and rejection of off-topic messages."""
from __future__ import annotations

from pathlib import Path

import pytest

from bots.kb import load
from bots.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load(ROOT / "faq.yaml"), threshold=0.6)


@pytest.mark.parametrize(
    ("text", "lang", "entry"),
    [
        ("How much do you charge for delivery?", "en", "shipping_cost"),
        ("i forgot my pasword", "en", "account_password"),
        ("Do you ship to Germany?", "en", "international_shipping"),
        ("what payment methods do u accept", "en", "payment_methods"),
        ("ค่าส่งกี่บาทคะ", "th", "shipping_cost"),
        ("ลืมรหัสผ่านเข้าไม่ได้ค่ะ", "th", "account_password"),
        ("ร้านเปิดวันอาทิตย์ไหมคะ", "th", "opening_hours"),
        ("อยากยกเลิกคำสั่งซื้อค่ะ", "th", "cancel_order"),
        ("هزینه ارسال چقدر است؟", "fa", "shipping_cost"),
        ("هزينه ارسال چقدره", "fa", "shipping_cost"),  # Arabic yeh
        ("می‌خواهم سفارشم را لغو کنم", "fa", "cancel_order"),
        ("ميخوام سفارشمو لغو كنم", "fa", "cancel_order"),  # no ZWNJ, Arabic letters
        ("رمز عبورم را فراموش کرده‌ام", "fa", "account_password"),
    ],
)
def test_matches_in_each_language(matcher: Matcher, text: str, lang: str, entry: str) -> None:
    m = matcher.match(text, lang)
    assert m is not None, matcher.rank(text, lang)
    assert m.entry.id == entry
    assert 0.6 <= m.confidence <= 1.0


def test_language_is_detected_when_not_given(matcher: Matcher) -> None:
    m = matcher.match("ส่งของกี่วันถึงคะ")
    assert m is not None and m.lang == "th" and m.entry.id == "delivery_time"


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("what is the capital of peru", "en"),
        ("write me a haiku about the sea", "en"),
        ("who won the tennis final", "en"),
        ("สอนทำต้มยำกุ้งหน่อย", "th"),
        ("พรุ่งนี้หุ้นจะขึ้นไหม", "th"),
        ("فیلم خوب برای آخر هفته پیشنهاد بده", "fa"),
        ("پایتخت پرو کجاست", "fa"),
    ],
)
def test_off_topic_is_not_answered(matcher: Matcher, text: str, lang: str) -> None:
    assert matcher.match(text, lang) is None


def test_rank_orders_by_confidence_and_has_no_threshold(matcher: Matcher) -> None:
    ranked = matcher.rank("where is my parcel, it says delivered", "en", k=3)
    assert len(ranked) == 3
    assert ranked[0].confidence >= ranked[1].confidence >= ranked[2].confidence
    assert all(0.0 <= r.confidence <= 1.0 for r in ranked)
    assert {r.entry.id for r in ranked} & {"order_tracking", "missing_package"}


def test_unknown_language_and_empty_text(matcher: Matcher) -> None:
    assert matcher.match("Где мой заказ?") is None
    assert matcher.match("   ", "en") is None
