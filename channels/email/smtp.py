"""The SMTP side: composing a reply that threads in the customer's mail client, and sending it through a small pool
of relay connections, with SMTP outcomes mapped to the outbox's errors (5xx permanent, 4xx and network retried).

Imports aiosmtplib, the channel protocol's errors and the hub's domain types.
"""
from __future__ import annotations

import asyncio
import html
import logging
import re
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, make_msgid

import aiosmtplib

from channels.base import PermanentError, SendError, Unreachable
from channels.email.config import EmailConfig
from hub.domain import Outbound

log = logging.getLogger("hub.channels.email.smtp")
_POLICY = compat32.clone(linesep="\r\n")
_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|fw|fwd|tr|wg|ตอบกลับ|پاسخ|رد)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.I)
_TOKEN = re.compile(r"\s*\[#\d+\]")
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:\\\[\]]+@[^@\s<>\"(),;:\\\[\]]+\.[^@\s<>\"(),;:\\\[\]]+$")


# Every control character and every character str.splitlines() breaks on (\x0b, \x0c, \x1c-\x1e, \x85, U+2028,
# U+2029): the header code folds on those, so one left in a subject or name breaks the header block or injects a line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def header_safe(value: str) -> str:
    return _UNSAFE.sub(" ", value)


def reply_subject(subject: str | None, ticket_id: int) -> str:
    """"Re: <subject> [#N]": one Re:, one token, however many rounds the thread has had."""
    base = _TOKEN.sub("", _PREFIX.sub("", header_safe(subject or ""))).strip()
    return f"Re: {base} [#{ticket_id}]" if base else f"Re: [#{ticket_id}]"


def _message_ids(refs: tuple[str, ...]) -> list[str]:
    """Only real Message-IDs thread in mail clients (contact-form ids and the like are not)."""
    return [r for r in refs if r.startswith("<") and r.endswith(">") and "@" in r and not any(c in r for c in " \r\n")]


@dataclass(frozen=True, slots=True)
class Composed:
    message_id: str
    data: bytes  # the flattened mail, CRLF line ends, every header 7-bit (RFC 2047)


def _header_text(value: str) -> str | Header:
    value = header_safe(value)
    return value if value.isascii() else Header(value, "utf-8", header_name="Subject")


def compose(cfg: EmailConfig, out: Outbound) -> Composed:
    """The reply as bytes.  Built with the compat32 MIME classes: header objects of the newer API cost more than the
    whole SMTP exchange, and nothing here needs them."""
    to = out.recipient.external_id.strip()
    if not _ADDRESS.match(to) or len(to) > 320:
        raise PermanentError(f"not a deliverable email address: {to[:80]!r}")
    msg = MIMEMultipart("alternative")
    sender = f"{out.author_name} via {cfg.display_name}" if out.author_name else cfg.display_name
    msg["From"] = formataddr((header_safe(sender)[:200], cfg.address), charset="utf-8")
    msg["To"] = to
    msg["Subject"] = _header_text(reply_subject(out.subject, out.ticket_id))
    msg["Date"] = format_datetime(out.created_at or datetime.now(timezone.utc))
    message_id = make_msgid(idstring=f"t{out.ticket_id}.m{out.message_id}", domain=cfg.domain)
    msg["Message-ID"] = message_id
    ids = _message_ids(out.thread_refs)
    if ids:
        msg["In-Reply-To"] = ids[-1]
        # Keep the first (thread root) and the latest ones: clients thread on either, headers stay short.
        refs = ids if len(ids) <= 10 else [ids[0], *ids[-9:]]
        msg["References"] = "\r\n ".join(refs)
    if out.unsubscribe_token:
        # RFC 2369 and RFC 8058: the mail client's one-click POST goes to the link; the mailto reaches the hub's
        # own mailbox, where "unsubscribe TOKEN" in the subject does the same.
        uris = [f"<{out.unsubscribe_url}>"] if out.unsubscribe_url else []
        uris.append(f"<mailto:{cfg.address}?subject=unsubscribe%20{out.unsubscribe_token}>")
        msg["List-Unsubscribe"] = ", ".join(uris)
        if out.unsubscribe_url:
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if out.automatic:
        msg["Auto-Submitted"] = "auto-replied"  # RFC 3834: other robots must not answer this
        msg["X-Auto-Response-Suppress"] = "All"  # asks Exchange not to send out-of-office replies to it
        msg["Precedence"] = "auto_reply"
    text = out.text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    body = html.escape(text).replace("\n", "<br>\n")
    page = (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body>"
        f"<div dir=\"auto\" style=\"font-family:sans-serif;white-space:pre-wrap\">{body}</div></body></html>"
    )
    msg.attach(MIMEText(text, "plain", "us-ascii" if text.isascii() else "utf-8"))
    msg.attach(MIMEText(page, "html", "utf-8"))
    return Composed(message_id, msg.as_bytes(policy=_POLICY))


class Sender:
    """A few SMTP connections kept open and reused; a broken one is dropped and the next send opens a fresh one."""

    def __init__(self, cfg: EmailConfig) -> None:
        self.cfg = cfg
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(cfg.smtp.pool)

    def _client(self) -> aiosmtplib.SMTP:
        s = self.cfg.smtp
        ctx = ssl.create_default_context()
        if not s.verify_tls:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return aiosmtplib.SMTP(
            hostname=s.host, port=s.effective_port, use_tls=s.ssl, start_tls=s.starttls if not s.ssl else False,
            username=s.user, password=s.password, timeout=s.timeout, tls_context=ctx,
            local_hostname=self.cfg.domain,
        )

    async def send(self, data: bytes, recipient: str) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            if client is not None and not client.is_connected:
                client = None
            if client is None:
                client = self._client()
                try:
                    await client.connect()
                except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                    raise _classify(exc) from None
            try:
                errors, _ = await client.sendmail(self.cfg.address, [recipient], data)
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                await _discard(client)
                raise _classify(exc) from None
            except BaseException:
                await _discard(client)
                raise
            self._idle.append(client)
            if errors:  # recipients the relay refused while accepting others (never with one recipient)
                code, text = next(iter(errors.values()))
                raise _classify(aiosmtplib.SMTPResponseException(code, text))

    async def close(self) -> None:
        while self._idle:
            await _discard(self._idle.pop(), polite=True)


async def _discard(client: aiosmtplib.SMTP, polite: bool = False) -> None:
    try:
        if polite and client.is_connected:
            await asyncio.wait_for(client.quit(), 5)
        else:
            client.close()
    except Exception:
        client.close()


def _classify(exc: BaseException) -> SendError:
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return SendError(f"SMTP authentication failed: {exc.code} {exc.message}"[:500])  # a config problem: retried
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        inner = exc.recipients[0] if exc.recipients else None
        if inner is not None:
            return _classify(inner)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = f"SMTP {exc.code} {exc.message}"[:500]
        if 500 <= exc.code < 600:
            # 550/551/553 on RCPT with 5.1.x mean the mailbox does not exist: the address itself is unusable.
            if isinstance(exc, aiosmtplib.SMTPRecipientRefused) and (exc.code in (551, 553) or "5.1." in exc.message):
                return Unreachable(detail)
            return PermanentError(detail)
        return SendError(detail)
    return SendError(f"SMTP unavailable: {type(exc).__name__}: {exc}"[:500])
