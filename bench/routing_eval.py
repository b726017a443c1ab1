"""Evaluate message classification on the hand-labelled sets in bench/data/routing_eval_*.yaml.

Prints JSON: per language, precision/recall/F1 of complaint detection, kind accuracy, language-detection accuracy,
and the same complaint figures for a naive baseline (the lexicon's complaint words and insults as bare substrings:
no normalisation, negation, intensifiers, anger signals or thresholds), measured in the same run.

    python bench/routing_eval.py [--errors] [--data DIR]
"""
from __future__ import annotations

import os as _os
import sys as _sys

# Run as a script, bench/ comes first on sys.path, where email.py and telegram.py would hide the real packages.
_sys.path[0] = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))


import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any


import yaml  # noqa: E402

from routing.classify import classify  # noqa: E402
from routing.lexicon import default_lexicons  # noqa: E402

DATA = Path(__file__).parent / "data"


def _naive_words(lang: str) -> list[str]:
    data = yaml.safe_load((Path(__file__).resolve().parents[1] / "routing/data/lexicons" / f"{lang}.yaml").read_text())
    words = [w for level in data["complaint"].values() for w in level] + list(data.get("insults", []))
    return [str(w).strip("*").lower() for w in words]


def _prf(pairs: list[tuple[bool, bool]]) -> dict[str, float]:
    tp = sum(1 for gold, pred in pairs if gold and pred)
    fp = sum(1 for gold, pred in pairs if not gold and pred)
    fn = sum(1 for gold, pred in pairs if gold and not pred)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "tp": tp, "fp": fp, "fn": fn}


def evaluate(path: Path, show_errors: bool) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    lang = doc["language"]
    items = [(label, text) for label, text in doc["items"]]
    lexicons = default_lexicons()
    naive = _naive_words(lang)
    ours, base, errors = [], [], []
    kinds_ok = lang_ok = 0
    confusion: Counter[str] = Counter()
    for label, text in items:
        c = classify(text, lexicons=lexicons)
        gold = label == "complaint"
        ours.append((gold, c.is_complaint))
        base.append((gold, any(w in text.lower() for w in naive)))
        kinds_ok += c.kind.value == label
        lang_ok += c.language == lang
        if c.kind.value != label:
            confusion[f"{label}->{c.kind.value}"] += 1
            errors.append({"gold": label, "got": c.kind.value, "score": c.complaint_score, "text": text,
                           "signals": list(c.signals)})
    out: dict[str, Any] = {
        "n": len(items),
        "labels": dict(Counter(label for label, _ in items)),
        "complaint": _prf(ours),
        "kind_accuracy": round(kinds_ok / len(items), 3),
        "language_accuracy": round(lang_ok / len(items), 3),
        "baseline_complaint": _prf(base),
        "confusion": dict(confusion.most_common()),
    }
    if show_errors:
        out["errors"] = errors
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--errors", action="store_true", help="list misclassified messages")
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    results = {}
    for path in sorted(args.data.glob("routing_eval_*.yaml")):
        results[path.stem.removeprefix("routing_eval_")] = evaluate(path, args.errors)
    target = {"recall": 0.85, "precision": 0.80}
    summary = {
        lang: r["complaint"]["recall"] >= target["recall"] and r["complaint"]["precision"] >= target["precision"]
        for lang, r in results.items()
    }
    print(json.dumps({"target": target, "meets_target": summary, "languages": results}, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
