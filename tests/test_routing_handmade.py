"""The project's hand-labelled shop messages (bench/data/routing_eval_*.yaml) as a regression guard for the
classifier as served: the learned model with the lexicon as one signal.  Not the headline (the lexicons were tuned
on these sets; bench/nlp_eval.py measures on public data): floors a few points under today's figures, so a change
that breaks a language fails here."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nlp import models as models_mod
from routing.classify import classify

DATA = Path(__file__).resolve().parents[1] / "bench" / "data"
# (precision, recall, kind accuracy) floors, without and with the sentence encoder.
FLOORS = {
    "lexical": {"en": (0.88, 0.82, 0.80), "th": (0.80, 0.25, 0.60), "fa": (0.90, 0.93, 0.88)},
    "full": {"en": (0.90, 0.90, 0.85), "th": (0.90, 0.55, 0.75), "fa": (0.80, 0.95, 0.87)},
}
# Persian precision's floor is the product's goal (0.80), not a few points under today's figure: the Persian
# threshold comes from ~160 dev messages, and two points either way are one message of these 87.


def _figures(lang: str) -> tuple[str, float, float, float]:
    m = models_mod.current_models()
    assert m is not None
    items = yaml.safe_load((DATA / f"routing_eval_{lang}.yaml").read_text(encoding="utf-8"))["items"]
    tp = fp = fn = right = 0
    for kind, text in items:
        c = classify(text, language_hint=lang, models=m)
        said, truth = c.kind.value == "complaint", kind == "complaint"
        tp += said and truth
        fp += said and not truth
        fn += truth and not said
        right += c.kind.value == kind
    return m.variant, tp / max(tp + fp, 1), tp / max(tp + fn, 1), right / len(items)


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
def test_lexical_variant_holds_on_the_shop_messages(lang: str) -> None:
    variant, p, r, k = _figures(lang)
    assert variant == "lexical"
    fp, fr, fk = FLOORS["lexical"][lang]
    assert p >= fp and r >= fr and k >= fk, (lang, p, r, k)


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
def test_with_the_encoder_it_holds_better(lang: str, encoder: object) -> None:
    variant, p, r, k = _figures(lang)
    assert variant == "full"
    fp, fr, fk = FLOORS["full"][lang]
    assert p >= fp and r >= fr and k >= fk, (lang, p, r, k)
