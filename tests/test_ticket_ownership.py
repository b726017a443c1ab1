"""A resolved ticket keeps its owner: another agent cannot take it with /claim (a supervisor may)."""
from __future__ import annotations

from tests.hubtest import RunningHub


async def test_claim_does_not_take_another_agents_resolved_ticket(hub: RunningHub) -> None:
    chat = await hub.chat()
    tid = (await chat.say("my order is late"))["ticket_id"]
    a = await hub.agent("a@example.com")
    b = await hub.agent("b@example.com")
    _, a_me = await hub.api("GET", "/api/me", a)
    assert (await hub.api("POST", f"/api/tickets/{tid}/claim", a))[0] == 200
    assert (await hub.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
    status, body = await hub.api("POST", f"/api/tickets/{tid}/claim", b)
    assert status == 409 and body["error"]["code"] == "conflict", body
    _, t = await hub.api("GET", f"/api/tickets/{tid}", a)
    assert t["status"] == "resolved" and t["assignee_id"] == a_me["id"]
    status, t = await hub.api("POST", f"/api/tickets/{tid}/claim", a)  # the owner may pick it up again
    assert status == 200 and t["status"] == "assigned" and t["assignee_id"] == a_me["id"]
    assert (await hub.api("POST", f"/api/tickets/{tid}/resolve", a))[0] == 200
    sup = await hub.agent("sup@example.com", role="supervisor")
    _, sup_me = await hub.api("GET", "/api/me", sup)
    status, t = await hub.api("POST", f"/api/tickets/{tid}/claim", sup)
    assert status == 200 and t["assignee_id"] == sup_me["id"]
