"""Agent-side REST API: login, the queue, ticket actions (agents: hub.web.agents_api; customers: hub.web.customers_api)."""
from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import and_, exists, func, or_, select

from hub import audit, auth
from hub.bus import SESSIONS
from hub.domain import Status
from hub.errors import Invalid, NotFoundError, TooLarge, Unauthorized
from hub.serialize import agent_json, message_json, ticket_json
from hub.services import HUB
from hub.store import records
from hub.store import tickets as store
from hub.store.schema import identities, messages, tickets
from hub.validation import id_value
from hub.web.customers_api import unverified_json
from hub.web.http import AGENT_KEY, bearer_token, client_ip, int_arg, limit, read_json, requires, text_field

routes = web.RouteTableDef()
FILTERS = ("status", "department", "assignee", "channel", "kind", "priority", "language")


@routes.post("/api/auth/login")
async def login(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await read_json(request)
    # Normalised once, before the limit and the lookup: variants of one address share one budget.
    email = auth.normal_email(text_field(data, "email", 320) or "")
    password = text_field(data, "password", 500) or ""
    rl = hub.config.rate_limits.login_per_minute
    await limit(request, "login-ip", client_ip(request), rl)
    await limit(request, "login-email", email, rl)
    now = hub.clock.now()
    async with hub.db.write() as conn:
        result = await auth.login(conn, email, password, now, hub.config.auth.token_ttl)
        if result is None:
            # The address tried is kept (cut short): a run of failures against one account is what to look for.
            await audit.record(conn, "auth.login_failed", actor=None, actor_name=email[:200] or "(no email)",
                               target_type="session", at=now)
        else:
            await audit.record(conn, "auth.login", actor=result[1], target_type="session", at=now)
    if result is None:
        raise Unauthorized("wrong email or password")
    token, agent = result
    return web.json_response({"token": token, "agent": agent_json(agent), "expires_in": int(hub.config.auth.token_ttl.total_seconds())})


@routes.post("/api/auth/logout")
@requires()
async def logout(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    token = bearer_token(request) or ""
    async with hub.db.write() as conn:
        await auth.logout(conn, token)
        await audit.record(conn, "auth.logout", actor=request[AGENT_KEY], target_type="session", at=hub.clock.now())
    await hub.bus.publish(SESSIONS, {"token_hash": auth.token_hash(token)})  # its open sockets close, everywhere
    return web.json_response({"ok": True})


@routes.get("/api/me")
@requires()
async def me(request: web.Request) -> web.Response:
    return web.json_response(agent_json(request[AGENT_KEY]))


def _page(request: web.Request) -> tuple[int, int | None]:
    try:
        lim = min(max(int(request.query.get("limit", "50")), 1), 200)
    except ValueError:
        raise Invalid("limit must be an integer", field="limit") from None
    cursor = request.query.get("cursor")
    return lim, id_value(cursor, "cursor") if cursor else None


@routes.get("/api/tickets")
@requires()
async def list_tickets(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    lim, cursor = _page(request)
    q = select(tickets)
    conds: list[Any] = []
    for name in FILTERS:
        value = request.query.get(name)
        if not value:
            continue
        values = [v for v in value.split(",") if v]
        if name == "status":
            bad = [v for v in values if v not in {s.value for s in Status}]
            if bad:
                raise Invalid(f"unknown status {bad[0]!r}", field="status")
        col = tickets.c.assignee_id if name == "assignee" else tickets.c[name]
        if name == "assignee":
            if value == "none":
                conds.append(tickets.c.assignee_id.is_(None))
                continue
            if value == "me":
                values = [str(request[AGENT_KEY].id)]
            try:
                conds.append(col.in_([int(v) for v in values]))
            except ValueError:
                raise Invalid("assignee must be an agent id, 'me' or 'none'", field="assignee") from None
            continue
        conds.append(col.in_(values))
    text = request.query.get("q", "").strip()
    if text:
        like = f"%{text.lower()}%"
        conds.append(
            or_(
                func.lower(tickets.c.subject).like(like),
                exists().where(and_(messages.c.ticket_id == tickets.c.id, func.lower(messages.c.text).like(like))),
            )
        )
    if cursor is not None:
        conds.append(tickets.c.id < cursor)
    q = q.where(and_(*conds)) if conds else q
    async with hub.db.read() as conn:
        rows = (await conn.execute(q.order_by(tickets.c.id.desc()).limit(lim + 1))).all()
    items = [ticket_json(records.ticket(r)) for r in rows[:lim]]
    nxt = str(rows[lim - 1].id) if len(rows) > lim else None
    return web.json_response({"items": items, "next": nxt})


@routes.get("/api/tickets/{id}")
@requires()
async def get_ticket(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    tid = int_arg(request, "id")
    async with hub.db.read() as conn:
        try:
            t = await store.get_ticket(conn, tid)
        except store.NotFound:
            raise NotFoundError(f"ticket {tid} does not exist") from None
        msgs = await store.ticket_messages(conn, tid)
        notes = await store.ticket_notes(conn, tid)
        trace = await store.ticket_trace(conn, tid)
        to = await store.recipient(conn, tid)
        # What the customer typed but nothing proved (a chat hello's email, a form's address) is shown as such.
        unverified = await unverified_json(conn, t.customer_id)
        proven = None if t.identity_id is None else (
            await conn.execute(select(identities.c.verified).where(identities.c.id == t.identity_id))).scalar()
    async with hub.db.write() as conn:
        await audit.record(conn, "ticket.view", actor=request[AGENT_KEY], target_type="ticket", target_id=tid,
                           customer_id=t.customer_id, at=hub.clock.now())
    body = ticket_json(t, messages=[message_json(m) for m in msgs], notes=notes, trace=trace)
    body["recipient_unreachable"] = to[2] if to else None
    # Said on the ticket before anyone writes: a reply on a channel that is switched off cannot be sent.
    body["channel_enabled"] = t.channel in hub.channels
    body["recipient_verified"] = proven
    body["unverified"] = unverified
    return web.json_response(body)


@routes.post("/api/tickets/{id}/claim")
@requires()
async def claim(request: web.Request) -> web.Response:
    t = await request.app[HUB].actions.claim(int_arg(request, "id"), request[AGENT_KEY])
    return web.json_response(ticket_json(t))


@routes.post("/api/tickets/{id}/reply")
@requires()
async def reply(request: web.Request) -> web.Response:
    data = await read_json(request)
    msg = await request.app[HUB].actions.reply(int_arg(request, "id"), request[AGENT_KEY], data.get("text"))
    return web.json_response(message_json(msg), status=201)


@routes.post("/api/tickets/{id}/notes")
@requires()
async def add_note(request: web.Request) -> web.Response:
    data = await read_json(request)
    note = await request.app[HUB].actions.note(int_arg(request, "id"), request[AGENT_KEY], data.get("text"))
    return web.json_response(note, status=201)


@routes.post("/api/tickets/{id}/transfer")
@requires()
async def transfer(request: web.Request) -> web.Response:
    data = await read_json(request)
    dept, agent_id = data.get("department"), data.get("agent_id")
    if dept is not None and not isinstance(dept, str):
        raise Invalid("department must be a string", field="department")
    if agent_id is not None:
        if not isinstance(agent_id, int):
            raise Invalid("agent_id must be an integer", field="agent_id")
        agent_id = id_value(agent_id, "agent_id")
    t = await request.app[HUB].actions.transfer(int_arg(request, "id"), request[AGENT_KEY], dept, agent_id)
    return web.json_response(ticket_json(t))


def _status_route(path: str, wanted: Status, why: str) -> None:
    @routes.post(path)
    @requires()
    async def handler(request: web.Request) -> web.Response:
        hub = request.app[HUB]
        # /resolve {"fixed": true}: a complaint resolved with a fix gets a check-in with the customer later.
        fixed = wanted is Status.RESOLVED and (await read_json(request)).get("fixed") is True
        t = await hub.actions.set_status(int_arg(request, "id"), request[AGENT_KEY], wanted, why + (" with a fix" if fixed else ""))
        if fixed:
            await hub.surveys.followups.checkin_after_fix(t)
        return web.json_response(ticket_json(t))

    handler.__name__ = f"set_{wanted.value}"


_status_route("/api/tickets/{id}/resolve", Status.RESOLVED, "resolved")
_status_route("/api/tickets/{id}/reopen", Status.QUEUED, "reopened")
_status_route("/api/tickets/{id}/pending", Status.PENDING, "waiting on the customer")


@routes.get("/api/tickets/{id}/messages/{mid}/attachments/{index}")
@requires()
async def attachment(request: web.Request) -> web.StreamResponse:
    """An attachment's bytes, fetched from the channel only when an agent opens it (with a size cap)."""
    hub = request.app[HUB]
    tid, mid, idx = int_arg(request, "id"), int_arg(request, "mid"), int_arg(request, "index", minimum=0)
    async with hub.db.read() as conn:
        row = (await conn.execute(select(messages).where(and_(messages.c.id == mid, messages.c.ticket_id == tid)))).first()
    if row is None:
        raise NotFoundError(f"message {mid} is not on ticket {tid}")
    atts = records.attachments(row.attachments)
    if not 0 <= idx < len(atts):
        raise NotFoundError(f"message {mid} has no attachment {idx}")
    att = atts[idx]
    channel = hub.channels.get(row.channel)
    fetch = getattr(channel, "fetch_attachment", None)
    if fetch is None:
        raise NotFoundError(f"the {row.channel} channel cannot fetch attachments")
    limit_bytes = hub.config.server.max_attachment
    if att.size and att.size > limit_bytes:
        raise TooLarge(f"attachment is {att.size} bytes; the limit is {limit_bytes}")
    data = await fetch(att.ref, limit_bytes)
    async with hub.db.write() as conn:
        customer_id = (await conn.execute(select(tickets.c.customer_id).where(tickets.c.id == tid))).scalar()
        await audit.record(conn, "ticket.attachment", actor=request[AGENT_KEY], target_type="message", target_id=mid,
                           customer_id=customer_id, at=hub.clock.now(), detail={"ticket_id": tid, "index": idx})
    safe_name = "".join(c for c in att.name if c.isprintable() and c not in '"\\/') or "attachment"
    return web.Response(
        body=data,
        content_type=att.content_type if "/" in att.content_type else "application/octet-stream",
        headers={"Content-Disposition": f'attachment; filename="{safe_name}"', "X-Content-Type-Options": "nosniff"},
    )
