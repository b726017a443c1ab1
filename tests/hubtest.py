"""A real hub on a free port, with helpers for the customer and agent sides."""
from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from hub.auth import add_agent
from hub.clock import Clock
from hub.config import Config, from_mapping
from hub.services import HUB, Hub
from hub.web.app import build_app


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@dataclass
class RunningHub:
    hub: Hub
    server: TestServer
    session: aiohttp.ClientSession
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    @property
    def config(self) -> Config:
        return self.hub.config

    async def add_agent(self, email: str, role: str = "agent", password: str = "secret-pass-1", departments: list[str] | None = None, name: str | None = None) -> int:
        async with self.hub.db.write() as conn:
            return await add_agent(conn, name=name or email.split("@")[0], email=email, password=password, role=role,
                                   departments=departments or [], capacity=5, now=self.hub.clock.now())

    async def login(self, email: str, password: str = "secret-pass-1") -> dict[str, str]:
        async with self.session.post(f"{self.url}/api/auth/login", json={"email": email, "password": password}) as r:
            assert r.status == 200, await r.text()
            token = (await r.json())["token"]
        self.tokens[email] = token
        return {"Authorization": f"Bearer {token}"}

    async def agent(self, email: str = "agent@example.com", role: str = "agent", **kw: Any) -> dict[str, str]:
        await self.add_agent(email, role, **kw)
        return await self.login(email)

    async def api(self, method: str, path: str, headers: dict[str, str] | None = None, **kw: Any) -> tuple[int, Any]:
        async with self.session.request(method, f"{self.url}{path}", headers=headers, **kw) as r:
            ctype = r.headers.get("Content-Type", "")
            body = await r.json() if "json" in ctype else await r.text()
            return r.status, body

    async def chat(self, **hello: Any) -> "ChatClient":
        ws = await self.session.ws_connect(f"{self.url}/ws/chat")
        await ws.send_json({"type": "hello", **hello})
        welcome = await ws.receive_json(timeout=5)
        assert welcome["type"] == "welcome", welcome
        return ChatClient(ws, welcome)

    async def settle(self) -> None:
        """Let responders (the bot) and the outbox finish what the last request started."""
        for _ in range(3):
            await self.hub.intake.drain()
            await self.hub.outbox.drain()
            await asyncio.sleep(0.01)


@dataclass
class ChatClient:
    ws: aiohttp.ClientWebSocketResponse
    welcome: dict[str, Any]
    counter: int = 0

    @property
    def token(self) -> str:
        return self.welcome["visitor_token"]

    async def say(self, text: str, client_id: str | None = None, **extra: Any) -> dict[str, Any]:
        self.counter += 1
        cid = client_id or f"c{self.counter}"
        await self.ws.send_json({"type": "message", "client_id": cid, "text": text, **extra})
        return await self.expect("ack")

    async def expect(self, kind: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        """The next frame of `kind` (and matching fields), skipping others such as typing."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = await self.ws.receive_json(timeout=max(deadline - loop.time(), 0.01))
            if frame.get("type") == kind and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def close(self) -> None:
        await self.ws.close()


def hub_config(db_url: str, **over: Any) -> Config:
    base = {
        "database": {"url": db_url},
        "channels": {"webchat": {"enabled": True}},
        "departments": [{"name": "support", "default": True}, {"name": "billing"}, {"name": "sales"}],
        "rate_limits": {"enabled": True, "login_per_minute": 50, "public_per_minute": 1000, "chat_messages_per_minute": 1000,
                        "chat_frames_per_minute": 5000},
        "outbox": {"backoff_base": 0.05, "sweep_interval": 0.05, "max_attempts": 3},
        "bot": {"enabled": False},
        # No goodbye on resolving and no automatic resolving or closing unless a test asks for them: tests count
        # the messages a resolution leaves and move the clock by days.
        "tickets": {"closing_message": {}, "auto_close_after": 0, "bot_idle_resolve_after": 0},
    }
    return from_mapping(deep_merge(base, over))


@asynccontextmanager
async def running_hub(config: Config, *, clock: Clock | None = None, channels: dict[str, Any] | None = None) -> AsyncIterator[RunningHub]:
    hub = Hub(config, clock=clock, channels=channels)
    app = build_app(config, hub)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    session = aiohttp.ClientSession()
    try:
        yield RunningHub(app[HUB], server, session)
    finally:
        await session.close()
        await server.close()


async def agent_socket(h: RunningHub, headers: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
    """An agent's live socket, past its hello frame."""
    ws = await h.session.ws_connect(f"{h.url}/ws/agent?token={headers['Authorization'][7:]}")
    assert (await ws.receive_json(timeout=5))["type"] == "hello"
    return ws


async def next_event(ws: aiohttp.ClientWebSocketResponse, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """The next event of `kind` on an agent socket, skipping the others."""
    while True:
        ev = await ws.receive_json(timeout=timeout)
        if ev.get("type") == kind:
            return ev
