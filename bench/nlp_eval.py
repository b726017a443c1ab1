"""How well the hub understands real customers' words, on public data it was not tuned on; prints JSON.

Usage: python bench/nlp_eval.py --data ../shared/data [--sections complaint,faq,latency] [--quick]

complaint (per language, on each source's test split, at the thresholds chosen on the dev splits):
  the hub's classifier as served (model + lexicon signal, through routing.classify), with and without the
  sentence encoder; the keyword lexicon alone (the previous detector); and a baseline measured in the same run:
  scikit-learn TF-IDF over character 2-5 grams + logistic regression per language, threshold chosen on dev.
  Figures: precision, recall, AUC and kind accuracy.
faq (a knowledge base built the way a customer's own faq.yaml looks: 10 example phrasings per entry, the default
  threshold 0.6, nothing tuned on these sets):
  en clinc150 (150 intents; val queries and its out-of-scope val queries), en banking77 (77 intents; test
  queries; a fifth of the intents left out of the knowledge base as out-of-scope), th truevoice call-centre
  transcripts (action+object intents with 20+ utterances; test queries; a fifth of the intents left out), fa: the
  shipped faq.yaml against the project's own Persian questions (nlp/corpus/fa_faq_queries.tsv).
  Figures: answered with the right entry, answered wrong, offered as a choice ("Did you mean"), out-of-scope not
  answered, top-1 of the ranking.
ceiling (--sections ceiling): top-1 of classifiers trained on every train utterance of the faq section's
  clinc150 and truevoice intents, not 10 per entry: how far more examples would take the ranking.
latency: one message classified (model + lexicon) and matched, p50/p99, and the process's memory with everything
  loaded.
serving (--sections serving): `hub serve` as shipped against a bare one: start-up time, peak memory, and the
  message-stored -> classified latency (hub_classify_seconds) while chat customers send --rate messages/s.
"""
from __future__ import annotations

import os as _os
import sys as _sys

_sys.path[0] = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import os  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from types import MappingProxyType  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

from bench.common import machine, pct  # noqa: E402
from bots.kb import Entry, KnowledgeBase, load  # noqa: E402
from bots.matcher import Matcher  # noqa: E402
from nlp import corpus, encoder as encoder_mod  # noqa: E402
from nlp.models import current_models  # noqa: E402
from nlp.train import auc, pick_threshold  # noqa: E402
from routing.classify import classify  # noqa: E402

SUGGEST_FLOOR = 0.15  # bots.config default


def _figures(y: np.ndarray, pred: np.ndarray, p: np.ndarray, kinds: list[tuple[str, str | None]]) -> dict:
    tp = int((pred & (y == 1)).sum())
    kk = [(a, b) for a, b in kinds if b]
    return {"n": len(y), "complaints": int(y.sum()), "precision": round(tp / max(int(pred.sum()), 1), 3),
            "recall": round(tp / max(int(y.sum()), 1), 3), "auc": round(auc(y, p), 3),
            "kind_accuracy": round(float(np.mean([a == b for a, b in kk])), 3) if kk else None}


def complaint_section(data: Path, quick: bool) -> dict:
    examples = corpus.load(data, ROOT / "nlp" / "corpus")
    test = [e for e in examples if e.split == "test"]
    if quick:
        random.Random(1).shuffle(test)
        test = test[:1500]
    out: dict = {}
    models = current_models()
    enc = encoder_mod.load_encoder()
    variants = []
    if models is not None:
        variants = ["lexical"] + (["full"] if enc is not None and models.encoder is not None else [])
    by_lang: dict[str, list] = defaultdict(list)
    for e in test:
        by_lang[e.lang].append(e)
    for variant in [*variants, "lexicon"]:
        res = {}
        for lang, exs in sorted(by_lang.items()):
            ys, ps, preds, kinds = [], [], [], []
            for e in exs:
                c = classify(e.text, language_hint=lang, models=None if variant == "lexicon" else models,
                             variant="lexical" if variant == "lexical" else None)
                ys.append(int(e.complaint))
                ps.append(c.complaint_probability if c.complaint_probability is not None else c.complaint_score)
                preds.append(c.kind.value == "complaint")
                kinds.append((c.kind.value, e.kind))
            res[lang] = _figures(np.array(ys), np.array(preds), np.array(ps), kinds)
            res[lang]["sources"] = sorted({e.source for e in exs})
        out["hub_" + variant if variant != "lexicon" else "lexicon_only"] = res
    out["baseline_tfidf_char_lr"] = _baseline(examples, by_lang)
    return out


def _baseline(examples: list, by_lang: dict) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    res = {}
    for lang, test in sorted(by_lang.items()):
        tr = [e for e in examples if e.lang == lang and e.split == "train"]
        dev = [e for e in examples if e.lang == lang and e.split == "dev"]
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2, max_features=300000)
        x = vec.fit_transform([e.text for e in tr])
        m = LogisticRegression(C=4.0, max_iter=2000, class_weight="balanced").fit(x, [int(e.complaint) for e in tr])
        pd = m.predict_proba(vec.transform([e.text for e in dev]))[:, 1]
        th = pick_threshold(np.array([int(e.complaint) for e in dev]), pd)[0]
        pt = m.predict_proba(vec.transform([e.text for e in test]))[:, 1]
        y = np.array([int(e.complaint) for e in test])
        res[lang] = _figures(y, pt >= th, pt, [])
    return res


# --- FAQ ------------------------------------------------------------------------------------------------------------

def _kb(intents: dict[str, list[str]], lang: str, k: int = 10) -> KnowledgeBase:
    entries = tuple(
        Entry(id=f"e{i}", answers=MappingProxyType({lang: name}), examples=MappingProxyType({lang: tuple(ex[:k])}))
        for i, (name, ex) in enumerate(sorted(intents.items()))
    )
    return KnowledgeBase(entries)


def _run(matcher: Matcher, queries: list[tuple[str, str | None]], lang: str) -> dict:
    names = {e.id: e.answers[lang] for e in matcher.kb.entries}
    enc = matcher.encoder
    if enc is not None:  # embed the queries in batches first; match() then finds them in the encoder's cache
        texts = [q for q, _ in queries]
        for i in range(0, len(texts), 64):
            enc.embed(texts[i:i + 64])
    right = wrong = offered = rejected = top1 = n_in = n_out = 0
    for text, expected in queries:
        ranked = matcher.rank(text, lang, k=3)
        top = ranked[0] if ranked else None
        answered = top is not None and top.confidence >= matcher.threshold
        if expected is None:
            n_out += 1
            rejected += not answered
            continue
        n_in += 1
        hit = top is not None and names[top.entry.id] == expected
        top1 += hit
        if answered:
            right += hit
            wrong += not hit
        elif top is not None and top.confidence >= SUGGEST_FLOOR:
            offered += any(names[m.entry.id] == expected for m in ranked)
    r = lambda a, b: round(a / b, 3) if b else None  # noqa: E731
    return {"in_scope": n_in, "out_of_scope": n_out, "answered_right": r(right, n_in), "answered_wrong": r(wrong, n_in),
            "offered_as_choice": r(offered, n_in), "oos_not_answered": r(rejected, n_out), "top1": r(top1, n_in),
            "semantic": matcher.semantic is not None}


def _split_oos(intents: dict[str, list], seed: int = 3) -> tuple[dict, set]:
    names = sorted(intents)
    random.Random(seed).shuffle(names)
    held = set(names[: len(names) // 5])
    return {k: v for k, v in intents.items() if k not in held}, held


def _clinc150(data: Path, cap: int | None) -> tuple[dict[str, list[str]], list[tuple[str, str | None]]]:
    """Every train utterance by intent; the val questions and the out-of-scope val questions."""
    d = json.loads((data / "clinc150-en" / "train_val.json").read_text(encoding="utf-8"))
    intents: dict[str, list[str]] = defaultdict(list)
    for t, i in d["train"]:
        intents[i].append(t)
    return intents, [(t, i) for t, i in d["val"]][:cap] + [(t, None) for t, _ in d["oos_val"]]


def _truevoice(data: Path, cap: int | None) -> tuple[dict[str, list[str]], list[tuple[str, str | None]]]:
    """Every train utterance of the intents kept in the knowledge base (action:object with 20+ utterances, a fifth
    of them left out as out-of-scope); the test questions, None for those of a left-out intent."""
    tv = [e for e in corpus.load(data) if e.source == "truevoice"]
    labels = {}
    with open(data / "truevoice-th" / "mari_train.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            labels[row["texts"].strip()] = f"{row['action']}:{row['object']}"
    intents: dict[str, list[str]] = defaultdict(list)
    for e in tv:
        if e.split == "train":
            intents[labels[e.text]].append(e.text)
    intents = {k: v for k, v in intents.items() if len(v) >= 20 and "garbage" not in k}
    kept, held = _split_oos(intents)
    q = [(e.text, None if labels[e.text] in held else labels[e.text]) for e in tv
         if e.split == "test" and labels.get(e.text) in intents][: cap or 1200]
    return kept, q


def faq_sets(data: Path, quick: bool) -> dict[str, tuple[KnowledgeBase, list[tuple[str, str | None]], str]]:
    """name -> (knowledge base, questions as (text, expected entry's answer or None when out of scope), language).
    Each knowledge base is built as a customer's own faq.yaml would be: 10 example phrasings per entry, the entry's
    name as its answer."""
    out: dict[str, tuple[KnowledgeBase, list[tuple[str, str | None]], str]] = {}
    cap = 600 if quick else None
    # en: clinc150
    intents, q = _clinc150(data, cap)
    out["en_clinc150"] = (_kb(intents, "en"), q, "en")
    # en: banking77
    intents = defaultdict(list)
    with open(data / "banking77-en" / "train.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            intents[row["category"]].append(row["text"])
    kept, held = _split_oos(intents)
    with open(data / "banking77-en" / "test.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    random.Random(5).shuffle(rows)
    q = [(r["text"], None if r["category"] in held else r["category"]) for r in rows[: cap or 1500]]
    out["en_banking77"] = (_kb(kept, "en"), q, "en")
    # th: truevoice
    kept, q = _truevoice(data, cap)
    out["th_truevoice"] = (_kb(kept, "th"), q, "th")
    # fa: the shipped knowledge base, the project's own Persian questions
    kb = load(ROOT / "faq.yaml")
    with open(ROOT / "nlp" / "corpus" / "fa_faq_queries.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    named = KnowledgeBase(tuple(Entry(e.id, MappingProxyType({"fa": e.id}), e.examples) for e in kb.entries))
    q = [(r["text"], None if r["entry"] == "none" else r["entry"]) for r in rows]
    out["fa_shipped_faq"] = (named, q, "fa")
    # The same by halves: settings may be chosen on the first (quarters 0 and 2 of nlp.corpus.quarter), never on
    # the second.
    out["fa_shipped_faq_dev_half"] = (named, [x for x in q if corpus.quarter(x[0]) in (0, 2)], "fa")
    out["fa_shipped_faq_test_half"] = (named, [x for x in q if corpus.quarter(x[0]) in (1, 3)], "fa")
    return out


def faq_section(data: Path, quick: bool) -> dict:
    return {name: _both(kb, q, lang) for name, (kb, q, lang) in faq_sets(data, quick).items()}


def _both(kb: KnowledgeBase, q: list, lang: str) -> dict:
    """The matcher as served (meaning-based when the encoder is installed), the same on the plain embeddings
    (without the intent space, nlp.space), and the lexical matcher alone."""
    m = Matcher(kb, threshold=0.6)
    lexical = _run(m, q, lang)
    if not m.ensure_semantic():
        return {"lexical": lexical}
    served = _run(m, q, lang)
    with _space_off():
        plain = Matcher(kb, threshold=0.6)
        plain.ensure_semantic()
        without_space = _run(plain, q, lang)
    with _coverage_off():
        before = Matcher(kb, threshold=0.6)
        before.ensure_semantic()
        without_coverage = _run(before, q, lang)
    return {"served": served, "served_without_intent_space": without_space,
            "served_without_word_coverage": without_coverage, "lexical": lexical}


def ceiling_section(data: Path, quick: bool) -> dict:
    """What the knowledge base's size costs: a classifier trained on every train utterance of the knowledge base's
    intents (100 per intent on clinc150, 20-1,300 on truevoice, against the 10 a customer's faq.yaml has), scored by
    top-1 on the same in-scope questions as the faq section.  Logistic regression over the sentence embeddings, over
    TF-IDF character 2-5 grams, and over both; no threshold, so this bounds top-1, not answered-right."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    cap = 600 if quick else None
    enc = encoder_mod.load_encoder()
    res: dict = {}
    for name, (intents, q) in (("en_clinc150", _clinc150(data, cap)), ("th_truevoice", _truevoice(data, cap))):
        texts = [t for ts in intents.values() for t in ts]
        y = [i for i, ts in intents.items() for _ in ts]
        asked = [(t, i) for t, i in q if i is not None]
        tf = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
        x_tf, q_tf = tf.fit_transform(texts), tf.transform([t for t, _ in asked])
        variants: dict[str, tuple] = {"tfidf": (x_tf, q_tf)}
        if enc is not None:
            x_e, q_e = (np.concatenate([enc.embed(ts[i:i + 64]) for i in range(0, len(ts), 64)])
                        for ts in (texts, [t for t, _ in asked]))
            variants["embedding"] = (x_e, q_e)
            variants["both"] = (hstack([x_tf, csr_matrix(2 * x_e)]).tocsr(), hstack([q_tf, csr_matrix(2 * q_e)]).tocsr())
        truth = np.array([i for _, i in asked])
        res[name] = {"train_utterances": len(texts), "intents": len(intents), "in_scope_questions": len(asked)}
        for v, (xa, xq) in variants.items():
            model = LogisticRegression(C=10.0, max_iter=3000).fit(xa, y)
            res[name][f"top1_{v}"] = round(float((model.predict(xq) == truth).mean()), 3)
    return res


@contextlib.contextmanager
def _coverage_off() -> Iterator[None]:
    """The gate as it was before its word-coverage feature (bots.calibration.USE_COVERAGE)."""
    from bots import calibration, semantic_index

    calibration.USE_COVERAGE = False
    semantic_index._BUILT.clear()
    try:
        yield
    finally:
        calibration.USE_COVERAGE = True
        semantic_index._BUILT.clear()


@contextlib.contextmanager
def _space_off() -> Iterator[None]:
    from bots import semantic_index
    from nlp.space import load_space

    before = os.environ.get("HUB_NLP_SPACE")
    os.environ["HUB_NLP_SPACE"] = "none"
    load_space.cache_clear()
    semantic_index._BUILT.clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("HUB_NLP_SPACE", None)
        else:
            os.environ["HUB_NLP_SPACE"] = before
        load_space.cache_clear()
        semantic_index._BUILT.clear()


def latency_section() -> dict:
    models = current_models()
    m = Matcher(load(ROOT / "faq.yaml"), threshold=0.6)
    m.ensure_semantic()
    texts = ["my parcel still has not arrived and nobody answers!!", "ส่งของกี่วันคะ", "پولم رو کی پس میدید؟",
             "can I pay by card?", "สินค้าชำรุด ต้องการคืนเงินค่ะ", "سفارشم خراب رسیده، خیلی ناراحتم"]
    times = []
    for i in range(300):
        t = f"{texts[i % len(texts)]} {i}"  # a new text each time: no cache helps
        t0 = time.perf_counter()
        classify(t, models=models)
        m.rank(t)
        times.append((time.perf_counter() - t0) * 1000)
    return {"classify_and_match_ms_p50": pct(times, 50), "classify_and_match_ms_p99": pct(times, 99),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "variant": models.variant if models else None}


# The serving load's messages, one language after another.  "mixed" has complaints: their tickets become complaints
# and later messages there need no model, so only some messages are classified; "calm" has none, so every
# message is classified (the strict measure of the classifier's delay).
MIXED = ["where is my parcel?", "ส่งของช้ามาก ไม่พอใจเลยค่ะ", "هزینه ارسال چقدره؟",
         "I was charged twice and nobody answers!!", "ขอบคุณค่ะ", "سفارشم خراب رسیده"]
CALM = ["where is my parcel?", "ส่งของกี่วันถึงคะ", "هزینه ارسال چقدره؟",
        "do you ship to Canada?", "ขอบคุณค่ะ", "ساعت کاری پشتیبانی چیه؟"]


def serving_section(rate: int, seconds: int, bot: bool, worker: str | None = None, calm: bool = False,
                    open_first: bool = False) -> dict:
    """`hub serve` as shipped (bot on, learned models, encoder if installed) against a bare one (no bot, keywords
    only, no encoder): start-up time, memory, and message-stored -> classified latency at `rate` messages/s.
    `open_first`: each socket's conversation is opened (one greeting, 20 ms apart) two seconds before the timed
    load, so the load measures classification alone; without it the load opens with a burst of 50 new
    conversations in 0.1 s, whose ticket creation the first messages' classification waits behind."""
    import asyncio
    import urllib.request

    import aiohttp

    from bench.common import HubProcess, children, peak_rss_mb, settle, tree_cpu_seconds

    def boot(overrides: dict, env: dict) -> tuple[HubProcess, float]:
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            t0 = time.monotonic()
            proc = HubProcess(overrides).start()
            return proc, time.monotonic() - t0
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    async def load(url: str) -> int:
        # Each socket has a reader that discards what the hub sends, so the sender only paces and sends: the
        # generator shares the machine's cores with the hub and must cost as little per message as it can.
        sent = 0
        async with aiohttp.ClientSession() as s:
            socks = []
            for i in range(50):
                ws = await s.ws_connect(url.replace("http", "ws") + "/ws/chat")
                await ws.send_json({"type": "hello", "lang": "en"})
                await ws.receive_json()
                socks.append(ws)

            async def discard(ws: aiohttp.ClientWebSocketResponse) -> None:
                async for _ in ws:
                    pass

            readers = [asyncio.create_task(discard(ws)) for ws in socks]
            texts = CALM if calm else MIXED
            if open_first:
                for i, ws in enumerate(socks):
                    await ws.send_str(json.dumps({"type": "message", "client_id": f"open{i}", "text": "hello"}))
                    await asyncio.sleep(0.02)
                await asyncio.sleep(2.0)
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < seconds:
                due = int(elapsed * rate)  # open loop: what the schedule asks by now, whatever the hub does
                while sent < due:
                    ws = socks[sent % len(socks)]
                    await ws.send_str(json.dumps({"type": "message", "client_id": f"m{sent}",
                                                  "text": f"{texts[sent % 6]} {sent}"}))
                    sent += 1
                await asyncio.sleep(0.005)
            await asyncio.sleep(2.0)
            for ws in socks:
                await ws.close()
            await asyncio.gather(*readers, return_exceptions=True)
        return sent

    def histogram(url: str) -> dict:
        text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
        buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for line in text.splitlines():
            if line.startswith("hub_classify_seconds_bucket"):
                labels, value = line.split("} ")
                variant = labels.split('variant="')[1].split('"')[0]
                le = labels.split('le="')[1].split('"')[0]
                buckets[variant].append((float("inf") if le == "+Inf" else float(le), float(value)))
        out = {}
        for variant, b in buckets.items():
            b.sort()
            total = b[-1][1]
            q = lambda p: next((le for le, c in b if c >= p * total), None)  # noqa: E731
            out[variant] = {"messages": int(total), "p50_le_ms": (q(0.5) or 0) * 1000, "p99_le_ms": (q(0.99) or 0) * 1000,
                            "over_100_ms": int(total - next((c for le, c in b if le >= 0.1), total))}
        return out

    bare, bare_boot = boot({"routing": {"complaint": {"detector": "lexicon"}}}, {"HUB_NLP_ENCODER": "none"})
    try:
        bare_rss = peak_rss_mb(bare.pid)  # type: ignore[union-attr]
    finally:
        bare.stop()
    shipped: dict = {"bot": {"enabled": bot, "knowledge_base": str(ROOT / "faq.yaml")}}
    if worker:
        shipped["review"] = {"worker": worker}
    full, full_boot = boot(shipped, {})
    try:
        warm_up = settle(full.pid)  # type: ignore[arg-type]
        cpu0, gen0 = tree_cpu_seconds(full.pid), time.process_time()  # type: ignore[arg-type]
        sent = asyncio.run(load(full.url))
        hub_cpu, gen_cpu = tree_cpu_seconds(full.pid) - cpu0, time.process_time() - gen0  # type: ignore[arg-type]
        figures = histogram(full.url)
        # With review.worker: process the classifier's own process counts too.
        full_rss = round(sum(peak_rss_mb(p) or 0.0 for p in (full.pid, *children(full.pid))), 1)  # type: ignore[arg-type]
    finally:
        full.stop()
    return {"rate_per_s": rate, "seconds": seconds, "sent": sent, "bot": bot, "review_worker": worker or "default",
            "texts": "calm" if calm else "mixed", "conversations_opened_first": open_first,
            "warm_up_after_start_s": round(warm_up, 2), "hub_cpu_ms_per_message": round(hub_cpu * 1000 / max(sent, 1), 3),
            "load_generator_cpu_ms_per_message": round(gen_cpu * 1000 / max(sent, 1), 3),
            "classify_latency_by_variant": figures,
            "startup_s": {"bare": round(bare_boot, 2), "with_language": round(full_boot, 2)},
            "peak_rss_mb": {"bare": bare_rss, "with_language_under_load": full_rss}}


def _cache_embeddings(folder: Path) -> None:
    """Route the process-wide encoder's embeddings through an on-disk cache (nlp.train.EmbeddingCache)."""
    from nlp.train import EmbeddingCache

    enc = encoder_mod.load_encoder()
    if enc is None:
        return
    disk = EmbeddingCache(folder, enc)
    inner = type(enc).embed

    class _Direct:  # the cache's misses go to the encoder itself
        name, dim = enc.name, enc.dim

        def embed(self, texts: list[str]) -> np.ndarray:
            return inner(enc, texts)

    disk.encoder = _Direct()
    enc.embed = lambda texts: disk.embed(list(texts)) if len(texts) else inner(enc, texts)  # type: ignore[method-assign]
    enc.busy = lambda texts=(): False  # type: ignore[method-assign]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("HUB_NLP_DATA", str(ROOT.parent / "shared" / "data")))
    ap.add_argument("--sections", default="complaint,faq,latency")
    ap.add_argument("--quick", action="store_true", help="a sample of each set (a quick look, not for the record)")
    ap.add_argument("--rate", type=int, default=500, help="serving section: customer messages per second")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--texts", choices=("mixed", "calm"), default="mixed",
                    help="serving section: messages with complaints (later ones on a complaint need no model) or "
                         "without (every message is classified)")
    ap.add_argument("--review-worker", choices=("thread", "process"), default="process",
                    help="serving section: review.worker (the shipped config.yaml: process)")
    ap.add_argument("--bot", action="store_true", help="serving section: with the FAQ bot answering every message")
    ap.add_argument("--open-first", action="store_true",
                    help="serving section: open the 50 conversations before the timed load (classification alone, "
                         "without the opening burst of new conversations)")
    ap.add_argument("--embed-cache", metavar="DIR",
                    help="keep the evaluation texts' embeddings on disk here (by text hash and encoder), so a rerun "
                         "embeds only new texts; figures are the same, the encoder's cost is not measured")
    args = ap.parse_args()
    encoder_mod._CACHE = 200_000  # keep batch-embedded queries for the per-message calls that follow
    if args.embed_cache:
        _cache_embeddings(Path(args.embed_cache))
    data = Path(args.data)
    result: dict = {"machine": machine(), "date": time.strftime("%Y-%m-%d"),
                    "encoder": getattr(encoder_mod.load_encoder(), "name", None)}
    sections = set(args.sections.split(","))
    if "latency" in sections:
        result["latency"] = latency_section()
    if "complaint" in sections:
        result["complaint"] = complaint_section(data, args.quick)
    if "faq" in sections:
        result["faq"] = faq_section(data, args.quick)
    if "ceiling" in sections:
        result["ceiling"] = ceiling_section(data, args.quick)
    if "serving" in sections:
        result["serving"] = serving_section(args.rate, args.seconds, args.bot, args.review_worker,
                                            args.texts == "calm", args.open_first)
    print(json.dumps(result, indent=1, ensure_ascii=False))


os = _os
if __name__ == "__main__":
    main()
