"""Several real `hub serve` processes on one PostgreSQL database and one Redis: live events cross processes, rate
limits are global, a Redis restart degrades and then heals on its own, and a singleton lease moves to a survivor
when its holder is SIGKILLed."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fake_telegram import FakeTelegram, text_update
from tests.services import binary, need
from tests.test_scale_support import (
    Node, RedisServer, Sql, add_agent, cluster_config, login, start_all, stop_all, until,
)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def hello(session: aiohttp.ClientSession, node: Node, token: str | None = None) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any]]:
    ws = await session.ws_connect(f"{node.url}/ws/chat")
    await ws.send_json({"type": "hello", "name": "Somchai", **({"visitor_token": token} if token else {})})
    welcome = await ws.receive_json(timeout=10)
    assert welcome["type"] == "welcome", welcome
    return ws, welcome


async def frame(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        f = await ws.receive_json(timeout=max(deadline - time.monotonic(), 0.01))
        if f.get("type") == kind and all(f.get(k) == v for k, v in match.items()):
            return f


async def say(ws: aiohttp.ClientWebSocketResponse, client_id: str, text: str) -> dict[str, Any]:
    await ws.send_json({"type": "message", "client_id": client_id, "text": text})
    while True:
        f = await ws.receive_json(timeout=10)
        if f.get("type") in ("ack", "error") and f.get("client_id") == client_id:
            return f


async def health(session: aiohttp.ClientSession, node: Node) -> dict[str, Any]:
    async with session.get(node.url + "/healthz") as r:
        return dict(await r.json())


def _fresh_minute() -> float:
    """Seconds to wait so that a fixed-window limit check does not straddle a minute boundary."""
    left = 60 - time.time() % 60
    return left + 0.2 if left < 8 else 0.0


async def test_events_cross_processes_and_rate_limits_are_global(
    pg_url: str, redis_test_url: str, redis_prefix: str, session: aiohttp.ClientSession
) -> None:
    cfg = cluster_config(pg_url, redis_test_url, redis_prefix,
                         rate_limits={"enabled": True, "login_per_minute": 50, "public_per_minute": 1000, "chat_messages_per_minute": 5})
    a, b = Node(cfg, "a"), Node(cfg, "b")
    try:
        await start_all([a, b])
        await add_agent(a, "agent@example.com")
        token = await login(session, b, "agent@example.com")
        agent_ws = await session.ws_connect(f"{b.url}/ws/agent?token={token}")
        await asyncio.sleep(_fresh_minute())

        customer, welcome = await hello(session, a)
        ack = await say(customer, "m1", "สวัสดีครับ where is my order?")
        assert ack["type"] == "ack"
        ticket_id = ack["ticket_id"]
        # The customer wrote to A; the agent console on B sees it live.
        ev = await frame(agent_ws, "message.created")
        assert ev["message"]["text"] == "สวัสดีครับ where is my order?"

        await agent_ws.send_json({"type": "typing", "ticket_id": ticket_id})
        assert (await frame(customer, "typing"))["author"] == "agent"

        async with session.post(f"{b.url}/api/tickets/{ticket_id}/reply", json={"text": "ตรวจสอบให้แล้วครับ"},
                                headers={"Authorization": f"Bearer {token}"}) as r:
            assert r.status == 201, await r.text()
            reply = await r.json()
        got = await frame(customer, "message", author="agent")
        assert got["text"] == "ตรวจสอบให้แล้วครับ" and got["id"] == reply["id"]

        # The same visitor on B as well: the per-visitor limit (5 a minute) counts both processes together.
        other, _ = await hello(session, b, welcome["visitor_token"])
        results = []
        for i, ws in enumerate([other, customer, other, customer, other]):
            results.append((await say(ws, f"r{i}", f"burst {i}"))["type"])
        assert results == ["ack", "ack", "ack", "ack", "error"]  # m1 + 4 = 5 allowed, the 6th refused
        await other.close(), await customer.close(), await agent_ws.close()
    finally:
        stop_all([a, b])


async def test_redis_restart_degrades_then_heals(pg_url: str, redis_prefix: str, session: aiohttp.ClientSession) -> None:
    exe = binary("redis-server", "/usr/bin", "/usr/local/bin")
    need("redis-server binary", exe is not None)
    assert exe is not None
    redis = RedisServer(exe)
    await redis.start()
    cfg = cluster_config(pg_url, redis.url, redis_prefix)
    a, b = Node(cfg, "a"), Node(cfg, "b")
    sql = Sql(pg_url)
    try:
        await start_all([a, b])
        await add_agent(a, "agent@example.com")
        token = await login(session, b, "agent@example.com")
        auth = {"Authorization": f"Bearer {token}"}
        customer, welcome = await hello(session, a)
        ticket_id = (await say(customer, "m1", "hello"))["ticket_id"]

        redis.kill()
        # Both processes notice and say so; the database keeps taking everything.
        for n in (a, b):
            await until(lambda n=n: _bus_is(session, n, "degraded"), what=f"{n.name} to report the bus degraded")
        assert (await health(session, a))["status"] == "ok"
        ack = await say(customer, "m2", "still there? Redis is down")
        assert ack["type"] == "ack"
        async with session.post(f"{b.url}/api/tickets/{ticket_id}/reply", json={"text": "reply while redis is down"}, headers=auth) as r:
            assert r.status == 201
            missed = await r.json()
        assert await sql.scalar("SELECT count(*) FROM messages WHERE text = 'still there? Redis is down'") == 1
        await until(lambda: sql.scalar("SELECT delivery FROM messages WHERE id = :i", i=missed["id"]), what="the reply to be delivered")
        # The reply from B did not cross to A live, but a reconnect (the widget's) finds it in the history.
        again, w2 = await hello(session, a, welcome["visitor_token"])
        assert missed["id"] in [m["id"] for m in w2["history"]]
        await again.close()

        await redis.start()  # the same port, empty: nothing durable lived there
        for n in (a, b):
            await until(lambda n=n: _bus_is(session, n, "ok"), timeout=30, what=f"{n.name} to reconnect to Redis")
        async with session.post(f"{b.url}/api/tickets/{ticket_id}/reply", json={"text": "redis is back"}, headers=auth) as r:
            assert r.status == 201
        assert (await frame(customer, "message", text="redis is back"))["author"] == "agent"
        await customer.close()
    finally:
        stop_all([a, b])
        redis.kill()
        await sql.close()


async def _bus_is(session: aiohttp.ClientSession, node: Node, state: str) -> bool:
    return (await health(session, node)).get("bus") == state


async def test_singleton_lease_moves_to_a_survivor_after_sigkill(pg_url: str, redis_test_url: str, redis_prefix: str) -> None:
    """Telegram polling runs under a Redis lease in one of three processes; kill -9 the holder, another takes over
    within the lease TTL, and no update is stored twice or lost."""
    import redis.asyncio as aioredis

    async with FakeTelegram() as fake:
        cfg = cluster_config(pg_url, redis_test_url, redis_prefix, channels={"telegram": fake.channel_config()})
        nodes = [Node(cfg, n) for n in "abc"]
        sql = Sql(pg_url)
        r = aioredis.from_url(redis_test_url)
        key = f"{redis_prefix}lease:telegram:{fake.bot_id}"
        try:
            await start_all(nodes)
            fake.push(text_update(501, 1, "first, before the crash"))
            await until(lambda: _telegram_stored(sql, 1), what="the first update to be stored")
            holder = await until(lambda: r.get(key), what="a lease holder")
            pid = int(holder.decode().split("-")[0])
            victim = next(n for n in nodes if n.proc is not None and n.proc.pid == pid)
            victim.kill()

            fake.push(text_update(501, 2, "second, after the crash"))
            fake.push(text_update(502, 1, "another customer"))
            await until(lambda: _telegram_stored(sql, 3), timeout=30, what="a survivor to take over polling")
            new_pid = int((await r.get(key)).decode().split("-")[0])
            assert new_pid != pid and new_pid in {n.proc.pid for n in nodes if n.alive and n.proc}
            texts = [row.text for row in await sql.rows("SELECT text FROM messages WHERE channel = 'telegram' AND direction = 'in' ORDER BY id")]
            # Each chat's messages keep their order; two chats' updates in one batch are stored concurrently.
            assert sorted(texts) == sorted(["first, before the crash", "second, after the crash", "another customer"])
            assert texts.index("first, before the crash") < texts.index("second, after the crash")

            # The old holder comes back as a follower: still exactly one poller, nothing stored twice.
            await victim.start()
            fake.push(text_update(502, 2, "after the restart"))
            await until(lambda: _telegram_stored(sql, 4), what="the fourth update")
            await asyncio.sleep(1.0)
            assert await sql.scalar("SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'") == 4
        finally:
            stop_all(nodes)
            await r.aclose()
            await sql.close()


async def _telegram_stored(sql: Sql, n: int) -> bool:
    return int(await sql.scalar("SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'")) >= n


async def test_serve_workers_shares_one_port(pg_url: str, redis_test_url: str, redis_prefix: str, session: aiohttp.ClientSession) -> None:
    """`hub serve --workers 2`: one migration, two processes on one port (SO_REUSEPORT); a customer on one worker
    still gets the reply posted through whichever worker the agent's request reached; SIGTERM stops them all."""
    from tests.test_scale_support import ROOT

    node = Node(cluster_config(pg_url, redis_test_url, redis_prefix), "workers")
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--config", str(node.config_path), "serve", "--workers", "2"],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    node.proc = proc
    try:
        await node.ready()
        children = await until(lambda: _children(proc.pid) if len(_children(proc.pid)) == 2 else None, what="two workers")
        await add_agent(node, "agent@example.com")
        token = await login(session, node, "agent@example.com")
        customer, _ = await hello(session, node)
        ticket_id = (await say(customer, "m1", "hello"))["ticket_id"]
        for i in range(6):  # new connections each time: the kernel spreads them over both workers
            async with aiohttp.ClientSession() as fresh:
                async with fresh.post(f"{node.url}/api/tickets/{ticket_id}/reply", json={"text": f"reply {i}"},
                                      headers={"Authorization": f"Bearer {token}"}) as r:
                    assert r.status == 201
            assert (await frame(customer, "message", text=f"reply {i}"))["author"] == "agent"
        await customer.close()
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
        assert not any(os.path.exists(f"/proc/{c}") and _state(c) != "Z" for c in children)
    finally:
        if proc.poll() is None:
            orphans = _children(proc.pid)  # workers would outlive a killed supervisor: end them by pid
            proc.kill()
            proc.wait()
            for c in orphans:
                try:
                    os.kill(c, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _children(pid: int) -> list[int]:
    try:
        text = open(f"/proc/{pid}/task/{pid}/children").read()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def _state(pid: int) -> str:
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
