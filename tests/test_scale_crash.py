"""Crash safety: SIGKILL hub processes at random moments while customers chat, post the contact form, write on
Telegram and send mail (a real Dovecot) and an agent replies (web chat, Telegram, SMTP to a real aiosmtpd); restart
them; then every acknowledged message is stored exactly once and every reply is delivered exactly once.  Also: with PostgreSQL cut away, requests fail with 503 and nothing acknowledged is lost.

Clients behave like the real ones: the widget resends an unacknowledged message with the same client_id, the form
keeps its submission_id, Telegram redelivers until the offset moves, and an agent counts a reply as sent only when
the API answered 201.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from sqlalchemy.engine import make_url

from tests.dovecot import Dovecot, dovecot  # noqa: F401  (fixture)
from tests.fake_telegram import FakeTelegram, text_update
from tests.mailtest import Smtpd, email_channel, smtpd  # noqa: F401  (fixture)
from tests.test_scale_support import Node, Sql, TcpProxy, add_agent, cluster_config, login, start_all, stop_all, until
from tests.webhook_receiver import Receiver, free_port

HOOK_SECRET = "crash-test-webhook-secret"

TIMEOUT = aiohttp.ClientTimeout(total=5)


@dataclass
class World:
    nodes: list[Node]
    rng: random.Random
    running: bool = True
    kills: int = 0
    chat_sent: dict[str, str] = field(default_factory=dict)  # text -> visitor token
    chat_acked: set[str] = field(default_factory=set)
    forms: dict[str, str] = field(default_factory=dict)  # submission id -> message
    telegram: list[str] = field(default_factory=list)
    mails: list[str] = field(default_factory=list)  # body texts appended to the IMAP mailbox
    replies_acked: list[tuple[int, str]] = field(default_factory=list)  # (ticket id, text)
    replies_unknown: list[tuple[int, str]] = field(default_factory=list)
    chat_tickets: dict[int, str] = field(default_factory=dict)  # ticket id -> visitor token
    seen_live: Counter[int] = field(default_factory=Counter)  # agent message ids a customer got on its socket

    def alive(self) -> Node:
        live = [n for n in self.nodes if n.serving and n.alive]
        return self.rng.choice(live or self.nodes)


async def killer(w: World, min_kills: int) -> None:
    """Kill one process at a random moment, restart it, repeat; the other keeps serving meanwhile."""
    while w.running or w.kills < min_kills:
        await asyncio.sleep(w.rng.uniform(0.3, 1.5))
        victim = w.rng.choice(w.nodes)
        victim.kill()
        w.kills += 1
        await asyncio.sleep(w.rng.uniform(0.0, 0.5))
        victim.spawn()
        await victim.ready()


async def customer(w: World, session: aiohttp.ClientSession, idx: int) -> None:
    token: str | None = None
    ws: aiohttp.ClientWebSocketResponse | None = None
    n = 0
    while w.running:
        n += 1
        cid, text = f"m{n}", f"customer {idx} message {n} สวัสดี"
        while True:  # resend with the same client_id until acknowledged, as the widget does
            try:
                if ws is None or ws.closed:
                    ws = await asyncio.wait_for(session.ws_connect(f"{w.alive().url}/ws/chat"), 5)
                    await ws.send_json({"type": "hello", "name": f"Customer {idx}", **({"visitor_token": token} if token else {})})
                    welcome = await _next(ws, w, lambda f: f.get("type") == "welcome")
                    token = welcome["visitor_token"]
                w.chat_sent[text] = token or ""
                await ws.send_json({"type": "message", "client_id": cid, "text": text})
                ack = await _next(ws, w, lambda f: f.get("client_id") == cid and f.get("type") in ("ack", "error"))
                if ack["type"] == "ack":
                    w.chat_acked.add(text)
                    w.chat_tickets[ack["ticket_id"]] = token or ""
                    break
            except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError, RuntimeError, TypeError):
                pass
            if ws is not None:
                await ws.close()
            ws = None
            await asyncio.sleep(0.1)
        await asyncio.sleep(w.rng.uniform(0.02, 0.15))
    if ws is not None:
        await ws.close()


async def _next(ws: aiohttp.ClientWebSocketResponse, w: World, want: Any) -> dict[str, Any]:
    while True:
        frame = await ws.receive_json(timeout=5)
        if frame.get("type") == "message" and frame.get("author") == "agent":
            w.seen_live[frame["id"]] += 1
        if want(frame):
            return frame


async def contact_form(w: World, session: aiohttp.ClientSession) -> None:
    k = 0
    while w.running:
        k += 1
        sub = uuid.uuid4().hex
        body = {"name": "Form user", "email": f"form{k}@example.com", "message": f"form message {k}: please call me", "submission_id": sub}
        w.forms[sub] = body["message"]
        while True:  # the browser's resubmit carries the same hidden submission_id
            try:
                async with session.post(f"{w.alive().url}/contact", json=body, timeout=TIMEOUT) as r:
                    if r.status == 201:
                        break
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(0.1)
        await asyncio.sleep(w.rng.uniform(0.1, 0.3))


async def telegram_users(w: World, fake: FakeTelegram) -> None:
    k = 0
    while w.running:
        k += 1
        chat = 700 + k % 3
        text = f"telegram {chat} says {k}"
        w.telegram.append(text)
        fake.push(text_update(chat, k, text))
        await asyncio.sleep(w.rng.uniform(0.05, 0.25))


async def mail_senders(w: World, imap: Dovecot) -> None:
    k = 0
    while w.running:
        k += 1
        text = f"email {k}: my parcel is late"
        raw = (f"From: Mail User <mailer{k % 3}@example.net>\r\nTo: support@example.com\r\nSubject: parcel {k}\r\n"
               f"Message-ID: <crash-{k}-{uuid.uuid4().hex[:8]}@example.net>\r\nDate: Sun, 22 Nov 2026 10:00:00 +0000\r\n"
               f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n").encode()
        await imap.append(raw)
        w.mails.append(text)
        await asyncio.sleep(w.rng.uniform(0.1, 0.3))


async def agent(w: World, session: aiohttp.ClientSession, sql: Sql, token: str) -> None:
    k = 0
    headers = {"Authorization": f"Bearer {token}"}
    while w.running:
        await asyncio.sleep(w.rng.uniform(0.1, 0.3))
        try:
            rows = await sql.rows("SELECT id FROM tickets WHERE channel IN ('webchat', 'telegram', 'email')")
        except Exception:
            continue
        if not rows:
            continue
        k += 1
        ticket_id = w.rng.choice(rows).id
        text = f"agent reply #{k}#"
        try:
            async with session.post(f"{w.alive().url}/api/tickets/{ticket_id}/reply", json={"text": text}, headers=headers, timeout=TIMEOUT) as r:
                (w.replies_acked if r.status == 201 else w.replies_unknown).append((ticket_id, text))
        except (aiohttp.ClientError, asyncio.TimeoutError):
            w.replies_unknown.append((ticket_id, text))  # may or may not be stored; an agent would look, not resend


async def test_kill_9_during_inbound_stream_loses_and_doubles_nothing(
    pg_url: str, redis_test_url: str, redis_prefix: str, dovecot: Dovecot, smtpd: Smtpd  # noqa: F811
) -> None:
    seed = int(os.environ.get("HUB_CRASH_SEED") or time.time())
    rng = random.Random(seed)
    # A webhook receiver gets every message and ticket event: a process killed between a change's commit and the
    # POST must leave the event to be sent after the restart (at least once, under one event id).
    rx = Receiver(free_port(), HOOK_SECRET)
    await rx.start()
    hook = {"name": "crm", "url": rx.url, "secret": HOOK_SECRET, "allow_private": True,
            "events": ["ticket.created", "message.created"]}
    webhooks = {"endpoints": [hook], "backoff_base": 0.05, "backoff_max": 0.2, "sweep_interval": 0.1,
                "max_attempts": 200, "timeout": 2, "lock_timeout": 3}
    async with FakeTelegram() as fake, aiohttp.ClientSession() as session:
        channels = {"telegram": fake.channel_config(), "email": email_channel(dovecot, smtpd.port)}
        cfg = cluster_config(pg_url, redis_test_url, redis_prefix, channels=channels, webhooks=webhooks)
        nodes = [Node(cfg, "a"), Node(cfg, "b")]
        sql = Sql(pg_url)
        w = World(nodes, rng)
        try:
            await start_all(nodes)
            await add_agent(nodes[0], "agent@example.com")
            token = await login(session, nodes[0], "agent@example.com")
            load = [asyncio.create_task(c) for c in (
                *(customer(w, session, i) for i in range(4)), contact_form(w, session), telegram_users(w, fake), mail_senders(w, dovecot),
                agent(w, session, sql, token),
            )]
            kill = asyncio.create_task(killer(w, min_kills=3))
            await asyncio.sleep(12)
            w.running = False
            await kill
            await asyncio.gather(*load)
            for n in nodes:
                if not n.alive:
                    await n.start()

            # Everything the providers handed over ends up stored, once.
            await until(lambda: _count(sql, "SELECT count(*) FROM messages WHERE channel = 'telegram' AND direction = 'in'", len(w.telegram)),
                        timeout=30, what=f"all {len(w.telegram)} Telegram updates stored (seed {seed})")
            await until(lambda: _count(sql, "SELECT count(*) FROM messages WHERE channel = 'email' AND direction = 'in'", len(w.mails) + len(w.forms)),
                        timeout=30, what=f"all {len(w.mails)} mails stored (seed {seed})")
            await until(lambda: _count(sql, "SELECT count(*) FROM outbox WHERE state = 'pending'", 0, exact=True),
                        timeout=30, what=f"every outbox row delivered (seed {seed})")
            await until(lambda: _count(sql, "SELECT count(*) FROM webhook_deliveries WHERE state <> 'sent'", 0, exact=True),
                        timeout=30, what=f"every webhook event delivered (seed {seed})")
            assert w.kills >= 3
            await _check(w, sql, fake, smtpd, session, seed)
            await _check_webhooks(rx, sql, f"(seed {seed}, {w.kills} kills)")
            print(f"crash test (seed {seed}): {w.kills} kills; {len(w.chat_acked)} chat messages, {len(w.forms)} forms, "
                  f"{len(w.telegram)} Telegram updates, {len(w.mails)} mails, {len(w.replies_acked)} replies acknowledged, {len(w.replies_unknown)} unanswered")
        finally:
            w.running = False
            stop_all(nodes)
            await sql.close()
            await rx.stop()


async def _check_webhooks(rx: Receiver, sql: Sql, why: str) -> None:
    """Every message and ticket stored reached the receiver, signed, under one stable event id each."""
    assert rx.got and all(g["valid"] for g in rx.got), why
    by_message: Counter[int] = Counter()
    by_ticket: Counter[int] = Counter()
    for body in rx.accepted.values():
        if body["type"] == "message.created":
            by_message[body["data"]["message"]["id"]] += 1
        elif body["type"] == "ticket.created":
            by_ticket[body["data"]["ticket"]["id"]] += 1
    messages = {r.id for r in await sql.rows("SELECT id FROM messages")}
    tickets = {r.id for r in await sql.rows("SELECT id FROM tickets")}
    assert messages and set(by_message) == messages, (why, messages - set(by_message))
    assert set(by_ticket) == tickets, (why, tickets - set(by_ticket))
    # A resent event carries the id of its first sending, so the receiver keeps one copy per message and ticket.
    assert max(by_message.values()) == 1 and max(by_ticket.values()) == 1, why


async def _count(sql: Sql, query: str, n: int, exact: bool = False) -> bool:
    got = int(await sql.scalar(query))
    return got == n if exact else got >= n


async def _check(w: World, sql: Sql, fake: FakeTelegram, smtp: Smtpd, session: aiohttp.ClientSession, seed: int) -> None:
    why = f"(seed {seed}, {w.kills} kills)"
    inbound = Counter(r.text for r in await sql.rows("SELECT text FROM messages WHERE direction = 'in'"))
    doubled = {t: c for t, c in inbound.items() if c > 1}
    assert not doubled, f"stored twice {why}: {doubled}"
    # Web chat: every message the customer sent was finally acknowledged, and each is stored exactly once.
    assert set(w.chat_sent) == w.chat_acked, why
    assert all(inbound[t] == 1 for t in w.chat_acked), why
    # Contact form: each submission once, under its submission id.
    subs = Counter(r.provider_id for r in await sql.rows("SELECT provider_id FROM messages WHERE provider_id LIKE 'contact:%'"))
    assert subs == Counter({f"contact:{s}": 1 for s in w.forms}), why
    # Telegram: each update once, none lost across poller takeovers.
    assert all(inbound[t] == 1 for t in w.telegram) and len(w.telegram) > 0, why
    # Email: each mail once, none lost across mailbox takeovers (the body may come back with its line ending trimmed).
    mail_texts = Counter(r.text.strip() for r in await sql.rows("SELECT text FROM messages WHERE channel = 'email' AND direction = 'in'"))
    assert all(mail_texts[t] == 1 for t in w.mails) and len(w.mails) > 0, (why, mail_texts)

    # Replies: each one the API acknowledged is stored once and sent; an unanswered request stored at most once.
    outbound = {r.text: r for r in await sql.rows(
        "SELECT m.text, m.channel, m.ticket_id, m.id, m.delivery, o.attempts FROM messages m JOIN outbox o ON o.message_id = m.id "
        "WHERE m.author = 'agent'")}
    per_text = Counter(r.text for r in await sql.rows("SELECT text FROM messages WHERE author = 'agent'"))
    assert all(per_text[t] == 1 for _, t in w.replies_acked), why
    assert all(per_text[t] <= 1 for _, t in w.replies_unknown), why
    assert all(r.delivery == "sent" for r in outbound.values()), why
    assert len(w.replies_acked) > 0, why
    # Telegram replies reach the Bot API once; a second copy is only possible when a process died between the
    # provider's answer and the commit of "sent" (at-least-once), and then the row shows the second attempt.
    sent = Counter(m["text"] for m in fake.sent)
    for text, r in outbound.items():
        if r.channel == "telegram":
            assert sent[text] >= 1, f"{text} never reached Telegram {why}"
            assert sent[text] == 1 or r.attempts > 1, f"{text} sent {sent[text]} times on one attempt {why}"
    mailed = Counter()
    for i in range(len(smtp.recorder.messages)):
        body = smtp.recorder.parsed(i).get_body(preferencelist=("plain",))
        mailed.update(re.findall(r"agent reply #\d+#", body.get_content() if body is not None else ""))
    for text, r in outbound.items():
        if r.channel == "email":
            assert mailed[text] >= 1, f"{text} never mailed {why}"
            assert mailed[text] == 1 or r.attempts > 1, f"{text} mailed {mailed[text]} times on one attempt {why}"
    # Web chat replies: every one is in its customer's history (live frames may be missed while a socket is down).
    for ticket_id, token in w.chat_tickets.items():
        async with session.ws_connect(f"{w.nodes[0].url}/ws/chat") as ws:
            await ws.send_json({"type": "hello", "visitor_token": token})
            welcome = await ws.receive_json(timeout=10)
        history = {m["id"] for m in welcome["history"] if m["author"] == "agent"}
        expected = {r.id for r in outbound.values() if r.ticket_id == ticket_id}
        assert expected <= history, why
    live_twice = {i: c for i, c in w.seen_live.items() if c > 1}
    attempts = {r.id: r.attempts for r in outbound.values()}
    assert all(attempts.get(i, 0) > 1 for i in live_twice), f"a reply pushed twice on one attempt {why}: {live_twice}"


async def test_database_cut_answers_503_and_loses_nothing_acknowledged(pg_url: str, redis_test_url: str, redis_prefix: str) -> None:
    """PostgreSQL reached through a TCP proxy that the test cuts: requests fail plainly with 503 (the widget gets an
    error frame, never an ack), /healthz says so, and after the database returns everything acknowledged is there."""
    url = make_url(pg_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    node = Node(cluster_config(proxied, redis_test_url, redis_prefix, database={"url": proxied, "pool_size": 2}), "a")
    sql = Sql(pg_url)
    try:
        async with aiohttp.ClientSession() as session:
            await node.start()
            ws = await session.ws_connect(f"{node.url}/ws/chat")
            await ws.send_json({"type": "hello"})
            welcome = await ws.receive_json(timeout=10)
            await ws.send_json({"type": "message", "client_id": "before", "text": "stored before the cut"})
            assert (await ws.receive_json(timeout=10))["type"] == "ack"

            await proxy.cut()
            async with session.post(f"{node.url}/contact", json={"email": "a@example.com", "message": "during the cut"}) as r:
                assert r.status == 503
                assert (await r.json())["error"]["code"] == "unavailable"
            async with session.get(f"{node.url}/healthz") as r:
                assert r.status == 503 and (await r.json())["database"] == "unavailable"
            await ws.send_json({"type": "message", "client_id": "during", "text": "sent during the cut"})
            frame = await ws.receive_json(timeout=30)
            assert frame["type"] == "error" and frame["client_id"] == "during"

            await proxy.restore()
            await until(lambda: _healthy(session, node), timeout=30, what="the hub to see the database again")
            await ws.send_json({"type": "message", "client_id": "during", "text": "sent during the cut"})  # the widget's resend
            assert (await ws.receive_json(timeout=10))["type"] == "ack"
            texts = Counter(r.text for r in await sql.rows("SELECT text FROM messages WHERE direction = 'in'"))
            assert texts == {"stored before the cut": 1, "sent during the cut": 1}
            visitor = hashlib.sha256(welcome["visitor_token"].encode()).hexdigest()
            assert await sql.scalar("SELECT count(*) FROM identities WHERE external_id = :v", v=visitor) == 1
            await ws.close()
    finally:
        node.stop()
        await proxy.close()
        await sql.close()


async def _healthy(session: aiohttp.ClientSession, node: Node) -> bool:
    async with session.get(f"{node.url}/healthz") as r:
        return r.status == 200
