"""Telegram bot channel: customers message the bot, replies come back in the same chat.

`build(raw)` validates `channels.telegram` and returns the channel; see channel.py for the lifecycle, parse.py for
how updates become hub messages, poller.py for the offset handling.
"""
from __future__ import annotations

from typing import Any

from channels.telegram.channel import TelegramChannel
from channels.telegram.config import TelegramConfig

__all__ = ["TelegramChannel", "TelegramConfig", "build"]


def build(raw: dict[str, Any]) -> TelegramChannel:
    return TelegramChannel(TelegramConfig.model_validate(raw))
