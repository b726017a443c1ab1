"""The FAQ bot as customers meet it: questions asked through the public web chat of a freshly started hub.

Usage: python bench/faq_chat.py [--data ../shared/data] [--sets en_clinc150,th_truevoice] [--questions 400]
                                [--visitors 8] [--cold] [--wait-ready]

For each set a knowledge base is written as a customer's own faq.yaml would be (10 example phrasings per entry, the
entry's name as its answer, bench.nlp_eval's sets), `hub serve` starts with the bot on and the shipped defaults
(`review.worker: process`), and as soon as /healthz answers, `--visitors` visitors at a time each open a chat, ask one
question and read the bot's first message: the right entry's answer, another entry's answer, a "did you mean"
offer (buttons), or no answer (a handoff).  The same questions go through the matcher in this process once the hub
is done (`bench.nlp_eval`'s figures), so the two can be compared: what the served path loses is the difference.

`--cold` starts with an empty embedding cache (a new machine, or a knowledge base never seen), the case in which
the bot's meaning-based index takes longest to build; `--wait-ready` waits for /healthz to say the bot is ready
before asking (what a deployment's readiness check would do).  Figures per set: answered right / wrong / offered /
not answered, out-of-scope not answered, and the same split by the second after start-up the question was asked in.
"""
from __future__ import annotations

import os as _os
import sys as _sys

# Run as a script, bench/ comes first on sys.path, where email.py and telegram.py would hide the real packages.
_sys.path[0] = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))

import argparse
import asyncio
import json
import os
import random
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.common import HubProcess, machine, pct
from bench.nlp_eval import _run, faq_sets
from bots.kb import KnowledgeBase
from bots.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent


def write_kb(kb: KnowledgeBase, path: Path) -> dict[str, str]:
    """The knowledge base as a faq.yaml; returns answer text as written -> the entry's answer in `kb` (its name)."""
    entries = []
    answers: dict[str, str] = {}
    for e in kb.entries:
        # The entry's name in every language it has examples in: the hub wants an answer for each.
        name = next(iter(e.answers.values()))
        answer = {lang: f"{name} [{e.id}]" for lang in {*e.answers, *e.examples}}
        answers[f"{name} [{e.id}]"] = name
        entries.append({"id": e.id, "answer": answer, "examples": {k: list(v) for k, v in e.examples.items()}})
    path.write_text(yaml.safe_dump({"version": 1, "entries": entries}, allow_unicode=True), encoding="utf-8")
    return answers


def bot_status(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return json.loads(r.read()).get("bot")
    except OSError:
        return None


async def ask_all(url: str, questions: list[tuple[str, str | None]], visitors: int, started: float,
                  answers: dict[str, str], timeout: float) -> list[dict[str, Any]]:
    todo = list(enumerate(questions))
    out: list[dict[str, Any]] = []

    async def visitor(session: aiohttp.ClientSession) -> None:
        while todo:
            i, (text, expected) = todo.pop(0)
            asked = time.monotonic()
            got = "none"
            async with session.ws_connect(f"{url}/ws/chat") as ws:
                await ws.send_json({"type": "hello", "name": f"visitor {i}"})
                await ws.receive_json()
                await ws.send_json({"type": "message", "client_id": "1", "text": text})
                try:
                    while True:
                        frame = await ws.receive_json(timeout=timeout)
                        if frame.get("type") != "message" or frame.get("author") not in ("bot", "system"):
                            continue
                        body = frame.get("text", "")
                        hit = next((name for a, name in answers.items() if body.startswith(a)), None)
                        if hit is not None:
                            got = f"answer:{hit}"
                        elif frame.get("buttons"):
                            got = "offer:" + ",".join(str(b.get("payload")) for b in frame["buttons"])
                        break
                except asyncio.TimeoutError:
                    got = "timeout"
            out.append({"i": i, "expected": expected, "got": got, "at": round(asked - started, 1),
                        "took": round(time.monotonic() - asked, 3)})

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(visitor(session) for _ in range(visitors)))
    return sorted(out, key=lambda r: r["i"])


def tally(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n_in = [r for r in rows if r["expected"] is not None]
    n_out = [r for r in rows if r["expected"] is None]
    right = sum(r["got"] == f"answer:{r['expected']}" for r in n_in)
    wrong = sum(r["got"].startswith("answer:") and r["got"] != f"answer:{r['expected']}" for r in n_in)
    offered = sum(r["got"].startswith("offer:") for r in n_in)
    rejected = sum(not r["got"].startswith("answer:") for r in n_out)
    f = lambda a, b: round(a / b, 3) if b else None  # noqa: E731
    return {"in_scope": len(n_in), "out_of_scope": len(n_out), "answered_right": f(right, len(n_in)),
            "answered_wrong": f(wrong, len(n_in)), "offered": f(offered, len(n_in)),
            "oos_not_answered": f(rejected, len(n_out)), "timeouts": sum(r["got"] == "timeout" for r in rows),
            "reply_p50_s": pct([r["took"] for r in rows], 50), "reply_p99_s": pct([r["took"] for r in rows], 99)}


def by_period(rows: list[dict[str, Any]], edges: tuple[float, ...] = (10, 30, 60)) -> dict[str, Any]:
    out = {}
    lo = 0.0
    for hi in (*edges, float("inf")):
        part = [r for r in rows if lo <= r["at"] < hi]
        if part:
            out[f"asked {lo:g}-{hi:g} s after start"] = tally(part)
        lo = hi
    return out


def run_set(name: str, kb: KnowledgeBase, questions: list[tuple[str, str | None]], lang: str,
            args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="faq-chat-"))
    answers = write_kb(kb, work / "faq.yaml")
    env_cache = os.environ.get("HUB_CACHE_DIR")
    if args.cold:
        os.environ["HUB_CACHE_DIR"] = str(work / "cache")
    hub = HubProcess({"bot": {"enabled": True, "knowledge_base": str(work / "faq.yaml")},
                      "review": {"worker": "process"}}, workdir=str(work))
    t0 = time.monotonic()
    hub.start()
    healthy = time.monotonic() - t0
    ready = None
    try:
        if args.wait_ready:
            while bot_status(hub.url) not in ("ready", None) and time.monotonic() - t0 < 600:
                time.sleep(0.2)
            ready = round(time.monotonic() - t0, 1)
        rows = asyncio.run(ask_all(hub.url, questions, args.visitors, t0, answers, args.timeout))
    finally:
        hub.stop()
        if env_cache is None:
            os.environ.pop("HUB_CACHE_DIR", None)
        else:
            os.environ["HUB_CACHE_DIR"] = env_cache
    if args.rows:
        with open(args.rows, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps({"set": name, "text": questions[r["i"]][0], **r}, ensure_ascii=False) + "\n")
    matcher = Matcher(kb, threshold=0.6)
    matcher.ensure_semantic()
    return {"set": name, "entries": len(kb.entries), "questions": len(questions), "visitors": args.visitors,
            "healthy_after_s": round(healthy, 1), "bot_ready_after_s": ready, "served": tally(rows),
            "served_by_period": by_period(rows), "in_process": _run(matcher, questions, lang)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--sets", default="en_clinc150,th_truevoice")
    ap.add_argument("--questions", type=int, default=400, help="per set, in-scope and out-of-scope together")
    ap.add_argument("--visitors", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds a visitor waits for the bot's message")
    ap.add_argument("--cold", action="store_true", help="start with an empty embedding cache")
    ap.add_argument("--rows", metavar="FILE", help="write every question's outcome here (JSON lines)")
    ap.add_argument("--wait-ready", action="store_true", help="ask only once /healthz reports the bot ready")
    args = ap.parse_args()
    sets = faq_sets(Path(args.data), quick=False)
    results = []
    for name in args.sets.split(","):
        kb, queries, lang = sets[name]
        rng = random.Random(7)
        inside = [q for q in queries if q[1] is not None]
        outside = [q for q in queries if q[1] is None]
        n_out = min(len(outside), max(1, args.questions // 5))
        picked = rng.sample(inside, min(len(inside), args.questions - n_out)) + rng.sample(outside, n_out)
        rng.shuffle(picked)
        results.append(run_set(name, kb, picked, lang, args))
    print(json.dumps({"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                      "cold_cache": args.cold, "results": results}, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
