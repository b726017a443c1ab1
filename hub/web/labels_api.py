"""`POST /api/tickets/{id}/kind {"kind"}`: an agent corrects a ticket's kind, which the language models learn from
(hub.labels).  May import hub.labels and hub.web.http only."""
from __future__ import annotations

from aiohttp import web

from hub import labels
from hub.serialize import ticket_json
from hub.services import HUB
from hub.web.http import AGENT_KEY, int_arg, read_json, requires

routes = web.RouteTableDef()


@routes.post("/api/tickets/{id}/kind")
@requires()
async def set_kind(request: web.Request) -> web.Response:
    data = await read_json(request)
    kind = data.get("kind")
    t = await labels.set_kind(request.app[HUB], int_arg(request, "id"), request[AGENT_KEY], kind if isinstance(kind, str) else "")
    return web.json_response(ticket_json(t))
