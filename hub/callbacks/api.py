"""JSON endpoints: slots and booking for customers (rate limited per IP), the callback queue for agents."""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import and_, or_, select

from hub.callbacks import store
from hub.callbacks.forticket import book_for_ticket
from hub.callbacks.service import CallbackService
from hub.callbacks.values import ACTIVE, FINAL, mask, zone
from hub.callbacks.work import CallbackWork
from hub.errors import Invalid, NotFoundError, RateLimited
from hub.services import HUB
from hub.validation import id_value, year_in_range
from hub.store.schema import callbacks
from hub.web.pages import lang_of
from hub.web.http import AGENT_KEY, client_ip, int_arg, limit, read_json, requires

SERVICE = web.AppKey("callbacks", CallbackService)
WORK = web.AppKey("callback_work", CallbackWork)
STATUSES = (*ACTIVE, *FINAL)
routes = web.RouteTableDef()


async def public_limit(request: web.Request) -> None:
    await limit(request, "callbacks", client_ip(request), request.app[HUB].config.rate_limits.public_per_minute)


async def booking_limit(request: web.Request) -> None:
    """Bookings per client IP per hour: far fewer than page views, each one holds a place an agent must call."""
    hub = request.app[HUB]
    if not await hub.limiter.hit(f"callback-book:{client_ip(request)}", request.app[SERVICE].config.bookings_per_hour, 3600):
        raise RateLimited("too many bookings from this address; try again later", retry_after=3600)


def parse_date(raw: str | None) -> date:
    try:
        day = date.fromisoformat(raw or "")
    except ValueError:
        raise Invalid("date must be YYYY-MM-DD", field="date") from None
    year_in_range(day.year, "date")
    return day


@routes.get("/api/callbacks/slots")
async def slots(request: web.Request) -> web.Response:
    await public_limit(request)
    tz = zone(request.query.get("tz"))
    day = parse_date(request.query.get("date"))
    if request.query.get("next") in ("1", "true"):
        # The first day from `date` on with a free time (the widget after hours): "date" says which day it is.
        day, items = await request.app[SERVICE].free_day(day, tz)
    else:
        items = await request.app[SERVICE].day(day, tz)
    return web.json_response({"date": day.isoformat(), "tz": tz.key, "items": [CallbackService.slot_json(s, tz, n) for s, n in items]})


def booked_json(svc: CallbackService, booked: Any) -> dict[str, Any]:
    cb = booked.callback
    body = {k: cb[k] for k in ("id", "status", "window_start", "window_end", "tz", "ticket_id")}
    body["phone_masked"] = mask(cb["phone"])  # as every confirmation shows it
    if booked.manage_token:
        body["manage_url"] = svc.manage_url(cb["id"], booked.manage_token)
    return body


@routes.post("/api/callbacks")
async def book(request: web.Request) -> web.Response:
    await public_limit(request)
    svc = request.app[SERVICE]
    data = await read_json(request)
    lang_of(request, data.get("lang") if isinstance(data.get("lang"), str) else None)  # errors speak it
    if request.content_type != "application/json":
        # Only a JSON request carries a chat token: another site can post a plain form here without asking, but
        # not JSON (the browser checks CORS first), so a foreign page cannot book into a visitor's chat.
        data.pop("visitor_token", None)
    req = svc.parse(data)
    await booking_limit(request)  # counts bookings, not typos: a request that fails validation costs nothing
    booked = await svc.book(req)
    return web.json_response(booked_json(svc, booked), status=200 if booked.duplicate else 201)


@routes.post("/api/tickets/{id}/callback")
@requires()
async def book_for_customer(request: web.Request) -> web.Response:
    """An agent books a callback for the ticket's customer, confirmed on the ticket's own channel."""
    svc = request.app[SERVICE]
    data = await read_json(request)
    booked = await book_for_ticket(svc, int_arg(request, "id"), request[AGENT_KEY], data)
    return web.json_response(booked_json(svc, booked), status=200 if booked.duplicate else 201)


@routes.post("/api/callbacks/{id}/cancel")
async def cancel(request: web.Request) -> web.Response:
    """The customer's cancel, authorised by the manage token from the confirmation."""
    await public_limit(request)
    data = await read_json(request)
    return web.json_response(await request.app[WORK].cancel(int_arg(request, "id"), _token(data)))


@routes.post("/api/callbacks/{id}/reschedule")
async def reschedule(request: web.Request) -> web.Response:
    await public_limit(request)
    data = await read_json(request)
    return web.json_response(await request.app[WORK].reschedule(int_arg(request, "id"), _token(data), data))


def _token(data: dict[str, Any]) -> str | None:
    t = data.get("token")
    return t if isinstance(t, str) and len(t) <= 200 else None


@routes.get("/api/callbacks")
@requires()
async def queue(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    conds: list[Any] = []
    if raw := request.query.get("status"):
        wanted = [s for s in raw.split(",") if s]
        bad = [s for s in wanted if s not in STATUSES]
        if bad:
            raise Invalid(f"unknown status {bad[0][:40]!r}; expected one of {', '.join(STATUSES)}", field="status")
        conds.append(callbacks.c.status.in_(wanted))
    if raw := request.query.get("due_before"):
        try:
            before = datetime.fromisoformat(raw.replace(" ", "+"))
        except ValueError:
            raise Invalid("due_before must be an ISO 8601 time with an offset", field="due_before") from None
        if before.tzinfo is None:
            raise Invalid("due_before needs a UTC offset", field="due_before")
        year_in_range(before.year, "due_before")
        conds.append(callbacks.c.window_start <= before)
    try:
        lim = min(max(int(request.query.get("limit", "50")), 1), 200)
    except ValueError:
        raise Invalid("limit must be an integer", field="limit") from None
    if cur := request.query.get("cursor"):
        try:
            us, cid = (int(x) for x in cur.split(".", 1))
            at = datetime.fromtimestamp(us / 1_000_000, timezone.utc)
            year_in_range(at.year, "cursor")
            id_value(cid, "cursor")
        except (ValueError, OverflowError, OSError):
            raise Invalid("cursor is not valid", field="cursor") from None
        conds.append(or_(callbacks.c.window_start > at, and_(callbacks.c.window_start == at, callbacks.c.id > cid)))
    q = select(callbacks).order_by(callbacks.c.window_start, callbacks.c.id).limit(lim + 1)
    if conds:
        q = q.where(and_(*conds))
    async with hub.db.read() as conn:
        rows = (await conn.execute(q)).all()
    nxt = None
    if len(rows) > lim:
        last = rows[lim - 1]
        nxt = f"{int(last.window_start.timestamp() * 1_000_000)}.{last.id}"
    return web.json_response({"items": [store.callback_json(r) for r in rows[:lim]], "next": nxt})


@routes.get("/api/callbacks/{id}")
@requires()
async def one(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    async with hub.db.read() as conn:
        row = await store.get(conn, int_arg(request, "id"))
    if row is None:
        raise NotFoundError("no such callback")
    return web.json_response(store.callback_json(row))


@routes.post("/api/callbacks/{id}/claim")
@requires()
async def claim(request: web.Request) -> web.Response:
    return web.json_response(await request.app[WORK].claim(int_arg(request, "id"), request[AGENT_KEY]))


@routes.post("/api/callbacks/{id}/outcome")
@requires()
async def outcome(request: web.Request) -> web.Response:
    data = await read_json(request)
    return web.json_response(await request.app[WORK].outcome(int_arg(request, "id"), request[AGENT_KEY], data))
