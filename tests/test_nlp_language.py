"""The language layer (nlp/): identification, both normal forms, Thai tokenisation, question cues, text features,
in each language: Thai without spaces, Persian with Arabic letter variants, ZWNJ and Persian digits, code-mixing."""
from __future__ import annotations

import pytest

from nlp import features, thai
from nlp.langid import detect_language, language_of
from nlp.normalize import lexicon_form, normalize, words
from nlp.question import looks_like_question


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("where is my order", "en"),
        ("ของยังไม่มาเลยค่ะรอมาสามวันแล้ว", "th"),  # no spaces at all
        ("สั่ง iPhone 15 Pro ไปแต่ยังไม่ได้ของ", "th"),  # Latin product name inside Thai
        ("سفارشم كجاست؟ سه روزه منتظرم", "fa"),  # Arabic kaf, no Persian-only letter, a Persian word decides
        ("مي‌خواهم سفارشم را لغو كنم", "fa"),  # Arabic yeh and kaf with ZWNJ
        ("گوشی خراب است", "fa"),
        ("لماذا لم يصل طلبي حتى الآن", "ar"),
        ("Здравствуйте, где мой заказ?", "ru"),
        ("我的订单在哪里", "zh"),
    ],
)
def test_language_of_each_script(text: str, code: str) -> None:
    assert language_of(text) == code, detect_language(text).reason


def test_hint_only_when_the_text_cannot_tell() -> None:
    assert language_of("12345 !!!", "th-TH") == "th"
    assert language_of("👍") == "und"
    assert language_of("ของยังไม่มา", "fa") == "th"


def test_persian_forms_meet_whatever_the_keyboard() -> None:
    forms = ["مي‌خواهم سفارش ۱۲۳ را پس بدهم", "میخواهم سفارش 123 را پس بدهم", "می خواهم سفارش ١٢٣ را پس بدهم"]
    assert len({normalize(f, "fa") for f in forms}) == 1
    assert len({lexicon_form(f, "fa") for f in forms}) == 1


def test_thai_tokenised_with_the_newmm_dictionary() -> None:
    assert thai.segment(normalize("ส่งของช้ามากไม่พอใจเลยค่ะ", "th")) == ["ส่ง", "ช้า", "มาก", "ไม่", "พอใจ"]
    # Particles dropped by default, kept on request; unknown runs stay in one piece.
    assert "ค่ะ" in thai.segment("ขอบคุณค่ะ", keep_stopwords=True)
    assert "".join(thai.segment("ฟหกดเสว")) == "ฟหกดเสว"


def test_code_mixed_words() -> None:
    assert "refund" in words("ขอ refund ด้วยค่ะ", "th")
    assert words("My ORDER #123 hasn't arrived", "en")[:2] == ["order", "123"]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("I want my money back, how does that work", "en", True),
        ("my parcel is broken", "en", False),
        ("คืนเงินยังไงคะ", "th", True),
        ("ของเสียหายมาก", "th", False),
        ("چطور پولم رو پس بگیرم", "fa", True),
        ("سفارشم خراب رسید", "fa", False),
        ("where??", "fa", True),
    ],
)
def test_question_cues(text: str, lang: str, expected: bool) -> None:
    assert looks_like_question(text, lang) is expected


def test_hashed_features_agree_across_spellings() -> None:
    import numpy as np

    idf = np.ones(features.DIM, np.float32)
    a = dict(zip(*features.tfidf("سفارشم كجاست", "fa", idf)))
    b = dict(zip(*features.tfidf("سفارشم کجاست", "fa", idf)))
    assert a == b
    idx, val = features.tfidf("ส่งของช้ามาก", "th", idf)
    assert len(idx) and abs(float((val * val).sum()) - 1.0) < 1e-5
    assert features.tfidf("", "en", idf)[0].size == 0


def test_the_compact_thai_dictionary_answers_as_pythainlps_trie() -> None:
    """nlp.thai.Words stands in for pythainlp's Trie (a tenth of the memory): the same words found at every
    position, so newmm segments exactly as it does with the Trie."""
    import random

    from pythainlp.corpus import thai_words
    from pythainlp.tokenize import word_tokenize
    from pythainlp.util import Trie

    vocab = sorted(thai_words())
    words, trie = thai.Words([*vocab, " ", " ก "]), Trie(vocab + ["ก"])
    rnd = random.Random(7)
    letters = sorted({c for w in vocab[:2000] for c in w})
    samples = ["สั่งของไปสองอาทิตย์แล้วยังไม่ได้ของค่ะ", "ก", "กข", ""]
    samples += ["".join(rnd.choice(letters) for _ in range(rnd.randint(1, 10))) for _ in range(300)]
    samples += [rnd.choice(vocab) + rnd.choice(vocab)[:2] for _ in range(300)]
    for text in samples:
        for start in range(len(text) + 1):
            assert words.prefixes(text, start) == trie.prefixes(text, start), (text, start)
    for text in samples[:50] + ["โทรไปก็ไม่มีใครรับสายเลยแย่มาก", "อยากยกเลิกแพ็กเกจเสริมอินเทอร์เน็ต"]:
        assert thai.segment(text, keep_stopwords=True) == [
            t for t in word_tokenize(text, engine="newmm", keep_whitespace=False) if t.strip()]
