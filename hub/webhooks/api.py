"""The webhook delivery log for admins.

`GET /api/webhooks` the configured endpoints (never their secrets) with counts per state;
`GET /api/webhooks/deliveries?endpoint=&state=&event=&limit=&cursor=` newest first;
`GET /api/webhooks/deliveries/{id}` one delivery with the payload sent;
`POST /api/webhooks/deliveries/{id}/redeliver` queues it again with the same event id.
"""
from __future__ import annotations

from aiohttp import web
from sqlalchemy import and_, func, select

from hub.domain import Role
from hub.errors import ConflictError, Invalid, NotFoundError
from hub.services import HUB
from hub.store.schema import webhook_deliveries as wd
from hub.webhooks.config import EVENTS
from hub.webhooks.store import delivery_json
from hub.web.http import int_arg, requires

routes = web.RouteTableDef()
STATES = ("pending", "sent", "failed")


@routes.get("/api/webhooks")
@requires(Role.ADMIN)
async def endpoints(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    async with hub.db.read() as conn:
        rows = (await conn.execute(select(wd.c.endpoint, wd.c.state, func.count(), func.max(wd.c.delivered_at))
                                   .group_by(wd.c.endpoint, wd.c.state))).all()
    counts: dict[str, dict[str, int]] = {}
    last: dict[str, str] = {}
    for name, state, n, at in rows:
        counts.setdefault(name, {})[state] = n
        if at is not None and (name not in last or at.isoformat() > last[name]):
            last[name] = at.isoformat()
    items = [
        {"name": e.name, "url": e.url, "events": e.events, "enabled": e.enabled,
         "counts": {s: counts.get(e.name, {}).get(s, 0) for s in STATES}, "last_delivered_at": last.get(e.name)}
        for e in hub.config.webhooks.endpoints
    ]
    return web.json_response({"items": items, "events": list(EVENTS), "next": None})


@routes.get("/api/webhooks/deliveries")
@requires(Role.ADMIN)
async def deliveries(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    q = request.query
    conds = []
    if q.get("endpoint"):
        conds.append(wd.c.endpoint == q["endpoint"])
    if q.get("state"):
        if q["state"] not in STATES:
            raise Invalid(f"state must be one of {', '.join(STATES)}", field="state")
        conds.append(wd.c.state == q["state"])
    if q.get("event"):
        if q["event"] not in EVENTS:
            raise Invalid(f"event must be one of {', '.join(EVENTS)}", field="event")
        conds.append(wd.c.event == q["event"])
    limit = _int(q.get("limit"), "limit", 50, 1, 200)
    if q.get("cursor"):
        conds.append(wd.c.id < _int(q["cursor"], "cursor", 0, 1, 2**62))
    stmt = select(wd).where(and_(*conds)) if conds else select(wd)
    async with hub.db.read() as conn:
        rows = (await conn.execute(stmt.order_by(wd.c.id.desc()).limit(limit + 1))).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return web.json_response({"items": [delivery_json(r) for r in rows], "next": str(rows[-1].id) if more else None})


@routes.get("/api/webhooks/deliveries/{id}")
@requires(Role.ADMIN)
async def delivery(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    did = int_arg(request, "id")
    async with hub.db.read() as conn:
        row = (await conn.execute(select(wd).where(wd.c.id == did))).first()
    if row is None:
        raise NotFoundError(f"webhook delivery {did} does not exist")
    return web.json_response(delivery_json(row, full=True))


@routes.post("/api/webhooks/deliveries/{id}/redeliver")
@requires(Role.ADMIN)
async def redeliver(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    did = int_arg(request, "id")
    if not await hub.webhooks.redeliver(did):
        async with hub.db.read() as conn:
            exists = (await conn.execute(select(wd.c.id).where(wd.c.id == did))).first()
        if exists is None:
            raise NotFoundError(f"webhook delivery {did} does not exist")
        raise ConflictError(f"webhook delivery {did} is already waiting to be sent")
    async with hub.db.read() as conn:
        row = (await conn.execute(select(wd).where(wd.c.id == did))).one()
    return web.json_response(delivery_json(row), status=202)


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be a whole number", field=name) from None
    if not low <= value <= high:
        raise Invalid(f"{name} must be between {low} and {high}", field=name)
    return value
