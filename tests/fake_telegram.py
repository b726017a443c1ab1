"""A fake Telegram Bot API on a free port, reached through python-telegram-bot's `base_url`.

Speaks getMe, getUpdates (offset confirms, long-poll timeout, limit), setWebhook / getWebhookInfo / deleteWebhook
(and then pushes updates to the webhook like Telegram, retrying non-2xx answers), sendMessage, sendChatAction,
answerCallbackQuery, getFile and file download.  Records every call; can fail a method with 429 + retry_after,
403, 5xx; and refuses messages to chats that "blocked the bot".
"""
from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from sqlalchemy import and_, select

from hub.store.schema import messages
from tests.hubtest import RunningHub, hub_config, running_hub

TOKEN = "123456:TEST-fake-token_abcdefghij"
USERNAME = "acme_support_bot"


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _err(status: int, description: str, **parameters: Any) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


class FakeTelegram:
    def __init__(self, token: str = TOKEN, username: str = USERNAME) -> None:
        self.token, self.username = token, username
        self.bot_id = int(token.split(":")[0])
        self.pending: dict[int, dict[str, Any]] = {}  # unconfirmed updates by id, kept in id order
        self.enqueued_at: dict[int, float] = {}  # update_id -> perf_counter when it became available
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []  # accepted sendMessage calls, with the message_id given
        self.failures: dict[str, list[list[Any]]] = {}  # method -> [[calls to serve first, error factory], ...]
        self.blocked: set[int] = set()
        self.held: dict[str, asyncio.Event] = {}  # method -> answered only once set (a call still in flight)
        self.files: dict[str, bytes] = {}
        self.webhook: dict[str, Any] = {"url": ""}
        self.forward_to: str | None = None  # where the webhook's public host really is (a reverse proxy)
        self.webhook_posts: list[tuple[int, int]] = []  # (update_id, HTTP status)
        self.max_batch = 100
        self.record = True  # the benchmark turns call recording off
        self._ids = itertools.count(1000)
        self._message_ids = itertools.count(90_000)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._pushers: list[asyncio.Task[None]] = []
        self._outq: asyncio.Queue[int] = asyncio.Queue()
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    # server --------------------------------------------------------------------------------------------------------

    async def start(self) -> "FakeTelegram":
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def close(self) -> None:
        for t in self._pushers:
            t.cancel()
        await asyncio.gather(*self._pushers, return_exceptions=True)
        if self._session:
            await self._session.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> "FakeTelegram":
        return await self.start()

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def channel_config(self, **over: Any) -> dict[str, Any]:
        """`channels.telegram` for a hub that talks to this fake."""
        cfg: dict[str, Any] = {"enabled": True, "token": self.token, "mode": "polling", "base_url": self.base_url,
                               "poll_timeout": 1}
        cfg.update(over)
        return cfg

    # test controls -------------------------------------------------------------------------------------------------

    def push(self, update: dict[str, Any], *, renumber: bool = True) -> int:
        """Make an update available; a fresh update_id unless `renumber=False` (a redelivery keeps its id)."""
        u = copy.deepcopy(update)
        if renumber or "update_id" not in u:
            u["update_id"] = next(self._ids)
        else:
            self._ids = itertools.count(max(next(self._ids), u["update_id"] + 1))
        uid = int(u["update_id"])
        if self.pending and uid < next(reversed(self.pending)):
            self.pending = dict(sorted({**self.pending, uid: u}.items()))
        else:
            self.pending[uid] = u
        self.enqueued_at[uid] = time.perf_counter()
        if self.webhook["url"]:
            self._outq.put_nowait(uid)
        self._changed.set()
        return int(u["update_id"])

    def fail(self, method: str, status: int, description: str | None = None, *, retry_after: int | None = None,
             times: int = 1, after: int = 0) -> None:
        """After `after` more calls are served, the next `times` calls of `method` get this error."""
        params = {"retry_after": retry_after} if retry_after is not None else {}
        text = description or {429: f"Too Many Requests: retry after {retry_after}", 403: "Forbidden: bot was blocked by the user",
                               500: "Internal Server Error", 502: "Bad Gateway"}.get(status, "Bad Request")
        for i in range(times):
            self.failures.setdefault(method, []).append([after if i == 0 else 0, lambda: _err(status, text, **params)])

    def add_file(self, file_id: str, data: bytes) -> None:
        self.files[file_id] = data

    def called(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if loop.time() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.02)

    async def post_webhook(self, update: dict[str, Any], secret: str | None = None) -> int:
        """POST one update to the registered webhook now, as Telegram would (used to redeliver on purpose)."""
        status = await self._post(update, secret if secret is not None else self.webhook.get("secret_token"))
        return status

    # Bot API -------------------------------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
        for key in ("reply_markup", "allowed_updates", "reply_parameters", "link_preview_options"):
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        return params

    async def _method(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _err(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        if self.record:
            self.calls.append((method, params))
        queued = self.failures.get(method)
        if queued:
            if queued[0][0] > 0:
                queued[0][0] -= 1
            else:
                return queued.pop(0)[1]()
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _err(404, "Not Found")
        if method in self.held:
            await self.held[method].wait()
        return await handler(params)

    async def _m_getMe(self, p: dict[str, Any]) -> web.Response:
        return _ok({"id": self.bot_id, "is_bot": True, "first_name": "Acme Support", "username": self.username,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
                    "can_connect_to_business": False, "has_main_web_app": False})

    async def _m_getUpdates(self, p: dict[str, Any]) -> web.Response:
        if self.webhook["url"]:
            return _err(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
        offset = int(p.get("offset") or 0)
        limit = min(int(p.get("limit") or 100), 100, self.max_batch)
        timeout = float(p.get("timeout") or 0)
        if offset:
            while self.pending and next(iter(self.pending)) < offset:  # earlier ones are confirmed
                del self.pending[next(iter(self.pending))]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.pending and loop.time() < deadline:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - loop.time())
            except TimeoutError:
                break
        return _ok(list(itertools.islice(self.pending.values(), limit)))

    async def _m_setWebhook(self, p: dict[str, Any]) -> web.Response:
        url = str(p.get("url") or "")
        if url and not url.startswith("https://"):
            return _err(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "secret_token": p.get("secret_token"), "allowed_updates": p.get("allowed_updates"),
                        "max_connections": int(p.get("max_connections") or 40)}
        if url:
            for uid in self.pending:
                self._outq.put_nowait(uid)
            while len(self._pushers) < self.webhook["max_connections"]:
                self._pushers.append(asyncio.create_task(self._push_forever()))
        self._changed.set()
        return _ok(True)

    async def _m_getWebhookInfo(self, p: dict[str, Any]) -> web.Response:
        info: dict[str, Any] = {"url": self.webhook["url"], "has_custom_certificate": False,
                                "pending_update_count": len(self.pending)}
        if self.webhook["url"]:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return _ok(info)

    async def _m_deleteWebhook(self, p: dict[str, Any]) -> web.Response:
        self.webhook = {"url": ""}
        if str(p.get("drop_pending_updates", "")).lower() in ("true", "1"):
            self.pending.clear()
        return _ok(True)

    async def _m_sendMessage(self, p: dict[str, Any]) -> web.Response:
        try:
            chat_id = int(p["chat_id"])
        except (KeyError, ValueError):
            return _err(400, "Bad Request: chat not found")
        text = str(p.get("text") or "")
        if chat_id in self.blocked:
            return _err(403, "Forbidden: bot was blocked by the user")
        if not text.strip():
            return _err(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            return _err(400, "Bad Request: message is too long")
        mid = next(self._message_ids)
        msg: dict[str, Any] = {
            "message_id": mid,
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "Acme Support", "username": self.username},
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
            "date": int(time.time()),
            "text": text,
        }
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        if self.record:
            self.sent.append({**p, "chat_id": chat_id, "text": text, "message_id": mid})
        return _ok(msg)

    async def _m_sendChatAction(self, p: dict[str, Any]) -> web.Response:
        if int(p.get("chat_id", 0)) in self.blocked:
            return _err(403, "Forbidden: bot was blocked by the user")
        return _ok(True)

    async def _m_answerCallbackQuery(self, p: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _m_getFile(self, p: dict[str, Any]) -> web.Response:
        fid = str(p.get("file_id") or "")
        if fid not in self.files:
            return _err(400, "Bad Request: invalid file_id")
        return _ok({"file_id": fid, "file_unique_id": f"u{abs(hash(fid)) % 10**8}", "file_size": len(self.files[fid]),
                    "file_path": f"documents/{fid}.bin"})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _err(401, "Unauthorized")
        path = request.match_info["path"]
        fid = path.removeprefix("documents/").removesuffix(".bin")
        if fid not in self.files:
            return _err(404, "Not Found")
        return web.Response(body=self.files[fid], content_type="application/octet-stream")

    # webhook delivery ----------------------------------------------------------------------------------------------

    def _target(self) -> str:
        url = self.webhook["url"]
        if self.forward_to:
            parts = urlsplit(url)
            return self.forward_to.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")
        return url

    async def _post(self, update: dict[str, Any], secret: str | None) -> int:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        try:
            async with self._session.post(self._target(), json=update, headers=headers) as r:
                await r.read()
                status = r.status
        except aiohttp.ClientError:
            status = 0
        if self.record:
            self.webhook_posts.append((update["update_id"], status))
        return status

    async def _push_forever(self) -> None:
        """One of max_connections senders: like Telegram, each update is POSTed until it gets a 2xx answer."""
        while True:
            uid = await self._outq.get()
            update = self.pending.get(uid)
            if update is None or not self.webhook["url"]:
                continue  # confirmed meanwhile, or the webhook was removed (getUpdates serves it now)
            status = await self._post(update, self.webhook.get("secret_token"))
            if 200 <= status < 300:
                self.pending.pop(uid, None)
            else:
                await asyncio.sleep(0.05)
                self._outq.put_nowait(uid)


def user(uid: int, first: str = "Somchai", last: str | None = None, username: str | None = None, lang: str = "en") -> dict[str, Any]:
    u: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": first, "language_code": lang}
    if last:
        u["last_name"] = last
    if username:
        u["username"] = username
    return u


def text_update(chat_id: int, message_id: int, text: str, *, first: str = "Customer", lang: str = "en") -> dict[str, Any]:
    """A private-chat text message as Telegram sends it (without update_id; `push` assigns one)."""
    frm = user(chat_id, first, lang=lang)
    chat = {"id": chat_id, "first_name": first, "type": "private"}
    return {"message": {"message_id": message_id, "from": frm, "chat": chat, "date": int(time.time()), "text": text}}


DATA = Path(__file__).parent / "data" / "telegram"


def load(name: str) -> Any:
    """A recorded Update (or list of them) from tests/data/telegram."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


@asynccontextmanager
async def telegram_hub(db_url: str, fake: FakeTelegram, hub: dict[str, Any] | None = None, **channel: Any) -> AsyncIterator[RunningHub]:
    """A running hub whose Telegram channel talks to `fake`."""
    config = hub_config(db_url, channels={"telegram": fake.channel_config(**channel)}, **(hub or {}))
    async with running_hub(config) as h:
        yield h


async def stored(h: RunningHub) -> list[Any]:
    """Inbound Telegram messages in the hub's database, oldest first."""
    async with h.hub.db.read() as conn:
        return list((await conn.execute(
            select(messages).where(and_(messages.c.channel == "telegram", messages.c.direction == "in")).order_by(messages.c.id)
        )).all())


async def wait_stored(h: RunningHub, n: int, timeout: float = 30.0) -> list[Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        rows = await stored(h)
        if len(rows) >= n:
            return rows
        if loop.time() > deadline:
            raise TimeoutError(f"{len(rows)} of {n} Telegram messages stored")
        await asyncio.sleep(0.02)
