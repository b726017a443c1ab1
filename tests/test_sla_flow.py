"""SLA deadlines and escalation on a running hub with the clock frozen and the scheduler ticked by hand:
complaint priority and SLA in three languages, department routing, business-time deadlines across weekends and
holidays, warning then breach (priority, escalation department, supervisors on the agent socket), a restart
between creation and breach, replies/resolve/reopen moving the jobs, the `pending` pause, and the summary."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select, update

from hub.clock import FrozenClock
from hub.config import Config
from hub.store.schema import agents, jobs, tickets
from tests.hubtest import RunningHub, agent_socket, hub_config, next_event, running_hub

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
BKK = ZoneInfo("Asia/Bangkok")
COMPLAINTS = {
    "en": "My order never arrived and nobody answers my emails.",
    "th": "ของยังไม่ถึงเลย รอมาสองอาทิตย์แล้ว",
    "fa": "سفارشم هنوز نرسیده و هیچ کس جواب نمی‌دهد",
}
QUESTION = "Hello, what are your opening hours?"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2027 in Bangkok: the 1st is a Monday, the 5th a Friday, the 6th a Saturday."""
    return datetime(2027, 3, day, hour, minute, tzinfo=BKK)


def sla_config(db_url: str, **over: Any) -> Config:
    """The shipped hours, departments, routing and SLA policies; the test ticks the scheduler itself."""
    base: dict[str, Any] = {k: SHIPPED[k] for k in ("business_hours", "departments", "routing", "sla")}
    base["scheduler_interval"] = 3600
    base["auth"] = {"token_ttl": "90d"}  # the clock jumps days ahead
    base.update(over)
    return hub_config(db_url, **base)


def when(iso: str | None) -> datetime:
    assert iso is not None
    return datetime.fromisoformat(iso)


async def supervisor(h: RunningHub, email: str = "lead@example.com", departments: list[str] | None = None) -> dict[str, str]:
    return await h.agent(email, role="supervisor", departments=departments or ["support"])


async def open_ticket(h: RunningHub, text: str, lang: str | None = None) -> int:
    chat = await h.chat(**({"lang": lang} if lang else {}))
    ack = await chat.say(text)
    await chat.close()
    await h.settle()  # the review after the commit decides whether it is a complaint
    return int(ack["ticket_id"])


async def get(h: RunningHub, headers: dict[str, str], tid: int) -> dict[str, Any]:
    status, body = await h.api("GET", f"/api/tickets/{tid}", headers)
    assert status == 200, body
    return body


async def row(h: RunningHub, tid: int) -> Any:
    async with h.hub.db.read() as conn:
        return (await conn.execute(select(tickets).where(tickets.c.id == tid))).one()


async def tick(h: RunningHub) -> int:
    ran = await h.hub.scheduler.tick()
    await h.settle()
    return ran


def traces(t: dict[str, Any], what: str) -> list[str]:
    return [x["why"] for x in t["trace"] if x["what"] == what]


@pytest.mark.parametrize("lang", ["th", "fa", "en"])
async def test_complaint_gets_high_priority_and_the_complaint_sla(sqlite_url: str, lang: str) -> None:
    clock = FrozenClock(at(1, 10))
    async with running_hub(sla_config(sqlite_url), clock=clock) as h:
        sup = await supervisor(h)
        t = await get(h, sup, await open_ticket(h, COMPLAINTS[lang], lang))
        assert t["kind"] == "complaint" and t["priority"] == "high" and t["language"] == lang
        # routing.complaint.sla in config.yaml: 15 minutes to the first response, in business hours.
        assert when(t["first_response_due"]) == at(1, 10, 15)
        assert when(t["resolution_due"]) == at(1, 18)  # the high policy's 8h: the rest of Monday
        assert any("complaint override" in why for why in traces(t, "sla"))
        assert any(why.startswith("high: complaint") for why in traces(t, "priority"))


async def test_department_routing_by_keyword_and_sales_leads(sqlite_url: str) -> None:
    clock = FrozenClock(at(1, 10))
    async with running_hub(sla_config(sqlite_url), clock=clock) as h:
        sup = await supervisor(h)
        billing = await get(h, sup, await open_ticket(h, "Where is the invoice for my last payment?", "en"))
        assert billing["department"] == "billing"
        assert any("keyword" in why for why in traces(billing, "department"))
        thai = await get(h, sup, await open_ticket(h, "ขอใบกำกับภาษีของเดือนที่แล้วได้ไหมคะ", "th"))
        assert thai["department"] == "billing"
        sales = await get(h, sup, await open_ticket(h, "Could you send me a quote for a bulk order of 500 units?", "en"))
        assert sales["kind"] == "sales" and sales["department"] == "sales"
        plain = await get(h, sup, await open_ticket(h, QUESTION, "en"))
        assert plain["department"] == "support" and plain["priority"] == "normal"
        assert when(plain["first_response_due"]) == at(1, 11)


@pytest.mark.parametrize(
    ("created", "text", "holidays", "due"),
    [
        (at(5, 19), COMPLAINTS["en"], [], at(6, 10, 15)),  # Friday evening -> Saturday's short opening
        (at(5, 19), COMPLAINTS["en"], ["2027-03-06"], at(8, 9, 15)),  # Saturday a holiday -> Monday
        (at(5, 17, 30), QUESTION, [], at(6, 10, 30)),  # 30 min on Friday, 30 on Saturday
        (at(6, 13, 30), QUESTION, [], at(8, 9, 30)),  # Saturday 13:30: across Sunday to Monday
        (at(6, 23, 50), QUESTION, [], at(8, 10)),  # just before midnight on Saturday: nothing until Monday
    ],
)
async def test_first_response_due_counts_business_hours(
    sqlite_url: str, created: datetime, text: str, holidays: list[str], due: datetime
) -> None:
    hours = {**SHIPPED["business_hours"], "holidays": holidays}
    async with running_hub(sla_config(sqlite_url, business_hours=hours), clock=FrozenClock(created)) as h:
        sup = await supervisor(h)
        t = await get(h, sup, await open_ticket(h, text, "en"))
        assert when(t["first_response_due"]) == due


def escalation_config(db_url: str, **over: Any) -> Config:
    departments = [
        {"name": "support", "default": True, "escalation": "escalations", "supervisors": ["watcher@example.com"]},
        {"name": "billing"}, {"name": "sales"}, {"name": "escalations"},
    ]
    return sla_config(db_url, departments=departments, **over)


async def test_warning_then_breach_escalates_and_notifies_supervisors(db_url: str) -> None:
    clock = FrozenClock(at(1, 10))
    async with running_hub(escalation_config(db_url), clock=clock) as h:
        sup = await supervisor(h)
        watcher = await h.add_agent("watcher@example.com")  # named by the department, not a supervisor
        await h.add_agent("other-lead@example.com", role="supervisor", departments=["billing"])
        async with h.hub.db.read() as conn:
            lead = (await conn.execute(select(agents.c.id).where(agents.c.email == "lead@example.com"))).scalar_one()
        ws = await agent_socket(h, sup)
        tid = await open_ticket(h, COMPLAINTS["en"], "en")
        clock.at = at(1, 10, 11)
        await tick(h)  # nothing of the ticket's due yet (the review sweep's first run is)
        assert traces(await get(h, sup, tid), "sla_warning") == []
        clock.at = at(1, 10, 12)  # 80% of the 15 minutes
        await tick(h)
        warn = await next_event(ws, "sla.warning")
        assert warn["ticket"]["id"] == tid and warn["target"] == "first_response"
        assert when(warn["due"]) == at(1, 10, 15)
        clock.at = at(1, 10, 15)
        await tick(h)
        ev = await next_event(ws, "sla.breach")
        assert ev["ticket"]["id"] == tid and ev["target"] == "first_response"
        assert ev["supervisors"] == sorted([lead, watcher])
        assert ev["ticket"]["priority"] == "urgent" and ev["ticket"]["department"] == "escalations"
        # Handlers are idempotent: another tick, or the same job run again, changes nothing.
        clock.at = at(1, 10, 30)
        await tick(h)
        await h.hub.sla.breach(_job(tid, "first_response"))
        t = await get(h, sup, tid)
        assert t["priority"] == "urgent" and t["department"] == "escalations" and t["status"] == "queued"
        assert len(traces(t, "escalated")) == 1 and "priority high -> urgent" in traces(t, "escalated")[0]
        assert len(traces(t, "sla_warning")) == 1
        assert (await row(h, tid)).breached == ["first_response"]
        # The summary shows the recorded breach and why.
        status, s = await h.api("GET", "/api/reports/summary?since=2027-03-01T00:00:00%2B07:00", sup)
        assert status == 200, s
        assert s["sla_breaches"]["first_response"] == 1 and s["sla_breaches_recorded"]["first_response"] == 1
        assert s["complaints_by_department"] == {"escalations": 1}
        assert s["by_department_kind"]["escalations"] == {"complaint": 1}
        assert s["sla_breaches_by_department"] == {"escalations": {"first_response": 1}}
        assert any(k.startswith("escalated") for k in s["routing_reasons"])
        assert s["routing_trace"]["escalated"]
        await ws.close()


def _job(tid: int, target: str) -> Any:
    from hub.scheduler import Job

    return Job(0, "sla.breach", f"sla:{target}:breach:{tid}", at(1, 10, 15), {"ticket_id": tid, "target": target}, 1)


async def test_restart_between_creation_and_breach_fires_once(sqlite_url: str) -> None:
    config = escalation_config(sqlite_url)
    async with running_hub(config, clock=FrozenClock(at(1, 10))) as h:
        tid = await open_ticket(h, COMPLAINTS["th"], "th")
    clock = FrozenClock(at(1, 10, 20))
    async with running_hub(config, clock=clock) as h:  # a new process on the same database file
        sup = await supervisor(h)
        await tick(h)
        await tick(h)
        t = await get(h, sup, tid)
        assert len(traces(t, "escalated")) == 1 and t["priority"] == "urgent"
        # The warning was overtaken by the breach: it is not sent after the deadline.
        assert traces(t, "sla_warning") == []
        async with h.hub.db.read() as conn:
            states = dict((await conn.execute(select(jobs.c.key, jobs.c.state).where(jobs.c.key.like("sla:%")))).all())
        assert states[f"sla:first_response:breach:{tid}"] == "done"
        assert states[f"sla:resolution:breach:{tid}"] == "pending"


async def test_reply_resolve_and_reopen_move_the_jobs(sqlite_url: str) -> None:
    clock = FrozenClock(at(1, 10))
    async with running_hub(escalation_config(sqlite_url), clock=clock) as h:
        sup = await supervisor(h)
        agent = await h.agent("a@example.com", departments=["support"])
        tid = await open_ticket(h, QUESTION, "en")  # normal: first response by 11:00, resolution 24h business
        clock.at = at(1, 10, 30)
        assert (await h.api("POST", f"/api/tickets/{tid}/reply", agent, json={"text": "We open at nine."}))[0] == 201
        clock.at = at(1, 11, 30)
        await tick(h)
        t = await get(h, sup, tid)
        assert traces(t, "escalated") == [] and (await row(h, tid)).breached == []
        before = when(t["resolution_due"])
        assert (await h.api("POST", f"/api/tickets/{tid}/resolve", agent))[0] == 200
        clock.at = at(9, 12)  # long past the resolution deadline: a resolved ticket never breaches
        await tick(h)
        assert traces(await get(h, sup, tid), "escalated") == []
        # Reopened a week later: the resolved time does not count.  22.5 business hours were left at 11:30 on
        # Monday the 1st; from Tuesday the 9th 12:00 that is 6h + 9h + 7.5h -> Thursday the 11th 16:30.
        status, reopened = await h.api("POST", f"/api/tickets/{tid}/reopen", agent)
        assert status == 200, reopened
        assert when(reopened["resolution_due"]) == at(11, 16, 30) and before == at(3, 16)
        clock.at = at(11, 16, 29)
        await tick(h)
        assert traces(await get(h, sup, tid), "escalated") == []
        clock.at = at(11, 16, 30)
        await tick(h)
        t = await get(h, sup, tid)
        assert len(traces(t, "escalated")) == 1 and "resolution SLA breached" in traces(t, "escalated")[0]


async def test_pending_pauses_the_resolution_clock(db_url: str) -> None:
    clock = FrozenClock(at(1, 10))
    sla = {**SHIPPED["sla"], "normal": {"first_response": "1h", "resolution": "4h"}}
    async with running_hub(escalation_config(db_url, sla=sla), clock=clock) as h:
        sup = await supervisor(h)
        agent = await h.agent("a@example.com", departments=["support"])
        chat = await h.chat(lang="en")
        tid = int((await chat.say(QUESTION))["ticket_id"])
        t = await get(h, sup, tid)
        assert when(t["resolution_due"]) == at(1, 14)
        clock.at = at(1, 10, 30)
        await h.api("POST", f"/api/tickets/{tid}/reply", agent, json={"text": "Could you send the order number?"})
        clock.at = at(1, 11)  # three business hours left
        status, pending = await h.api("POST", f"/api/tickets/{tid}/pending", agent)
        assert status == 200 and pending["status"] == "pending"
        clock.at = at(1, 15)  # past the original deadline while waiting on the customer
        await tick(h)
        assert traces(await get(h, sup, tid), "escalated") == []
        clock.at = at(2, 10)  # the customer answers on Tuesday morning
        await chat.say("Order 1234, thanks")
        await h.settle()
        t = await get(h, sup, tid)
        r = await row(h, tid)
        assert t["status"] == "assigned" and r.sla_paused_at is None
        assert when(t["resolution_due"]) == at(2, 13)
        clock.at = at(2, 12, 59)
        await tick(h)
        assert traces(await get(h, sup, tid), "escalated") == []
        clock.at = at(2, 13)
        await tick(h)
        t = await get(h, sup, tid)
        assert len(traces(t, "escalated")) == 1 and (await row(h, tid)).breached == ["resolution"]
        await chat.close()


async def test_agent_moving_a_pending_ticket_back_resumes_the_clock(sqlite_url: str) -> None:
    clock = FrozenClock(at(1, 10))
    sla = {**SHIPPED["sla"], "normal": {"first_response": "1h", "resolution": "4h"}}
    async with running_hub(escalation_config(sqlite_url, sla=sla), clock=clock) as h:
        agent = await h.agent("a@example.com", departments=["support"])
        tid = await open_ticket(h, QUESTION, "en")
        await h.api("POST", f"/api/tickets/{tid}/reply", agent, json={"text": "Checking."})
        clock.at = at(1, 12)  # two business hours left
        await h.api("POST", f"/api/tickets/{tid}/pending", agent)
        clock.at = at(1, 17)
        status, back = await h.api("POST", f"/api/tickets/{tid}/reopen", agent)
        assert status == 200 and back["status"] != "pending"
        assert when(back["resolution_due"]) == at(2, 10)  # 1h on Monday until 18:00, 1h on Tuesday from 09:00


async def test_transfer_to_a_department_with_other_hours_moves_the_deadline(sqlite_url: str) -> None:
    clock = FrozenClock(at(1, 17))
    departments = [
        {"name": "support", "default": True}, {"name": "billing"}, {"name": "sales"},
        {"name": "night", "business_hours": {"tz": "Asia/Bangkok", "weekly": {d: ["00:00-24:00"] for d in
                                                                                ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}},
    ]
    async with running_hub(sla_config(sqlite_url, departments=departments), clock=clock) as h:
        agent = await h.agent("a@example.com", role="supervisor", departments=["support", "night"])
        tid = await open_ticket(h, QUESTION, "en")
        t = await get(h, agent, tid)
        assert when(t["first_response_due"]) == at(1, 18)
        clock.at = at(1, 17, 30)  # 30 business minutes left
        status, moved = await h.api("POST", f"/api/tickets/{tid}/transfer", agent, json={"department": "night"})
        assert status == 200, moved
        assert when(moved["first_response_due"]) == at(1, 18)  # the same 30 minutes, counted on the night desk
        clock.at = at(1, 17, 50)
        status, back = await h.api("POST", f"/api/tickets/{tid}/transfer", agent, json={"department": "support"})
        assert when(back["first_response_due"]) == at(1, 18)  # 10 minutes left, still within support's hours
        clock.at = at(1, 20)
        await tick(h)  # due at 18:00 was passed: breached once
        assert (await row(h, tid)).breached == ["first_response"]


async def test_bot_tickets_are_not_escalated_while_the_bot_holds_them(sqlite_url: str) -> None:
    clock = FrozenClock(at(1, 10))
    async with running_hub(escalation_config(sqlite_url), clock=clock) as h:
        tid = await open_ticket(h, COMPLAINTS["en"], "en")
        async with h.hub.db.write() as conn:
            await conn.execute(update(tickets).where(tickets.c.id == tid).values(status="bot"))
        clock.at = at(1, 11)
        await tick(h)
        assert (await row(h, tid)).breached == []
        assert await h.hub.actions.handoff(tid, "customer asked for a person")
        clock.at = at(1, 11, 6)  # the deferred job looks again after the handoff
        await tick(h)
        assert (await row(h, tid)).breached == ["first_response"]


def test_check_config_names_the_faulty_rule(tmp_path: Path) -> None:
    import subprocess

    cfg = tmp_path / "bad.yaml"
    cfg.write_text(
        "routing:\n  rules:\n"
        "    - {name: vip, when: {tier: gold}, then: {department: support, priority: urgent}}\n"
        "    - {name: refunds, when: {kind: complaint}, then: {department: refundz}}\n",
        encoding="utf-8",
    )
    result = subprocess.run([sys.executable, "-m", "hub.cli", "check-config", "--config", str(cfg)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0
    assert "routing.rules[1] (name 'refunds')" in result.stderr and "refundz" in result.stderr
    cfg.write_text("routing:\n  rules:\n    - {when: {kind: grumble}, then: {priority: high}}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "hub.cli", "check-config", "--config", str(cfg)],
                            capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode != 0 and "routing.rules[0]" in result.stderr and "kind" in result.stderr
