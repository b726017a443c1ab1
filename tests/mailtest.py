"""Helpers for the email tests: a recording aiosmtpd server, fixture loading, and a hub config with email on."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.dovecot import Dovecot, free_port

DATA = Path(__file__).parent / "data" / "mail"


def fixture(name: str, **replace: str) -> bytes:
    """A mail from tests/data/mail with placeholders (IN_REPLY_TO, REFERENCES, ORIGINAL_ID, TICKET) filled in."""
    raw = (DATA / name).read_bytes()
    for key, value in replace.items():
        raw = raw.replace(key.encode(), value.encode())
    return raw


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives and can refuse recipients on demand."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)  # queued replies for the next RCPTs, e.g. "550 5.1.1 ..."
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any) -> str:
        with self.lock:
            reply = self.rcpt_replies.pop(0) if self.rcpt_replies else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content or envelope.content)))
        return "250 Message accepted for delivery"

    def parsed(self, i: int = -1) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.messages[i][2])  # type: ignore[return-value]

    async def wait(self, count: int, timeout: float = 30.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.messages) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"{len(self.messages)} of {count} mails arrived")
            await asyncio.sleep(0.02)


@dataclass
class Smtpd:
    port: int
    recorder: Recorder
    controller: Controller


@pytest.fixture
def smtpd() -> Iterator[Smtpd]:
    recorder = Recorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield Smtpd(port, recorder, controller)
    finally:
        controller.stop()


def email_channel(dovecot: Dovecot, smtp_port: int, imap: dict[str, Any] | None = None, **over: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "address": "support@example.com",
        "hostname": "hub.example.com",
        "imap": dovecot.imap_config(**(imap or {})),
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "ssl": False, "starttls": False},
        **over,
    }
