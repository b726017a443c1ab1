"""Agent API: auth, roles, claim races, notes, transfer, status machine, contact form, limits."""
from __future__ import annotations

import asyncio

from tests.hubtest import hub_config, running_hub


async def test_requests_without_token_get_401_and_roles_limit(hub) -> None:
    status, body = await hub.api("GET", "/api/tickets")
    assert status == 401 and body["error"]["code"] == "unauthorized"
    status, _ = await hub.api("GET", "/api/tickets", {"Authorization": "Bearer forged"})
    assert status == 401
    agent = await hub.agent("agent@example.com")
    status, body = await hub.api("GET", "/api/reports/summary", agent)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, _ = await hub.api("POST", "/api/agents", agent, json={"name": "x", "email": "x@example.com", "password": "longenough"})
    assert status == 403
    admin = await hub.agent("admin@example.com", role="admin")
    status, created = await hub.api("POST", "/api/agents", admin, json={"name": "New", "email": "new@example.com", "password": "longenough", "role": "supervisor"})
    assert status == 201 and created["role"] == "supervisor"
    status, body = await hub.api("POST", "/api/agents", admin, json={"name": "x", "email": "bad", "password": "longenough"})
    assert status == 422 and body["error"]["field"] == "email"


async def test_wrong_password_and_login_rate_limit(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url, rate_limits={"login_per_minute": 3})) as h:
        await h.add_agent("a@example.com")
        codes = []
        for _ in range(5):
            status, _ = await h.api("POST", "/api/auth/login", json={"email": "a@example.com", "password": "wrong"})
            codes.append(status)
        assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


async def test_parallel_claims_exactly_one_wins(db_url: str) -> None:
    async with running_hub(hub_config(db_url)) as h:
        chat = await h.chat()
        tid = (await chat.say("help"))["ticket_id"]
        agents = [await h.agent(f"a{i}@example.com") for i in range(6)]
        results = await asyncio.gather(*(h.api("POST", f"/api/tickets/{tid}/claim", a) for a in agents))
        codes = sorted(s for s, _ in results)
        assert codes == [200] + [409] * 5
        _, t = await h.api("GET", f"/api/tickets/{tid}", agents[0])
        winners = [b["assignee_id"] for s, b in results if s == 200]
        assert t["assignee_id"] == winners[0]
        assert sum(1 for e in t["trace"] if e["what"] == "claimed") == 1


async def test_notes_are_never_sent_to_the_customer(hub) -> None:
    chat = await hub.chat()
    tid = (await chat.say("hi"))["ticket_id"]
    a = await hub.agent("a@example.com")
    status, note = await hub.api("POST", f"/api/tickets/{tid}/notes", a, json={"text": "VIP, be nice"})
    assert status == 201
    await hub.settle()
    _, t = await hub.api("GET", f"/api/tickets/{tid}", a)
    assert [n["text"] for n in t["notes"]] == ["VIP, be nice"]
    assert all(m["text"] != "VIP, be nice" for m in t["messages"])
    try:
        frame = await chat.expect("message", timeout=0.4)
    except TimeoutError:
        frame = None
    assert frame is None


async def test_transfer_resolve_reopen_and_invalid_moves(hub) -> None:
    chat = await hub.chat()
    tid = (await chat.say("invoice question"))["ticket_id"]
    a = await hub.agent("a@example.com")
    b_id = await hub.add_agent("b@example.com")
    status, body = await hub.api("POST", f"/api/tickets/{tid}/transfer", a, json={"department": "nowhere"})
    assert status == 422 and body["error"]["field"] == "department"
    status, t = await hub.api("POST", f"/api/tickets/{tid}/transfer", a, json={"department": "billing"})
    assert status == 200 and t["department"] == "billing" and t["status"] == "queued"
    status, t = await hub.api("POST", f"/api/tickets/{tid}/transfer", a, json={"agent_id": b_id})
    assert status == 200 and t["assignee_id"] == b_id and t["status"] == "assigned"
    # It is b's now: a plain agent may not resolve another agent's ticket.
    status, _ = await hub.api("POST", f"/api/tickets/{tid}/resolve", a)
    assert status == 409
    b = await hub.login("b@example.com")
    status, t = await hub.api("POST", f"/api/tickets/{tid}/resolve", b)
    assert status == 200 and t["status"] == "resolved" and t["resolved_at"]
    status, body = await hub.api("POST", f"/api/tickets/{tid}/resolve", b)
    assert status == 409 and body["error"]["code"] == "conflict"
    status, t = await hub.api("POST", f"/api/tickets/{tid}/reopen", b)
    assert status == 200 and t["status"] == "assigned"
    _, detail = await hub.api("GET", f"/api/tickets/{tid}", b)
    assert [e["what"] for e in detail["trace"]][-3:] == ["transferred", "resolved", "assigned"]


async def test_customer_message_reopens_resolved_ticket(hub) -> None:
    chat = await hub.chat()
    tid = (await chat.say("first"))["ticket_id"]
    a = await hub.agent("a@example.com")
    await hub.api("POST", f"/api/tickets/{tid}/reply", a, json={"text": "done"})
    await hub.api("POST", f"/api/tickets/{tid}/resolve", a)
    again = await chat.say("one more thing")
    assert again["ticket_id"] == tid
    _, t = await hub.api("GET", f"/api/tickets/{tid}", a)
    assert t["status"] == "assigned"


async def test_list_filters_search_and_paging(hub) -> None:
    a = await hub.agent("a@example.com")
    ids = []
    for i in range(5):
        chat = await hub.chat()
        ids.append((await chat.say(f"order number {i} ขอบคุณ"))["ticket_id"])
    status, page = await hub.api("GET", "/api/tickets?limit=2", a)
    assert [t["id"] for t in page["items"]] == ids[::-1][:2] and page["next"]
    status, page2 = await hub.api("GET", f"/api/tickets?limit=2&cursor={page['next']}", a)
    assert [t["id"] for t in page2["items"]] == ids[::-1][2:4]
    status, found = await hub.api("GET", "/api/tickets?q=number 3", a)
    assert [t["id"] for t in found["items"]] == [ids[3]]
    status, found = await hub.api("GET", "/api/tickets?q=ขอบคุณ&channel=webchat&status=queued", a)
    assert len(found["items"]) == 5
    status, body = await hub.api("GET", "/api/tickets?status=sleeping", a)
    assert status == 422 and body["error"]["field"] == "status"


async def test_contact_form_json_and_html(hub) -> None:
    status, body = await hub.api("POST", "/contact", json={"name": "Ali", "email": "ali@example.com", "message": "سلام، سفارشم نرسیده"})
    assert status == 201 and body["ticket_id"]
    status, page = await hub.api("POST", "/contact", data={"name": "<b>Eve</b>", "email": "eve@example.com", "message": "<script>x</script>hello", "submission_id": "abcdef123456"})
    assert status == 201 and "#" in page and "<script>" not in page
    status2, _ = await hub.api("POST", "/contact", data={"name": "Eve", "email": "eve@example.com", "message": "<script>x</script>hello", "submission_id": "abcdef123456"})
    a = await hub.agent("a@example.com")
    _, lst = await hub.api("GET", "/api/tickets?channel=email", a)
    assert len(lst["items"]) == 2  # the resubmitted form stored nothing new
    status, body = await hub.api("POST", "/contact", json={"email": "not-an-address", "message": "x"})
    assert status == 422 and body["error"]["field"] == "email"
    status, page = await hub.api("POST", "/contact", data={"email": "a@b.co", "message": ""})
    assert status == 422 and 'role="alert"' in page
    _, customer = await hub.api("GET", f"/api/customers/{lst['items'][0]['customer_id']}", a)
    # A form's address is where the answer goes, not a proven identity.
    assert customer["identities"] == [] and customer["unverified"][0]["channel"] == "email"


async def test_oversize_body_is_413(hub) -> None:
    a = await hub.agent("a@example.com")
    big = "x" * (hub.config.server.max_body + 10)
    status, body = await hub.api("POST", "/api/tickets/1/reply", {**a, "Content-Type": "application/json"}, data=big)
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_health_metrics_and_customer_view(hub) -> None:
    status, body = await hub.api("GET", "/healthz")
    assert status == 200 and body["status"] == "ok"
    chat = await hub.chat(name="Nok", email="nok@example.com")
    ack = await chat.say("hello")
    status, text = await hub.api("GET", "/metrics")
    assert status == 200 and "hub_http_request_seconds" in text
    a = await hub.agent("a@example.com")
    _, t = await hub.api("GET", f"/api/tickets/{ack['ticket_id']}", a)
    _, c = await hub.api("GET", f"/api/customers/{t['customer_id']}", a)
    assert {i["channel"] for i in c["identities"]} == {"webchat"}  # the typed email is display data only
    assert [(u["channel"], u["external_id"]) for u in c["unverified"]] == [("email", "nok@example.com")]
    assert all(i["external_id"] == "visitor" for i in c["identities"] if i["channel"] == "webchat")
    assert [x["id"] for x in c["tickets"]] == [ack["ticket_id"]]


async def test_agent_socket_pushes_queue_events(hub) -> None:
    a = await hub.agent("a@example.com")
    token = hub.tokens["a@example.com"]
    ws = await hub.session.ws_connect(f"{hub.url}/ws/agent?token={token}")
    assert (await ws.receive_json())["type"] == "hello"
    chat = await hub.chat()
    ack = await chat.say("new here")
    kinds = []
    while "message.created" not in kinds:
        ev = await ws.receive_json(timeout=5)
        kinds.append(ev["type"])
    assert "ticket.created" in kinds
    await hub.api("POST", f"/api/tickets/{ack['ticket_id']}/claim", a)
    while True:
        ev = await ws.receive_json(timeout=5)
        if ev["type"] == "ticket.updated":
            assert ev["ticket"]["assignee_id"] is not None
            break
    await chat.ws.send_json({"type": "typing"})
    while (ev := await ws.receive_json(timeout=5))["type"] != "typing":
        pass
    assert ev == {"type": "typing", "ticket_id": ack["ticket_id"], "author": "customer"}
    await ws.send_json({"type": "typing", "ticket_id": ack["ticket_id"]})
    assert (await chat.expect("typing"))["author"] == "agent"
    bad = await hub.session.get(f"{hub.url}/ws/agent?token=nope")
    assert bad.status == 401
    await ws.close()


async def test_summary_report(hub) -> None:
    sup = await hub.agent("sup@example.com", role="supervisor")
    chat = await hub.chat()
    tid = (await chat.say("hello"))["ticket_id"]
    await hub.api("POST", f"/api/tickets/{tid}/reply", sup, json={"text": "hi"})
    await hub.api("POST", f"/api/tickets/{tid}/resolve", sup)
    status, rep = await hub.api("GET", "/api/reports/summary", sup)
    assert status == 200 and rep["total"] == 1 and rep["by_status"] == {"resolved": 1}
    assert rep["by_channel"] == {"webchat": 1} and rep["first_response_seconds"]["count"] == 1
    assert rep["resolution_seconds"]["median"] is not None
    status, body = await hub.api("GET", "/api/reports/summary?since=yesterday", sup)
    assert status == 422 and body["error"]["field"] == "since"


async def test_public_endpoints_answer_allowed_origins_only(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url, server={"allowed_origins": ["https://shop.example"]})) as h:
        async with h.session.options(f"{h.url}/contact", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"}) as r:
            assert r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        async with h.session.post(f"{h.url}/contact", json={"email": "a@b.co", "message": "hi"}, headers={"Origin": "https://shop.example"}) as r:
            assert r.status == 201 and r.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        async with h.session.post(f"{h.url}/contact", json={"email": "a@b.co", "message": "hi"}, headers={"Origin": "https://evil.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers
        # Agent endpoints never answer cross-origin.
        async with h.session.get(f"{h.url}/api/tickets", headers={"Origin": "https://shop.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers


async def test_metrics_count_the_status_the_client_got(hub) -> None:
    """An error the hub turns into the contract's body (here 404) is counted under that status, not as a 500."""
    a = await hub.agent("a@example.com")
    status, body = await hub.api("GET", "/api/tickets/999999", a)
    assert status == 404 and body["error"]["code"] == "not_found"
    _, text = await hub.api("GET", "/metrics")
    lines = [ln for ln in text.splitlines() if ln.startswith("hub_http_request_seconds_count") and "/api/tickets/{" in ln]
    assert any('status="404"' in ln for ln in lines), lines
    assert not any('status="500"' in ln for ln in lines), lines
