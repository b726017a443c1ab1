"""Kind classification and complaint detection with negation, intensifiers, anger and history."""
from __future__ import annotations

from pathlib import Path

import pytest

from hub.domain import Kind
from nlp.normalize import lexicon_form
from routing.classify import classify
from routing.lexicon_scan import find_hits
from routing.lexicon import LexiconError, default_lexicons, load_lexicons


@pytest.mark.parametrize(
    "text",
    [
        "My order never arrived and nobody answers my emails.",
        "The blender came with a cracked jug. Really disappointed.",
        "ของยังไม่ถึงเลย รอมาสองอาทิตย์แล้ว",
        "สินค้าไม่ตรงปกเลยค่ะ",
        "سفارشم هنوز نرسیده و هیچ کس جواب نمی‌دهد",
        "اصلا راضی نیستم",
    ],
)
def test_complaints_in_three_languages(text: str) -> None:
    c = classify(text)
    assert c.kind is Kind.COMPLAINT, c.signals
    assert c.complaint_score >= 1.0


@pytest.mark.parametrize(
    ("negated", "plain"),
    [
        ("The product is not bad at all.", "The product is bad, really bad."),
        ("สินค้าไม่แย่ครับ", "สินค้าแย่มากครับ"),
        ("این محصول بد نیست", "این محصول خیلی بد است"),
        ("Nothing was broken, the courier was careful.", "Everything was broken, the courier was careless."),
    ],
)
def test_negation_turns_complaint_words_off(negated: str, plain: str) -> None:
    off, on = classify(negated), classify(plain)
    assert off.kind is not Kind.COMPLAINT, off.signals
    assert any(s.startswith("negated:") for s in off.signals)
    assert on.kind is Kind.COMPLAINT, on.signals


@pytest.mark.parametrize(
    "text", ["I am not happy with the service", "ไม่ค่อยชอบสินค้านี้เลย", "از خدمات راضی نیستم", "کیفیت خوب نبود"]
)
def test_negated_praise_is_a_complaint(text: str) -> None:
    c = classify(text)
    assert c.kind is Kind.COMPLAINT, c.signals
    assert any(s.startswith("negated_praise:") for s in c.signals)


def test_intensifier_raises_the_score() -> None:
    assert classify("The service was extremely slow and bad").complaint_score > classify(
        "The service was slow and bad"
    ).complaint_score
    assert classify("บริการแย่มาก").complaint_score > classify("บริการแย่").complaint_score


def test_conditional_clause_is_a_question_not_a_complaint() -> None:
    c = classify("What happens if my parcel arrives damaged?")
    assert c.kind is Kind.QUESTION
    assert "conditional:damaged" in c.signals


def test_anger_signals_caps_bangs_insults_emoji() -> None:
    c = classify("WHERE IS MY ORDER!!! You idiots 😡")
    assert {"all_caps", "exclamations", "anger_emoji"} <= set(c.signals)
    assert any(s.startswith("insult:") for s in c.signals)
    assert c.kind is Kind.COMPLAINT


def test_shouted_thanks_is_not_a_complaint() -> None:
    assert classify("THANK YOU SO MUCH!!! GREAT HELP").kind is Kind.FEEDBACK


def test_second_contact_on_unresolved_issue_is_a_complaint() -> None:
    text = "Any news about my order 5521?"
    assert classify(text).kind is Kind.QUESTION
    c = classify(text, repeat_contact=True)
    assert c.kind is Kind.COMPLAINT and "repeat_contact" in c.signals


def test_sarcasm_praise_with_complaint_stays_a_complaint() -> None:
    c = classify("Great, another week without internet. Thanks a lot for nothing.")
    assert c.kind is Kind.COMPLAINT
    assert "praise_with_complaint" in c.signals


def test_thai_syllable_boundaries_avoid_false_matches() -> None:
    # "เช้า" (morning) contains the letters of "ช้า" (slow); "สวัสดี" contains "ดี" (good).
    assert classify("พรุ่งนี้เช้าช่วยโทรหาผมหน่อยครับ").kind is Kind.CALLBACK
    assert "term:ช้า" not in classify("พรุ่งนี้เช้าครับ").signals


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("โปรดช่วยตรวจสอบบัญชีให้หน่อยค่ะ", ("sales", "โปร")),  # "please", not "promotion"
        ("ขอวิธีติดตั้งโปรแกรมค่ะ", ("sales", "โปร")),  # a program to install
        ("เมื่อวานไปสาขาลาดพร้าวมาค่ะ", ("complaint", "ร้าว")),  # a district, not "cracked"
        ("ร้านนี้เป็นธุรกิจของตระกูลเขา", ("insults", "กู")),  # "family", not a rude "I"
        ("ช่วงนี้อยากพักผ่อน มีที่พักแนะนำไหม", ("sales", "ผ่อน")),  # "rest", not "instalments"
    ],
)
def test_thai_words_holding_an_entry_do_not_read_as_it(text: str, absent: tuple[str, str]) -> None:
    # Thai is written without spaces, so an entry's letters turn up inside longer words of another meaning; the
    # lexicon's mask entries take those words first.
    hits = {(h.entry.category, h.entry.text) for h in find_hits(default_lexicons()["th"], lexicon_form(text, "th"))}
    assert absent not in hits


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Could you send me a quote for 200 office chairs?", Kind.SALES),
        ("ขอใบเสนอราคาเก้าอี้ 200 ตัวค่ะ", Kind.SALES),
        ("قیمت عمده برای ۵۰ عدد چنده؟", Kind.SALES),
        ("Please call me back tomorrow at 10", Kind.CALLBACK),
        ("รบกวนโทรกลับช่วงบ่ายค่ะ", Kind.CALLBACK),
        ("لطفا با من تماس بگیرید", Kind.CALLBACK),
        ("Thank you, the technician was fantastic!", Kind.FEEDBACK),
        ("ขอบคุณมากค่ะ บริการดีมาก", Kind.FEEDBACK),
        ("خیلی ممنون، عالی بود", Kind.FEEDBACK),
        ("How do I change my delivery address?", Kind.QUESTION),
    ],
)
def test_other_kinds(text: str, kind: Kind) -> None:
    assert classify(text).kind is kind


def test_kind_hint_from_channel_unless_complaint() -> None:
    assert classify("tomorrow 10:00 please", kind_hint=Kind.CALLBACK).kind is Kind.CALLBACK
    assert classify("Terrible service, nobody answers", kind_hint="callback").kind is Kind.COMPLAINT


def test_operator_lexicon_extends_shipped_one(tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    extra.write_text("language: en\ncomplaint:\n  strong: [bricked]\n", encoding="utf-8")
    lexicons = load_lexicons([extra])
    assert classify("My phone got bricked by the update", lexicons=lexicons).kind is Kind.COMPLAINT
    assert classify("My phone got bricked by the update").kind is not Kind.COMPLAINT
    # the shipped entries are still there
    assert classify("This is a scam", lexicons=lexicons).kind is Kind.COMPLAINT


def test_bad_lexicon_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("language: en\nnegators: [no]\n", encoding="utf-8")
    with pytest.raises(LexiconError, match="bad.yaml: negators"):
        load_lexicons([bad])


# The lexicon scan's two shortcuts (routing.lexicon_scan.NeedleIndex and Near) must give exactly the answers of the
# plain definitions they replace, on any text: checked against them on generated Thai, Persian and English text.
_PIECES = {
    lang: [e.text for e in lex.entries[::7]] + list(lex.negators) + list(lex.intensifiers) + ["", " ", "a", "ก", "ی"]
    for lang, lex in load_lexicons().items() if lang != "*"
}


def _texts(lang: str):  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    piece = st.sampled_from(_PIECES[lang]) | st.text(alphabet="abก่ไมีدنی ", max_size=4)
    return st.lists(piece, max_size=12).map("".join)


@pytest.mark.parametrize("lang", ["th", "fa", "en"])
def test_needle_index_keeps_every_entry_the_text_could_hold(lang: str) -> None:
    from hypothesis import given, settings

    from routing.lexicon_scan import NeedleIndex

    lex = load_lexicons()[lang]
    index = NeedleIndex(lex.entries)

    @settings(max_examples=300, deadline=None)
    @given(_texts(lang))
    def check(text: str) -> None:
        found = index.candidates(text)
        assert found == sorted(found)
        assert {i for i, e in enumerate(lex.entries) if e.needle in text} <= set(found)

    check()


@pytest.mark.parametrize("lang", ["th"])
def test_near_words_answer_as_a_test_per_word(lang: str) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from routing.lexicon_scan import Near

    words = load_lexicons()[lang].negators + ("ไม่", "ไม่ได้", "")
    near = Near(words)

    @settings(max_examples=300, deadline=None)
    @given(_texts(lang), st.integers(0, 40), st.integers(0, 13))
    def check(text: str, at: int, gap: int) -> None:
        at = min(at, len(text))
        head, tail = text[:at], text[at:]
        assert near.before(text, at, gap) == any(w and w in head[-(len(w) + gap):] for w in words)
        assert near.after(text, at, gap) == any(w and w in tail[: len(w) + gap] for w in words)

    check()
