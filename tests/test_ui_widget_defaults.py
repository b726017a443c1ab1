"""The widget as a new team first sees it: colour, side, title and greeting from config; outside business hours it
says when the team is back; full screen on a phone; "talk to a person" gone once a person is talking."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hub.clock import FrozenClock
from tests.browser import PHONE, browser, hub_for, open_page  # noqa: F401  (browser is a fixture)
from tests.hubtest import hub_config

MONDAY_8PM_BKK = datetime(2027, 3, 1, 13, 0, tzinfo=timezone.utc)
WEEKDAYS = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}


def widget_config(db: str, callback: bool = False, **webchat: Any) -> Any:
    channels: dict[str, Any] = {"webchat": {"enabled": True, **webchat}}
    if callback:
        channels["callback"] = {"enabled": True}
    return hub_config(db, channels=channels, business_hours={"tz": "Asia/Bangkok", "weekly": WEEKDAYS, "holidays": []},
                      departments=[{"name": "support", "default": True}, {"name": "callbacks"}])


async def test_configured_look_greeting_and_hours_on_a_phone(browser: Any, sqlite_url: str) -> None:
    cfg = widget_config(sqlite_url, callback=True, color="#0f766e", title={"th": "คุยกับร้านสมใจ"},
                        greeting={"en": "Hello from Somjai shop!", "th": "สวัสดีค่ะ ร้านสมใจยินดีให้บริการค่ะ"})
    async with hub_for(browser, cfg, clock=FrozenClock(MONDAY_8PM_BKK)) as h:
        tab = await open_page(browser, h.url + "/chat", locale="th-TH", viewport=PHONE)
        p = tab.page
        await p.locator(".status.online").wait_for()
        panel = await p.locator("#hubchat-panel").bounding_box()
        assert panel == {"x": 0, "y": 0, "width": PHONE["width"], "height": PHONE["height"]}  # full screen
        assert await p.locator("#hubchat-title").text_content() == "คุยกับร้านสมใจ"
        assert await p.locator("header").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(15, 118, 110)"
        intro = p.locator(".msg.intro .text")
        text = await intro.text_content() or ""
        assert text.startswith("สวัสดีค่ะ ร้านสมใจยินดีให้บริการค่ะ")
        assert "ทีมงานจะกลับมาวันอังคาร" in text and "09:00" in text  # Monday evening: back Tuesday 09:00
        # The callback form does not squeeze the conversation away.
        await p.click("button.callback")
        log = await p.locator(".log").bounding_box()
        assert log["height"] > 150
        # In Persian: the same, right to left, the time in the visitor's calendar and digits.
        await p.click(".callback-form button.secondary")
        await p.select_option("select.lang", "fa")
        await p.locator(".status.online").wait_for()
        text = await intro.text_content() or ""
        assert "برمی‌گردند" in text and "۰۹:۰۰" in text
        assert await p.get_attribute("#hubchat-panel", "dir") == "rtl"
        assert tab.unexpected() == []


async def test_left_side_and_talk_to_a_person_hides_once_an_agent_writes(browser: Any, sqlite_url: str) -> None:
    async with hub_for(browser, widget_config(sqlite_url, position="left")) as h:
        tab = await open_page(browser, h.url + "/chat")
        p = tab.page
        await p.locator(".status.online").wait_for()
        box = await p.locator("#hubchat-panel").bounding_box()
        assert box["x"] < 40  # on the left
        assert "How can we help" in (await p.locator(".msg.intro .text").text_content() or "")
        talk = p.locator("button.talk")
        assert await talk.is_visible()
        assert await p.locator("button.callback").is_hidden()  # callbacks are off in this hub
        await p.fill("#hubchat-input", "Where is my order 4521?")
        await p.press("#hubchat-input", "Enter")
        await p.locator(".msg.from-customer .state.delivered").wait_for()
        headers = await h.agent("a@example.com")
        _, tickets = await h.api("GET", "/api/tickets", headers)
        tid = tickets["items"][0]["id"]
        await h.api("POST", f"/api/tickets/{tid}/claim", headers)
        await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "Hi, I'm checking it now."})
        await p.locator(".msg.from-agent").wait_for()
        assert await talk.is_hidden()
        # After a reload the history shows the agent, so the button stays hidden.
        await p.reload()
        await p.locator(".msg.from-agent").wait_for()
        assert await p.locator("button.talk").is_hidden()
        # A returning visitor with a conversation is not greeted again.
        assert "How can we help" not in (await p.locator(".log").text_content() or "")
        assert tab.unexpected() == []
