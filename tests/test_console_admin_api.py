"""What the console's admin and supervisor views stand on: agent management and canned-reply edits with their role
checks, the configured departments, and @mentions in notes (parsed, stored, delivered live, marked seen)."""
from __future__ import annotations

from typing import Any

from hub.mentions import Mentionable, find_mentions
from tests.hubtest import RunningHub, agent_socket, hub_config, next_event, running_hub
from tests.test_auth_sessions import closed_with

PEOPLE = [Mentionable(1, "Ana", "ana@example.com"), Mentionable(2, "Ana Lima", "lima@example.com"),
          Mentionable(3, "นก", "nok@example.com"), Mentionable(4, "مریم", "maryam@example.com")]


def test_mentions_are_found_by_name_or_email_in_every_script() -> None:
    assert find_mentions("@Ana please look", PEOPLE) == [1]
    assert find_mentions("@ana lima, and @ANA", PEOPLE) == [2, 1]  # the longest name wins; case does not matter
    assert find_mentions("ask @Anabel", PEOPLE) == []  # a longer word is someone else
    assert find_mentions("@นกช่วยดูหน่อยค่ะ", PEOPLE) == [3]  # Thai runs on without a space
    assert find_mentions("لطفاً @مریم، این را ببین", PEOPLE) == [4]
    assert find_mentions("(@nok) and @lima.", PEOPLE) == [3, 2]  # the part of the email before @
    assert find_mentions("write to ana@example.com", PEOPLE) == []  # an address is not a mention
    assert find_mentions("@Ana @Ana @ana", PEOPLE) == [1]
    assert find_mentions("no mention @ all, @", PEOPLE) == []


async def test_only_admins_manage_agents(hub: RunningHub) -> None:
    admin = await hub.agent("admin@example.com", role="admin")
    boss = await hub.agent("boss@example.com", role="supervisor")
    agent = await hub.agent("a@example.com")
    new = {"name": "Nok", "email": "nok@example.com", "role": "agent", "departments": ["billing"]}
    for who in (None, agent, boss):
        want = 401 if who is None else 403
        assert (await hub.api("POST", "/api/agents", who, json=new))[0] == want
        assert (await hub.api("PATCH", "/api/agents/3", who, json={"role": "admin"}))[0] == want
        assert (await hub.api("POST", "/api/agents/3/password", who, json={}))[0] == want
        assert (await hub.api("GET", "/api/agents?all=true", who))[0] == want
    assert (await hub.api("GET", "/api/agents", agent))[0] == 200

    status, made = await hub.api("POST", "/api/agents", admin, json=new)
    assert status == 201 and made["role"] == "agent" and made["departments"] == ["billing"]
    assert len(made["password"]) >= 12  # generated, shown once
    status, _ = await hub.api("POST", "/api/auth/login", json={"email": "nok@example.com", "password": made["password"]})
    assert status == 200
    assert (await hub.api("POST", "/api/agents", admin, json=new))[0] == 409
    for bad, field in (({"email": "x"}, "email"), ({"email": "b@x.org", "role": "root"}, "role"),
                       ({"email": "b@x.org", "departments": ["nowhere"]}, "departments"),
                       ({"email": "b@x.org", "password": "short"}, "password"), ({"email": "b@x.org", "capacity": 0}, "capacity")):
        status, body = await hub.api("POST", "/api/agents", admin, json=bad)
        assert status == 422 and body["error"]["field"] == field, (bad, body)

    status, changed = await hub.api("PATCH", f"/api/agents/{made['id']}", admin, json={"role": "supervisor", "name": "Nok S."})
    assert status == 200 and changed["role"] == "supervisor" and changed["name"] == "Nok S."
    _, me = await hub.api("GET", "/api/me", admin)
    status, body = await hub.api("PATCH", f"/api/agents/{me['id']}", admin, json={"role": "agent"})
    assert status == 409 and body["error"]["field"] == "role"
    assert (await hub.api("PATCH", "/api/agents/999", admin, json={"active": False}))[0] == 404
    assert (await hub.api("PATCH", f"/api/agents/{made['id']}", admin, json={}))[0] == 422

    # A reset password ends the agent's sessions; the generated one works, the old one no longer does.
    nok = await hub.login("nok@example.com", made["password"])
    ws = await agent_socket(hub, nok)
    status, reset = await hub.api("POST", f"/api/agents/{made['id']}/password", admin, json={})
    assert status == 200 and reset["password"] != made["password"]
    assert await closed_with(ws) == 4401
    assert (await hub.api("GET", "/api/me", nok))[0] == 401
    await hub.login("nok@example.com", reset["password"])
    status, body = await hub.api("POST", f"/api/agents/{made['id']}/password", admin, json={"password": "1234"})
    assert status == 422 and body["error"]["field"] == "password"
    status, body = await hub.api("POST", f"/api/agents/{made['id']}/password", admin, json={"password": "new-pass-word-9"})
    assert status == 200 and "password" not in body
    await hub.login("nok@example.com", "new-pass-word-9")

    # Deactivated agents leave the everyday list but stay in the admin's.
    await hub.api("PATCH", f"/api/agents/{made['id']}", admin, json={"active": False})
    _, everyday = await hub.api("GET", "/api/agents", agent)
    _, every = await hub.api("GET", "/api/agents?all=true", admin)
    assert made["id"] not in [a["id"] for a in everyday["items"]]
    assert next(a for a in every["items"] if a["id"] == made["id"])["active"] is False

    # Each change is in the audit log, by whom, with field names and no password.
    status, log = await hub.api("GET", f"/api/audit?action=agent.&target_id={made['id']}", admin)
    assert status == 200
    entries = [(e["action"], e["actor_id"], e["detail"]) for e in reversed(log["items"])]
    assert [a for a, _, _ in entries] == ["agent.create", "agent.update", "agent.password", "agent.password", "agent.deactivate"]
    assert {actor for _, actor, _ in entries} == {me["id"]}
    assert entries[1][2] == {"fields": ["name", "role"], "role_from": "agent", "role_to": "supervisor"}
    assert entries[0][2]["password_generated"] is True and entries[2][2] == {"generated": True}
    assert made["password"] not in str(log) and reset["password"] not in str(log) and "new-pass-word-9" not in str(log)


async def test_agent_changes_reach_open_consoles(hub: RunningHub) -> None:
    admin = await hub.agent("admin@example.com", role="admin")
    watcher = await agent_socket(hub, await hub.agent("a@example.com"))
    _, made = await hub.api("POST", "/api/agents", admin, json={"name": "<b>Nok</b>", "email": "nok@example.com", "password": "secret-pass-1"})
    ev = await next_event(watcher, "agent.updated")
    assert ev["agent"]["name"] == "<b>Nok</b>" and "password" not in ev["agent"] and "password_hash" not in ev["agent"]
    await hub.api("PATCH", f"/api/agents/{made['id']}", admin, json={"active": False})
    assert (await next_event(watcher, "agent.updated"))["agent"]["active"] is False
    await watcher.close()


async def test_supervisors_edit_and_delete_canned_replies(hub: RunningHub) -> None:
    agent = await hub.agent("a@example.com")
    boss = await hub.agent("s@example.com", role="supervisor")
    admin = await hub.agent("admin@example.com", role="admin")
    _, made = await hub.api("POST", "/api/canned", agent, json={"title": "Hi", "language": "en", "text": "Hello!"})
    ws = await agent_socket(hub, agent)
    assert (await hub.api("PATCH", f"/api/canned/{made['id']}", agent, json={"text": "x"}))[0] == 403
    assert (await hub.api("PATCH", f"/api/canned/{made['id']}", None, json={"text": "x"}))[0] == 401
    status, edited = await hub.api("PATCH", f"/api/canned/{made['id']}", boss, json={"title": "ทักทาย", "language": "th", "text": "สวัสดีค่ะ"})
    assert status == 200 and (edited["title"], edited["language"], edited["text"]) == ("ทักทาย", "th", "สวัสดีค่ะ")
    ev = await next_event(ws, "canned.changed")
    assert ev["id"] == made["id"] and ev["canned"]["text"] == "สวัสดีค่ะ"
    for bad, field in (({"title": " "}, "title"), ({"text": ""}, "text"), ({"language": "Thai!"}, "language"), ({}, "title")):
        status, body = await hub.api("PATCH", f"/api/canned/{made['id']}", boss, json=bad)
        assert status == 422 and body["error"]["field"] == field, (bad, body)
    assert (await hub.api("PATCH", "/api/canned/999", boss, json={"text": "x"}))[0] == 404
    assert (await hub.api("DELETE", f"/api/canned/{made['id']}", admin))[0] == 200
    assert (await next_event(ws, "canned.changed"))["canned"] is None
    assert (await hub.api("GET", "/api/canned", agent))[1]["items"] == []
    _, log = await hub.api("GET", f"/api/audit?action=canned.&target_id={made['id']}", admin)
    _, boss_me = await hub.api("GET", "/api/me", boss)
    assert [(e["action"], e["actor_role"]) for e in reversed(log["items"])] == [("canned.create", "agent"), ("canned.update", "supervisor"), ("canned.delete", "admin")]
    assert log["items"][1]["actor_id"] == boss_me["id"] and log["items"][1]["detail"] == {"fields": ["language", "text", "title"], "language": "th"}
    assert "สวัสดีค่ะ" not in str(log)  # the reply's text stays out of the log
    await ws.close()


async def test_departments_are_listed_with_their_names_per_language(sqlite_url: str) -> None:
    cfg = hub_config(sqlite_url, departments=[{"name": "support", "default": True},
                                             {"name": "billing", "label": {"th": "การเงิน", "fa": "مالی"}}])
    async with running_hub(cfg) as h:
        agent = await h.agent("a@example.com")
        status, body = await h.api("GET", "/api/departments", agent)
        assert status == 200
        assert body["items"] == [{"name": "support", "default": True, "label": {}},
                                 {"name": "billing", "default": False, "label": {"th": "การเงิน", "fa": "مالی"}}]
        assert (await h.api("GET", "/api/departments"))[0] == 401


async def test_a_mention_notifies_its_agent_live_and_later(db_url: str) -> None:
    """On SQLite and PostgreSQL."""
    async with running_hub(hub_config(db_url)) as hub:
        ana = await hub.agent("ana@example.com", name="Ana")
        bea = await hub.agent("bea@example.com", name="Bea")
        await hub.agent("nok@example.com", name="นก")
        chat = await hub.chat(name="Somchai")
        await chat.say("my parcel is lost")
        await hub.settle()
        tid = await _ticket(hub, ana)
        bea_ws = await agent_socket(hub, bea)
        status, note = await hub.api("POST", f"/api/tickets/{tid}/notes", ana, json={"text": "@Bea can you check <script>? @Ana too"})
        assert status == 201
        _, bea_me = await hub.api("GET", "/api/me", bea)
        assert note["mentions"] == [bea_me["id"]]  # never the author itself
        _, detail = await hub.api("GET", f"/api/tickets/{tid}", ana)
        assert detail["notes"][-1]["mentions"] == [bea_me["id"]]
        ev = await next_event(bea_ws, "mention")
        assert ev["mention"]["agent_id"] == bea_me["id"] and ev["mention"]["ticket_id"] == tid
        assert ev["mention"]["text"] == "@Bea can you check <script>? @Ana too" and ev["mention"]["subject"]
        await bea_ws.close()

        # Nok was not logged in: the mention waits for them.
        await hub.api("POST", f"/api/tickets/{tid}/notes", bea, json={"text": "@นกช่วยดูหน่อยค่ะ"})
        nok = await hub.login("nok@example.com")
        status, page = await hub.api("GET", "/api/mentions?unseen=true", nok)
        assert status == 200 and page["unseen"] == 1 and page["items"][0]["text"] == "@นกช่วยดูหน่อยค่ะ"
        mid = page["items"][0]["id"]
        # Only one's own mentions can be marked.
        status, body = await hub.api("POST", "/api/mentions/seen", bea, json={"ids": [mid]})
        assert status == 200 and body["changed"] == 0
        status, body = await hub.api("POST", "/api/mentions/seen", nok, json={"ticket_id": tid})
        assert status == 200 and body == {"changed": 1, "unseen": 0}
        assert (await hub.api("GET", "/api/mentions?unseen=true", nok))[1]["items"] == []
        assert len((await hub.api("GET", "/api/mentions", nok))[1]["items"]) == 1
        for bad in ({}, {"ids": "1"}, {"ids": [True]}, {"ticket_id": "x"}, {"ids": [1], "ticket_id": 1}):
            status, body = await hub.api("POST", "/api/mentions/seen", nok, json=bad)
            assert status == 422, (bad, body)
        assert (await hub.api("GET", "/api/mentions"))[0] == 401


async def _ticket(h: Any, headers: dict[str, str]) -> int:
    return (await h.api("GET", "/api/tickets", headers))[1]["items"][0]["id"]


async def test_a_deactivated_agents_open_tickets_go_back_to_the_queue(db_url: str) -> None:
    """On SQLite and PostgreSQL."""
    async with running_hub(hub_config(db_url)) as hub:
        admin = await hub.agent("admin@example.com", role="admin")
        ana = await hub.agent("ana@example.com", name="Ana")
        chats = []
        for text in ("first problem", "second problem", "third problem"):
            chats.append(await hub.chat())
            await chats[-1].say(text)
            await hub.settle()  # one at a time: ticket ids follow the chats' order
        first, second, third = sorted(t["id"] for t in (await hub.api("GET", "/api/tickets", ana))[1]["items"])
        for tid in (first, second, third):
            assert (await hub.api("POST", f"/api/tickets/{tid}/claim", ana))[0] == 200
        await hub.api("POST", f"/api/tickets/{second}/pending", ana)
        await hub.api("POST", f"/api/tickets/{third}/resolve", ana)
        watcher = await agent_socket(hub, admin)
        _, me = await hub.api("GET", "/api/me", ana)
        assert (await hub.api("PATCH", f"/api/agents/{me['id']}", admin, json={"active": False}))[0] == 200
        got: dict[int, Any] = {}
        # Other updates of these tickets (the resolve, SLA jobs) may still be on their way: wait for the releases.
        while not all(got.get(t, {}).get("assignee_id", 0) is None for t in (first, second)):
            ev = await next_event(watcher, "ticket.updated")
            got[ev["ticket"]["id"]] = ev["ticket"]
        assert (got[first]["status"], got[first]["assignee_id"]) == ("queued", None)
        assert (got[second]["status"], got[second]["assignee_id"]) == ("pending", None)  # still waiting on the customer
        _, detail = await hub.api("GET", f"/api/tickets/{first}", admin)
        assert detail["trace"][-1]["what"] == "released" and "deactivated by admin" in detail["trace"][-1]["why"]
        _, resolved = await hub.api("GET", f"/api/tickets/{third}", admin)
        assert resolved["status"] == "resolved" and resolved["assignee_id"] == me["id"]  # closed work keeps its author
        # When that customer writes again, the ticket goes to the queue, not back to the agent who left.
        await chats[2].say("it broke again")
        await hub.settle()
        _, reopened = await hub.api("GET", f"/api/tickets/{third}", admin)
        assert (reopened["status"], reopened["assignee_id"]) == ("queued", None)
        await watcher.close()
