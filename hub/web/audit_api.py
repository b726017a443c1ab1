"""The audit log on the web: the middleware that tells `hub.audit` each request's client address, and the admin's
reading of the log (`GET /api/audit` as JSON pages, `GET /api/audit.csv` as one CSV file; both filtered alike).
There is no write route: entries are appended only by the actions they describe."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from aiohttp import web

from hub import audit
from hub.domain import Role
from hub.errors import Invalid
from hub.services import HUB
from hub.validation import id_value
from hub.web.http import AGENT_KEY, requires

routes = web.RouteTableDef()
CSV_COLUMNS = ("id", "at", "actor_id", "actor_name", "actor_role", "action", "target_type", "target_id",
               "customer_id", "source", "detail")
CSV_BATCH = 1000


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 time", field=name) from None
    if value.tzinfo is None:
        raise Invalid(f"{name} must carry a UTC offset", field=name)
    return value


def _int(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    return id_value(raw, name) if raw else None


def _filter(request: web.Request) -> audit.Filter:
    q = request.query
    action = q.get("action") or None
    if action and action not in audit.ACTIONS and not (action.endswith(".") and any(a.startswith(action) for a in audit.ACTIONS)):
        raise Invalid(f"unknown action {action!r}", field="action")
    return audit.Filter(
        actor_id=_int(request, "actor"), action=action, target_type=q.get("target_type") or None,
        target_id=q.get("target_id") or None, customer_id=_int(request, "customer"),
        since=_time(request, "since"), until=_time(request, "until"), source=q.get("source") or None,
    )


@routes.get("/api/audit")
@requires(Role.ADMIN)
async def list_audit(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    f = _filter(request)
    try:
        lim = min(max(int(request.query.get("limit", "100")), 1), 500)
    except ValueError:
        raise Invalid("limit must be an integer", field="limit") from None
    cursor = _int(request, "cursor")
    async with hub.db.read() as conn:
        rows = await audit.entries(conn, f, limit=lim + 1, before_id=cursor)
    nxt = str(rows[lim - 1].id) if len(rows) > lim else None
    return web.json_response({"items": [audit.entry_json(e) for e in rows[:lim]], "next": nxt,
                              "actions": sorted(audit.ACTIONS)})


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: a leading = + - @ (or tab/CR) makes it a formula, so it is quoted off."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@routes.get("/api/audit.csv")
@requires(Role.ADMIN)
async def export_audit(request: web.Request) -> web.StreamResponse:
    """The filtered log as CSV, newest first, streamed in batches (the export is itself an audit entry)."""
    hub = request.app[HUB]
    f = _filter(request)
    now = hub.clock.now()
    async with hub.db.write() as conn:
        await audit.record(conn, "audit.export", actor=request[AGENT_KEY], target_type="audit_log", at=now,
                           detail={k: str(v) for k, v in request.query.items() if k in _FILTER_KEYS})
    resp = web.StreamResponse(headers={
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="audit-{now:%Y%m%dT%H%M%SZ}.csv"',
    })
    await resp.prepare(request)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    before: int | None = None
    while True:
        async with hub.db.read() as conn:
            batch = await audit.entries(conn, f, limit=CSV_BATCH, before_id=before)
        for e in batch:
            row = audit.entry_json(e)
            row["detail"] = json.dumps(e.detail, ensure_ascii=False, sort_keys=True)
            writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
        await resp.write(buf.getvalue().encode("utf-8"))
        buf.seek(0)
        buf.truncate()
        if len(batch) < CSV_BATCH:
            break
        before = batch[-1].id
    await resp.write_eof()
    return resp


_FILTER_KEYS = ("actor", "action", "target_type", "target_id", "customer", "since", "until", "source")
