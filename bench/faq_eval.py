"""Evaluate the FAQ matcher on held-out paraphrases and off-topic messages; print JSON.

Usage: python bench/faq_eval.py [--kb faq.yaml] [--data bench/data/faq_eval.yaml] [--threshold 0.6]

Figures per language, for the matcher and for a plain baseline (TF-IDF over lower-cased whitespace words, with the
same index, calibration and threshold) measured in the same run:
- top1: in-scope questions answered with the expected entry / all in-scope questions (a refusal counts as a miss)
- answered_precision: in-scope questions answered correctly / in-scope questions answered
- offtopic_rejection: off-topic messages not answered / all off-topic messages
Plus matcher latency (p50/p99 of one `match()` call, featurisation included) against a synthetic knowledge base of
1,000 entries, and the build time of that index.
"""
from __future__ import annotations

import os as _os
import sys as _sys

# Run as a script, bench/ comes first on sys.path, where email.py and telegram.py would hide the real packages.
_sys.path[0] = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))


import argparse
import json
import os
import random
import re
import statistics
import time
from types import MappingProxyType

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from bots.kb import Entry, KnowledgeBase, load  # noqa: E402
from bots.matcher import Matcher  # noqa: E402
from nlp.normalize import normalize  # noqa: E402

LANGS = ("en", "th", "fa")


def plain_terms(text: str, lang: str) -> dict[str, float]:
    """The baseline: lower-cased whitespace words, punctuation stripped, nothing else."""
    counts: dict[str, float] = {}
    for w in re.sub(r"[^\w\s]", " ", text.lower()).split():
        counts["w:" + w] = counts.get("w:" + w, 0.0) + 1.0
    return counts


def evaluate(matcher: Matcher, data: dict) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for lang in LANGS:
        cases = data["in_scope"][lang]
        answered = correct = 0
        for expected, question in cases:
            m = matcher.match(question, lang)
            if m is not None:
                answered += 1
                correct += m.entry.id == expected
        off = data["off_topic"][lang]
        rejected = sum(1 for q in off if matcher.match(q, lang) is None)
        out[lang] = {
            "in_scope": len(cases),
            "off_topic": len(off),
            "top1": round(correct / len(cases), 3),
            "answered_precision": round(correct / answered, 3) if answered else 0.0,
            "offtopic_rejection": round(rejected / len(off), 3),
        }
    return out


def overlap(kb: KnowledgeBase, data: dict) -> int:
    """Evaluation sentences that are also knowledge base examples (after normalisation): must be 0."""
    seen = {(lang, normalize(x, lang)) for e in kb.entries for lang, xs in e.examples.items() for x in xs}
    questions = [(lang, q) for lang in LANGS for _, q in data["in_scope"][lang]]
    questions += [(lang, q) for lang in LANGS for q in data["off_topic"][lang]]
    return sum(1 for lang, q in questions if (lang, normalize(q, lang)) in seen)


def synthetic_kb(kb: KnowledgeBase, size: int, seed: int = 1) -> KnowledgeBase:
    """`size` entries whose examples recombine the real vocabulary, so term statistics stay realistic."""
    rng = random.Random(seed)
    vocab: dict[str, list[str]] = {}
    for e in kb.entries:
        for lang, xs in e.examples.items():
            for x in xs:
                # Thai has no spaces: cut it into 2-5 character pieces, roughly syllables.
                if lang == "th":
                    i = 0
                    while i < len(x):
                        n = rng.randint(2, 5)
                        vocab.setdefault(lang, []).append(x[i:i + n])
                        i += n
                else:
                    vocab.setdefault(lang, []).extend(x.split())
    entries = []
    for i in range(size):
        examples, answers = {}, {}
        for lang, words in vocab.items():
            sep = "" if lang == "th" else " "
            examples[lang] = tuple(sep.join(rng.choices(words, k=rng.randint(3, 7))) for _ in range(8))
            answers[lang] = sep.join(rng.choices(words, k=25))
        entries.append(Entry(f"synthetic-{i}", MappingProxyType(answers), MappingProxyType(examples)))
    return KnowledgeBase(entries=tuple(entries), source="synthetic")


def latency(kb: KnowledgeBase, data: dict, threshold: float) -> dict[str, float]:
    big = synthetic_kb(kb, 1000)
    t0 = time.perf_counter()
    matcher = Matcher(big, threshold)
    build = time.perf_counter() - t0
    queries = [(lang, q) for lang in LANGS for _, q in data["in_scope"][lang]]
    queries += [(lang, q) for lang in LANGS for q in data["off_topic"][lang]]
    for lang, q in queries[:50]:  # warm caches
        matcher.match(q, lang)
    samples = []
    for _ in range(3):
        for lang, q in queries:
            t = time.perf_counter()
            matcher.match(q, lang)
            samples.append((time.perf_counter() - t) * 1000.0)
    samples.sort()
    return {
        "entries": len(big.entries),
        "examples": sum(len(x) for e in big.entries for x in e.examples.values()),
        "queries": len(samples),
        "p50_ms": round(statistics.median(samples), 4),
        "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 4),
        "build_s": round(build, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kb", default=os.path.join(ROOT, "faq.yaml"))
    ap.add_argument("--data", default=os.path.join(ROOT, "bench", "data", "faq_eval.yaml"))
    ap.add_argument("--threshold", type=float, default=0.6)
    ap.add_argument("--no-latency", action="store_true")
    args = ap.parse_args(argv)
    kb = load(args.kb)
    with open(args.data, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    report = {
        "threshold": args.threshold,
        "kb_entries": len(kb.entries),
        "eval_sentences_in_kb": overlap(kb, data),
        "matcher": evaluate(Matcher(kb, args.threshold), data),
        "baseline_tfidf_words": evaluate(Matcher(kb, args.threshold, featurize=plain_terms), data),
    }
    if not args.no_latency:
        report["latency_1000_entries"] = latency(kb, data, args.threshold)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
