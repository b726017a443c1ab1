"""`channels.telegram` config: the fixed keys (enabled, token, mode, base_url, webhook_secret) plus tuning knobs."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and - as a webhook secret token.
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_LANGS = ("en", "th", "fa")


class TelegramConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = False
    token: str | None = Field(None, validate_default=True)
    mode: Literal["polling", "webhook"] = "polling"
    base_url: str | None = Field(None, description='Bot API root as python-telegram-bot means it: "http://host:8081/bot"')
    webhook_secret: str | None = Field(None, validate_default=True)
    base_file_url: str | None = Field(None, description="file download root; derived from base_url when omitted")
    bot_username: str | None = Field(None, description="used for group mentions until getMe has answered")
    poll_timeout: float = Field(25.0, ge=0, le=50, description="long-polling timeout in seconds")
    poll_limit: int = Field(100, ge=1, le=100)
    request_timeout: float = Field(10.0, gt=0)
    concurrency: int = Field(16, ge=1, le=256, description="chats handled at once from one batch of updates")
    max_attachment: int = Field(20 * 1_048_576, gt=0, description="largest file fetched for agents (Bot API limit: 20 MB)")
    greeting: dict[str, str] = Field(default_factory=dict, description="replaces the built-in /start text per language")
    help: dict[str, str] = Field(default_factory=dict, description="replaces the built-in /help text per language")

    @field_validator("token")
    @classmethod
    def _token(cls, v: str | None, info: ValidationInfo) -> str | None:
        if not info.data.get("enabled"):
            return v
        if not v:
            raise ValueError("required when the Telegram channel is enabled (set TELEGRAM_TOKEN)")
        if not _TOKEN.match(v):
            raise ValueError("expected a bot token such as 123456:ABC-DEF... from @BotFather")
        return v

    @field_validator("webhook_secret")
    @classmethod
    def _secret(cls, v: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("mode") == "webhook" and info.data.get("enabled") and not v:
            raise ValueError("required in webhook mode (set TELEGRAM_WEBHOOK_SECRET)")
        if v and not _SECRET.match(v):
            raise ValueError("expected 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return v or None

    @field_validator("base_url", "base_file_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("expected an http(s) URL such as http://127.0.0.1:8081/bot")
        return v

    @field_validator("bot_username")
    @classmethod
    def _username(cls, v: str | None) -> str | None:
        return v.lstrip("@") if v else None

    @field_validator("greeting", "help")
    @classmethod
    def _langs(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(_LANGS))
        if unknown:
            raise ValueError(f"unknown language {unknown[0]!r}; expected one of {', '.join(_LANGS)}")
        return v

    @property
    def bot_id(self) -> str:
        return (self.token or "0:").split(":", 1)[0]

    def file_url(self) -> str | None:
        """Where files are downloaded: configured, else the base_url's sibling (".../bot" -> ".../file/bot")."""
        if self.base_file_url:
            return self.base_file_url
        if self.base_url and self.base_url.rstrip("/").endswith("/bot"):
            return self.base_url.rstrip("/")[: -len("bot")] + "file/bot"
        return None
