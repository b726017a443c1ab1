"""The Reports tab's endpoints (supervisors and admins).

`GET /api/reports?from=YYYY-MM-DD&to=YYYY-MM-DD&tz=&group=day|week|agent|department|channel&department=&channel=`
every figure of the range; `GET /api/reports/{table}.csv?...` one table of it as CSV.
"""
from __future__ import annotations

from aiohttp import web

from hub.domain import Role
from hub.errors import NotFoundError
from hub.reports import params
from hub.reports.csvfile import list_csv, section_csv
from hub.reports.figures import COLUMNS, figures
from hub.services import HUB
from hub.web.http import requires

routes = web.RouteTableDef()
LISTS = ("complaints_by_department", "tickets_by_kind", "complaint_topics", "missed_questions")


async def _report(request: web.Request) -> dict:
    hub = request.app[HUB]
    now = hub.clock.now()
    q = params.parse(request.query, default_tz=hub.config.business_hours.tz, today=now,
                     departments=[d.name for d in hub.config.departments])
    return await figures(hub.db, hub.config, q, now)


@routes.get("/api/reports")
@requires(Role.SUPERVISOR)
async def report(request: web.Request) -> web.Response:
    return web.json_response(await _report(request))


@routes.get("/api/reports/{table}.csv")
@requires(Role.SUPERVISOR)
async def report_csv(request: web.Request) -> web.Response:
    table = request.match_info["table"]
    if table not in COLUMNS and table not in LISTS:
        raise NotFoundError(f"no report table {table!r}; tables: {', '.join([*COLUMNS, *LISTS])}")
    data = await _report(request)
    text = section_csv(data, table) if table in COLUMNS else list_csv(data, table)
    name = f"{table}_{data['from']}_{data['to']}.csv"
    return web.Response(text=text, content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
