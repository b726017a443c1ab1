"""Report figures against a week worked out by hand (tests/reportfixture.py), on SQLite and PostgreSQL; the
summary contract; CSV export; bad parameters."""
from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import select, update

from hub.clock import FrozenClock
from hub.store.schema import report_durations
from tests import reportfixture as fx
from tests.hubtest import hub_config, running_hub

WEEK = "from=2026-03-02&to=2026-03-08&tz=UTC"


def _config(db_url: str) -> Any:
    return hub_config(db_url, business_hours=fx.HOURS)


def _rows(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["key"]: r for r in table["rows"]}


async def test_figures_match_the_hand_computed_week(db_url: str) -> None:
    async with running_hub(_config(db_url), clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", "agent")
        b = await h.add_agent("b@example.com", "agent")
        ids = await fx.load(h.hub.db, a, b)
        sup = await h.agent("sup@example.com", "supervisor")

        status, r = await h.api("GET", f"/api/reports?{WEEK}&group=day", sup)
        assert status == 200, r
        s = r["sections"]
        # First responses in business hours: t1 30 min, t2 30+30 min over the night, t3 10 min, t4 15 min after a
        # weekend, t6 1 min -> [60, 600, 900, 1800, 3600]; p90 at rank 0.9*(5-1)=3.6: 1800 + 0.6*1800.
        v = s["volume"]["total"]
        assert v == {"tickets": 6, "first_responses": 5, "first_response_median": 900.0, "first_response_p90": 2880.0,
                     "resolved": 3, "resolution_median": 7200.0, "resolution_p90": 11520.0}
        # Resolutions: t6 5 min, t1 2 h, t2 30 min + 3 h -> [300, 7200, 12600].
        days = _rows(s["volume"])
        assert list(days) == [f"2026-03-0{d}" for d in range(2, 9)]
        assert days["2026-03-02"]["tickets"] == 2 and days["2026-03-02"]["first_response_median"] == 2700.0
        assert days["2026-03-06"] == {"key": "2026-03-06", "tickets": 0, "first_responses": 0, "first_response_median": None,
                                      "first_response_p90": None, "resolved": 0, "resolution_median": None, "resolution_p90": None}
        # SLA: first response met by t1 t3 t4 t6, missed by t2 (late) and t5 (none, past due); resolution met by
        # t1 t2 t6, missed by t3 (open past due); t4 and t5 are still inside their resolution deadline.
        assert s["sla"]["total"] == {"first_response_total": 6, "first_response_met": 4, "first_response_pct": 66.7,
                                     "resolution_total": 4, "resolution_met": 3, "resolution_pct": 75.0}
        assert s["complaints"]["total"] == {"tickets": 6, "complaints": 2, "complaint_pct": 33.3}
        # The bot touched t3, t5, t6: t5 handed off after two misses, t3 is with an agent, t6 it answered alone.
        assert s["bot"]["total"] == {"handled": 3, "answered": 1, "handed_off": 2, "answered_pct": 33.3}
        # Satisfaction answered in the week: 5, 2, 4 -> 2 of 3 at 4 or more; NPS 10 (promoter), 3 (detractor), 8.
        assert s["satisfaction"]["total"] == {"responses": 3, "csat_pct": 66.7, "csat_avg": 3.67, "nps_responses": 3,
                                              "promoters": 1, "detractors": 1, "nps": 0.0}
        assert s["callbacks"]["total"] == {"booked": 5, "reached": 1, "no_answer": 1, "wrong_number": 0, "unreachable": 1,
                                           "cancelled": 1, "open": 1, "reached_pct": 25.0}
        lists = r["lists"]
        assert lists["complaints_by_department"]["rows"] == [{"department": "billing", "count": 1}, {"department": "support", "count": 1}]
        assert {x["kind"]: x["count"] for x in lists["tickets_by_kind"]["rows"]} == {"question": 4, "complaint": 2}
        assert {x["topic"]: x["count"] for x in lists["complaint_topics"]["rows"]} == {"delivery": 1, "refunds": 1}
        missed = lists["missed_questions"]["rows"]
        assert missed[0] == {"question": "How do I reset my password?", "count": 2, "language": "en", "tickets": [ids["t5"]]}
        assert {m["question"] for m in missed[1:]} == {"Where is my refund?", "=1+1 refund"}

        status, r = await h.api("GET", f"/api/reports?{WEEK}&group=agent", sup)
        rows = _rows(r["sections"]["volume"])
        assert list(rows) == [str(a), str(b), "none"] and r["labels"][str(a)] == "a"
        assert rows[str(a)]["tickets"] == 2 and rows[str(a)]["first_response_median"] == 2700.0
        sat = _rows(r["sections"]["satisfaction"])
        assert sat[str(a)]["csat_pct"] == 50.0 and sat[str(a)]["csat_avg"] == 3.5 and sat["none"]["csat_pct"] == 100.0
        cb = _rows(r["sections"]["callbacks"])
        assert cb[str(a)]["reached"] == 1 and cb[str(a)]["unreachable"] == 1 and cb["none"]["booked"] == 3

        status, r = await h.api("GET", f"/api/reports?{WEEK}&group=week", sup)
        assert [x["key"] for x in r["sections"]["volume"]["rows"]] == ["2026-03-02"]
        status, r = await h.api("GET", f"/api/reports?{WEEK}&group=department", sup)
        dep = _rows(r["sections"]["sla"])
        assert dep["billing"]["first_response_pct"] == 100.0 and dep["support"]["first_response_met"] == 2
        status, r = await h.api("GET", f"/api/reports?{WEEK}&group=channel&department=billing", sup)
        assert {x["key"]: x["tickets"] for x in r["sections"]["volume"]["rows"]} == {"telegram": 1, "webchat": 1}
        # In Bangkok time t2 (16:30 UTC = 23:30) is still on the 2nd and "before" (23:59 UTC on the 1st) moves in.
        status, r = await h.api("GET", "/api/reports?from=2026-03-02&to=2026-03-08&tz=Asia/Bangkok", sup)
        assert r["sections"]["volume"]["total"]["tickets"] == 7

        # The summary keeps its contract.
        status, summary = await h.api("GET", "/api/reports/summary?since=2026-03-02T00:00:00%2B00:00", sup)
        assert status == 200 and {"total", "by_status", "first_response_seconds", "sla_breaches", "csat"} <= set(summary)


async def test_csv_export_and_bad_parameters(sqlite_url: str) -> None:
    async with running_hub(_config(sqlite_url), clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", "agent")
        b = await h.add_agent("b@example.com", "agent")
        await fx.load(h.hub.db, a, b)
        sup = await h.agent("sup@example.com", "supervisor")
        agent = await h.agent("plain@example.com", "agent")
        async with h.session.get(f"{h.url}/api/reports/volume.csv?{WEEK}&group=agent", headers=sup) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
            assert "attachment" in resp.headers["Content-Disposition"]
            raw = await resp.read()
        assert raw.startswith("\ufeff".encode())
        table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert table[0][:4] == ["agent", "agent_name", "tickets", "first_responses"]
        assert table[1][:3] == [str(a), "a", "2"] and table[-1][0] == "total" and table[-1][2] == "6"
        async with h.session.get(f"{h.url}/api/reports/missed_questions.csv?{WEEK}", headers=sup) as resp:
            text = (await resp.read()).decode("utf-8-sig")
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["question", "count", "language", "tickets"]
        assert ["'=1+1 refund"] == [r[0] for r in rows if "1+1" in r[0]]  # never a live formula in a spreadsheet
        for name in ("sla", "satisfaction", "complaints", "bot", "callbacks", "complaints_by_department", "tickets_by_kind",
                     "complaint_topics"):
            status, body = await h.api("GET", f"/api/reports/{name}.csv?{WEEK}", sup)
            assert status == 200 and body.count("\n") >= 2, name

        assert (await h.api("GET", f"/api/reports?{WEEK}", agent))[0] == 403
        assert (await h.api("GET", f"/api/reports?{WEEK}"))[0] == 401
        for query, field in (("from=2026-02-30", "from"), ("from=yesterday", "from"), ("tz=Mars/Base", "tz"),
                             ("group=month", "group"), ("from=2026-03-09&to=2026-03-01", "from"),
                             ("from=2020-01-01&to=2026-01-01", "from"), ("department=nope", "department")):
            status, body = await h.api("GET", f"/api/reports?{query}", sup)
            assert status == 422 and body["error"]["field"] == field, (query, body)
        assert (await h.api("GET", f"/api/reports/nothing.csv?{WEEK}", sup))[0] == 404


async def test_an_empty_range_reports_zeros_not_errors(sqlite_url: str) -> None:
    async with running_hub(_config(sqlite_url), clock=FrozenClock(fx.NOW)) as h:
        sup = await h.agent("sup@example.com", "supervisor")
        for group in ("day", "week", "agent", "department", "channel"):
            status, r = await h.api("GET", f"/api/reports?{WEEK}&group={group}", sup)
            assert status == 200, r
            v = r["sections"]["volume"]["total"]
            assert v["tickets"] == 0 and v["first_response_median"] is None
            assert r["sections"]["satisfaction"]["total"]["csat_pct"] is None
            assert all(not x["rows"] for x in r["lists"].values())
            assert len(r["sections"]["volume"]["rows"]) == {"day": 7, "week": 1}.get(group, 0)
            status, text = await h.api("GET", f"/api/reports/volume.csv?{WEEK}&group={group}", sup)
            assert status == 200 and "total" in text


async def test_stored_durations_follow_a_reopened_ticket_and_changed_hours(db_url: str) -> None:
    """Reports keep each ticket's business-hours durations (report_durations); a ticket reopened and resolved again
    and a department calendar edited between two reports give the new figures, never the stored ones."""
    async with running_hub(_config(db_url), clock=FrozenClock(fx.NOW)) as h:
        a = await h.add_agent("a@example.com", "agent")
        b = await h.add_agent("b@example.com", "agent")
        ids = await fx.load(h.hub.db, a, b)
        sup = await h.agent("sup@example.com", "supervisor")
        status, r = await h.api("GET", f"/api/reports?{WEEK}", sup)
        assert r["sections"]["volume"]["total"]["resolution_median"] == 7200.0
        async with h.hub.db.read() as conn:
            stored = (await conn.execute(select(report_durations.c.ticket_id, report_durations.c.resolution_bs))).all()
        # The week's tickets, stored by the report (on SQLite with the rest of the UTC days its day blocks cover).
        week = {ids[k] for k in ("t1", "t2", "t3", "t4", "t5", "t6")}
        assert round(dict(stored)[ids["t1"]], 1) == 7200.0 and week <= set(dict(stored))
        # Later reports read the stored rows (a row changed behind the hub's back shows), while they still match.
        async with h.hub.db.write() as conn:
            await conn.execute(update(report_durations).where(report_durations.c.ticket_id == ids["t1"]).values(resolution_bs=7300.0))
        status, r = await h.api("GET", f"/api/reports?{WEEK}", sup)
        assert r["sections"]["volume"]["total"]["resolution_median"] == 7300.0

        # t1 (resolved Mon 2 11:00) reopened and resolved again now, Mon 9 12:00: 8 h on the 2nd, four days of 8 h
        # and 3 h on the 9th -> 43 h; resolutions [300, 12600, 154800], p90 at rank 1.8.
        for action in ("reopen", "resolve"):
            status, body = await h.api("POST", f"/api/tickets/{ids['t1']}/{action}", sup)
            assert status == 200, (action, body)
        status, r = await h.api("GET", f"/api/reports?{WEEK}", sup)
        v = r["sections"]["volume"]["total"]
        assert (v["resolution_median"], v["resolution_p90"]) == (12600.0, 12600.0 + 0.8 * (154800.0 - 12600.0))
        assert (v["first_response_median"], v["first_response_p90"]) == (900.0, 2880.0)

    # The same database under business hours from 08:00: first responses t1 30 min, t2 30 min + 90 min, t3 10 min,
    # t4 75 min after the weekend, t6 1 min; resolutions t6 5 min, t2 30 min + 4 h, t1 9 + 4 * 9 + 4 h.
    hours = {**fx.HOURS, "weekly": {d: ["08:00-17:00"] for d in fx.HOURS["weekly"]}}
    async with running_hub(hub_config(db_url, business_hours=hours), clock=FrozenClock(fx.NOW)) as h:
        sup = await h.agent("sup2@example.com", "supervisor")
        status, r = await h.api("GET", f"/api/reports?{WEEK}", sup)
        v = r["sections"]["volume"]["total"]
        assert (v["first_response_median"], v["first_response_p90"]) == (1800.0, 4500.0 + 0.6 * 2700.0)
        assert (v["resolution_median"], v["resolution_p90"]) == (16200.0, 16200.0 + 0.8 * (172800.0 - 16200.0))
        status, again = await h.api("GET", f"/api/reports?{WEEK}", sup)
        assert again["sections"] == r["sections"]  # read from the rows the first report stored
