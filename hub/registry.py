"""The one place that knows the concrete channels, the router and the bot: it builds them from config.

Adding a channel is one module exposing `build(raw_config) -> Channel` plus one line in CHANNELS.
"""
from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from channels.base import Channel
from hub.config import Config, ConfigError, format_error, read_config

CHANNELS: dict[str, str] = {
    "webchat": "channels.webchat",
    "telegram": "channels.telegram",
    "email": "channels.email",
    "callback": "channels.callback",
}


def _module(name: str) -> Any:
    try:
        return importlib.import_module(CHANNELS[name])
    except ModuleNotFoundError as exc:
        if exc.name != CHANNELS[name]:
            raise
        raise ConfigError(f"channels.{name}: this installation has no {name} channel") from None


def build_channels(config: Config) -> dict[str, Channel]:
    built: dict[str, Channel] = {}
    for name, raw in config.channels.items():
        if name not in CHANNELS:
            raise ConfigError(f"channels.{name}: unknown channel; expected one of {', '.join(CHANNELS)}")
        raw = raw or {}
        if not isinstance(raw, dict):
            raise ConfigError(f"channels.{name}: expected a mapping")
        if not raw.get("enabled", False):
            continue
        try:
            built[name] = _module(name).build(raw)
        except ValidationError as exc:
            raise ConfigError(format_error(exc, f"channels.{name}")) from None
    return built


def build_router(config: Config) -> Any:
    try:
        from routing.config import validate_routing
        from routing.adapter import HubRouter
    except ImportError:
        from hub.ports import DefaultRouter

        return DefaultRouter(config)
    return HubRouter(config, validate_routing(config.routing, config))


def build_responder(hub: Any) -> Any:
    """The FAQ bot as the hub's Responder (hub.assistant), or None when the bot is off or not installed."""
    try:
        from bots.config import BotConfig
        from bots.kb import KnowledgeBaseError
        from hub.assistant import Assistant
    except ImportError:
        return None
    try:
        cfg = BotConfig.model_validate(hub.config.bot or {})
    except ValidationError as exc:
        raise ConfigError(format_error(exc, "bot")) from None
    if not cfg.enabled:
        return None
    try:
        return Assistant(hub, cfg)
    except KnowledgeBaseError as exc:
        raise ConfigError(f"bot.knowledge_base: {exc}") from None


def check_plugins(config: Config) -> None:
    """Validate every plug-in section, naming the key of the first problem."""
    build_channels(config)
    build_router(config)
    try:
        from bots.config import BotConfig
    except ImportError:
        return
    try:
        BotConfig.model_validate(config.bot or {})
    except ValidationError as exc:
        raise ConfigError(format_error(exc, "bot")) from None


def load_config(path: str | None = None) -> Config:
    config, _raw = read_config(path)
    check_plugins(config)
    return config
