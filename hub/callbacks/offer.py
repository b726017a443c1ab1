"""Callback self-service inside a chat: the customer asks (`/callback`, or an opening message routing classified
as a callback request), the bot offers the next free slots as buttons, and a press books the call with the phone
number the customer shared (a Telegram contact) or asks them to share it first.

Called by the bot (hub.assistant) for every stored customer message before the FAQ policy; returns whether it
handled the message.  The booking goes through `CallbackService.book`, so capacity and the confirmation are the
same as everywhere else.  Imports hub only.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any

from hub import dates
from hub.callbacks.forticket import parse_for_ticket
from hub.callbacks.service import CallbackService, SlotFull
from hub.callbacks.slots import Slot
from hub.callbacks.texts import say
from hub.domain import Author, Button, Inbound, Status
from hub.errors import HubError, Invalid

log = logging.getLogger("hub.callbacks")

PREFIX = "callback:"
COMMAND = "/callback"
# Chats whose customers book here.  The web chat has its own booking form in the widget; email has no buttons.
SELF_SERVICE = frozenset({"telegram"})
OPEN = (Status.BOT, Status.QUEUED, Status.ASSIGNED, Status.PENDING)


def asks_for_callback(inbound: Inbound) -> bool:
    raw = inbound.raw if isinstance(inbound.raw, dict) else {}
    if raw.get("command") == "callback":
        return True
    first = inbound.text.strip().split(maxsplit=1)[0].lower() if inbound.text.strip() else ""
    return first.split("@", 1)[0] == COMMAND


def pressed_slot(inbound: Inbound) -> str | None:
    """The slot start of a pressed offer button, if this message is one."""
    raw = inbound.raw if isinstance(inbound.raw, dict) else {}
    payload = raw.get("payload")
    if "button" in inbound.flags and isinstance(payload, str) and payload.startswith(PREFIX):
        return payload[len(PREFIX):]
    return None


class CallbackOffer:
    def __init__(self, hub: Any) -> None:
        self.hub = hub

    async def handle(self, row: Any, inbound: Inbound, new_ticket: bool, lang: str) -> bool:
        svc = self.hub.extras.get("callback")
        if not isinstance(svc, CallbackService):
            return False  # callbacks are off in this hub
        if "callback_request" in inbound.flags:
            return True  # the booking's own record: its confirmation is the answer
        if row.channel not in SELF_SERVICE:
            return False
        if (start := pressed_slot(inbound)) is not None:
            await self._book(svc, row, inbound, start, lang)
            return True
        if asks_for_callback(inbound) or (new_ticket and row.kind == "callback"):
            await self._offer(svc, row.id, lang, "offer")
            return True
        return False

    async def _offer(self, svc: CallbackService, ticket_id: int, lang: str, key: str, slots: list[Slot] | None = None) -> None:
        if slots is None:
            slots = await svc.next_free(svc.clock.now())
        tz = svc.grid.zone
        if not slots:
            await self._say(ticket_id, say("no_slots", lang))
            return
        buttons = [Button(dates.slot(s.start, tz, lang), f"{PREFIX}{s.start.isoformat()}") for s in slots]
        await self._say(ticket_id, say(key, lang, tz=tz.key), buttons)

    async def _book(self, svc: CallbackService, row: Any, inbound: Inbound, start: str, lang: str) -> None:
        # The press's provider id makes a redelivered press a replay of the same booking, not a second one.
        key = "tg" + hashlib.sha256(f"{inbound.channel}:{inbound.provider_id}".encode()).hexdigest()[:40]
        data = {"slot": start, "tz": svc.grid.zone.key, "lang": lang, "request_id": key}
        try:
            req, origin = await parse_for_ticket(svc, row.id, data)
            booked = await svc.book(req, origin)
        except SlotFull:
            await self._offer(svc, row.id, lang, "taken")
            return
        except Invalid as exc:
            if exc.field == "phone":
                await self._say(row.id, say("need_contact", lang))
            else:  # the offered slot has passed or the button was forged: offer what is free now
                await self._offer(svc, row.id, lang, "taken")
            return
        except HubError as exc:
            log.info("callback from ticket %s not booked: %s", row.id, exc.detail)
            return
        log.info("callback %s booked by the customer of ticket %s from a chat button", booked.callback["id"], row.id)

    async def _say(self, ticket_id: int, text: str, buttons: list[Button] | None = None) -> None:
        await self.hub.actions.post_automatic(ticket_id, Author.SYSTEM, text, only_if=OPEN, buttons=buttons or (),
                                              meta={"bot": {"reason": "callback offer"}})
