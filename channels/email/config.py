"""Configuration of the email channel (`channels.email` in config.yaml), validated with extra keys forbidden.

Imports only pydantic: the rest of the package reads these frozen models.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_ADDRESS_HINT = "an address like support@example.com"


class ImapConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)  # 993 with ssl, else 143
    user: str | None = None  # defaults to the channel address
    password: str | None = None
    ssl: bool = True
    starttls: bool = False  # upgrade a plain connection (ssl: false); refused if the server does not offer it
    verify_tls: bool = True
    folder: str = "INBOX"
    idle: bool = True  # IDLE when the server offers it, else polling every poll_interval
    poll_interval: float = Field(default=30.0, gt=0)
    idle_renew: float = Field(default=25 * 60, gt=0)  # servers drop an IDLE after 30 minutes
    timeout: float = Field(default=30.0, gt=0)
    # After a mail is stored: mark it \Seen (default) or move it to this folder.
    mark_seen: bool = True
    processed_folder: str | None = None
    # With no checkpoint yet: "unseen" takes the unread mail only (a mailbox with years of history must not flood the
    # queue), "all" takes everything in the folder.
    initial: str = "unseen"
    # Mails per UID FETCH; aioimaplib parses a response line by line recursively, so a batch must stay modest.
    batch: int = Field(default=100, ge=1, le=200)
    backoff_max: float = Field(default=60.0, gt=0)

    @field_validator("initial")
    @classmethod
    def _initial(cls, v: str) -> str:
        if v not in ("unseen", "all"):
            raise ValueError("expected 'unseen' or 'all'")
        return v

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.ssl else 143)


class SmtpConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535)  # 465 with ssl, else 587
    user: str | None = None
    password: str | None = None
    ssl: bool = False
    starttls: bool = True
    verify_tls: bool = True
    timeout: float = Field(default=30.0, gt=0)
    pool: int = Field(default=4, ge=1, le=64)  # connections kept open to the relay

    @model_validator(mode="after")
    def _tls(self) -> "SmtpConfig":
        if self.ssl and self.starttls:
            raise ValueError("ssl and starttls exclude each other: ssl is TLS from the first byte, starttls upgrades")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or (465 if self.ssl else 587)


class EmailConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    address: str = "support@example.com"
    display_name: str = "Support"  # From: "<agent> via Support <address>"
    hostname: str | None = None  # domain of the Message-IDs the hub makes; defaults to the address's domain
    imap: ImapConfig = ImapConfig()
    smtp: SmtpConfig = SmtpConfig()
    max_attachment: int = Field(default=25 * 1024 * 1024, ge=0)  # larger parts are listed but not kept
    auto_reply_cap_per_hour: int = Field(default=5, ge=0)  # automatic mails per recipient per hour
    # After an auto-reply or bounce from an address, automatic mail to it is held back for this long (seconds).
    auto_quiet: float = Field(default=3600.0, ge=0)
    # Where a backlog (a fetch of several mails) is parsed: a process of its own, beside the hub's event loop on
    # another core while the hub stores the batch before it, or the event loop itself.  A mail or two is always
    # parsed on the loop.
    parse_worker: Literal["process", "loop"] = "process"

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        v = v.strip()
        local, _, domain = v.rpartition("@")
        if not local or "." not in domain or any(c in v for c in " <>\r\n\t,;\""):
            raise ValueError(f"expected {_ADDRESS_HINT}")
        return v

    @property
    def domain(self) -> str:
        return self.hostname or self.address.rpartition("@")[2]
