"""`WS /ws/agent?token=`: the live queue for the console, presence, and typing towards customers."""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web
from sqlalchemy import update

from hub.bus import AGENTS
from hub.errors import Unauthorized
from hub.metrics import SOCKETS
from hub.services import HUB
from hub.sockets import enqueue, pump
from hub.store.schema import agents
from hub.web.http import current_agent

log = logging.getLogger("hub.web.agent_ws")
routes = web.RouteTableDef()
PRESENCE = ("online", "away")


@routes.get("/ws/agent")
async def agent_socket(request: web.Request) -> web.StreamResponse:
    hub = request.app[HUB]
    try:
        agent = await current_agent(request)
    except Unauthorized as exc:
        raise web.HTTPUnauthorized(text=exc.detail) from None
    ws = web.WebSocketResponse(heartbeat=30, compress=False, max_msg_size=65536)
    await ws.prepare(request)
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=5000)
    unsubscribe = hub.bus.subscribe(AGENTS, enqueue(queue))
    pumping = asyncio.create_task(pump(ws, queue))
    SOCKETS.labels("agent").inc()
    await _presence(request, agent.id, "online")
    await ws.send_json({"type": "hello", "agent": {"id": agent.id, "name": agent.name, "role": agent.role.value}})
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                await ws.send_json({"type": "error", "code": "bad_json", "detail": "frame is not valid JSON"})
                continue
            if not isinstance(frame, dict):
                continue
            kind = frame.get("type")
            if kind == "typing" and isinstance(frame.get("ticket_id"), int):
                await hub.typing_to_customer(frame["ticket_id"])
            elif kind == "presence" and frame.get("status") in PRESENCE:
                await _presence(request, agent.id, frame["status"])
            elif kind == "ping":
                await ws.send_json({"type": "pong"})
            else:
                await ws.send_json({"type": "error", "code": "unknown_type", "detail": "unknown frame type"})
    finally:
        unsubscribe()
        pumping.cancel()
        SOCKETS.labels("agent").dec()
        await _presence(request, agent.id, "offline")
    return ws


async def _presence(request: web.Request, agent_id: int, status: str) -> None:
    hub = request.app[HUB]
    try:
        async with hub.db.write() as conn:
            await conn.execute(update(agents).where(agents.c.id == agent_id).values(presence=status))
        await hub.bus.publish(AGENTS, {"type": "agent.presence", "agent_id": agent_id, "status": status})
    except Exception as exc:  # presence is advisory: a hiccup must not drop the socket
        log.warning("presence update failed: %s", exc)
