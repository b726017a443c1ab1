"""Outgoing mail headers survive any character in a customer's subject or name: control and line-separator
characters are replaced, and a mail that still cannot be built is a permanent failure shown to the agent."""
from __future__ import annotations

import base64
import email.errors
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import select

from channels.base import PermanentError
from channels.email import build
from channels.email.smtp import compose
from hub.domain import Author, Identity, Outbound
from hub.store.schema import messages
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import hub_config, running_hub
from tests.mailtest import Smtpd, email_channel, smtpd  # noqa: F401  (fixture)

BREAKERS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "\r", "\n", "\x00", "\x1b", "\x7f"]
HEADER_NAMES = {"Content-Type", "MIME-Version", "From", "To", "Subject", "Date", "Message-ID"}


def _out(subject: str, name: str | None) -> Outbound:
    return Outbound(outbox_id=1, message_id=5, ticket_id=42, channel="email", recipient=Identity("email", "c@example.com"),
                    text="hello", author=Author.AGENT, author_name=name, subject=subject)


@pytest.mark.parametrize("ch", BREAKERS)
@pytest.mark.parametrize("script", ["ascii", "thai"])
def test_control_characters_never_break_or_inject_a_header(ch: str, script: str) -> None:
    cfg = build({"enabled": True, "address": "support@example.com", "hostname": "hub.example.com"}).config
    word = "order" if script == "ascii" else "คำสั่งซื้อ"
    raw = compose(cfg, _out(f"{word}{ch}Bcc: evil@example.net", f"Nok{ch}Bcc: evil@example.net")).data
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):  # every line is a header of ours or the continuation of one
        assert line[:1] in (b" ", b"\t") or line.split(b":", 1)[0].decode() in HEADER_NAMES, line
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert set(parsed.keys()) == HEADER_NAMES and parsed["Bcc"] is None
    assert str(parsed["Subject"]) == f"Re: {word} Bcc: evil@example.net [#42]"


async def test_a_header_the_library_refuses_is_a_permanent_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    import channels.email as module

    channel = build({"enabled": True, "address": "support@example.com"})

    def refuse(*_: object) -> None:
        raise email.errors.HeaderParseError("header value appears to contain an embedded header")

    monkeypatch.setattr(module, "compose", refuse)
    with pytest.raises(PermanentError, match="cannot be written as a mail"):
        await channel.send(_out("x", None))


async def test_reply_to_a_subject_with_control_characters_is_sent(sqlite_url: str, dovecot: Dovecot, smtpd: Smtpd) -> None:
    subject = "=?utf-8?b?" + base64.b64encode("ใบแจ้งหนี้\x0bBcc: evil@example.net\x1c".encode()).decode() + "?="
    name = "=?utf-8?b?" + base64.b64encode("สมชาย\x1e".encode()).decode() + "?="
    mail = (f"From: {name} <somchai@example.co.th>\r\n"
            f"To: support@example.com\r\nSubject: {subject}\r\nMessage-ID: <ctl-1@example.co.th>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nwhere is my invoice\r\n").encode()
    cfg = hub_config(sqlite_url, channels={"email": email_channel(dovecot, smtpd.port)})
    async with running_hub(cfg) as h:
        headers = await h.agent("nok@example.com", name="Nok")
        await dovecot.append(mail)

        async def stored() -> int | None:
            async with h.hub.db.read() as conn:
                return (await conn.execute(select(messages.c.ticket_id).where(messages.c.channel == "email"))).scalar()

        tid = await wait_until(stored)
        status, _ = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "attached"})
        assert status == 201
        await smtpd.recorder.wait(1)
        sent = smtpd.recorder.parsed()
        assert sent["Bcc"] is None and "ใบแจ้งหนี้" in str(sent["Subject"])
        assert smtpd.recorder.messages[-1][1] == ["somchai@example.co.th"]
