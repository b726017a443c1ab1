"""Satisfaction surveys in the chat widget (the sweep is run by hand: scheduler_interval keeps the worker idle): asked once per resolution after the delay, 1-5 inline then a comment,
in the customer's language; a low score or a complaining comment opens a linked complaint for the supervisor; a
new question after the survey continues as a normal message; bot-only chats and switched-off departments are not
asked, and the ticket says why."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hub.clock import FrozenClock
from tests.hubtest import ChatClient, RunningHub, hub_config, running_hub

START = datetime(2026, 3, 2, 3, 0, tzinfo=timezone.utc)


async def resolved_chat(h: RunningHub, clock: FrozenClock, text: str, lang: str = "en") -> tuple[ChatClient, dict[str, str], int]:
    """A widget customer whose ticket an agent answered and resolved: (chat, agent headers, ticket id)."""
    chat = await h.chat(lang=lang)
    ack = await chat.say(text)
    tid = ack["ticket_id"]
    headers = await h.login("agent@example.com")
    status, _ = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "Done, sorry for the trouble."})
    assert status == 201
    await chat.expect("message", author="agent")
    status, t = await h.api("POST", f"/api/tickets/{tid}/resolve", headers)
    assert status == 200 and t["status"] == "resolved", t
    return chat, headers, tid


async def surveys_of(h: RunningHub, headers: dict[str, str], tid: int) -> dict[str, Any]:
    status, body = await h.api("GET", f"/api/tickets/{tid}/surveys", headers)
    assert status == 200, body
    return body


async def trace_of(h: RunningHub, headers: dict[str, str], tid: int) -> list[str]:
    _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
    return [f"{x['what']}: {x['why']}" for x in t["trace"]]


async def test_widget_low_score_and_comment_open_a_linked_complaint(db_url: str) -> None:
    clock = FrozenClock(START)
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        sup = await h.add_agent("sup@example.com", "supervisor", departments=["support"])
        await h.add_agent("agent@example.com", departments=["support"])
        chat, headers, tid = await resolved_chat(h, clock, "My order 4411 never arrived")
        await h.hub.surveys.tick()
        assert (await surveys_of(h, headers, tid))["items"][0]["state"] == "scheduled"  # not before the delay
        clock.advance(hours=1, seconds=1)
        await h.hub.surveys.tick()
        ask = await chat.expect("message", author="system")
        assert "How satisfied" in ask["text"] and [b["label"] for b in ask["buttons"]] == ["1", "2", "3", "4", "5"]
        # A reload (a new socket with the same token) shows the question with its buttons, not as plain text.
        again = await h.chat(visitor_token=chat.token)
        assert again.welcome["history"][-1]["id"] == ask["id"] and again.welcome["history"][-1]["buttons"] == ask["buttons"]
        assert all("buttons" not in m for m in again.welcome["history"][:-1])
        await again.ws.close()
        await h.hub.surveys.tick()  # a second sweep asks nothing more
        await chat.say("1", payload=ask["buttons"][0]["payload"])
        prompt = (await chat.expect("message", author="system"))["text"]
        assert prompt.index("sorry") < prompt.index("anything you would like to add")
        await chat.say("The courier was rude and nobody called me back")
        assert "Thank you for your feedback" in (await chat.expect("message", author="system"))["text"]
        await h.settle()
        await h.hub.surveys.drain()
        body = await surveys_of(h, headers, tid)
        [s] = body["items"]
        assert (s["state"], s["score"], s["comment"], s["via"], s["channel"]) == (
            "answered", 1, "The courier was rude and nobody called me back", "webchat", "webchat")
        assert s["answers"] == 2 and s["agent_id"] is not None and s["department"] == "support"
        assert body["summary"]["csat"] == 0.0
        # The answers did not reopen the ticket; the low score opened one complaint, linked, for the supervisor.
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert t["status"] == "resolved"
        cid = s["complaint_ticket_id"]
        assert cid is not None
        sup_headers = await h.login("sup@example.com")
        _, c = await h.api("GET", f"/api/tickets/{cid}", sup_headers)
        assert (c["kind"], c["department"], c["assignee_id"], c["priority"]) == ("complaint", "support", sup, "high")
        assert c["first_response_due"] is not None and c["resolution_due"] is not None
        assert any(f"#{tid}" in x["why"] for x in c["trace"])
        assert any("Score: 1/5" in n["text"] for n in c["notes"])
        assert any(f"complaint follow-up #{cid}" in x for x in await trace_of(h, headers, tid))
        await h.hub.surveys.complaints.reconsider()
        async with h.hub.db.read() as conn:
            from sqlalchemy import func, select

            from hub.store.schema import tickets

            n = (await conn.execute(select(func.count()).select_from(tickets).where(tickets.c.parent_id == tid))).scalar_one()
        assert n == 1  # once per survey, however often the sweep looks


async def test_persian_typed_digit_good_score_and_a_new_question_continues(db_url: str) -> None:
    clock = FrozenClock(START)
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        await h.add_agent("agent@example.com", departments=["support"])
        chat, headers, tid = await resolved_chat(h, clock, "سفارش من هنوز نرسیده است", lang="fa")
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        ask = await chat.expect("message", author="system")
        assert "راضی" in ask["text"] and [b["label"] for b in ask["buttons"]] == ["۱", "۲", "۳", "۴", "۵"]
        await chat.say("۵")  # typed, with a Persian digit, instead of tapping
        assert "نکته" in (await chat.expect("message", author="system"))["text"]
        await chat.say("آیا می‌توانم سفارش تازه‌ای ثبت کنم؟")  # a new question, not a comment
        await h.settle()
        await h.hub.surveys.drain()
        [s] = (await surveys_of(h, headers, tid))["items"]
        assert (s["score"], s["comment"], s["language"], s["complaint_ticket_id"]) == (5, None, "fa", None)
        _, t = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert t["status"] != "resolved"  # the question reopened the conversation as usual
        assert t["messages"][-1]["text"] == "آیا می‌توانم سفارش تازه‌ای ثبت کنم؟"


async def test_thai_complaint_comment_after_a_middle_score(db_url: str) -> None:
    clock = FrozenClock(START)
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        await h.add_agent("agent@example.com", departments=["support"])
        chat, headers, tid = await resolved_chat(h, clock, "สินค้ายังไม่มาส่งเลย", lang="th")
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        ask = await chat.expect("message", author="system")
        assert "พอใจ" in ask["text"]
        await chat.say("3", payload=ask["buttons"][2]["payload"])
        await chat.expect("message", author="system")
        await chat.say("แย่มาก พนักงานพูดจาไม่สุภาพ ผิดหวังกับบริการมาก")
        await h.settle()
        await h.hub.surveys.drain()
        [s] = (await surveys_of(h, headers, tid))["items"]
        assert s["score"] == 3 and s["comment"].startswith("แย่มาก")
        assert s["complaint_ticket_id"] is not None  # the classifier read the comment as a complaint


async def test_one_survey_per_resolution_and_none_for_a_reopened_ticket(db_url: str) -> None:
    clock = FrozenClock(START)
    async with running_hub(hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}), clock=clock) as h:
        await h.add_agent("agent@example.com", departments=["support"])
        chat, headers, tid = await resolved_chat(h, clock, "Where is my invoice")
        await h.hub.surveys.tick()
        status, _ = await h.api("POST", f"/api/tickets/{tid}/reopen", headers)
        assert status == 200
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        [s] = (await surveys_of(h, headers, tid))["items"]
        assert s["state"] == "cancelled" and "reopened" in s["reason"]
        status, _ = await h.api("POST", f"/api/tickets/{tid}/resolve", headers)
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        await h.hub.surveys.tick()
        items = (await surveys_of(h, headers, tid))["items"]
        assert [i["state"] for i in items] == ["cancelled", "sent"]
        ask = await chat.expect("message", author="system")
        assert ask["buttons"][0]["payload"] == f"survey:{items[1]['id']}:s:1"


async def test_bot_only_chats_and_switched_off_departments_are_not_asked(db_url: str) -> None:
    clock = FrozenClock(START)
    config = hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, departments=[{"name": "support", "default": True, "surveys": False}, {"name": "billing"}])
    async with running_hub(config, clock=clock) as h:
        await h.add_agent("agent@example.com", departments=["support"])
        chat, headers, tid = await resolved_chat(h, clock, "Where is my parcel")
        other = await h.chat(lang="en")
        tid2 = (await other.say("hello, just looking"))["ticket_id"]
        assert (await h.api("POST", f"/api/tickets/{tid2}/transfer", headers, json={"department": "billing"}))[0] == 200
        assert (await h.api("POST", f"/api/tickets/{tid2}/resolve", headers))[0] == 200
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        [s] = (await surveys_of(h, headers, tid))["items"]
        assert s["state"] == "not_sent" and "department support" in s["reason"]
        [s2] = (await surveys_of(h, headers, tid2))["items"]
        assert s2["state"] == "not_sent" and "only the bot" in s2["reason"]
        assert any("survey: none sent" in x for x in await trace_of(h, headers, tid2))


async def test_nps_second_question_in_thai(db_url: str) -> None:
    clock = FrozenClock(START)
    config = hub_config(db_url, scheduler_interval=3600, tickets={"closing_message": {}}, surveys={"nps": True})
    async with running_hub(config, clock=clock) as h:
        await h.add_agent("agent@example.com", departments=["support"])
        chat, headers, tid = await resolved_chat(h, clock, "ขอใบกำกับภาษีย้อนหลังค่ะ", lang="th")
        clock.advance(hours=2)
        await h.hub.surveys.tick()
        ask = await chat.expect("message", author="system")
        await chat.say("5", payload=ask["buttons"][4]["payload"])
        nps = await chat.expect("message", author="system")
        assert "แนะนำ" in nps["text"] and [b["label"] for b in nps["buttons"]] == [str(n) for n in range(11)]
        await chat.say("9", payload=nps["buttons"][9]["payload"])
        assert "มีอะไรอยากบอก" in (await chat.expect("message", author="system"))["text"]
        await chat.say("รวดเร็วดีมากค่ะ")
        assert "ขอบคุณสำหรับความคิดเห็น" in (await chat.expect("message", author="system"))["text"]
        await h.settle()
        body = await surveys_of(h, headers, tid)
        s = body["items"][0]
        assert (s["score"], s["nps"], s["comment"], s["answers"]) == (5, 9, "รวดเร็วดีมากค่ะ", 3)
        assert body["summary"]["nps"] == 100.0 and body["summary"]["csat"] == 100.0
