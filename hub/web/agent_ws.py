"""`WS /ws/agent?token=`: the live queue for the console, presence, and typing towards customers."""
from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import update

from hub import auth
from hub.bus import AGENTS, SESSIONS
from hub.errors import Unauthorized
from hub.metrics import SOCKETS
from hub.services import HUB
from hub.sockets import Feed
from hub.store.schema import agents
from hub.validation import MAX_ID
from hub.web.http import current_session

log = logging.getLogger("hub.web.agent_ws")
routes = web.RouteTableDef()
PRESENCE = ("online", "away")
SESSION_ENDED = 4401  # close code: the token was revoked, expired or its agent deactivated; log in again


@routes.get("/ws/agent")
async def agent_socket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    try:  # browsers cannot set headers on a WebSocket: this is the one place ?token= is read
        agent, token, expires_at = await current_session(request, allow_query=True)
    except Unauthorized as exc:
        raise web.HTTPUnauthorized(text=exc.detail) from None
    ws = web.WebSocketResponse(heartbeat=30, compress=False, max_msg_size=65536)
    await ws.prepare(request)
    feed = Feed(ws, 5000)
    unsubscribe = hub.bus.subscribe(AGENTS, feed.put)
    # hello goes out first: its frame is written before the feed's drain task gets its first turn, and events
    # published from here on wait in the feed, so none is lost and none comes before hello.
    await ws.send_json({"type": "hello", "agent": {"id": agent.id, "name": agent.name, "role": agent.role.value}})
    ended = asyncio.Event()
    mine = auth.token_hash(token)

    def on_session_end(event: dict[str, Any]) -> None:
        if event.get("token_hash") == mine or event.get("agent_id") == agent.id:
            ended.set()

    unsubscribe_sessions = hub.bus.subscribe(SESSIONS, on_session_end)
    watching = asyncio.create_task(_watch_session(request, ws, token, expires_at, ended))
    SOCKETS.labels("agent").inc()
    await _presence(request, agent.id, "online")
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except (ValueError, RecursionError):
                await ws.send_json({"type": "error", "code": "bad_json", "detail": "frame is not valid JSON or nests too deeply"})
                continue
            if not isinstance(frame, dict):
                continue
            kind = frame.get("type")
            if kind == "typing" and isinstance(frame.get("ticket_id"), int) and 0 < frame["ticket_id"] <= MAX_ID:
                await hub.typing_to_customer(frame["ticket_id"])
            elif kind == "presence" and frame.get("status") in PRESENCE:
                await _presence(request, agent.id, frame["status"])
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            else:
                await ws.send_json({"type": "error", "code": "unknown_type", "detail": "unknown frame type"})
    finally:
        unsubscribe()
        unsubscribe_sessions()
        feed.close()
        watching.cancel()
        SOCKETS.labels("agent").dec()
        await _presence(request, agent.id, "offline")
    return ws


async def _watch_session(request: web.Request, ws: web.WebSocketResponse, token: str, expires_at: datetime,
                         ended: asyncio.Event) -> None:
    """Closes the socket when its session ends: at once on a logout or deactivation announced on the bus, at the
    token's expiry, and otherwise at the next periodic look at the token (which also catches changes made
    straight in the database or announced while the bus was down)."""
    hub = request.app[HUB]
    every = hub.config.auth.socket_recheck.total_seconds()
    while not ws.closed:
        left = (expires_at - hub.clock.now()).total_seconds()
        try:
            await asyncio.wait_for(ended.wait(), max(min(every, left), 0.05))
        except asyncio.TimeoutError:
            pass
        if not ended.is_set():
            try:
                async with hub.db.read() as conn:
                    if await auth.session(conn, token, hub.clock.now()) is not None:
                        continue
            except Exception as exc:  # the database is away: keep the socket, look again later
                log.warning("agent socket session check failed: %s", exc)
                continue
        await ws.close(code=SESSION_ENDED, message=b"session ended")
        return


async def _presence(request: web.Request, agent_id: int, status: str) -> None:
    hub = request.app[HUB]
    try:
        async with hub.db.write() as conn:
            await conn.execute(update(agents).where(agents.c.id == agent_id).values(presence=status))
        await hub.bus.publish(AGENTS, {"type": "agent.presence", "agent_id": agent_id, "status": status})
    except Exception as exc:  # presence is advisory: a hiccup must not drop the socket
        log.warning("presence update failed: %s", exc)
