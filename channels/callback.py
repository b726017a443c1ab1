"""The `callback` channel: a customer who asked only to be phoned.

A callback request without a written channel (the `/callback` page or the API with no chat token) enters as an
Inbound of this channel under the identity ("phone", E.164).  There is nothing to write to, so `send` refuses with
a clear reason (the booking response is the confirmation; agents answer by calling).  The booking API, slots,
scheduler jobs and pages live in hub.callbacks, which `build` plugs into the web app.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from channels.base import Capabilities, ChannelContext, PermanentError
from hub.callbacks import CallbackConfig, register
from hub.domain import Outbound, SendResult

log = logging.getLogger("hub.channels.callback")
NAME = "callback"


class CallbackChannel:
    name = NAME
    # Each request is its own ticket (like a mail thread), never appended to an older phone request.
    capabilities = Capabilities(conversational=False, max_text=2000)

    def __init__(self, config: CallbackConfig) -> None:
        self.config = config
        self.ctx: ChannelContext | None = None

    async def start(self, ctx: ChannelContext) -> None:
        self.ctx = ctx

    async def stop(self) -> None:
        return None

    def routes(self) -> Sequence[web.RouteDef]:
        return []  # served by hub.callbacks.install, which needs the hub

    async def send(self, out: Outbound) -> SendResult:
        raise PermanentError("this customer asked for a phone call and has no written channel; call them instead")

    @property
    def service(self) -> Any:
        """The booking service once the hub started (None before)."""
        return self.ctx.extra if self.ctx else None


def build(raw: dict[str, Any]) -> CallbackChannel:
    channel = CallbackChannel(CallbackConfig.model_validate(raw))
    register()
    return channel
