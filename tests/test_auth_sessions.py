"""Agent sessions end everywhere at once: logout, deactivation and expiry close open sockets (across processes
through the bus), and no REST route takes the token from the URL."""
from __future__ import annotations

import aiohttp
from aiohttp import WSMsgType

from tests.hubtest import RunningHub, agent_socket, hub_config, running_hub


async def closed_with(ws: aiohttp.ClientWebSocketResponse, timeout: float = 15.0) -> int | None:
    """Reads frames until the server closes the socket; its close code."""
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            return ws.close_code


async def test_query_token_only_opens_the_socket(hub: RunningHub) -> None:
    headers = await hub.agent("a@example.com")
    token = headers["Authorization"][7:]
    for method, path in (("GET", "/api/tickets"), ("GET", "/api/me"), ("POST", "/api/auth/logout")):
        status, body = await hub.api(method, f"{path}?token={token}")
        assert status == 401 and body["error"]["code"] == "unauthorized", (path, body)
    assert (await hub.api("GET", "/api/me", headers))[0] == 200  # the logout above revoked nothing
    ws = await agent_socket(hub, headers)
    await ws.close()


async def test_logout_closes_the_sockets_opened_with_the_token(hub: RunningHub) -> None:
    headers = await hub.agent("a@example.com")
    other_device = await hub.login("a@example.com")
    ws, kept = await agent_socket(hub, headers), await agent_socket(hub, other_device)
    status, _ = await hub.api("POST", "/api/auth/logout", headers)
    assert status == 200
    assert await closed_with(ws) == 4401
    assert (await hub.api("GET", "/api/me", headers))[0] == 401
    async with hub.session.get(f"{hub.url}/ws/agent?token={headers['Authorization'][7:]}") as r:
        assert r.status == 401
    await kept.send_json({"type": "ping"})  # another session of the same agent stays
    assert (await kept.receive_json(timeout=5))["type"] in ("pong", "agent.presence")
    await kept.close()


async def test_deactivation_revokes_tokens_and_closes_sockets(hub: RunningHub) -> None:
    admin = await hub.agent("admin@example.com", role="admin")
    headers = await hub.agent("a@example.com")
    status, me = await hub.api("GET", "/api/me", headers)
    ws = await agent_socket(hub, headers)
    status, body = await hub.api("PATCH", f"/api/agents/{me['id']}", headers, json={"active": False})
    assert status == 403
    status, body = await hub.api("PATCH", f"/api/agents/{me['id']}", admin, json={"active": False})
    assert status == 200 and body["active"] is False
    assert await closed_with(ws) == 4401
    assert (await hub.api("GET", "/api/me", headers))[0] == 401
    status, _ = await hub.api("POST", "/api/auth/login", json={"email": "a@example.com", "password": "secret-pass-1"})
    assert status == 401
    _, admin_me = await hub.api("GET", "/api/me", admin)
    status, body = await hub.api("PATCH", f"/api/agents/{admin_me['id']}", admin, json={"active": False})
    assert status == 409 and body["error"]["field"] == "active"
    status, body = await hub.api("PATCH", f"/api/agents/{me['id']}", admin, json={"active": True})
    assert status == 200 and body["active"] is True
    await hub.login("a@example.com")


async def test_socket_closes_when_its_token_expires(sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, auth={"token_ttl": "2s", "socket_recheck": "30s"})
    async with running_hub(cfg) as h:
        ws = await agent_socket(h, await h.agent("a@example.com"))
        assert await closed_with(ws, timeout=30) == 4401


async def test_logout_on_one_process_closes_the_socket_on_another(pg_url: str, redis_test_url: str, redis_prefix: str) -> None:
    cfg = hub_config(pg_url, redis={"url": redis_test_url, "prefix": redis_prefix})
    async with running_hub(cfg) as a, running_hub(cfg) as b:
        headers = await a.agent("a@example.com")
        ws = await a.session.ws_connect(f"{a.url}/ws/agent?token={headers['Authorization'][7:]}")
        while (await ws.receive_json(timeout=5))["type"] != "hello":
            pass
        status, _ = await b.api("POST", "/api/auth/logout", headers)
        assert status == 200
        assert await closed_with(ws) == 4401
