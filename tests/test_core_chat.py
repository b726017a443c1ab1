"""Web chat end to end: hello, ack, resume, agent reply, bad frames, token isolation."""
from __future__ import annotations

import aiohttp
import pytest

from tests.hubtest import running_hub, hub_config


async def test_customer_chats_and_agent_answers(db_url: str) -> None:
    async with running_hub(hub_config(db_url)) as h:
        chat = await h.chat(name="Somchai", lang="th")
        ack = await chat.say("สวัสดีครับ สั่งของไปเมื่อวาน")
        assert ack["client_id"] == "c1" and ack["message_id"] > 0
        headers = await h.agent("agent@example.com")
        status, page = await h.api("GET", "/api/tickets?status=queued", headers)
        assert status == 200 and [t["id"] for t in page["items"]] == [ack["ticket_id"]]
        tid = ack["ticket_id"]
        assert (await h.api("POST", f"/api/tickets/{tid}/claim", headers))[0] == 200
        status, msg = await h.api("POST", f"/api/tickets/{tid}/reply", headers, json={"text": "ได้รับแล้วครับ"})
        assert status == 201 and msg["author"] == "agent"
        frame = await chat.expect("message")
        assert frame["text"] == "ได้รับแล้วครับ" and frame["author"] == "agent" and frame["id"] == msg["id"]
        await h.settle()
        status, ticket = await h.api("GET", f"/api/tickets/{tid}", headers)
        assert [m["delivery"] for m in ticket["messages"]] == [None, "sent"]
        assert ticket["status"] == "assigned" and ticket["first_response_at"]
        await chat.close()


async def test_reconnect_resumes_history_and_same_ticket(hub) -> None:
    chat = await hub.chat()
    first = await chat.say("hello")
    token = chat.token
    await chat.close()
    again = await hub.chat(visitor_token=token)
    assert again.token == token
    assert again.welcome["ticket_id"] == first["ticket_id"]
    assert [m["text"] for m in again.welcome["history"]] == ["hello"]
    second = await again.say("still there?")
    assert second["ticket_id"] == first["ticket_id"]


async def test_forged_token_reveals_nothing(hub) -> None:
    victim = await hub.chat()
    await victim.say("my secret order 12345")
    forged = await hub.chat(visitor_token="A" * 43)
    assert forged.welcome["history"] == [] and forged.token != "A" * 43
    other = await hub.chat(visitor_token=victim.token[:-1] + ("x" if victim.token[-1] != "x" else "y"))
    assert other.welcome["history"] == []


async def test_same_client_id_twice_stores_one_message(hub) -> None:
    chat = await hub.chat()
    a = await chat.say("once", client_id="dup-1")
    b = await chat.say("once", client_id="dup-1")
    assert a["message_id"] == b["message_id"]
    headers = await hub.agent("a@example.com")
    _, t = await hub.api("GET", f"/api/tickets/{a['ticket_id']}", headers)
    assert len(t["messages"]) == 1


async def test_bad_frames_get_errors_and_socket_stays_usable(hub) -> None:
    chat = await hub.chat()
    await chat.ws.send_str("{not json")
    assert (await chat.expect("error"))["code"] == "bad_json"
    await chat.ws.send_json({"type": "dance"})
    assert (await chat.expect("error"))["code"] == "unknown_type"
    await chat.ws.send_json(["a", "list"])
    assert (await chat.expect("error"))["code"] == "bad_frame"
    await chat.ws.send_json({"type": "message", "client_id": "x", "text": ""})
    assert (await chat.expect("error"))["code"] == "empty_text"
    await chat.ws.send_json({"type": "message", "client_id": "x", "text": "a" * (hub.config.server.max_text + 1)})
    assert (await chat.expect("error"))["code"] == "text_too_long"
    assert (await chat.say("fine after all that"))["message_id"]


async def test_message_before_hello_is_refused(hub) -> None:
    ws = await hub.session.ws_connect(f"{hub.url}/ws/chat")
    await ws.send_json({"type": "message", "client_id": "1", "text": "hi"})
    assert (await ws.receive_json())["code"] == "hello_first"
    await ws.close()


async def test_oversize_frame_closes_with_1009(hub) -> None:
    chat = await hub.chat()
    await chat.ws.send_str('{"type":"message","client_id":"big","text":"' + "x" * (hub.config.server.max_frame + 10) + '"}')
    msg = await chat.ws.receive(timeout=5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert chat.ws.close_code == 1009


async def test_html_is_stored_and_returned_as_data(hub) -> None:
    chat = await hub.chat(name="<script>alert(1)</script>")
    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    ack = await chat.say(evil)
    headers = await hub.agent("a@example.com")
    status, t = await hub.api("GET", f"/api/tickets/{ack['ticket_id']}", headers)
    assert t["messages"][0]["text"] == evil
    status, c = await hub.api("GET", f"/api/customers/{t['customer_id']}", headers)
    assert c["name"] == "<script>alert(1)</script>"
    # JSON API responses are never HTML the browser could render.
    async with hub.session.get(f"{hub.url}/api/tickets/{ack['ticket_id']}", headers=headers) as r:
        assert r.content_type == "application/json" and r.headers["X-Content-Type-Options"] == "nosniff"


async def test_two_customers_never_see_each_other(hub) -> None:
    a, b = await hub.chat(), await hub.chat()
    ta = await a.say("from a")
    tb = await b.say("from b")
    assert ta["ticket_id"] != tb["ticket_id"]
    headers = await hub.agent("a@example.com")
    await hub.api("POST", f"/api/tickets/{ta['ticket_id']}/reply", headers, json={"text": "for a only"})
    assert (await a.expect("message"))["text"] == "for a only"
    with pytest.raises(TimeoutError):
        await b.expect("message", timeout=0.5)
