"""Follow-ups with the clock frozen and moved by hand: a prepared message reaches each customer inside open hours
in their own zone (New York across the start of daylight saving, Tehran, and the desk's Bangkok when the zone is
unknown); a reminder falls due for its agent; a complaint resolved with a fix gets a check-in whose answer
confirms it or reopens it; the win-back list and its per-channel limit."""
from __future__ import annotations

from datetime import datetime, timezone
from hub.clock import FrozenClock
from tests.hubtest import ChatClient, RunningHub, agent_socket, hub_config, next_event, running_hub

FRIDAY_20_UTC = datetime(2026, 3, 6, 20, 0, tzinfo=timezone.utc)  # Friday 15:00 in New York, Saturday 03:00 in Bangkok


async def customer(h: RunningHub, headers: dict[str, str], text: str, lang: str = "en") -> tuple[ChatClient, int, int]:
    chat = await h.chat(lang=lang)
    tid = (await chat.say(text))["ticket_id"]
    _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
    return chat, tid, t["customer_id"]


async def test_messages_go_out_in_open_hours_of_each_customers_zone(db_url: str) -> None:
    clock = FrozenClock(FRIDAY_20_UTC)
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        sup = await h.agent("sup@example.com", "supervisor", departments=["support"])
        people = {}
        for zone in ("America/New_York", "Asia/Tehran", None):
            chat, tid, cid = await customer(h, sup, "Thanks, I will try the new charger")
            if zone:
                status, c = await h.api("PATCH", f"/api/customers/{cid}", sup, json={"tz": zone})
                assert status == 200 and c["tz"] == zone
            status, f = await h.api("POST", f"/api/tickets/{tid}/followups", sup,
                                    json={"mode": "message", "in_days": 1, "text": f"Is the charger working? ({zone})"})
            assert status == 201, f
            people[zone] = (chat, f)
        # Saturday is closed everywhere: Monday 09:00 local.  New York is on daylight time by then (UTC-4).
        assert people["America/New_York"][1]["due_at"] == "2026-03-09T13:00:00+00:00"
        assert people["Asia/Tehran"][1]["due_at"] == "2026-03-09T05:30:00+00:00"
        assert people[None][1]["due_at"] == "2026-03-09T02:00:00+00:00" and people[None][1]["tz"] == "Asia/Bangkok"
        status, err = await h.api("PATCH", f"/api/customers/{people[None][1]['customer_id']}", sup, json={"tz": "Mars/Olympus"})
        assert status == 422 and err["error"]["field"] == "tz"
        clock.at = datetime(2026, 3, 9, 5, 29, tzinfo=timezone.utc)
        await h.hub.surveys.tick()
        first = await people[None][0].expect("message", author="system")
        assert first["text"] == "Is the charger working? (None)"
        clock.at = datetime(2026, 3, 9, 5, 31, tzinfo=timezone.utc)
        await h.hub.surveys.tick()
        assert (await people["Asia/Tehran"][0].expect("message", author="system"))["text"].endswith("(Asia/Tehran)")
        sup = await h.login("sup@example.com")
        _, f = await h.api("GET", f"/api/tickets/{people['America/New_York'][1]['ticket_id']}/followups", sup)
        assert f["items"][0]["state"] == "scheduled"
        clock.at = datetime(2026, 3, 9, 13, 0, tzinfo=timezone.utc)
        await h.hub.surveys.tick()
        await h.hub.surveys.tick()
        assert (await people["America/New_York"][0].expect("message", author="system"))["text"].endswith("(America/New_York)")
        _, f = await h.api("GET", f"/api/tickets/{people['America/New_York'][1]['ticket_id']}/followups", sup)
        assert f["items"][0]["state"] == "sent" and f["items"][0]["message_id"] is not None


async def test_reminder_falls_due_for_its_agent(db_url: str) -> None:
    clock = FrozenClock(FRIDAY_20_UTC)
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        a = await h.agent("a@example.com", departments=["support"])
        _, tid, _ = await customer(h, a, "Please check again next week")
        status, bad = await h.api("POST", f"/api/tickets/{tid}/followups", a, json={"mode": "message", "in_days": 1})
        assert status == 422 and bad["error"]["field"] == "text"
        status, bad = await h.api("POST", f"/api/tickets/{tid}/followups", a, json={"mode": "reminder", "at": "2026-03-07T10:00:00"})
        assert status == 422 and bad["error"]["field"] == "at"
        status, f = await h.api("POST", f"/api/tickets/{tid}/followups", a, json={"mode": "reminder", "in_hours": 3})
        assert status == 201 and f["due_at"] == "2026-03-06T23:00:00+00:00"  # the agent's reminder: no open-hours shift
        ws = await agent_socket(h, a)
        clock.advance(hours=3)
        await h.hub.surveys.tick()
        ev = await next_event(ws, "followup.due")
        assert ev["followup"]["id"] == f["id"] and ev["agent_id"] == f["agent_id"]
        _, due = await h.api("GET", "/api/followups?state=due", a)
        assert [x["id"] for x in due["items"]] == [f["id"]]
        assert (await h.api("POST", f"/api/followups/{f['id']}/done", a))[0] == 200
        assert (await h.api("POST", f"/api/followups/{f['id']}/cancel", a))[0] == 409


async def complaint_resolved_with_fix(h: RunningHub, a: dict[str, str], text: str, lang: str) -> tuple[ChatClient, int]:
    chat, tid, _ = await customer(h, a, text, lang)
    assert (await h.api("POST", f"/api/tickets/{tid}/kind", a, json={"kind": "complaint"}))[0] == 200
    assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "Replaced the part."}))[0] == 201
    status, t = await h.api("POST", f"/api/tickets/{tid}/resolve", a, json={"fixed": True})
    assert status == 200 and t["status"] == "resolved"
    return chat, tid


async def test_checkin_after_a_fix_confirms_or_reopens(db_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc))  # Monday 10:00 in Bangkok
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, surveys={"enabled": False}), clock=clock) as h:
        a = await h.agent("a@example.com", departments=["support"])
        chat1, t1 = await complaint_resolved_with_fix(h, a, "The heater broke again", "en")
        chat2, t2 = await complaint_resolved_with_fix(h, a, "เครื่องทำน้ำอุ่นเสียอีกแล้ว", "th")
        _, fs = await h.api("GET", f"/api/tickets/{t1}/followups", a)
        [f] = fs["items"]
        assert (f["source"], f["mode"], f["due_at"]) == ("checkin", "message", "2026-03-05T03:00:00+00:00")
        clock.advance(days=3)
        await h.hub.surveys.tick()
        ask1 = await chat1.expect("message", author="system")
        assert "still working" in ask1["text"] and [b["payload"].split(":")[-1] for b in ask1["buttons"]] == ["yes", "no"]
        ask2 = await chat2.expect("message", author="system")
        assert "ยังใช้งานได้ดีไหม" in ask2["text"]
        await chat1.say(ask1["buttons"][1]["label"], payload=ask1["buttons"][1]["payload"])
        assert "reopened" in (await chat1.expect("message", author="system"))["text"]
        await chat2.say("ใช่ ใช้งานได้ดีแล้วค่ะ")
        assert "ขอบคุณ" in (await chat2.expect("message", author="system"))["text"]
        await h.settle()
        a = await h.login("a@example.com")
        _, x1 = await h.api("GET", f"/api/tickets/{t1}", a)
        _, x2 = await h.api("GET", f"/api/tickets/{t2}", a)
        assert x1["status"] == "assigned" and any("not fixed" in tr["why"] for tr in x1["trace"])
        assert x2["status"] == "resolved" and any("confirmed the fix" in tr["why"] for tr in x2["trace"])
        _, f1 = await h.api("GET", f"/api/tickets/{t1}/followups", a)
        _, f2 = await h.api("GET", f"/api/tickets/{t2}/followups", a)
        assert (f1["items"][0]["outcome"], f2["items"][0]["outcome"]) == ("reopened", "confirmed")


async def low_score(h: RunningHub, clock: FrozenClock, a: dict[str, str], text: str) -> tuple[ChatClient, int]:
    chat, tid, cid = await customer(h, a, text)
    assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "Done."}))[0] == 201
    assert (await h.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
    await chat.expect("message", author="agent")
    clock.advance(hours=2)
    await h.hub.surveys.tick()
    ask = await chat.expect("message", author="system")
    await chat.say("1", payload=ask["buttons"][0]["payload"])
    await chat.expect("message", author="system")
    return chat, cid


async def test_winback_list_opens_one_followup_per_customer_within_the_channel_limit(db_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc))
    config = hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, followups={"per_channel_per_hour": {"webchat": 1}})
    async with running_hub(config, clock=clock) as h:
        a = await h.agent("a@example.com", departments=["support"])
        await h.add_agent("sup@example.com", "supervisor", departments=["support"])
        chat1, c1 = await low_score(h, clock, a, "Parcel arrived broken")
        chat2, c2 = await low_score(h, clock, a, "Wrong size again")
        await h.hub.surveys.drain()
        clock.advance(days=31)
        sup = await h.login("sup@example.com")
        a = await h.login("a@example.com")
        assert (await h.api("GET", "/api/winback", a))[0] == 403
        status, lst = await h.api("GET", "/api/winback?days=30", sup)
        assert status == 200 and sorted(i["customer_id"] for i in lst["items"]) == sorted([c1, c2])
        assert all(i["days_quiet"] >= 30 for i in lst["items"])
        assert (await h.api("GET", "/api/winback?days=40", sup))[1]["items"] == []
        assert (await h.api("GET", "/api/winback?days=abc", sup))[0] == 422
        opened = []
        for cid in (c1, c2):
            status, f = await h.api("POST", "/api/winback", sup, json={"customer_id": cid, "mode": "message",
                                                                      "text": "We are sorry about last time: 20% off your next order."})
            assert status == 201 and f["source"] == "winback", f
            opened.append(f)
        assert (await h.api("POST", "/api/winback", sup, json={"customer_id": c1, "mode": "message", "text": "again"}))[0] == 409
        assert (await h.api("GET", "/api/winback?days=30", sup))[1]["items"] == []  # each has its follow-up now
        clock.at = max(datetime.fromisoformat(f["due_at"]) for f in opened)
        await h.hub.surveys.tick()
        _, f1 = await h.api("GET", f"/api/tickets/{opened[0]['ticket_id']}/followups", sup)
        _, f2 = await h.api("GET", f"/api/tickets/{opened[1]['ticket_id']}/followups", sup)
        states = sorted([f1["items"][-1]["state"], f2["items"][-1]["state"]])
        assert states == ["scheduled", "sent"]  # one webchat message per hour: the second waits
        later = [x for x in (f1["items"][-1], f2["items"][-1]) if x["state"] == "scheduled"][0]
        assert datetime.fromisoformat(later["due_at"]) > clock.at
        clock.at = datetime.fromisoformat(later["due_at"])
        clock.advance(hours=1)
        await h.hub.surveys.tick()
        _, f = await h.api("GET", f"/api/tickets/{later['ticket_id']}/followups", sup)
        assert f["items"][-1]["state"] == "sent"



async def test_rules_schedule_followups_on_resolution(db_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc))  # Monday 10:00 in Bangkok
    rules = [{"kind": "sales", "after": "1d", "mode": "message",
              "text": {"en": "Did you decide on the plan?", "th": "ตัดสินใจเรื่องแพ็กเกจได้หรือยังคะ"}},
             {"department": "billing", "after": "2h", "mode": "reminder"}]
    config = hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, followups={"rules": rules}, surveys={"enabled": False})
    async with running_hub(config, clock=clock) as h:  # rules work with surveys off
        a = await h.agent("a@example.com", departments=["support", "billing"])
        chat, tid, _ = await customer(h, a, "สนใจแพ็กเกจรายปีค่ะ", "th")
        assert (await h.api("POST", f"/api/tickets/{tid}/kind", a, json={"kind": "sales"}))[0] == 200
        assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "ส่งรายละเอียดให้แล้วค่ะ"}))[0] == 201
        assert (await h.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
        _, tid2, _ = await customer(h, a, "Invoice copy please")
        assert (await h.api("POST", f"/api/tickets/{tid2}/transfer", a, json={"department": "billing"}))[0] == 200
        assert (await h.api("POST", f"/api/tickets/{tid2}/resolve", a))[0] == 200
        await h.hub.surveys.tick()
        await h.hub.surveys.tick()  # a resolution gets its rules once
        _, f1 = await h.api("GET", f"/api/tickets/{tid}/followups", a)
        _, f2 = await h.api("GET", f"/api/tickets/{tid2}/followups", a)
        assert [(f["source"], f["mode"], f["due_at"]) for f in f1["items"]] == [("rule", "message", "2026-03-03T03:00:00+00:00")]
        assert [(f["source"], f["mode"]) for f in f2["items"]] == [("rule", "reminder")]
        clock.advance(days=1)
        await h.hub.surveys.tick()
        assert (await chat.expect("message", author="system"))["text"] == "ตัดสินใจเรื่องแพ็กเกจได้หรือยังคะ"


async def test_an_unanswered_survey_expires_and_a_late_tap_changes_nothing(db_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc))
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        a = await h.agent("a@example.com", departments=["support"])
        chat, tid, _ = await customer(h, a, "Where is my order")
        assert (await h.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "Shipped."}))[0] == 201
        assert (await h.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        ask = await chat.expect("message", author="system")
        clock.advance(days=3, minutes=1)
        await h.hub.surveys.tick()
        await chat.say("5", payload=ask["buttons"][4]["payload"])
        await h.settle()
        a = await h.login("a@example.com")
        _, res = await h.api("GET", f"/api/tickets/{tid}/surveys", a)
        assert (res["items"][0]["state"], res["items"][0]["score"]) == ("expired", None)
        _, t = await h.api("GET", f"/api/tickets/{tid}", a)
        assert t["status"] == "resolved" and any("after the survey closed" in x["why"] for x in t["trace"])
