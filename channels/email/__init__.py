"""Email: customers write to the support address (read over IMAP), agents answer by SMTP.

Each mail becomes an `Inbound` whose provider id is its Message-ID, so a re-fetched mail changes nothing; replies
carry Message-IDs on the hub's domain that the hub stores, so the customer's answer threads back to its ticket.
Auto-replies, bounces and spam reports are flagged so nothing automatic answers them, bounces mark the address as
failing, and automatic mail per address is capped.  The registry builds this channel with `build(raw)`.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timezone
from email.errors import MessageError
from typing import Any

from aiohttp import web

from channels.base import Capabilities, ChannelContext, PermanentError
from channels.email.config import EmailConfig
from channels.email.forget import remove_mails
from channels.email.imap import Connection, Fetched, ImapError, Mailbox
from channels.email.parse import RAW_PART, ParsedMail, find_part, parse_bytes, parser_for, part_bytes
from channels.email.quote import strip_reply
from channels.email.smtp import Sender, compose
from hub.domain import Accepted, Attachment, Identity, Inbound, NotAttempted, Outbound, SendResult
from hub.errors import Invalid, NotFoundError, TooLarge, Unavailable
from hub.offload import Offload, WorkerFailed
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.channels.email")
NAME = "email"
NOISE = frozenset({"auto_reply", "bounce", "spam_report"})
POISON_TRIES = 3  # a mail whose storing fails this often is stored in its raw form instead
# Mails in one fetch from which the batch is parsed in the parser's process (parse_worker: process): a backlog; a
# mail or two announced by IDLE is parsed on the loop, without the round trip (or the process, until needed).
PROCESS_FROM = 8
FORGET_TRIES, FORGET_RETRY_DELAY = 3, 1.0  # removing mails: tries and seconds before the next (grows each time)


def to_inbound(p: ParsedMail, *, ref_prefix: str, received: datetime | None = None) -> Inbound:
    """A parsed mail as the hub's `Inbound`.  Pure, so fixtures can be fed straight in."""
    text = strip_reply(p.text) if p.text and not p.noise.flags else p.text
    raw: dict[str, Any] = {"display": p.sender, "message_id": p.message_id}
    if text != p.text:
        raw["full_text"] = p.text  # what the quote stripper cut, for agents who need the history
    if p.noise.flags:
        raw["noise"] = {"reason": p.noise.reason, "failed": list(p.noise.failed)}
    if p.synthetic_id:
        raw["synthetic_id"] = True
    if p.broken:
        raw["unreadable"] = p.broken
    atts = tuple(
        Attachment(a.name, a.content_type, a.size, f"{ref_prefix}:{a.path}" if a.kept and ref_prefix else "", a.inline)
        for a in p.attachments
    )
    if not text.strip():
        text = "(no text)" if not atts else "(attachments only)"
    now = datetime.now(timezone.utc)
    when = received or p.date or now
    return Inbound(
        channel=NAME,
        provider_id=p.message_id,
        sender=Identity(NAME, p.sender),
        text=text,
        received_at=min(when, now),
        sender_name=p.sender_name or None,
        sender_lang=p.language,
        subject=p.subject or None,
        html=p.html,
        attachments=atts,
        thread_refs=p.thread_refs,
        ticket_hint=p.ticket_hint,
        flags=p.noise.flags,
        raw=raw,
    )


class EmailChannel:
    name = NAME

    def __init__(self, config: EmailConfig) -> None:
        self.config = config
        self.capabilities = Capabilities(conversational=False, html=True, buttons=False, typing=False, max_text=1_000_000,
                                         thread_refs=True)
        self.user = config.imap.user or config.address
        self.sender = Sender(config)
        self._ctx: ChannelContext | None = None
        self._task: asyncio.Task[None] | None = None
        self.mailbox: Mailbox | None = None
        self._automatic: dict[str, deque[float]] = {}  # address -> send times of automatic mail in the last hour
        self._quiet: dict[str, float] = {}  # address -> monotonic time of its last auto-reply or bounce
        self._failures: dict[tuple[int, int], int] = {}
        self._parser: Offload[Sequence[tuple[bytes, bool]], list[ParsedMail]] | None = None
        self._parse_batch = parser_for(config.address, config.max_attachment)

    @property
    def checkpoint_key(self) -> str:
        return f"imap:{self.user}/{self.config.imap.folder}"

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        if self.config.parse_worker == "process":
            self._parser = Offload(functools.partial(parser_for, self.config.address, self.config.max_attachment),
                                   self._parse_here, name="hub-mail-parser", wait_for_start=False)
        self.mailbox = Mailbox(
            self.config.imap, self.user, self._prepare, self._store,
            load=lambda: ctx.checkpoints.get(self.checkpoint_key),
            save=lambda v: ctx.checkpoints.set(self.checkpoint_key, v),
        )
        mailbox = self.mailbox
        name = f"email:{self.config.address}/{self.config.imap.folder}"
        self._task = asyncio.create_task(ctx.singleton.run(name, mailbox.run), name=name)

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None
        if self._parser is not None:
            self._parser.close()
            self._parser = None
        await self.sender.close()

    def routes(self) -> Sequence[web.RouteDef]:
        return []

    async def _prepare(self, items: Sequence[Fetched], uidvalidity: int) -> list[ParsedMail]:
        """Parse a fetched batch: a backlog in the parser's process (while the batch before it is stored), a mail or
        two on the loop.  Every mail is parsed before any is stored, so each keeps its place in the order."""
        batch = [(item.raw, self._failures.get((uidvalidity, item.uid), 0) >= POISON_TRIES) for item in items]
        if self._parser is not None and len(batch) >= PROCESS_FROM:
            try:
                return await self._parser.call(batch)
            except WorkerFailed as exc:  # a parser bug parse_mail did not catch: the loop's own try decides
                log.warning("the mail parser process failed on a batch (%s); parsing it here", exc)
        return await self._parse_here(batch)

    async def _parse_here(self, batch: Sequence[tuple[bytes, bool]]) -> list[ParsedMail]:
        """Parse in the hub: a mail or two, or a backlog while the parser process starts or after it died."""
        out: list[ParsedMail] = []
        for raw, poisoned in batch:
            if len(raw) > 4 * 1024 * 1024 and not poisoned:  # a big mail parses for a while: keep the loop responsive
                out += await asyncio.to_thread(self._parse_batch, [(raw, poisoned)])
            else:
                out += self._parse_batch([(raw, poisoned)])
        return out

    async def _store(self, items: Sequence[Fetched], uidvalidity: int, parsed: Sequence[ParsedMail]) -> None:
        """Store a fetched batch, in UID order, sharing transactions; raises (nothing is acknowledged) when any mail
        of it could not be stored: the next session fetches the batch again and the stored ones are duplicates."""
        assert self._ctx is not None
        inbounds = [to_inbound(p, ref_prefix=f"imap:{uidvalidity}:{item.uid}", received=item.internal_date)
                    for p, item in zip(parsed, items)]
        if self._ctx.deliver_many is not None:
            results = await self._ctx.deliver_many(inbounds)
        else:
            results = []
            for inbound in inbounds:
                try:
                    results.append(await self._ctx.deliver(inbound))
                except Exception as exc:
                    results.append(exc)
                    break  # in UID order: nothing is stored ahead of a mail that failed
            results += [NotAttempted("an earlier mail of the batch failed")] * (len(inbounds) - len(results))
        failed: BaseException | None = None
        for item, p, result in zip(items, parsed, results):
            key = (uidvalidity, item.uid)
            if isinstance(result, NotAttempted):
                continue  # behind a mail that failed: fetched again with it
            if isinstance(result, BaseException):
                self._failures[key] = self._failures.get(key, 0) + 1
                failed = failed or result
                continue
            self._failures.pop(key, None)
            await self._stored(p, result)
        if failed is not None:
            raise failed

    async def _stored(self, parsed: ParsedMail, accepted: Accepted) -> None:
        """After a mail is committed: quiet its sender after an auto-reply or bounce, mark bounced addresses."""
        if parsed.noise.flags & {"auto_reply", "bounce"}:
            self._quiet[parsed.sender] = time.monotonic()
        elif not parsed.noise.flags:
            # A person wrote from the address since its out-of-office: the answer to what they wrote (a check-in's
            # "we reopened your request") must reach them.
            self._quiet.pop(parsed.sender, None)
        if "bounce" in parsed.noise.flags and not accepted.duplicate:
            for address in parsed.noise.failed:
                if address != self.config.address.lower():
                    self._quiet[address] = time.monotonic()
                    await self._ctx.mark_unreachable(Identity(NAME, address), f"mail bounced: {parsed.noise.reason}"[:300])
        log.info("email %s from %s -> ticket %s%s", parsed.message_id, parsed.sender, accepted.ticket_id,
                 " (duplicate)" if accepted.duplicate else "")

    async def send(self, out: Outbound) -> SendResult:
        to = out.recipient.external_id.strip().lower()
        slot = self._reserve_automatic(to) if out.automatic else None
        try:
            try:
                mail = compose(self.config, out)
            except (MessageError, ValueError, UnicodeError) as exc:  # this mail cannot be built: retrying will not help
                raise PermanentError(f"the reply cannot be written as a mail: {type(exc).__name__}: {exc}"[:500]) from None
            await self.sender.send(mail.data, out.recipient.external_id.strip())
        except BaseException:
            if slot is not None:  # a mail that did not go out does not count against the cap
                self._automatic[to].remove(slot)
            raise
        return SendResult(provider_id=mail.message_id)

    def _reserve_automatic(self, to: str) -> float:
        """Counts an automatic mail against the hourly cap before sending, so concurrent sends cannot overshoot it."""
        now = time.monotonic()
        quiet = self._quiet.get(to)
        if quiet is not None and now - quiet < self.config.auto_quiet:
            raise PermanentError("not sent: the address answered automatically or bounced recently (mail loop protection)")
        sent = self._automatic.setdefault(to, deque())
        while sent and now - sent[0] > 3600:
            sent.popleft()
        if len(sent) >= self.config.auto_reply_cap_per_hour:
            raise PermanentError(f"not sent: {self.config.auto_reply_cap_per_hour} automatic mails per hour to this address already")
        sent.append(now)
        return now

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        """Bytes of an attachment, read from the IMAP server when an agent opens it: ref "imap:<uidvalidity>:<uid>:<path>"."""
        parts = ref.split(":", 3)
        if len(parts) != 4 or parts[0] != "imap" or not parts[1].isdigit() or not parts[2].isdigit():
            raise Invalid(f"not an email attachment reference: {ref[:80]!r}")
        uidvalidity, uid, path = int(parts[1]), int(parts[2]), parts[3]
        cfg = self.config.imap
        conn = Connection(cfg, self.user)
        try:
            await conn.open()
            current, _ = await conn.select(cfg.folder)
            fetched = await conn.fetch([uid]) if current == uidvalidity else []
        except ImapError as exc:
            raise Unavailable(f"the mail server did not return the attachment: {exc}") from None
        except (OSError, asyncio.TimeoutError) as exc:
            raise Unavailable(f"the mail server cannot be reached: {exc or type(exc).__name__}") from None
        finally:
            await conn.close()
        raw = next((f.raw for f in fetched if f.uid == uid), None)
        if raw is None:
            raise NotFoundError("the mail is no longer in the folder it was read from")
        if path == RAW_PART:
            data = raw
        else:
            part = find_part(parse_bytes(raw), path)
            if part is None:
                raise NotFoundError("the attachment is not in the mail any more")
            data = part_bytes(part)
        if len(data) > max_bytes:
            raise TooLarge(f"attachment is {len(data)} bytes; the limit is {max_bytes}")
        return data


    async def forget(self, provider_ids: Sequence[str], senders: Sequence[str]) -> int:
        """Remove the raw mails (watched and processed folder) of an erased customer or past retention.  A server that
        refuses for a moment ("[UNAVAILABLE] Temporary authentication failure") gets two more tries."""
        for attempt in range(FORGET_TRIES):
            try:
                return await remove_mails(self.config.imap, self.user, provider_ids, senders)
            except ImapError as exc:
                problem = f"the mail server refused to remove the mails: {exc}"
            except (OSError, asyncio.TimeoutError) as exc:
                problem = f"the mail server cannot be reached: {exc or type(exc).__name__}"
            log.warning("email: removing mails failed (try %d of %d): %s", attempt + 1, FORGET_TRIES, problem)
            if attempt + 1 < FORGET_TRIES:
                await asyncio.sleep(FORGET_RETRY_DELAY * (attempt + 1))
        raise Unavailable(problem)


def build(raw: dict[str, Any]) -> EmailChannel:
    return EmailChannel(EmailConfig.model_validate(raw))
