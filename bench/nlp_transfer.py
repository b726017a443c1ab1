"""How the complaint head carries to a source it never saw: leave one source out; prints JSON.

Usage: python bench/nlp_transfer.py --data ../shared/data [--settings 1:4,2:4] [--sources wisesight,fa-own]

For each setting (the embedding's scale against the TF-IDF part, and C) and each source of the training material
(nlp.corpus), the complaint head is fitted as `nlp.train` fits it (same features, source weights and solver) on the
train split of every other source, and scored by AUC on the left-out source's train and dev rows.  Test rows are
never read, so this may choose settings.  "in_domain" is the usual fit on every source, scored on the dev splits,
overall and per source.  The product is also judged on sources it never saw: a setting that is no worse in domain
and carries better is the one to ship (BENCHMARKS.md, "Complaint heads that carry to sources they never saw").

Embeddings come from the training cache (`hub nlp train`'s, under HUB_CACHE_DIR), so a run after a retrain embeds
nothing; a first run embeds ~64,000 texts (about 20 minutes on 2 cores).  Needs the `train` extra.
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

ROOT = _Path(__file__).resolve().parent.parent
_sys.path[0] = str(ROOT)  # not bench/: its email.py would stand in for the standard library's email

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import machine  # noqa: E402
from nlp import corpus  # noqa: E402
from nlp.cache import cache_dir  # noqa: E402
from nlp.encoder import load_encoder  # noqa: E402
from nlp.train import (CORPUS_DIR, Dataset, EmbeddingCache, _design, _fit_binary, _idf, _lexical,  # noqa: E402
                       _weights, auc)

IN_DOMAIN = "in_domain"


def transfer(examples: list[corpus.Example], cache: EmbeddingCache, settings: list[tuple[float, float]],
             sources: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    """{"scale:C": {left-out source or "in_domain": figures}}; the in-domain fit also gives per-source dev AUC."""
    out: dict[str, dict[str, dict[str, float]]] = {f"{s:g}:{c:g}": {} for s, c in settings}
    for left in [IN_DOMAIN, *sources]:
        train = [e for e in examples if e.split == "train" and e.source != left]
        scored = ([e for e in examples if e.split == "dev"] if left == IN_DOMAIN
                  else [e for e in examples if e.source == left and e.split != "test"])
        idf = _idf(train)
        tr = Dataset(train, cache.embed([e.text for e in train]), _lexical(train, idf))
        ev = Dataset(scored, cache.embed([e.text for e in scored]), _lexical(scored, idf))
        y = np.array([e.complaint for e in train], int)
        ys = np.array([e.complaint for e in scored], int)
        for scale, c in settings:
            z = _fit_binary(_design(tr, True, scale), y, _weights(train, {}), c).decision_function(_design(ev, True, scale))
            figures = {"auc": round(auc(ys, z), 4), "n": len(scored), "complaints": int(ys.sum())}
            if left == IN_DOMAIN:
                for source in sorted({e.source for e in scored}):
                    sel = np.array([e.source == source for e in scored])
                    figures[f"dev_{source}"] = round(auc(ys[sel], z[sel]), 4)
            out[f"{scale:g}:{c:g}"][left] = figures
    for row in out.values():
        left_out = [row[s]["auc"] for s in sources]
        row["left_out_mean"] = {"auc": round(float(np.mean(left_out)), 4)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("HUB_NLP_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--settings", default="1:4,2:4", help="comma-separated embedding-scale:C pairs")
    ap.add_argument("--sources", help="comma-separated sources to leave out (default: all)")
    args = ap.parse_args()
    examples = [e for e in corpus.load(Path(args.data), CORPUS_DIR) if e.split != "test"]
    encoder = load_encoder()
    if encoder is None:
        raise SystemExit("the sentence encoder is not installed (the `encoder` extra)")
    settings = [(float(a), float(b)) for a, b in (s.split(":") for s in args.settings.split(","))]
    sources = args.sources.split(",") if args.sources else sorted({e.source for e in examples})
    started = time.monotonic()
    result = {"machine": machine(), "date": time.strftime("%Y-%m-%d"), "encoder": encoder.name,
              "settings": transfer(examples, EmbeddingCache(cache_dir() / "training", encoder), settings, sources),
              "seconds": round(time.monotonic() - started)}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
