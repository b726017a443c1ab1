"""Complaint detection as customers meet it: labelled messages sent through the public web chat of a running hub.

Usage: python bench/complaint_chat.py [--data ../shared/data] [--per-language 200] [--visitors 4] [--rate 0]

Test-split messages of the language sets (nlp.corpus: wisesight and truevoice for Thai, bitext, banking77 and clinc150
for English, the project's Persian set), half complaints, each sent by a new web-chat visitor to `hub serve` with the
shipped defaults (`review.worker: process`, bot off so nothing but the review reads the message).  Once every message
is reviewed, each ticket's kind is read back through the agent API: precision and recall of "complaint" per language,
and which model variant classified how many messages (`hub_classify_seconds` by detector: "model:full" with the
sentence encoder, "model:lexical" without).  The same messages classified in this process by the served classifier
(`routing.classify` with the encoder) give the figure the service would reach if every message got the encoder.
`--rate` sends at most that many messages per second in all (0: as fast as the visitors go).
"""
from __future__ import annotations

import os as _os
import sys as _sys

# Run as a script, bench/ comes first on sys.path, where email.py and telegram.py would hide the real packages.
_sys.path[0] = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))

import argparse
import asyncio
import json
import random
import re
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import HubProcess, machine
from nlp import corpus
from nlp.models import current_models
from routing.classify import classify

ROOT = Path(__file__).resolve().parent.parent


def pick(data: Path, n: int) -> list[tuple[str, str, bool]]:
    """(text, language, complaint): n per language from the test splits, half of them complaints where possible."""
    rng = random.Random(11)
    out: list[tuple[str, str, bool]] = []
    examples = [e for e in corpus.load(data, ROOT / "nlp" / "corpus") if e.split == "test" and 2 < len(e.text) < 1000]
    for lang in ("en", "th", "fa"):
        yes = [e for e in examples if e.lang == lang and e.complaint]
        no = [e for e in examples if e.lang == lang and not e.complaint]
        k = min(n // 2, len(yes))
        chosen = rng.sample(yes, k) + rng.sample(no, min(n - k, len(no)))
        out += [(e.text, lang, e.complaint) for e in chosen]
    rng.shuffle(out)
    return out


async def send_all(hub: HubProcess, items: list[tuple[str, str, bool]], visitors: int, rate: float) -> list[int]:
    tickets: list[int] = [0] * len(items)
    todo = list(range(len(items)))
    started = time.monotonic()
    sent = 0

    async def visitor(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while todo:
            i = todo.pop(0)
            if rate:
                await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
            sent += 1
            async with session.ws_connect(f"{hub.url}/ws/chat") as ws:
                await ws.send_json({"type": "hello", "name": f"visitor {i}"})
                await ws.receive_json()
                await ws.send_json({"type": "message", "client_id": "1", "text": items[i][0]})
                while (frame := await ws.receive_json(timeout=30))["type"] != "ack":
                    pass
                tickets[i] = int(frame.get("ticket_id") or 0)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        await asyncio.gather(*(visitor(session) for _ in range(visitors)))
    return tickets


async def kinds(hub: HubProcess, ticket_ids: list[int], token: str) -> dict[int, str]:
    out: dict[int, str] = {}
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        for tid in set(ticket_ids):
            async with session.get(f"{hub.url}/api/tickets/{tid}", headers=headers) as r:
                out[tid] = (await r.json())["kind"]
    return out


async def login(hub: HubProcess, email: str, password: str) -> str:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{hub.url}/api/auth/login", json={"email": email, "password": password}) as r:
            return str((await r.json())["token"])


async def metrics(hub: HubProcess) -> dict[str, float]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{hub.url}/metrics") as r:
            text = await r.text()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^hub_classify_seconds_count\{variant="([^"]+)"\} (\S+)$', text, re.M)}


def figures(pairs: list[tuple[bool, bool]]) -> dict[str, Any]:
    tp = sum(y and p for y, p in pairs)
    fp = sum(p and not y for y, p in pairs)
    fn = sum(y and not p for y, p in pairs)
    return {"messages": len(pairs), "complaints": tp + fn,
            "precision": round(tp / (tp + fp), 3) if tp + fp else None,
            "recall": round(tp / (tp + fn), 3) if tp + fn else None}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    items = pick(Path(args.data), args.per_language)
    hub = HubProcess({"review": {"worker": "process"}, "bot": {"enabled": False}}).start()
    try:
        hub.add_agent("sup@example.com", "bench-password-1", role="supervisor")
        token = await login(hub, "sup@example.com", "bench-password-1")
        t0 = time.monotonic()
        ids = await send_all(hub, items, args.visitors, args.rate)
        took = time.monotonic() - t0
        await asyncio.sleep(3)  # the last reviews
        got = await kinds(hub, ids, token)
        detectors = await metrics(hub)
    finally:
        hub.stop()
    models = current_models()
    served: dict[str, list[tuple[bool, bool]]] = {}
    full: dict[str, list[tuple[bool, bool]]] = {}
    for (text, lang, y), tid in zip(items, ids):
        served.setdefault(lang, []).append((y, got.get(tid) == "complaint"))
        full.setdefault(lang, []).append((y, classify(text, models=models).kind.value == "complaint"))
    return {"messages_per_s": round(len(items) / took, 1), "visitors": args.visitors,
            "classified_by": detectors,
            "through_the_chat": {k: figures(v) for k, v in sorted(served.items())},
            "in_process_with_the_encoder": {k: figures(v) for k, v in sorted(full.items())}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--per-language", type=int, default=200)
    ap.add_argument("--visitors", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0.0)
    args = ap.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps({"machine": machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **result},
                     indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
