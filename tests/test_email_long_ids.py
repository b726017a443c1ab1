"""A mail whose Message-ID is longer than any column must not stop the mailbox (on SQLite and PostgreSQL)."""
from __future__ import annotations

from sqlalchemy import func, select

from hub.store.schema import messages
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, fixture, smtpd  # noqa: F401  (fixture)


def _mail(message_id: str, subject: str, references: str = "") -> bytes:
    refs = f"References: {references}\r\n" if references else ""
    return (
        f"From: Somchai <somchai@example.co.th>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\n{refs}Date: Mon, 13 Jan 2025 09:15:00 +0700\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nhello there\r\n"
    ).encode()


async def _stored(h: RunningHub) -> int:
    async with h.hub.db.read() as conn:
        return (await conn.execute(select(func.count()).select_from(messages).where(messages.c.channel == "email"))).scalar_one()


async def test_long_message_ids_store_and_later_mail_still_arrives(db_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    in_pattern = "<" + "a" * 486 + "@example.co.th>"  # 502 characters: the longest the header pattern takes
    beyond = "<" + "b" * 3000 + "@example.co.th>"  # too long for the pattern: taken whole by the fallback
    cfg = hub_config(db_url, channels={"email": email_channel(dovecot, smtpd.port, imap={"backoff_max": 0.5})})
    async with running_hub(cfg) as h:
        await dovecot.append(_mail(in_pattern, "first long"), _mail(beyond, "second long"))
        await dovecot.append(fixture("thai_utf8.eml"))
        await wait_until(lambda: _count_is(h, 3))
        # A reply quoting the long id threads to its ticket; a re-fetched copy is not stored twice.
        await dovecot.append(_mail("<reply-1@example.co.th>", "Re: first long", references=in_pattern), _mail(in_pattern, "first long"))
        await wait_until(lambda: _count_is(h, 4))
        async with h.hub.db.read() as conn:
            rows = (await conn.execute(select(messages.c.ticket_id, messages.c.provider_id, messages.c.raw)
                                       .where(messages.c.channel == "email").order_by(messages.c.id))).all()
        assert rows[3].ticket_id == rows[0].ticket_id
        assert all(len(r.provider_id) <= 500 for r in rows)
        assert rows[0].raw["message_id"] == in_pattern  # the original id is kept for audit
        await wait_until(lambda: _count_is(h, 4))


def _count_is(h: RunningHub, n: int):  # type: ignore[no-untyped-def]
    async def check() -> bool:
        return await _stored(h) >= n

    return check()


async def test_mail_that_keeps_failing_is_stored_raw_and_the_mailbox_moves_on(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    import dataclasses

    from channels.email import POISON_TRIES
    from hub.domain import Accepted, Inbound, NotAttempted

    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port, imap={"backoff_max": 0.2})})
    async with running_hub(cfg) as h:
        channel = h.hub.channels["email"]
        ctx = channel._ctx  # type: ignore[attr-defined]
        tries: list[bool] = []

        def poison(inbound: Inbound) -> bool:
            return inbound.subject == "poison" and "unreadable" not in inbound.raw

        async def deliver_many(inbounds: list[Inbound]) -> list[Accepted | BaseException]:
            # The batch the mailbox hands over, stored in order up to the poison mail, which fails.
            k = next((n for n, i in enumerate(inbounds) if poison(i)), len(inbounds))
            head = await ctx.deliver_many(inbounds[:k]) if k else []
            if k == len(inbounds):
                return head
            tries.append(True)
            return [*head, RuntimeError("this mail cannot be stored as parsed"),
                    *[NotAttempted("behind the poison mail")] * (len(inbounds) - k - 1)]

        channel._ctx = dataclasses.replace(ctx, deliver_many=deliver_many)  # type: ignore[attr-defined]
        await dovecot.append(_mail("<poison-1@example.co.th>", "poison"), fixture("thai_utf8.eml"))
        await wait_until(lambda: _count_is(h, 2))
        assert len(tries) == POISON_TRIES
        async with h.hub.db.read() as conn:
            first = (await conn.execute(select(messages.c.text, messages.c.raw).order_by(messages.c.id))).first()
        assert first is not None and "could not be read" in first.text and first.raw["unreadable"]
