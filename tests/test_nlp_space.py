"""The FAQ matcher's intent space (nlp.space): linear discriminant directions fitted on intent-labelled questions,
appended to the sentence embedding.  Synthetic data shows what it must do; the shipped file must load for its own
encoder only; the matcher applies it to examples and questions alike, and still matches across languages."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlp.space import DEFAULT_PATH, IntentSpace, Part, fit_lda, load_space

ROOT = Path(__file__).resolve().parent.parent


def _two_topics_four_intents(n: int = 60, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Axis 0: the topic (large spread, shared by two intents each); axis 1: the intent within a topic (small);
    axes 2-7: paraphrase noise, larger than the intent signal."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for topic in (0, 1):
        for intent in (0, 1):
            centre = np.zeros(8)
            centre[0] = 3.0 * topic
            centre[1] = 0.6 * intent
            noise = rng.normal(0, 1.0, (n, 8)) * np.array([0.2, 0.1, 1, 1, 1, 1, 1, 1])
            rows.append(centre + noise)
            labels += [f"t{topic}i{intent}"] * n
    x = np.concatenate(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True), labels


def _nearest_centroid_accuracy(x: np.ndarray, labels: list[str]) -> float:
    y = np.array(labels)
    names = sorted(set(labels))
    cents = np.stack([x[y == c].mean(axis=0) for c in names])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    return float((np.array(names)[(x @ cents.T).argmax(axis=1)] == y).mean())


def test_discriminant_directions_separate_intents_that_share_a_topic() -> None:
    x, labels = _two_topics_four_intents()
    mean, projection = fit_lda(x, labels, dims=3)
    assert projection.shape == (8, 3)
    space = IntentSpace("test", (Part("synthetic", mean, projection, 1.0),), "1")
    fresh, fresh_labels = _two_topics_four_intents(seed=1)  # new paraphrases of the same intents
    out = space.apply(fresh)
    assert out.shape == (len(fresh), 11)
    assert np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert _nearest_centroid_accuracy(out, fresh_labels) > _nearest_centroid_accuracy(fresh, fresh_labels) + 0.15


def test_fit_is_deterministic_and_refuses_a_single_intent() -> None:
    x, labels = _two_topics_four_intents()
    a, b = fit_lda(x, labels, 3), fit_lda(x, labels, 3)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError):
        fit_lda(x, ["one"] * len(x), 3)


def test_save_load_and_only_for_its_own_encoder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    x, labels = _two_topics_four_intents()
    mean, projection = fit_lda(x, labels, 3)
    path = tmp_path / "space.npz"
    IntentSpace("enc-a", (Part("synthetic", mean, projection, 0.5),), "v1").save(path)
    load_space.cache_clear()
    loaded = load_space("enc-a", str(path))
    assert loaded is not None and loaded.version == "v1" and loaded.parts[0].weight == 0.5
    assert np.allclose(loaded.apply(x[:3]), IntentSpace("enc-a", (Part("s", mean, projection, 0.5),), "").apply(x[:3]))
    assert load_space("enc-b", str(path)) is None  # another encoder's vectors do not fit these directions
    (tmp_path / "broken.npz").write_bytes(b"not a numpy file")
    assert load_space("enc-a", str(tmp_path / "broken.npz")) is None  # a broken file: plain embeddings, no crash
    monkeypatch.setenv("HUB_NLP_SPACE", "none")
    load_space.cache_clear()
    assert load_space("enc-a", str(path)) is None
    load_space.cache_clear()


def test_shipped_space_fits_the_shipped_encoder() -> None:
    load_space.cache_clear()
    space = load_space("e5-small")
    assert space is not None and DEFAULT_PATH.exists()
    assert [p.name for p in space.parts] == ["truevoice", "clinc150"]
    assert all(p.mean.shape == (384,) and p.projection.shape[0] == 384 for p in space.parts)
    v = np.random.default_rng(0).normal(size=(2, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert np.allclose(np.linalg.norm(space.apply(v), axis=1), 1.0, atol=1e-5)


def test_the_matcher_uses_the_space_and_still_matches_across_languages(encoder: object) -> None:
    from bots.kb import load
    from bots.matcher import Matcher

    load_space.cache_clear()
    m = Matcher(load(ROOT / "faq.yaml"), threshold=0.6)
    assert m.ensure_semantic() and m.semantic is not None and m.semantic.space is not None
    assert m.semantic.model.centroids.shape[1] == 384 + m.semantic.space.extra_dims
    for text, lang in [("How much is shipping?", "en"), ("ค่าส่งเท่าไหร่คะ", "th"), ("هزینه ارسال چقدره؟", "fa"),
                       ("هزينه ارسال چقدره؟", "fa")]:  # Arabic yeh: the normaliser's variants reach the same entry
        top = m.match(text, lang)
        assert top is not None and top.entry.id == "shipping_cost", (text, top)


def test_refit_command_names_what_it_needs(tmp_path: Path) -> None:
    """Without the encoder (as in this suite) the command says why it cannot fit, and writes nothing."""
    out = tmp_path / "space.npz"
    res = subprocess.run([sys.executable, "-m", "hub.cli", "nlp", "space", "--data", str(tmp_path), "--output", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.returncode == 2 and "encoder" in res.stdout and not out.exists()
    res = subprocess.run([sys.executable, "-m", "hub.cli", "nlp", "space"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120, env={**__import__("os").environ, "HUB_NLP_DATA": ""})
    assert res.returncode == 2 and "--data" in res.stdout
