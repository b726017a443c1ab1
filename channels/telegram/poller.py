"""Long polling with a durable offset that moves only past updates already committed.

One batch from getUpdates is handled chat by chat in parallel (in order inside each chat); the offset then moves to
just after the longest run of handled updates.  Anything after a failure is fetched again and deduplicated by the
store, so a crash or restart at any point loses nothing and stores nothing twice.
"""
from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import telegram.error as tg
from telegram import Bot, Update

from channels.base import Checkpoints
from channels.telegram.config import TelegramConfig

log = logging.getLogger("hub.channels.telegram")
Handler = Callable[[Update, dict[str, Any]], Awaitable[bool]]
ALLOWED_UPDATES = ("message", "edited_message", "callback_query")


class UpdatesBot(Bot):
    """A `Bot` that also returns getUpdates as raw JSON.  `Bot.get_updates` parses a whole batch at once, so one
    update this library version cannot read would fail every poll forever; parsed one by one, it is skipped alone,
    and the exact payload is kept for the audit record."""

    async def get_updates_raw(self, *, offset: int | None, limit: int, timeout: int, read_timeout: float) -> list[dict[str, Any]]:
        data = {"offset": offset, "limit": limit, "timeout": timeout, "allowed_updates": list(ALLOWED_UPDATES)}
        result = await self._post("getUpdates", data, read_timeout=read_timeout + timeout)
        return [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)] if isinstance(result, list) else []


class Poller:
    def __init__(
        self,
        bot: UpdatesBot,
        checkpoints: Checkpoints,
        handle: Handler,
        config: TelegramConfig,
        *,
        key: str,
        on_conflict: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.bot, self.checkpoints, self.handle, self.config, self.key = bot, checkpoints, handle, config, key
        self.on_conflict = on_conflict
        self.offset: int | None = None

    async def run(self) -> None:
        stored = await self.checkpoints.get(self.key)
        self.offset = int(stored) if stored and stored.isdigit() else None
        log.info("telegram: polling from offset %s", self.offset)
        failures = 0
        while True:
            try:
                progressed = await self.step()
                failures = 0 if progressed else failures + 1
            except asyncio.CancelledError:
                raise
            except tg.RetryAfter as exc:
                await asyncio.sleep(_seconds(exc))
                continue
            except tg.Conflict as exc:
                log.warning("telegram: getUpdates conflict (%s)", exc.message)
                if self.on_conflict is not None:
                    await _quietly(self.on_conflict)
                failures += 1
            except tg.InvalidToken as exc:
                log.error("telegram: the token was rejected (%s)", exc.message)
                failures = max(failures + 1, 6)
            except Exception as exc:  # network, Bot API 5xx, database briefly away
                log.warning("telegram: polling failed (%s)", exc)
                failures += 1
            if failures:
                await asyncio.sleep(min(0.5 * 2 ** min(failures - 1, 7), 60.0))

    async def step(self) -> bool:
        """One getUpdates round; False when some update could not be stored (the caller backs off)."""
        raws = await self.bot.get_updates_raw(
            offset=self.offset,
            limit=self.config.poll_limit,
            timeout=int(self.config.poll_timeout),
            read_timeout=self.config.request_timeout,
        )
        if not raws:
            return True
        done = await self.handle_batch(raws)
        if done is not None and (self.offset is None or done + 1 > self.offset):
            self.offset = done + 1
            await self.checkpoints.set(self.key, str(self.offset))
        return done == max(r["update_id"] for r in raws)

    async def handle_batch(self, raws: list[dict[str, Any]]) -> int | None:
        """The highest update id up to which every update was handled, or None."""
        chats: dict[Any, list[tuple[Update, dict[str, Any]]]] = {}
        ok: dict[int, bool] = {}
        for raw in raws:
            try:
                u = Update.de_json(raw, self.bot)
            except Exception as exc:
                log.warning("telegram: update %s cannot be read by this library version (%s); skipped", raw["update_id"], exc)
                ok[raw["update_id"]] = True
                continue
            chat = u.effective_chat
            chats.setdefault(chat.id if chat is not None else ("update", u.update_id), []).append((u, raw))
        gate = asyncio.Semaphore(self.config.concurrency)

        async def one_chat(items: list[tuple[Update, dict[str, Any]]]) -> None:
            async with gate:
                for i, (u, raw) in enumerate(items):
                    ok[u.update_id] = await self.handle(u, raw)
                    if not ok[u.update_id]:
                        # Keep a chat's order: nothing after a failed update of the same chat goes ahead of it.
                        for later, _ in items[i + 1:]:
                            ok[later.update_id] = False
                        return

        await asyncio.gather(*(one_chat(items) for items in chats.values()))
        done: int | None = None
        for uid in sorted(ok):
            if not ok[uid]:
                break
            done = uid
        return done


def _seconds(exc: tg.RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        after = exc.retry_after
    return after.total_seconds() if isinstance(after, timedelta) else float(after)


async def _quietly(fn: Callable[[], Awaitable[None]]) -> None:
    try:
        await fn()
    except Exception as exc:
        log.warning("telegram: %s", exc)
