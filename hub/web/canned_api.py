"""Canned replies for the console: short stored answers, one language each.

`GET /api/canned?language=` lists them, `POST /api/canned {"title","language","text"}` adds one (any agent),
`PATCH /api/canned/{id}` changes one and `DELETE /api/canned/{id}` removes one (supervisors and admins).  Every
change is published as `canned.changed`, so open consoles offer the current set.  May import hub.audit,
hub.store and hub.web.http only."""
from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from sqlalchemy import delete, insert, select, update

from hub import audit
from hub.bus import AGENTS
from hub.domain import Role
from hub.errors import Invalid, NotFoundError
from hub.services import HUB, Hub
from hub.store.schema import canned_replies
from hub.web.http import AGENT_KEY, int_arg, read_json, requires, text_field

routes = web.RouteTableDef()
LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def _json(r: Any) -> dict[str, Any]:
    return {"id": r.id, "title": r.title, "language": r.language, "text": r.text, "created_at": r.created_at.isoformat()}


async def _changed(hub: Hub, cid: int, item: dict[str, Any] | None) -> None:
    await hub.bus.publish(AGENTS, {"type": "canned.changed", "id": cid, "canned": item})


def _title(data: dict[str, Any]) -> str:
    title = (text_field(data, "title", 200) or "").strip()
    if not title:
        raise Invalid("title is required", field="title")
    return title


def _text(hub: Hub, data: dict[str, Any]) -> str:
    text = text_field(data, "text", hub.config.server.max_text) or ""
    if not text.strip():
        raise Invalid("text is required", field="text")
    return text


def _language(value: str | None) -> str:
    if value is None or not LANGUAGE.match(value):
        raise Invalid("language must be a language code such as en, th or fa", field="language")
    return value


@routes.get("/api/canned")
@requires()
async def list_canned(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    q = select(canned_replies).order_by(canned_replies.c.language, canned_replies.c.title, canned_replies.c.id)
    if request.query.get("language"):
        q = q.where(canned_replies.c.language == _language(request.query["language"]))
    async with hub.db.read() as conn:
        rows = (await conn.execute(q.limit(500))).all()
    return web.json_response({"items": [_json(r) for r in rows], "next": None})


@routes.post("/api/canned")
@requires()
async def add_canned(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    data = await read_json(request)
    title, text = _title(data), _text(hub, data)
    language = _language(data.get("language") if isinstance(data.get("language"), str) else None)
    async with hub.db.write() as conn:
        cid = (
            await conn.execute(
                insert(canned_replies).values(title=title, language=language, text=text, created_at=hub.clock.now()).returning(canned_replies.c.id)
            )
        ).scalar_one()
        row = (await conn.execute(select(canned_replies).where(canned_replies.c.id == cid))).one()
        await audit.record(conn, "canned.create", actor=request[AGENT_KEY], target_type="canned_reply", target_id=cid,
                           at=row.created_at, detail={"language": language})
    await _changed(hub, cid, _json(row))
    return web.json_response(_json(row), status=201)


@routes.patch("/api/canned/{id}")
@requires(Role.SUPERVISOR)
async def edit_canned(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    data = await read_json(request)
    values: dict[str, Any] = {}
    if "title" in data:
        values["title"] = _title(data)
    if "text" in data:
        values["text"] = _text(hub, data)
    if "language" in data:
        values["language"] = _language(data["language"] if isinstance(data["language"], str) else None)
    if not values:
        raise Invalid("give at least one of title, language, text", field="title")
    async with hub.db.write() as conn:
        res = await conn.execute(update(canned_replies).where(canned_replies.c.id == cid).values(**values))
        if res.rowcount == 0:
            raise NotFoundError(f"canned reply {cid} does not exist")
        row = (await conn.execute(select(canned_replies).where(canned_replies.c.id == cid))).one()
        await audit.record(conn, "canned.update", actor=request[AGENT_KEY], target_type="canned_reply", target_id=cid,
                           at=hub.clock.now(), detail={"fields": sorted(values), "language": row.language})
    await _changed(hub, cid, _json(row))
    return web.json_response(_json(row))


@routes.delete("/api/canned/{id}")
@requires(Role.SUPERVISOR)
async def delete_canned(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    cid = int_arg(request, "id")
    async with hub.db.write() as conn:
        res = await conn.execute(delete(canned_replies).where(canned_replies.c.id == cid))
        if res.rowcount == 0:
            raise NotFoundError(f"canned reply {cid} does not exist")
        await audit.record(conn, "canned.delete", actor=request[AGENT_KEY], target_type="canned_reply", target_id=cid,
                           at=hub.clock.now())
    await _changed(hub, cid, None)
    return web.json_response({"ok": True})
