"""Agents and their roles, managed by admins from the console: list, add, change, deactivate, reset a password;
the configured departments for the console's choices; and each agent's @mentions.

Deactivating an agent or resetting its password ends every session of that agent at once: its tokens are deleted
and its open sockets, on every process, close (SESSIONS on the bus); a deactivated agent's open tickets go back to
the queue.  Changes are published as `agent.updated` so
open consoles redraw names and transfer targets.  Every change is in the audit log (hub.audit), in the change's own
transaction.  May import hub.store, hub.audit, hub.auth and hub.web.http."""
from __future__ import annotations

import secrets
from typing import Any

from aiohttp import web
from sqlalchemy import select, update

from hub import audit, auth, mentions
from hub.bus import AGENTS, SESSIONS
from hub.domain import Agent, Role
from hub.errors import ConflictError, Forbidden, Invalid, NotFoundError
from hub.serialize import agent_json
from hub.services import HUB, Hub
from hub.store import records
from hub.store.schema import agents
from hub.validation import id_value
from hub.web.http import AGENT_KEY, int_arg, read_json, requires, text_field

routes = web.RouteTableDef()
ROLES = {r.value for r in Role}


def _json(row: Any, *, full: bool) -> dict[str, Any]:
    body = dict(agent_json(records.agent(row)), presence=row.presence)
    if full:
        body["created_at"] = row.created_at.isoformat()
    return body


async def _row(conn: Any, aid: int) -> Any:
    row = (await conn.execute(select(agents).where(agents.c.id == aid))).first()
    if row is None:
        raise NotFoundError(f"agent {aid} does not exist")
    return row


async def _announce(hub: Hub, row: Any) -> None:
    await hub.bus.publish(AGENTS, {"type": "agent.updated", "agent": _json(row, full=False)})


@routes.get("/api/agents")
@requires()
async def list_agents(request: web.Request) -> web.Response:
    """Active agents with presence (every agent: transfer targets, names); `?all=true` adds the deactivated ones
    and is for admins."""
    hub = request.app[HUB]
    every = request.query.get("all", "").lower() in ("1", "true", "yes")
    if every and not auth.at_least(request[AGENT_KEY], Role.ADMIN):
        raise Forbidden("listing deactivated agents needs the admin role")
    q = select(agents).order_by(agents.c.id)
    if not every:
        q = q.where(agents.c.active.is_(True))
    async with hub.db.read() as conn:
        rows = (await conn.execute(q)).all()
    return web.json_response({"items": [_json(r, full=every) for r in rows], "next": None})


def _departments(hub: Hub, data: dict[str, Any]) -> list[str]:
    depts = data.get("departments", [])
    if not isinstance(depts, list) or any(not isinstance(d, str) or hub.config.department(d) is None for d in depts):
        raise Invalid("departments must list configured departments", field="departments")
    return list(dict.fromkeys(depts))


def _role(data: dict[str, Any]) -> str:
    role = data.get("role", "agent")
    if role not in ROLES:
        raise Invalid("role must be agent, supervisor or admin", field="role")
    return str(role)


def _capacity(data: dict[str, Any]) -> int:
    value = data.get("capacity", 5)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1000:
        raise Invalid("capacity must be an integer from 1 to 1000", field="capacity")
    return value


def _password(data: dict[str, Any]) -> tuple[str, bool]:
    """The password given, or a generated one (returned once to the admin); whether it was generated."""
    if data.get("password") in (None, ""):
        return secrets.token_urlsafe(12), True
    password = data["password"]
    if not isinstance(password, str):
        raise Invalid("password must be a string", field="password")
    if problem := auth.password_problem(password):
        raise Invalid(problem, field="password")
    return password, False


@routes.post("/api/agents")
@requires(Role.ADMIN)
async def create_agent(request: web.Request) -> web.Response:
    """Add an agent (admin).  Without a password one is generated and returned once, as `password`."""
    hub = request.app[HUB]
    data = await read_json(request)
    name = (text_field(data, "name", 200, required=False) or "").strip()
    email = (text_field(data, "email", 320) or "").strip()
    if not email or "@" not in email or any(c.isspace() for c in email):
        raise Invalid("email is not valid", field="email")
    role, depts, capacity = _role(data), _departments(hub, data), _capacity(data)
    password, generated = _password(data)
    async with hub.db.write() as conn:
        if (await conn.execute(select(agents.c.id).where(agents.c.email == auth.normal_email(email)))).first():
            raise ConflictError("an agent with this email exists", field="email")
        now = hub.clock.now()
        aid = await auth.add_agent(conn, name=name or email, email=email, password=password, role=role,
                                   departments=depts, capacity=capacity, now=now)
        row = await _row(conn, aid)
        await audit.record(conn, "agent.create", actor=request[AGENT_KEY], target_type="agent", target_id=aid, at=now,
                           detail={"role": role, "departments": depts, "password_generated": generated})
    await _announce(hub, row)
    body = _json(row, full=True)
    if generated:
        body["password"] = password
    return web.json_response(body, status=201)


@routes.patch("/api/agents/{id}")
@requires(Role.ADMIN)
async def update_agent(request: web.Request) -> web.Response:
    """Change an agent (admin): any of `active`, `role`, `name`, `departments`, `capacity`.  An admin cannot
    deactivate themselves or change their own role, so an installation never loses its last admin by accident."""
    hub = request.app[HUB]
    aid = int_arg(request, "id")
    me: Agent = request[AGENT_KEY]
    data = await read_json(request)
    values: dict[str, Any] = {}
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise Invalid("active must be true or false", field="active")
        values["active"] = data["active"]
    if "role" in data:
        values["role"] = _role(data)
    if "name" in data:
        name = (text_field(data, "name", 200) or "").strip()
        if not name:
            raise Invalid("name must not be empty", field="name")
        values["name"] = name
    if "departments" in data:
        values["departments"] = _departments(hub, data)
    if "capacity" in data:
        values["capacity"] = _capacity(data)
    if not values:
        raise Invalid("give at least one of active, role, name, departments, capacity", field="active")
    if aid == me.id and values.get("active") is False:
        raise ConflictError("an admin cannot deactivate themselves; ask another admin", field="active")
    if aid == me.id and values.get("role", me.role.value) != me.role.value:
        raise ConflictError("an admin cannot change their own role; ask another admin", field="role")
    async with hub.db.write() as conn:
        before = await _row(conn, aid)
        await conn.execute(update(agents).where(agents.c.id == aid).values(**values))
        ended = before.active and values.get("active") is False
        released: list[int] = []
        if ended:
            await auth.revoke_agent(conn, aid)
            released = await hub.actions.release_agent(conn, aid, me, hub.clock.now())
        row = await _row(conn, aid)
        await _audit_changes(conn, me, before, row, hub.clock.now())
    if ended:
        await hub.bus.publish(SESSIONS, {"agent_id": aid})
        await hub.actions.announce(released)
    await _announce(hub, row)
    return web.json_response(_json(row, full=True))


async def _audit_changes(conn: Any, actor: Agent, before: Any, after: Any, now: Any) -> None:
    """One entry for (de)activation, one for the other fields that changed (names of fields, roles: no secrets)."""
    if before.active != after.active:
        await audit.record(conn, "agent.activate" if after.active else "agent.deactivate", actor=actor,
                           target_type="agent", target_id=after.id, at=now)
    changed = sorted(f for f in ("role", "name", "departments", "capacity") if getattr(before, f) != getattr(after, f))
    if changed:
        detail: dict[str, Any] = {"fields": changed}
        if "role" in changed:
            detail.update(role_from=before.role, role_to=after.role)
        if "departments" in changed:
            detail["departments"] = list(after.departments)
        await audit.record(conn, "agent.update", actor=actor, target_type="agent", target_id=after.id, at=now,
                           detail=detail)


@routes.post("/api/agents/{id}/password")
@requires(Role.ADMIN)
async def reset_password(request: web.Request) -> web.Response:
    """Set a new password for an agent (admin), generated and returned once when none is given.  Every session of
    that agent ends at once."""
    hub = request.app[HUB]
    aid = int_arg(request, "id")
    password, generated = _password(await read_json(request))
    async with hub.db.write() as conn:
        await _row(conn, aid)
        await auth.set_password(conn, aid, password)
        await audit.record(conn, "agent.password", actor=request[AGENT_KEY], target_type="agent", target_id=aid,
                           at=hub.clock.now(), detail={"generated": generated})
    await hub.bus.publish(SESSIONS, {"agent_id": aid})
    return web.json_response({"id": aid, "password": password} if generated else {"id": aid})


@routes.get("/api/departments")
@requires()
async def list_departments(request: web.Request) -> web.Response:
    """The configured departments with their display names per language, for the console's choices."""
    hub = request.app[HUB]
    items = [{"name": d.name, "default": d.default, "label": dict(d.label)} for d in hub.config.departments]
    return web.json_response({"items": items, "next": None})


@routes.get("/api/mentions")
@requires()
async def list_mentions(request: web.Request) -> web.Response:
    """The logged-in agent's @mentions in notes, newest first (`?unseen=true` only those not seen yet), and the
    number not seen yet."""
    hub = request.app[HUB]
    unseen_only = request.query.get("unseen", "").lower() in ("1", "true", "yes")
    async with hub.db.read() as conn:
        items, unseen = await mentions.for_agent(conn, request[AGENT_KEY].id, unseen_only=unseen_only, limit=100)
    return web.json_response({"items": items, "unseen": unseen, "next": None})


@routes.post("/api/mentions/seen")
@requires()
async def mentions_seen(request: web.Request) -> web.Response:
    """Marks the logged-in agent's own mentions seen: `{"ids":[...]}` or every one on `{"ticket_id"}`."""
    hub = request.app[HUB]
    data = await read_json(request)
    me = request[AGENT_KEY]
    ids, ticket_id = data.get("ids"), data.get("ticket_id")
    if (ids is None) == (ticket_id is None):
        raise Invalid("give exactly one of ids or ticket_id", field="ids")
    if ids is not None and (not isinstance(ids, list) or len(ids) > 500
                            or any(isinstance(i, bool) or not isinstance(i, int) for i in ids)):
        raise Invalid("ids must be a list of at most 500 mention ids", field="ids")
    if ticket_id is not None:
        if isinstance(ticket_id, bool) or not isinstance(ticket_id, int):
            raise Invalid("ticket_id must be an integer", field="ticket_id")
        ticket_id = id_value(ticket_id, "ticket_id")
    async with hub.db.write() as conn:
        changed = await mentions.mark_seen(conn, me.id, hub.clock.now(), ids=ids or [], ticket_id=ticket_id)
        _, unseen = await mentions.for_agent(conn, me.id, unseen_only=True, limit=0)
    return web.json_response({"changed": changed, "unseen": unseen})
