"""Agent endpoints of surveys and follow-ups: a ticket's and a customer's survey results, scheduling and working
follow-ups, and the supervisors' win-back list."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import and_, select

from hub.domain import Role
from hub.errors import Invalid, NotFoundError
from hub.services import HUB
from hub.store.schema import customers, followups, surveys, tickets
from hub.surveys import winback
from hub.surveys.records import followup_json, survey_json
from hub.web.http import AGENT_KEY, int_arg, read_json, requires, text_field

routes = web.RouteTableDef()
MAX_DAYS = 366


def _summary(rows: list[Any]) -> dict[str, Any]:
    scores = [r.score for r in rows if r.score is not None]
    nps = [r.nps for r in rows if r.nps is not None]
    return {
        "answered": len(scores),
        "average": round(sum(scores) / len(scores), 2) if scores else None,
        "csat": round(100 * sum(1 for s in scores if s >= 4) / len(scores), 1) if scores else None,
        "nps": round(100 * (sum(1 for n in nps if n >= 9) - sum(1 for n in nps if n <= 6)) / len(nps), 1) if nps else None,
    }


@routes.get("/api/tickets/{id}/surveys")
@requires()
async def ticket_surveys(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    tid = int_arg(request, "id")
    async with hub.db.read() as conn:
        if (await conn.execute(select(tickets.c.id).where(tickets.c.id == tid))).first() is None:
            raise NotFoundError(f"ticket {tid} does not exist")
        rows = (await conn.execute(select(surveys).where(surveys.c.ticket_id == tid).order_by(surveys.c.id))).all()
    return web.json_response({"items": [survey_json(r) for r in rows], "summary": _summary(rows)})


@routes.get("/api/customers/{id}/surveys")
@requires()
async def customer_surveys(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    async with hub.db.read() as conn:
        if (await conn.execute(select(customers.c.id).where(customers.c.id == cid))).first() is None:
            raise NotFoundError(f"customer {cid} does not exist")
        rows = (await conn.execute(select(surveys).where(surveys.c.customer_id == cid).order_by(surveys.c.id.desc()).limit(200))).all()
        fus = (await conn.execute(select(followups).where(followups.c.customer_id == cid).order_by(followups.c.id.desc()).limit(200))).all()
    return web.json_response({"items": [survey_json(r) for r in rows], "summary": _summary(rows),
                              "followups": [followup_json(f) for f in fus]})


def _when(data: dict[str, Any], now: datetime) -> tuple[timedelta | None, datetime | None]:
    if data.get("at") is not None:
        raw = data["at"]
        try:
            at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None:
            raise Invalid("at must be an ISO 8601 time with its offset", field="at")
        return None, at
    days, hours = data.get("in_days", 0), data.get("in_hours", 0)
    for name, v in (("in_days", days), ("in_hours", hours)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v > MAX_DAYS * 24:
            raise Invalid(f"{name} must be a number from 0", field=name)
    after = timedelta(days=days, hours=hours)
    if after > timedelta(days=MAX_DAYS):
        raise Invalid(f"a follow-up is at most {MAX_DAYS} days ahead", field="in_days")
    return after, None


@routes.post("/api/tickets/{id}/followups")
@requires()
async def create_followup(request: web.Request) -> web.Response:
    """{"mode": "reminder"|"message", "in_days"|"in_hours"|"at", "text"?, "tz"?}"""
    hub = request.app[HUB]
    data = await read_json(request)
    mode = text_field(data, "mode", 20) or "reminder"
    after, at = _when(data, hub.clock.now())
    text = text_field(data, "text", hub.config.server.max_text, required=False)
    tz = text_field(data, "tz", 64, required=False)
    f = await hub.surveys.followups.schedule(int_arg(request, "id"), mode=mode, source="agent", agent=request[AGENT_KEY],
                                             after=after, at=at, text=text, tz=tz)
    return web.json_response(f, status=201)


@routes.get("/api/tickets/{id}/followups")
@requires()
async def ticket_followups(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    tid = int_arg(request, "id")
    async with hub.db.read() as conn:
        rows = (await conn.execute(select(followups).where(followups.c.ticket_id == tid).order_by(followups.c.id))).all()
    return web.json_response({"items": [followup_json(r) for r in rows]})


@routes.get("/api/followups")
@requires()
async def list_followups(request: web.Request) -> web.Response:
    """?state=scheduled|due|sent|... ; agents see their own, supervisors and admins everyone's (?agent_id=)."""
    hub = request.app[HUB]
    agent = request[AGENT_KEY]
    cond = []
    state = request.query.get("state")
    if state:
        cond.append(followups.c.state == state[:20])
    if agent.role is Role.AGENT:
        cond.append(followups.c.agent_id == agent.id)
    elif request.query.get("agent_id", "").isdigit():
        cond.append(followups.c.agent_id == int(request.query["agent_id"]))
    async with hub.db.read() as conn:
        rows = (await conn.execute(select(followups).where(and_(*cond)).order_by(followups.c.due_at).limit(200))).all()
    return web.json_response({"items": [followup_json(r) for r in rows], "next": None})


@routes.post("/api/followups/{id}/cancel")
@requires()
async def cancel_followup(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].surveys.followups.cancel(int_arg(request, "id"), request[AGENT_KEY]))


@routes.post("/api/followups/{id}/done")
@requires()
async def done_followup(request: web.Request) -> web.Response:
    return web.json_response(await request.app[HUB].surveys.followups.done(int_arg(request, "id"), request[AGENT_KEY]))


def _days(raw: Any, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_DAYS:
        raise Invalid(f"days must be a whole number from 1 to {MAX_DAYS}", field="days")
    return raw


@routes.get("/api/winback")
@requires(Role.SUPERVISOR)
async def winback_list(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    days = _days(request.query.get("days"), hub.config.followups.winback_days)
    return web.json_response({"items": await winback.candidates(hub, days), "days": days, "next": None})


@routes.post("/api/winback")
@requires(Role.SUPERVISOR)
async def winback_open(request: web.Request) -> web.Response:
    """{"customer_id", "days"?, "mode": "reminder"|"message", "text"?}: one follow-up for one listed customer."""
    hub = request.app[HUB]
    data = await read_json(request)
    cid = data.get("customer_id")
    if isinstance(cid, bool) or not isinstance(cid, int) or cid < 1:
        raise Invalid("customer_id must be a customer id", field="customer_id")
    days = _days(data.get("days"), hub.config.followups.winback_days)
    mode = text_field(data, "mode", 20) or "reminder"
    text = text_field(data, "text", hub.config.server.max_text, required=False)
    f = await winback.open_followup(hub, request[AGENT_KEY], cid, days, mode, text)
    return web.json_response(f, status=201)
