"""Email throughput: mails in Dovecot -> tickets, against a raw aioimaplib FETCH of the same mailbox, and SMTP replies.

    python bench/email.py [--mails 2000] [--replies 1000] [--imap-rtt-ms 20]
    HUB_BENCH_TREE=../other-checkout python bench/email.py     # the same load against another checkout's hub

Starts a private Dovecot and aiosmtpd on free ports and the hub in this process (SQLite), then prints JSON: mails/s
from the channel's start until every ticket message is stored, the raw UID FETCH rate of the same mailbox (the
floor: no parsing, no database), the parser alone, the hub's intake alone (already parsed mail) and its CPU per
mail with the review, the IDLE new-mail latency, and SMTP replies/s through the channel's sender to aiosmtpd.
"""
from __future__ import annotations

import os
import sys

# Run as a script, this file's folder comes first on sys.path and its name would hide the standard library's `email`.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

# HUB_BENCH_TREE: the hub (and the test helpers that start it) of another checkout, for an A/B in one run.
sys.path.insert(0, os.environ.get("HUB_BENCH_TREE") or os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.common import emit, machine, pct, start_delay_proxy  # noqa: E402
from channels.email import to_inbound  # noqa: E402
from channels.email.parse import parse_mail  # noqa: E402
from hub.domain import Author, Identity, Outbound  # noqa: E402
from hub.store.schema import messages  # noqa: E402
from tests.dovecot import Dovecot, free_port  # noqa: E402
from tests.hubtest import hub_config, running_hub  # noqa: E402
from tests.mailtest import DATA, Recorder, email_channel  # noqa: E402

FIXTURES = ["thai_tis620.eml", "thai_utf8.eml", "persian_cp1256.eml", "persian_utf8.eml", "gmail_reply.eml",
            "outlook_reply.eml", "apple_reply.eml", "html_only.eml", "attachments.eml", "no_charset.eml"]


def corpus(n: int) -> list[bytes]:
    """n distinct mails: the hand-built fixtures, each with its own Message-ID and sender."""
    out = []
    for i in range(n):
        raw = (DATA / FIXTURES[i % len(FIXTURES)]).read_bytes()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = [ln for ln in head.split(b"\r\n") if not ln.lower().startswith((b"message-id:", b"from:", b"in-reply-to:", b"references:"))]
        lines[:0] = [b"From: Customer %d <c%d@example.net>" % (i % 300, i % 300), b"Message-ID: <bench-%d@example.net>" % i]
        out.append(b"\r\n".join(lines) + b"\r\n\r\n" + body)
    return out


async def raw_fetch_rate(d: Dovecot, n: int) -> float:
    c = await d.client("INBOX")
    t0 = time.perf_counter()
    got = 0
    for start in range(1, n + 1, 100):
        resp = await c.uid("fetch", f"{start}:{min(start + 99, n)}", "(UID BODY.PEEK[])")
        got += sum(1 for x in resp.lines if isinstance(x, bytearray))
    elapsed = time.perf_counter() - t0
    await c.logout()
    assert got == n, got
    return n / elapsed


async def main(n_mails: int, n_replies: int, review_worker: str = "process", imap_rtt_ms: float = 0.0) -> None:
    root = Path(tempfile.mkdtemp(prefix="email-bench-"))
    d = Dovecot(root / "dovecot", shutil.which("dovecot") or "/usr/sbin/dovecot")
    d.start()
    recorder = Recorder()
    smtp_port = free_port()
    smtpd = Controller(recorder, hostname="127.0.0.1", port=smtp_port)
    smtpd.start()
    proxy = None
    try:
        mails = corpus(n_mails)
        t0 = time.perf_counter()
        c = await d.client(None)
        for raw in mails:
            await c.append(raw, mailbox="INBOX")
        await c.logout()
        append_rate = n_mails / (time.perf_counter() - t0)
        fetch_rate = await raw_fetch_rate(d, n_mails)
        t0 = time.perf_counter()
        for raw in mails:
            parse_mail(raw)
        parse_rate = n_mails / (time.perf_counter() - t0)

        imap = {"initial": "all"}
        if imap_rtt_ms:  # the hub reaches Dovecot across a slower link, as a mail provider would be
            proxy, proxy_port = start_delay_proxy(d.port, imap_rtt_ms)
            imap["port"] = proxy_port
        cfg = hub_config(f"sqlite+aiosqlite:///{root / 'hub.db'}", rate_limits={"enabled": False},
                         channels={"email": email_channel(d, smtp_port, imap=imap)},
                         review={"worker": review_worker})
        async with running_hub(cfg) as h:
            channel = h.hub.channels["email"]
            # running_hub has started the channel already: time from its start to the last stored message.
            t_start, cpu_start = time.perf_counter(), time.process_time()
            while True:
                async with h.hub.db.read() as conn:
                    stored = (await conn.execute(select(func.count()).select_from(messages).where(messages.c.channel == "email"))).scalar_one()
                if stored >= n_mails:
                    break
                await asyncio.sleep(0.05)
            intake_s = time.perf_counter() - t_start
            # The hub process's CPU (event loop and its threads; not the parser's or the classifier's process): what
            # bounds the rate when the other processes have cores of their own.
            hub_cpu_ms = (time.process_time() - cpu_start) * 1000 / n_mails
            # Batches parsed in the parser's process and in the hub (while it started), on trees that have one.
            parser = getattr(channel, "_parser", None)
            parsed_where = dict(parser.served) if parser is not None else None
            # One mail at a time while the channel IDLEs: APPEND done -> message stored (Dovecot notifies after ~0.5 s).
            latencies = []
            for k, raw in enumerate(corpus(n_mails + 20)[n_mails:]):
                t1 = time.perf_counter()
                await d.append(raw)
                while True:
                    async with h.hub.db.read() as conn:
                        stored = (await conn.execute(select(func.count()).select_from(messages).where(messages.c.channel == "email"))).scalar_one()
                    if stored >= n_mails + k + 1:
                        break
                    await asyncio.sleep(0.01)
                latencies.append(time.perf_counter() - t1)
            outs = [
                Outbound(outbox_id=i, message_id=i, ticket_id=1 + i % 50, channel="email",
                         recipient=Identity("email", f"c{i % 300}@example.net"), text="ขอบคุณครับ เราได้รับเรื่องแล้ว\nسپاس",
                         author=Author.AGENT, author_name="Nok", subject="สอบถามเรื่องการจัดส่งสินค้า",
                         thread_refs=(f"<bench-{i}@example.net>",))
                for i in range(n_replies)
            ]
            t0 = time.perf_counter()
            await asyncio.gather(*(channel.send(o) for o in outs))  # type: ignore[attr-defined]
            while len(recorder.messages) < n_replies:
                await asyncio.sleep(0.01)
            smtp_s = time.perf_counter() - t0
        # The hub's own intake for the same mails, parsed beforehand: the ceiling the channel works under.
        sample = corpus(min(n_mails, 500))
        inbounds = [to_inbound(parse_mail(m), ref_prefix="") for m in sample]
        cfg2 = hub_config(f"sqlite+aiosqlite:///{root / 'hub2.db'}", rate_limits={"enabled": False})
        async with running_hub(cfg2) as h2:
            t0 = time.perf_counter()
            for inbound in inbounds:
                await h2.hub.intake.deliver(inbound)
            deliver_rate = len(inbounds) / (time.perf_counter() - t0)
        # The same mails handed over 100 at a time, as the mailbox hands over a fetch (trees without
        # `deliver_many` give each its own `deliver`, gathered, so they may share group commits too).
        cfg3 = hub_config(f"sqlite+aiosqlite:///{root / 'hub3.db'}", rate_limits={"enabled": False})
        async with running_hub(cfg3) as h3:
            intake = h3.hub.intake
            many = getattr(intake, "deliver_many", None)
            t0 = time.perf_counter()
            for start in range(0, len(inbounds), 100):
                part = inbounds[start : start + 100]
                if many is not None:
                    await many(part)
                else:
                    await asyncio.gather(*(intake.deliver(i) for i in part))
            batch_rate = len(inbounds) / (time.perf_counter() - t0)
        # CPU per mail of intake and review together, in batches of 100 with the review in the hub's own thread:
        # every step of storing and classifying counted in one process's CPU time, which a busy 2-core machine
        # disturbs far less than the rates above (an A/B of a hot-path change reads this figure first).
        whole = [to_inbound(parse_mail(m), ref_prefix="") for m in corpus(min(n_mails, 3000))]
        cfg4 = hub_config(f"sqlite+aiosqlite:///{root / 'hub4.db'}", rate_limits={"enabled": False},
                          review={"worker": "thread"})
        async with running_hub(cfg4) as h4:
            cpu0 = time.process_time()
            for start in range(0, len(whole), 100):
                await h4.hub.intake.deliver_many(whole[start : start + 100])
            await h4.settle()  # the review of the last batch included
            review_cpu_ms = (time.process_time() - cpu0) * 1000 / len(whole)
        emit({
            "benchmark": "email",
            "machine": machine(),
            "mails": n_mails,
            "imap_rtt_ms": imap_rtt_ms,
            "mails_to_tickets_per_s": round(n_mails / intake_s, 1),
            "mails_to_tickets_seconds": round(intake_s, 2),
            "hub_process_cpu_ms_per_mail": round(hub_cpu_ms, 3),
            "batches_parsed_in": parsed_where,
            "baseline_raw_imap_fetch_per_s": round(fetch_rate, 1),
            "parser_only_per_s": round(parse_rate, 1),
            "hub_intake_only_per_s": round(deliver_rate, 1),
            "hub_intake_batches_of_100_per_s": round(batch_rate, 1),
            "hub_intake_and_review_cpu_ms_per_mail": round(review_cpu_ms, 3),
            "load_average_1min": round(os.getloadavg()[0], 1),
            "append_per_s": round(append_rate, 1),
            "idle_latency_p50_s": round(pct(latencies, 50) or 0, 3),
            "idle_latency_max_s": round(max(latencies), 3),
            "replies": n_replies,
            "smtp_replies_per_s": round(n_replies / smtp_s, 1),
            "smtp_pool": cfg.channels["email"]["smtp"].get("pool", 4),
        })
    finally:
        if proxy is not None:
            proxy.kill()
            proxy.wait()
        smtpd.stop()
        d.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mails", type=int, default=2000)
    ap.add_argument("--replies", type=int, default=1000)
    ap.add_argument("--review-worker", choices=("thread", "process"), default="process",
                    help="review.worker of the hub (the shipped config.yaml: process)")
    ap.add_argument("--imap-rtt-ms", type=float, default=0.0,
                    help="a round trip this long between the hub and the IMAP server (a proxy; default: loopback)")
    a = ap.parse_args()
    asyncio.run(main(a.mails, a.replies, a.review_worker, a.imap_rtt_ms))
