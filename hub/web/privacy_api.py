"""A customer's data rights on the API (admins only): `GET /api/customers/{id}/export` answers a ZIP of
everything kept about them, `POST /api/customers/{id}/erase {"confirm": id}` erases them.  Both are audited."""
from __future__ import annotations

from aiohttp import web

from hub.domain import Role
from hub.errors import Invalid
from hub.privacy import rights
from hub.services import HUB
from hub.web.http import AGENT_KEY, int_arg, read_json, requires

routes = web.RouteTableDef()


@routes.get("/api/customers/{id}/export")
@requires(Role.ADMIN)
async def export_customer(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    archive = await rights.export_customer(hub.db, hub.channels, hub.clock, request[AGENT_KEY], cid,
                                           hub.config.server.max_attachment)
    return web.Response(body=archive.data, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="customer-{cid}-{hub.clock.now():%Y%m%d}.zip"',
        "Cache-Control": "no-store",
    })


@routes.post("/api/customers/{id}/erase")
@requires(Role.ADMIN)
async def erase_customer(request: web.Request) -> web.Response:
    """Irreversible, so the body must repeat the customer's id: `{"confirm": 42}`."""
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    data = await read_json(request)
    if data.get("confirm") != cid or isinstance(data.get("confirm"), bool):
        raise Invalid("erasure cannot be undone: repeat the customer's id as confirm", field="confirm")
    body = await rights.erase_customer(hub.db, hub.channels, hub.clock, request[AGENT_KEY], cid)
    return web.json_response(body)
