"""The FAQ gate's word coverage: an off-topic question that lands near an entry by meaning alone ("are you a real
person?" near "are your products authentic?") shares few of that entry's words, and the gate, fitted on each
knowledge base, learns how much that counts; a question in a language the examples are not written in is judged on
meaning alone."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bots import calibration, matcher, semantic_index
from bots.calibration import Gate, fit_gate, word_coverage
from bots.kb import load
from bots.matcher import Matcher
from bots.semantic_index import words_of
from bots.semantic import train_entry_model

ROOT = Path(__file__).resolve().parent.parent


def test_word_coverage_counts_the_questions_words_found() -> None:
    assert word_coverage(frozenset({"w:a", "w:b"}), frozenset({"w:a", "w:c"})) == 0.5
    assert word_coverage(frozenset(), frozenset({"w:a"})) == 1.0  # nothing to judge
    assert words_of("How much is shipping to Germany?", "en") >= {"w:ship", "w:germany"}
    assert all(t.startswith("w:") for t in words_of("ค่าส่งเท่าไหร่คะ", "th"))


def _replay_set(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
    """12 entries of 8 examples around their own direction, each with its own words; a background that sits just
    as close to the entries by meaning but uses words no entry uses."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, 32))
    vectors, labels, words = [], [], []
    for e, c in enumerate(centres):
        for i in range(8):
            vectors.append(c + rng.normal(scale=0.8, size=32))
            labels.append(e)
            words.append(frozenset({f"w:topic{e}", f"w:word{e}_{i % 3}"}))
    bg = np.stack([centres[i % 12] + rng.normal(scale=0.8, size=32) for i in range(40)])
    bg_words = [frozenset({f"w:other{i}", "w:chat"}) for i in range(40)]
    v = np.stack(vectors)
    unit = lambda a: (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)  # noqa: E731
    return unit(v), np.array(labels), unit(bg), words, bg_words


def test_the_replay_learns_that_missing_words_mean_out_of_scope() -> None:
    v, y, bg, words, bg_words = _replay_set()
    gate = fit_gate(v, y, bg, train_entry_model, words=words, background_words=bg_words)
    assert gate.uses_coverage and gate.beta[5] > 1.0
    x = (0.9, 0.8, 0.8, 0.2)
    assert gate.confidence(*x, 0.0) < gate.confidence(*x, gate.neutral_coverage) < gate.confidence(*x, 1.0)
    assert 0.0 < gate.neutral_coverage <= 1.0
    # Without words the gate has its four meaning features only.
    plain = fit_gate(v, y, bg, train_entry_model)
    assert not plain.uses_coverage and len(plain.beta) == 5
    assert plain.confidence(*x) == plain.confidence(*x, 0.0)


def test_a_gate_without_coverage_ignores_it() -> None:
    g = Gate.default()
    assert g.confidence(0.9, 0.8, 0.9, 0.1) == g.confidence(0.9, 0.8, 0.9, 0.1, 0.0)


# Off-topic Persian questions that meaning alone puts near an entry of the shipped knowledge base.
OFF_TOPIC_FA = ("تو آدم واقعی هستی؟", "پایتخت استرالیا کجاست؟", "قیمت دلار امروز چنده؟", "بهترین گوشی برای بازی چیه؟")
IN_SCOPE_FA = {"هزینه ارسال چقدره؟": "shipping_cost", "کی سفارشم می‌رسه؟": "delivery_time",
               "میتونم کالا رو پس بدم؟": "returns", "روش‌های پرداخت چیه؟": "payment_methods"}


@pytest.fixture
def unbudgeted(encoder: object, monkeypatch: pytest.MonkeyPatch) -> object:
    """The encoder without its CPU budget: past it, matching falls back to the lexical index, which would compare
    the lexical reading with itself here."""
    from nlp.encoder import Budget

    monkeypatch.setattr(encoder, "budget", Budget(share=1e9))
    return encoder


def _shop(monkeypatch: pytest.MonkeyPatch, coverage: bool) -> Matcher:
    monkeypatch.setattr(calibration, "USE_COVERAGE", coverage)
    semantic_index._BUILT.clear()
    m = Matcher(load(ROOT / "faq.yaml"))
    assert m.ensure_semantic()
    return m


def test_off_topic_persian_questions_lose_confidence_answerable_ones_do_not(
        unbudgeted: object, monkeypatch: pytest.MonkeyPatch) -> None:
    before = _shop(monkeypatch, False)
    without = [before.rank(q, "fa", 1)[0].confidence for q in OFF_TOPIC_FA]
    shop = _shop(monkeypatch, True)
    assert shop.semantic.gate.uses_coverage  # type: ignore[union-attr]
    with_cov = [shop.rank(q, "fa", 1)[0].confidence for q in OFF_TOPIC_FA]
    assert all(a < b for a, b in zip(with_cov, without)), (with_cov, without)
    assert shop.match("تو آدم واقعی هستی؟", "fa") is None
    for text, entry in IN_SCOPE_FA.items():
        m = shop.match(text, "fa")
        assert m is not None and m.entry.id == entry, text
    semantic_index._BUILT.clear()


def test_a_question_in_another_language_is_judged_on_meaning(unbudgeted: object) -> None:
    """English examples only: a Persian question shares no words with them, and is still answered."""
    from types import MappingProxyType

    from bots.kb import Entry, KnowledgeBase

    kb = load(ROOT / "faq.yaml")
    english = KnowledgeBase(tuple(Entry(e.id, e.answers, MappingProxyType({"en": e.examples["en"]}))
                                  for e in kb.entries))
    semantic_index._BUILT.clear()
    m = Matcher(english)
    assert m.ensure_semantic() and m.semantic.gate.uses_coverage  # type: ignore[union-attr]
    hit = m.match("هزینه ارسال چقدره؟", "fa")
    assert hit is not None and hit.entry.id == "shipping_cost"
    semantic_index._BUILT.clear()


def test_an_entry_without_examples_in_the_questions_language_is_judged_on_meaning(
        unbudgeted: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """English examples everywhere, Persian ones for two entries only: a Persian question about another entry shares
    no words with that entry's examples, so that entry's coverage is not measured (the gate's neutral value is
    used), and the question is answered."""
    from types import MappingProxyType

    from bots.kb import Entry, KnowledgeBase

    kb = load(ROOT / "faq.yaml")
    persian = {"opening_hours", "returns"}
    mixed = KnowledgeBase(tuple(
        Entry(e.id, e.answers, MappingProxyType({"en": e.examples["en"], "fa": e.examples["fa"]} if e.id in persian
                                                else {"en": e.examples["en"]}))
        for e in kb.entries))
    semantic_index._BUILT.clear()
    m = Matcher(mixed)
    assert m.ensure_semantic() and m.semantic.gate.uses_coverage  # type: ignore[union-attr]
    assert "fa" in m.semantic.languages  # type: ignore[union-attr]
    measured: list[frozenset] = []
    real = matcher.word_coverage
    monkeypatch.setattr(matcher, "word_coverage", lambda q, vocab: measured.append(vocab) or real(q, vocab))
    for text, entry in (("کد تخفیف دارید؟", "discount_codes"), ("حساب کاربری چطور بسازم؟", "create_account")):
        hit = m.match(text, "fa")
        assert hit is not None and hit.entry.id == entry, m.rank(text, "fa")
        assert m.semantic.vocab[m.semantic.column_of[entry]] not in measured  # type: ignore[union-attr]
    hit = m.match("ساعت کاری شما چیه؟", "fa")
    assert hit is not None and hit.entry.id == "opening_hours"
    assert m.semantic.vocab[m.semantic.column_of["opening_hours"]] in measured  # type: ignore[union-attr]
    semantic_index._BUILT.clear()
