"""`POST /api/tickets/{id}/messages/{mid}/resend`: send a failed reply again, e.g. once its channel is switched on.
May import hub.audit, hub.store and hub.web.http only."""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import and_, select

from hub import audit
from hub.errors import ConflictError, NotFoundError
from hub.services import HUB
from hub.store.schema import messages, tickets
from hub.web.http import AGENT_KEY, int_arg, requires

routes = web.RouteTableDef()


@routes.post("/api/tickets/{id}/messages/{mid}/resend")
@requires()
async def resend(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    tid, mid = int_arg(request, "id"), int_arg(request, "mid")
    async with hub.db.read() as conn:
        row = (await conn.execute(
            select(messages.c.delivery, tickets.c.channel, tickets.c.customer_id)
            .select_from(messages.join(tickets, tickets.c.id == messages.c.ticket_id))
            .where(and_(messages.c.id == mid, messages.c.ticket_id == tid)))).first()
    if row is None:
        raise NotFoundError(f"ticket {tid} has no message {mid}")
    if row.channel not in hub.channels:
        raise ConflictError(f"the {row.channel} channel is not enabled (channels.{row.channel}.enabled in the config); "
                            "switch it on and restart, then send again", field="channel")
    if row.delivery != "failed" or not await hub.outbox.resend(mid):
        raise ConflictError("only a failed message can be sent again", field="delivery")
    async with hub.db.write() as conn:
        await audit.record(conn, "ticket.resend", actor=request[AGENT_KEY], target_type="ticket", target_id=tid,
                           customer_id=row.customer_id, at=hub.clock.now(), detail={"message_id": mid})
    return web.json_response({"id": mid, "ticket_id": tid, "delivery": "pending"}, status=202)
