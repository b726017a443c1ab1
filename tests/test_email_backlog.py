"""A mailbox's backlog: read a batch ahead, parsed in the parser's process while the hub stores the batch before
it, every mail stored once and in order whether the parser process is starting, up, or killed, and whether a batch
fails to store while the next one is already read (a real Dovecot, the real hub)."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import signal

import pytest
from sqlalchemy import select

from hub.domain import Accepted, Inbound
from hub.store.schema import messages
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, smtpd  # noqa: F401  (fixture)

BODIES = ("สั่งของไปสามวันแล้วยังไม่ได้รับเลยค่ะ", "سفارش ۱۲۳ هنوز نرسیده، لطفاً پیگیری کنید",
          "Where is my parcel? <b>urgent</b>")


def _mail(n: int) -> bytes:
    return (
        f"From: Customer {n} <c{n % 7}@example.net>\r\nTo: support@example.com\r\nSubject: order {n}\r\n"
        f"Message-ID: <backlog-{n}@example.net>\r\nDate: Mon, 13 Jan 2025 09:15:00 +0700\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{BODIES[n % 3]} ({n})\r\n"
    ).encode()


async def _stored(h: RunningHub) -> list[str]:
    async with h.hub.db.read() as conn:
        rows = (await conn.execute(select(messages.c.provider_id).where(messages.c.channel == "email")
                                   .order_by(messages.c.id))).all()
    return [r.provider_id for r in rows]


def _ids(numbers: range) -> list[str]:
    return [f"<backlog-{n}@example.net>" for n in numbers]


async def _arrive_at_once(d: Dovecot, numbers: range) -> None:
    """The mails appear in INBOX in one step (a COPY from another folder): one search finds them all."""
    c = await d.client(None)
    await c.create("Staging")  # NO when it exists already
    await c.logout()
    await d.append(*(_mail(n) for n in numbers), folder="Staging")
    c = await d.client("Staging")
    try:
        assert (await c.uid("copy", "1:*", "INBOX")).result == "OK"
        assert (await c.uid("store", "1:*", "+FLAGS.SILENT", r"(\Deleted)")).result == "OK"
        assert (await c.expunge()).result == "OK"
    finally:
        await c.logout()


async def _until_stored(h: RunningHub, n: int) -> list[str]:
    async def enough() -> list[str] | None:
        got = await _stored(h)
        return got if len(got) >= n else None

    return await wait_until(enough)


async def test_a_backlog_is_parsed_beside_the_hub_in_order_and_nothing_is_lost_when_the_parser_dies(
        sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    await dovecot.append(*(_mail(n) for n in range(30)))
    imap = {"batch": 10, "backoff_max": 0.2}
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port, imap=imap)})
    async with running_hub(cfg) as h:
        channel = h.hub.channels["email"]
        parser = channel._parser  # type: ignore[attr-defined]
        assert await _until_stored(h, 30) == _ids(range(30))  # parsed in the hub while the process started
        assert parser is not None and parser.pid is not None
        await wait_until(lambda: parser._worker is not None and parser._worker.ready)

        before = dict(parser.served)
        await _arrive_at_once(dovecot, range(30, 60))
        assert await _until_stored(h, 60) == _ids(range(60))
        # this backlog went to the process, three batches of ten, ...
        assert parser.served == {"process": before["process"] + 3, "hub": before["hub"]}

        os.kill(parser.pid, signal.SIGKILL)  # ... and the next one finds it dead: parsed here, stored all the same
        await _arrive_at_once(dovecot, range(60, 80))
        assert await _until_stored(h, 80) == _ids(range(80))
        assert parser.pid is None and parser.served["hub"] == before["hub"] + 2
        async with h.hub.db.read() as conn:
            thai = (await conn.execute(select(messages.c.text)
                                       .where(messages.c.provider_id == "<backlog-63@example.net>"))).scalar_one()
        assert thai.startswith("สั่งของไปสามวันแล้ว")


@pytest.mark.parametrize("read_ahead", [True, False], ids=["read-ahead", "batches-too-big-to-read-ahead"])
async def test_a_batch_read_ahead_of_one_that_failed_is_read_again_and_stored_once(
        sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd, monkeypatch: pytest.MonkeyPatch, read_ahead: bool) -> None:
    from channels.email import readahead

    if not read_ahead:
        monkeypatch.setattr(readahead, "READ_AHEAD_BYTES", 0)
    channel_cfg = email_channel(dovecot, smtpd.port, imap={"batch": 10, "backoff_max": 0.2}, parse_worker="loop")
    cfg = hub_config(sqlite_url, channels={"email": channel_cfg})
    async with running_hub(cfg) as h:
        channel = h.hub.channels["email"]
        ctx = channel._ctx  # type: ignore[attr-defined]
        calls: list[int] = []

        async def deliver_many(inbounds: list[Inbound]) -> list[Accepted | BaseException]:
            calls.append(len(inbounds))
            if len(calls) == 2:  # the second batch, while the third is read and parsed beside it
                await asyncio.sleep(0.3)  # storing takes a while: the read-ahead's FETCH and parsing run meanwhile
                raise ConnectionError("the database went away")
            return await ctx.deliver_many(inbounds)

        channel._ctx = dataclasses.replace(ctx, deliver_many=deliver_many)  # type: ignore[attr-defined]
        assert channel._parser is None  # parse_worker: loop
        prepared: list[int] = []
        prepare = channel.mailbox.prepare

        def counting(fetched, uidvalidity):  # type: ignore[no-untyped-def]  # counted when asked, run or not
            prepared.append(len(fetched))
            return prepare(fetched, uidvalidity)

        channel.mailbox.prepare = counting
        await wait_until(lambda: channel.mailbox.ready.is_set())
        await _arrive_at_once(dovecot, range(25))  # one search finds three batches
        assert await _until_stored(h, 25) == _ids(range(25))
        assert calls[:2] == [10, 10] and sum(calls[2:]) == 15  # the failed batch and the one after it, read again
        # Read ahead, the third batch was fetched and its parsing started before the second failed, then dropped.
        assert prepared == ([10, 10, 5, 10, 5] if read_ahead else [10, 10, 10, 5])


@pytest.mark.parametrize("processed_folder", [None, "Processed"], ids=["seen", "moved"])
async def test_a_batch_is_acknowledged_only_once_stored_and_the_cursor_never_passes_an_acknowledgement(
        sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd, processed_folder: str | None) -> None:
    """Every batch of a backlog is acknowledged (\\Seen, or moved) after it is stored, in UID order, and the cursor
    never passes a batch the server has not acknowledged."""
    from channels.email import imap

    imap_cfg = {"batch": 10, **({"processed_folder": processed_folder} if processed_folder else {})}
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port, imap=imap_cfg,
                                                                   parse_worker="loop")})
    events: list[tuple[str, int]] = []
    acknowledge = imap.Connection.acknowledge

    async def acked(self, uids, processed, mark_seen):  # type: ignore[no-untyped-def]
        events.append(("ack sent", max(uids)))
        await acknowledge(self, uids, processed, mark_seen)
        events.append(("acked", max(uids)))

    if processed_folder:
        c = await dovecot.client(None)
        await c.create(processed_folder)
        await c.logout()
    imap.Connection.acknowledge = acked  # type: ignore[method-assign]
    try:
        async with running_hub(cfg) as h:
            channel = h.hub.channels["email"]
            store, save = channel.mailbox.store, channel.mailbox.save

            async def storing(fetched, uidvalidity, prepared):  # type: ignore[no-untyped-def]
                await store(fetched, uidvalidity, prepared)
                events.append(("stored", max(f.uid for f in fetched)))

            async def saving(value: str) -> None:
                events.append(("cursor", int(value.split(":")[1])))
                await save(value)

            channel.mailbox.store, channel.mailbox.save = storing, saving
            await wait_until(lambda: channel.mailbox.ready.is_set())
            await _arrive_at_once(dovecot, range(35))
            assert await _until_stored(h, 35) == _ids(range(35))
            await wait_until(lambda: ("acked", max(u for what, u in events if what == "stored")) in events)
    finally:
        imap.Connection.acknowledge = acknowledge  # type: ignore[method-assign]
    stored = [u for what, u in events if what == "stored"]
    acks = [u for what, u in events if what == "acked"]
    assert len(stored) == 4 and acks == stored  # every batch, in order
    for u in stored:
        assert events.index(("stored", u)) < events.index(("ack sent", u))
    high = 0
    for what, u in events:
        if what == "acked":
            high = u
        elif what == "cursor":
            assert u <= high  # the cursor never passes a batch the server has not acknowledged
    if processed_folder:
        c = await dovecot.client("INBOX")
        try:
            left = await c.search("ALL")
        finally:
            await c.logout()
        assert left.lines[0].split() in ([], [b"SEARCH"])


async def test_an_acknowledgement_that_fails_keeps_the_cursor_behind_and_the_batch_is_read_again_once(
        sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    """The server refuses a batch's acknowledgement while the next batches are stored: the cursor never passes that
    batch, the session starts over, and the batch is read again and acknowledged; every mail is stored once."""
    from channels.email import imap

    cfg = hub_config(sqlite_url, channels={"email": email_channel(
        dovecot, smtpd.port, imap={"batch": 10, "backoff_max": 0.2}, parse_worker="loop")})
    acknowledge = imap.Connection.acknowledge
    refused: list[int] = []
    cursors: list[int] = []

    async def flaky(self, uids, processed, mark_seen):  # type: ignore[no-untyped-def]
        if max(uids) > 10 and not refused:  # the second batch, once
            refused.append(max(uids))
            raise imap.ImapError("UID STORE failed: NO [SERVERBUG] try again")
        await acknowledge(self, uids, processed, mark_seen)

    imap.Connection.acknowledge = flaky  # type: ignore[method-assign]
    try:
        async with running_hub(cfg) as h:
            channel = h.hub.channels["email"]
            save = channel.mailbox.save

            async def saving(value: str) -> None:
                cursors.append(int(value.split(":")[1]))
                await save(value)

            channel.mailbox.save = saving
            await wait_until(lambda: channel.mailbox.ready.is_set())
            base = max(cursors, default=0)
            await _arrive_at_once(dovecot, range(35))
            assert await _until_stored(h, 35) == _ids(range(35))  # each mail once, in order
            await wait_until(lambda: cursors and cursors[-1] >= base + 35)
    finally:
        imap.Connection.acknowledge = acknowledge  # type: ignore[method-assign]
    assert refused
    failed_at = cursors.index(max(c for c in cursors if c < refused[0]))
    # Until the batch was read again, the cursor stayed behind the refused batch.
    again = [c for c in cursors[failed_at:] if c >= refused[0]]
    assert again and all(c < refused[0] for c in cursors[failed_at:cursors.index(again[0])])
    c = await dovecot.client("INBOX")
    try:
        unseen = await c.search("UNSEEN")
    finally:
        await c.logout()
    assert unseen.lines[0].split() in ([], [b"SEARCH"])  # every mail acknowledged in the end
