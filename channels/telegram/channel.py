"""The Telegram channel: Bot API calls through python-telegram-bot's `Bot`, updates by long polling or webhook.

The hub owns the lifecycle, so PTB's `Application` is not used: this module runs its own poll loop (see poller.py)
under the hub's singleton lease and acknowledges updates (moves the offset) only after `ctx.deliver` committed.
"""
from __future__ import annotations

import asyncio
import hmac
import logging
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import telegram.error as tg
from aiohttp import web
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction
from telegram.request import HTTPXRequest

from channels.base import Capabilities, ChannelContext, PermanentError, RetryAfter, SendError, Unreachable
from channels.telegram.config import TelegramConfig
from channels.telegram.parse import NAME, Answer, Deliver, Ignore, Me, Texts, parse_update
from channels.telegram.poller import ALLOWED_UPDATES, Poller, UpdatesBot
from channels.telegram.texts import MAX_TEXT, split_text
from hub.config import ConfigError
from hub.domain import Button, Identity, Outbound, SendResult
from hub.errors import NotFoundError, TooLarge, Unavailable
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.channels.telegram")
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _Recent:
    """Update ids handled lately in this process: a redelivered update is acknowledged without doing it twice
    (matters for what is not stored, such as a /start greeting or a callback answer)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._ids: OrderedDict[int, None] = OrderedDict()

    def __contains__(self, update_id: int) -> bool:
        return update_id in self._ids

    def add(self, update_id: int) -> None:
        self._ids[update_id] = None
        if len(self._ids) > self.size:
            self._ids.popitem(last=False)


class TelegramChannel:
    name = NAME

    def __init__(self, config: TelegramConfig) -> None:
        assert config.token, "validated by TelegramConfig"
        self.config = config
        self.capabilities = Capabilities(
            typing=True, buttons=True, max_text=MAX_TEXT, conversational=True, max_attachment=config.max_attachment
        )
        t = config.request_timeout
        self._request = HTTPXRequest(connection_pool_size=64, read_timeout=t, write_timeout=t, connect_timeout=t, pool_timeout=t)
        self._updates_request = HTTPXRequest(connection_pool_size=2, read_timeout=t, write_timeout=t, connect_timeout=t, pool_timeout=t)
        kwargs: dict[str, Any] = {}
        if config.base_url:
            kwargs["base_url"] = config.base_url
        if config.file_url():
            kwargs["base_file_url"] = config.file_url()
        self.bot = UpdatesBot(config.token, request=self._request, get_updates_request=self._updates_request, **kwargs)
        self.me = Me(int(config.bot_id), config.bot_username)
        self.texts = Texts(config.greeting, config.help)
        self.connected = asyncio.Event()
        self._ctx: ChannelContext | None = None
        self._task: asyncio.Task[None] | None = None
        self.poller: Poller | None = None
        self._seen = _Recent()
        # outbox id -> (parts already sent, provider id of the last): a retried long reply resumes, never repeats.
        self._progress: OrderedDict[int, tuple[int, str]] = OrderedDict()

    # lifecycle -----------------------------------------------------------------------------------------------------

    async def start(self, ctx: ChannelContext) -> None:
        self._ctx = ctx
        if self.config.mode == "webhook" and not ctx.public_url:
            raise ConfigError("server.public_url: required when channels.telegram.mode is webhook")
        try:
            await self._connect()
        except tg.InvalidToken as exc:
            raise ConfigError(f"channels.telegram.token: rejected by the Bot API ({exc.message})") from None
        except tg.TelegramError as exc:
            # The hub still serves its other channels; the background task keeps trying.
            log.warning("telegram: getMe failed at start (%s); retrying in the background", exc)
        self._task = asyncio.create_task(self._run(), name="telegram")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        try:
            await self.bot.shutdown()
        finally:
            for req in (self._request, self._updates_request):
                await req.shutdown()

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post(WEBHOOK_PATH, self.webhook)] if self.config.mode == "webhook" else []

    async def _connect(self) -> None:
        await self.bot.initialize()  # getMe
        self.me = Me(self.bot.id, self.bot.username or self.config.bot_username)
        self.connected.set()
        log.info("telegram: connected as @%s (%s mode)", self.me.username, self.config.mode)

    async def _run(self) -> None:
        assert self._ctx is not None
        await _retrying("getMe", self._connect, lambda: self.connected.is_set())
        if self.config.mode == "webhook":
            await _retrying("webhook registration", self.ensure_webhook)
            return
        await _retrying("webhook removal", self._drop_webhook)
        self.poller = Poller(self.bot, self._ctx.checkpoints, self.handle, self.config, key=f"offset:{self.me.id}",
                             on_conflict=self._drop_webhook)
        await self._ctx.singleton.run(f"telegram:{self.me.id}", self.poller.run)

    def webhook_url(self) -> str:
        assert self._ctx is not None and self._ctx.public_url
        return self._ctx.public_url.rstrip("/") + WEBHOOK_PATH

    async def ensure_webhook(self) -> None:
        """Register the webhook unless Telegram already posts to this hub (several processes may all check)."""
        info = await self.bot.get_webhook_info()
        url = self.webhook_url()
        if info.url == url:
            return
        log.info("telegram: webhook %s -> %s", info.url or "(none)", url)
        await self.bot.set_webhook(url=url, secret_token=self.config.webhook_secret, allowed_updates=list(ALLOWED_UPDATES))

    async def _drop_webhook(self) -> None:
        info = await self.bot.get_webhook_info()
        if info.url:
            log.info("telegram: removing webhook %s to poll instead", info.url)
            await self.bot.delete_webhook(drop_pending_updates=False)

    # inbound -------------------------------------------------------------------------------------------------------

    async def handle(self, update: Update, raw: dict[str, Any] | None = None) -> bool:
        """Do what one update asks; True once it is safe to acknowledge (stored, answered or deliberately ignored)."""
        ctx = self._ctx
        assert ctx is not None
        if update.update_id in self._seen:
            return True
        try:
            event = parse_update(update, self.me, self.texts, raw)
        except Exception:
            # A payload this code cannot read must not block every later update behind it.
            log.exception("telegram: update %s could not be read; skipped", update.update_id)
            self._seen.add(update.update_id)
            return True
        if isinstance(event, Ignore):
            log.debug("telegram: update %s ignored: %s", update.update_id, event.reason)
            if event.callback_id:
                await self._answer_callback(event.callback_id)
        elif isinstance(event, Answer):
            try:
                await self.bot.send_message(event.chat_id, event.text)
            except tg.TelegramError as exc:
                log.warning("telegram: /%s answer to chat %s failed: %s", event.command, event.chat_id, exc)
        elif isinstance(event, Deliver):
            try:
                accepted = await ctx.deliver(event.inbound)
            except PermanentError as exc:
                log.warning("telegram: update %s rejected: %s", update.update_id, exc)
            except Exception:
                log.exception("telegram: storing update %s failed; it will be retried", update.update_id)
                return False
            else:
                log.debug("telegram: update %s -> ticket %s message %s%s", update.update_id, accepted.ticket_id,
                          accepted.message_id, " (duplicate)" if accepted.duplicate else "")
            if event.callback_id:
                await self._answer_callback(event.callback_id)
        self._seen.add(update.update_id)
        return True

    async def _answer_callback(self, callback_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_id)
        except tg.TelegramError as exc:  # too old or already answered: the customer's tap is stored anyway
            log.debug("telegram: answerCallbackQuery %s failed: %s", callback_id, exc)

    async def webhook(self, request: web.Request) -> web.Response:
        expected = (self.config.webhook_secret or "").encode()
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not expected or not hmac.compare_digest(given, expected):
            raise web.HTTPForbidden(text="bad or missing secret token")
        if self._ctx is None:
            raise web.HTTPServiceUnavailable(text="starting")
        try:
            data = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="body is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise web.HTTPBadRequest(text="not a Telegram update")
        try:
            update = Update.de_json(data, self.bot)
        except Exception:
            log.warning("telegram: webhook update %s could not be parsed; dropped", data.get("update_id"), exc_info=True)
            return web.json_response({})
        if not await self.handle(update, data):
            # Telegram redelivers on a non-2xx answer: the same update comes back and is stored once.
            raise web.HTTPServiceUnavailable(text="could not store the update; retry")
        return web.json_response({})

    # outbound ------------------------------------------------------------------------------------------------------

    async def send(self, out: Outbound) -> SendResult:
        chat_id = _chat_id(out.recipient)
        parts = split_text(out.text)
        if not parts:
            raise PermanentError("nothing to send: the message text is empty")
        if out.attachments:
            log.info("telegram: outbox %s has attachments; only the text is sent", out.outbox_id)
        done, last = self._progress.get(out.outbox_id, (0, ""))
        markup = _keyboard(out.buttons)
        try:
            for i in range(done, len(parts)):
                final = i == len(parts) - 1
                msg = await self.bot.send_message(chat_id, parts[i], reply_markup=markup if final else None)
                last = f"{chat_id}:{msg.message_id}"
                if not final:
                    self._progress[out.outbox_id] = (i + 1, last)
                    while len(self._progress) > 1000:
                        self._progress.popitem(last=False)
        except tg.TelegramError as exc:
            err = _send_error(exc)
            if isinstance(err, PermanentError):
                self._progress.pop(out.outbox_id, None)
            raise err from None
        self._progress.pop(out.outbox_id, None)
        return SendResult(provider_id=last)

    async def typing(self, recipient: Identity) -> None:
        await self.bot.send_chat_action(_chat_id(recipient), ChatAction.TYPING)

    async def fetch_attachment(self, ref: str, max_bytes: int) -> bytes:
        cap = min(max_bytes, self.config.max_attachment)
        try:
            f = await self.bot.get_file(ref)
            if f.file_size and f.file_size > cap:
                raise TooLarge(f"the file is {f.file_size} bytes; the limit is {cap}")
            data = await f.download_as_bytearray()
        except tg.BadRequest as exc:
            if "too big" in exc.message.lower():
                raise TooLarge(f"Telegram refuses to hand out the file: {exc.message}") from None
            raise NotFoundError(f"the file is no longer available on Telegram: {exc.message}") from None
        except tg.TelegramError as exc:
            raise Unavailable(f"Telegram did not hand out the file: {exc.message}") from None
        if len(data) > cap:
            raise TooLarge(f"the file is {len(data)} bytes; the limit is {cap}")
        return bytes(data)


def _chat_id(recipient: Identity) -> int:
    try:
        return int(recipient.external_id)
    except ValueError:
        raise PermanentError(f"{recipient.external_id!r} is not a Telegram chat id") from None


def _keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    # callback_data is limited to 64 bytes by Telegram; a longer payload could never come back intact.
    usable = [b for b in buttons if b.label.strip() and 0 < len(b.payload.encode()) <= 64]
    if len(usable) < len(buttons):
        log.warning("telegram: %d button(s) dropped (empty label or payload over 64 bytes)", len(buttons) - len(usable))
    if not usable:
        return None
    keys = [InlineKeyboardButton(b.label[:100], callback_data=b.payload) for b in usable]
    short = len(keys) <= 3 and sum(len(b.label) for b in usable) <= 30
    return InlineKeyboardMarkup([keys] if short else [[k] for k in keys])


def _send_error(exc: tg.TelegramError) -> SendError:
    if isinstance(exc, tg.RetryAfter):
        with warnings.catch_warnings():  # PTB 22 warns that the type becomes timedelta; both are handled
            warnings.simplefilter("ignore")
            after = exc.retry_after
        seconds = after.total_seconds() if isinstance(after, timedelta) else float(after)
        return RetryAfter(seconds, f"Telegram flood control: retry after {seconds:g}s")
    if isinstance(exc, tg.Forbidden):
        return Unreachable(f"Telegram refused: {exc.message}")
    if isinstance(exc, tg.ChatMigrated):
        return PermanentError(f"the group became supergroup {exc.new_chat_id}")
    if isinstance(exc, tg.BadRequest):
        if "chat not found" in exc.message.lower():
            return Unreachable(f"Telegram: {exc.message}")
        return PermanentError(f"Telegram rejected the message: {exc.message}")
    return SendError(f"Telegram: {exc.message}")


async def _retrying(what: str, fn: Any, done: Any = lambda: False) -> None:
    delay = 1.0
    while not done():
        try:
            await fn()
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("telegram: %s failed (%s); retrying in %.0fs", what, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)
