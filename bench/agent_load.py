"""The agent of the chat benches: a process of its own that works tickets while customers load the hub, and times
each request (issue 15: agents are served first, whatever the customers do)."""
from __future__ import annotations

import asyncio
import multiprocessing
import time
from typing import Any

import aiohttp

from bench.common import pct, uvloop

AGENT = ("bench@example.com", "bench-password")  # the benches' hubs seed it (HubProcess.add_agent)


async def login(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(f"{url}/api/auth/login", json={"email": AGENT[0], "password": AGENT[1]}) as r:
        return (await r.json())["token"]


def agent_process(urls: list[str], token: str, tickets: dict[int, int], until: float, every: float, out: Any) -> None:
    """An agent replying every `every` seconds; every fourth request is a claim or, in turn, a transfer back to the
    default department's queue (the issue's "reply, claim or transfer"), until `until` (time.perf_counter, which is
    system-wide monotonic on Linux).  Sends back (reply text -> sent at), the request -> response times of each
    kind, and how many of each the hub refused: those are not timed, so a fast error cannot flatter a p99."""

    async def run() -> tuple[dict[str, float], dict[str, list[float]], dict[str, int]]:
        sent: dict[str, float] = {}
        took: dict[str, list[float]] = {"reply": [], "claim": [], "transfer": []}
        refused: dict[str, int] = {}
        headers = {"Authorization": f"Bearer {token}"}
        idxs = sorted(tickets)
        async with aiohttp.ClientSession() as session:
            k = 0
            while time.perf_counter() < until:
                await asyncio.sleep(every)
                k += 1
                idx = idxs[k % len(idxs)]
                base = urls[(idx + 1) % len(urls)]  # never the customer's own process when there are several
                url = f"{base}/api/tickets/{tickets[idx]}"
                if k % 4:
                    kind, text = "reply", f"reply {k} to {idx}"
                    url, body = f"{url}/reply", {"text": text}
                elif k % 8:
                    kind, text, url, body = "claim", "", f"{url}/claim", None
                else:  # "support" is the default department of every bench config
                    kind, text, url, body = "transfer", "", f"{url}/transfer", {"department": "support"}
                t0 = time.perf_counter()
                if text:
                    sent[text] = t0
                async with session.post(url, json=body, headers=headers) as r:
                    await r.read()
                if r.status >= 300:
                    refused[kind] = refused.get(kind, 0) + 1
                    sent.pop(text, None)
                    continue
                took[kind].append((time.perf_counter() - t0) * 1000)
        return sent, took, refused

    if uvloop:
        uvloop.install()
    out.send(asyncio.run(run()))


class Agent:
    """`agent_process` started in a fresh interpreter (spawn: nothing of the load generator's loop and sockets), so
    its timings are the hub's and not the load generator's."""

    def __init__(self, urls: list[str], token: str, tickets: dict[int, int], until: float, every: float) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._pipe, child = spawn.Pipe()
        self._proc = spawn.Process(target=agent_process, daemon=True, args=(urls, token, tickets, until, every, child))
        self._proc.start()

    async def results(self) -> tuple[dict[str, float], dict[str, Any]]:
        """(reply text -> sent at, the report's "agent_request_ms" and, when any, "agent_refused"), once it ends."""
        sent, took, refused = await asyncio.get_running_loop().run_in_executor(None, self._pipe.recv)
        self._proc.join(5)
        report: dict[str, Any] = {"agent_request_ms": {k: {"p50": pct(v, 50), "p99": pct(v, 99), "n": len(v)}
                                                       for k, v in took.items()}}
        if refused:
            report["agent_refused"] = refused
        return sent, report
