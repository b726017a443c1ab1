"""Unchecked inputs answer 4xx naming the field, never 500: deep JSON, lone surrogates, ids and cursors beyond any
column, dates at the ends of the calendar; on the chat socket an error frame, and the socket stays open."""
from __future__ import annotations

import pytest

from hub.clock import FrozenClock
from tests.hubtest import RunningHub, running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

DEEP = "[" * 100_000 + "]" * 100_000
HUGE = str(2**63 + 5)


@pytest.fixture
async def h(db_url: str):  # type: ignore[no-untyped-def]
    async with running_hub(callback_config(db_url), clock=FrozenClock(MONDAY_7AM_BKK)) as running:
        yield running


async def raw(h: RunningHub, method: str, path: str, body: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    async with h.session.request(method, h.url + path, data=body.encode(),
                                 headers={"Content-Type": "application/json", **(headers or {})}) as r:
        return r.status, await r.json()


async def test_deep_json_and_lone_surrogates_on_rest(h: RunningHub) -> None:
    agent = await h.agent("a@example.com")
    chat = await h.chat()
    tid = (await chat.say("hello"))["ticket_id"]
    for path, headers in (("/api/auth/login", None), ("/contact", None), (f"/api/tickets/{tid}/reply", agent),
                          ("/api/callbacks", None)):
        status, body = await raw(h, "POST", path, '{"a":' + DEEP + "}", headers)
        assert status == 400 and "nests too deeply" in body["error"]["detail"], (path, body)
    cases = [
        ("/api/auth/login", '{"email":"a@example.com","password":"x\\ud800yyyyyy"}', "password", None),
        ("/contact", '{"name":"N","email":"n@example.com","message":"hi \\udc00"}', "message", None),
        ("/api/callbacks/1/cancel", '{"token":"\\ud800aaaaaaaaaaaaaaaaaaaaaaaa"}', "token", None),
        (f"/api/tickets/{tid}/reply", '{"text":"\\udfff"}', "text", agent),
    ]
    for path, body_text, field, headers in cases:
        status, body = await raw(h, "POST", path, body_text, headers)
        assert status == 422 and body["error"]["field"] == field, (path, body)
    status, _ = await raw(h, "POST", "/api/auth/login", '{"email":"a@example.com","password":"\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00\\ud83d\\ude00"}')
    assert status == 401  # a proper pair is just text


async def test_ids_and_cursors_beyond_any_column(h: RunningHub) -> None:
    agent = await h.agent("a@example.com")
    for method, path in (("GET", f"/api/tickets/{HUGE}"), ("GET", f"/api/tickets/{2**31}"), ("POST", f"/api/tickets/{HUGE}/claim"),
                         ("GET", f"/api/customers/{HUGE}"), ("GET", f"/api/callbacks/{HUGE}"), ("GET", f"/api/tickets?cursor={HUGE}"),
                         ("GET", f"/api/callbacks?cursor=1.{HUGE}"), ("GET", "/api/callbacks?cursor=99999999999999999999.1"),
                         ("GET", "/api/tickets/-1")):
        status, body = await h.api(method, path, agent)
        assert status == 422, (path, body)
    status, body = await h.api("POST", f"/api/callbacks/{HUGE}/cancel", json={"token": "x" * 24})
    assert status == 422 and body["error"]["field"] == "id"
    async with h.session.get(f"{h.url}/callback/{HUGE}?t=abc") as r:
        assert r.status == 404 and "not valid" in await r.text()


async def test_dates_at_the_ends_of_the_calendar(h: RunningHub) -> None:
    for day in ("9999-12-31", "0001-01-01"):
        status, body = await h.api("GET", f"/api/callbacks/slots?date={day}&tz=Asia/Bangkok")
        assert status == 422 and body["error"]["field"] == "date", body
    for slot in ("9999-12-31T23:30:00+07:00", "0001-01-01T00:00:00+07:00", "9999-12-31T23:59:59"):
        status, body = await h.api("POST", "/api/callbacks", json=booking(slot=slot))
        assert status == 422 and body["error"]["field"] == "slot", body
    status, body = await h.api("POST", "/api/callbacks", json=booking(slot=None, window_start="9999-12-31T23:00:00+00:00",
                                                                       window_end="9999-12-31T23:59:59+00:00"))
    assert status == 422 and body["error"]["field"] == "window_start"
    async with h.session.get(f"{h.url}/callback?date=9999-12-31&tz=Asia/Bangkok") as r:
        assert r.status == 200
    sup = await h.agent("sup@example.com", role="supervisor")
    for query in ("since=9999-12-31T23:59:59%2B00:00", "since=0001-01-01T00:00:00%2B00:00"):
        status, body = await h.api("GET", f"/api/reports/summary?{query}", sup)
        assert status == 422 and body["error"]["field"] == "since", body
    status, body = await h.api("GET", "/api/callbacks?due_before=0001-01-01T00:00:00%2B00:00", sup)
    assert status == 422 and body["error"]["field"] == "due_before"


async def test_chat_socket_answers_bad_frames_and_stays_open(h: RunningHub) -> None:
    chat = await h.chat()
    await chat.ws.send_str("[" * 8000)  # under the frame limit, far deeper than the parser allows
    assert (await chat.expect("error"))["code"] == "bad_json"
    await chat.ws.send_str('{"type":"message","client_id":"x","text":"\\ud800"}')
    assert (await chat.expect("error"))["code"] == "bad_text"
    await chat.ws.send_str('{"type":"message","client_id":"\\udc00","text":"hi"}')
    assert (await chat.expect("error"))["code"] == "bad_text"
    ack = await chat.say("still here")
    assert ack["message_id"]


async def test_cases_the_api_fuzzer_found(h: RunningHub) -> None:
    """Kept from schemathesis runs (tests/test_fuzz_api.py)."""
    agent = await h.agent("a@example.com", role="supervisor")
    chat = await h.chat()
    tid = (await chat.say("hello"))["ticket_id"]
    status, body = await h.api("POST", f"/api/tickets/{tid}/transfer", agent, json={"agent_id": -7992496934417373069312})
    assert status == 422 and body["error"]["field"] == "agent_id", body
    status, body = await h.api("PATCH", f"/api/customers/{1}", agent, json={"account_manager_id": 2**64})
    assert status == 422 and body["error"]["field"] == "account_manager_id", body
    for path in ("/contact", "/callback", "/callback/1"):
        async with h.session.post(h.url + path, data=b"name=&email=", headers={"Content-Type": "multipart/form-data"}) as r:
            assert r.status == 400, (path, r.status)
    ws = await h.session.ws_connect(f"{h.url}/ws/agent?token={agent['Authorization'][7:]}")
    await ws.send_json({"type": "typing", "ticket_id": 2**70})
    await ws.send_json({"type": "ping"})
    while (await ws.receive_json(timeout=5))["type"] != "pong":
        pass
    await ws.close()
