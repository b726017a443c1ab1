"""The audit log: actions leave an entry with actor, time, target and address; only admins read it; it is CSV-
exportable; the database itself refuses to change or remove entries (SQLite and PostgreSQL)."""
from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from sqlalchemy import delete, text, update

from hub import audit
from hub.store.schema import audit_log
from tests.hubtest import hub_config, running_hub


async def _ticket(h: Any, words: str = "hello, where is my order?") -> int:
    chat = await h.chat(name="Somchai")
    ack = await chat.say(words)
    await h.settle()
    await chat.close()
    async with h.hub.db.read() as conn:
        return int((await conn.execute(text("SELECT ticket_id FROM messages WHERE id = :i"), {"i": ack["message_id"]})).scalar())


async def test_ticket_actions_are_recorded_with_actor_target_and_address(db_url: str) -> None:
    cfg = hub_config(db_url, server={"trusted_proxies": ["127.0.0.1"]})
    async with running_hub(cfg) as h:
        admin = await h.agent("admin@example.com", "admin")
        agent = await h.agent("agent@example.com", "agent")
        aid = (await h.api("GET", "/api/me", agent))[1]["id"]
        tid = await _ticket(h)
        fwd = {"X-Forwarded-For": "198.51.100.7"}
        for path, body in [("claim", None), ("reply", {"text": "on its way"}), ("notes", {"text": "checked stock"}),
                           ("resolve", None), ("reopen", None), ("transfer", {"department": "billing"})]:
            status, resp = await h.api("POST", f"/api/tickets/{tid}/{path}", {**agent, **fwd}, json=body or {})
            assert status in (200, 201), (path, resp)
        status, page = await h.api("GET", f"/api/audit?actor={aid}&target_type=ticket", admin)
        assert status == 200
        got = [(e["action"], e["target_id"], e["source"], e["actor_name"]) for e in reversed(page["items"])]
        assert got == [(a, str(tid), "198.51.100.7", "agent") for a in
                       ("ticket.claim", "ticket.reply", "ticket.note", "ticket.resolve", "ticket.reopen", "ticket.transfer")]
        assert all(e["customer_id"] is not None and e["at"].endswith("+00:00") for e in page["items"])
        # No customer words in the log: the reply and note texts are not there.
        assert "on its way" not in str(page) and "checked stock" not in str(page)
        # A failed action leaves no entry (it rolled back with the action).
        status, _ = await h.api("POST", f"/api/tickets/{tid}/resolve", admin)
        assert status == 200
        status, _ = await h.api("POST", f"/api/tickets/{tid}/resolve", admin)
        assert status == 409
        status, page = await h.api("GET", "/api/audit?action=ticket.resolve", admin)
        assert len(page["items"]) == 2


async def test_logins_failures_views_and_configuration_are_recorded(hub: Any) -> None:
    admin = await hub.agent("admin@example.com", "admin")
    await hub.api("POST", "/api/auth/login", json={"email": "admin@example.com", "password": "not-the-one"})
    await hub.api("POST", "/api/auth/login", json={"email": "nobody@example.com", "password": "whatever1"})
    status, created = await hub.api("POST", "/api/agents", admin, json={"name": "Nok", "email": "nok@example.com",
                                                                          "password": "long-enough-1", "role": "agent"})
    assert status == 201
    await hub.api("PATCH", f"/api/agents/{created['id']}", admin, json={"active": False})
    status, canned = await hub.api("POST", "/api/canned", admin, json={"title": "hi", "language": "th", "text": "สวัสดีค่ะ"})
    assert status == 201
    await hub.api("DELETE", f"/api/canned/{canned['id']}", admin)
    tid = await _ticket(hub)
    _, t = await hub.api("GET", f"/api/tickets/{tid}", admin)
    await hub.api("GET", f"/api/customers/{t['customer_id']}", admin)
    await hub.api("PATCH", f"/api/customers/{t['customer_id']}", admin, json={"name": "Somchai J.", "tier": "gold"})
    _, page = await hub.api("GET", "/api/audit?limit=500", admin)
    actions = [e["action"] for e in reversed(page["items"])]
    assert actions == ["auth.login", "auth.login_failed", "auth.login_failed", "agent.create", "agent.deactivate",
                       "canned.create", "canned.delete", "ticket.view", "customer.view", "customer.edit"]
    failed = [e for e in page["items"] if e["action"] == "auth.login_failed"]
    assert {e["actor_name"] for e in failed} == {"admin@example.com", "nobody@example.com"}
    assert all(e["actor_id"] is None and e["source"] == "127.0.0.1" for e in failed)
    edit = next(e for e in page["items"] if e["action"] == "customer.edit")
    assert edit["detail"] == {"fields": ["name", "tier"]} and "Somchai" not in str(page)
    # Filters: by prefix, by customer, by time window.
    _, only = await hub.api("GET", "/api/audit?action=agent.", admin)
    assert [e["action"] for e in only["items"]] == ["agent.deactivate", "agent.create"]
    _, mine = await hub.api("GET", f"/api/audit?customer={t['customer_id']}", admin)
    assert {e["action"] for e in mine["items"]} == {"ticket.view", "customer.view", "customer.edit"}
    _, none = await hub.api("GET", "/api/audit?since=2999-01-01T00:00:00%2B00:00", admin)
    assert none["items"] == []
    # Paging: newest first, the cursor goes on where the page ended, nothing repeats.
    seen, cursor = [], None
    while True:
        _, p = await hub.api("GET", "/api/audit?limit=3" + (f"&cursor={cursor}" if cursor else ""), admin)
        seen += [e["id"] for e in p["items"]]
        cursor = p["next"]
        if cursor is None:
            break
    assert seen == sorted(seen, reverse=True) and len(seen) == len(set(seen)) == len(page["items"])


async def test_only_admins_read_the_log_and_bad_filters_are_named(hub: Any) -> None:
    admin = await hub.agent("admin@example.com", "admin")
    sup = await hub.agent("sup@example.com", "supervisor")
    assert (await hub.api("GET", "/api/audit"))[0] == 401
    assert (await hub.api("GET", "/api/audit", sup))[0] == 403
    assert (await hub.api("GET", "/api/audit.csv", sup))[0] == 403
    for query, field in [("action=ticket.bogus", "action"), ("since=yesterday", "since"), ("since=2026-01-01T00:00:00", "since"),
                         ("actor=x", "actor"), ("limit=many", "limit")]:
        status, body = await hub.api("GET", f"/api/audit?{query}", admin)
        assert status == 422 and body["error"]["field"] == field, (query, body)
    # No write path exists on the API.
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        assert (await hub.api(method, "/api/audit", admin))[0] == 405


async def test_csv_export_is_filtered_safe_for_spreadsheets_and_itself_recorded(hub: Any) -> None:
    admin = await hub.agent("admin@example.com", "admin")
    # An attacker may choose the email a failed login records: it must not become a formula in a spreadsheet.
    await hub.api("POST", "/api/auth/login", json={"email": "=HYPERLINK(\"http://x\")@x", "password": "whatever1"})
    await hub.api("POST", "/api/auth/login", json={"email": "ผู้ใช้@example.com", "password": "whatever1"})
    async with hub.session.get(f"{hub.url}/api/audit.csv?action=auth.", headers=admin) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
        assert r.headers["Content-Disposition"].startswith("attachment;")
        body = (await r.read()).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["action"] for r in rows] == ["auth.login_failed", "auth.login_failed", "auth.login"]
    assert rows[0]["actor_name"] == "ผู้ใช้@example.com"
    assert rows[1]["actor_name"].startswith("'=")
    _, page = await hub.api("GET", "/api/audit?action=audit.export", admin)
    assert len(page["items"]) == 1 and page["items"][0]["detail"] == {"action": "auth."}


async def test_the_database_refuses_to_change_or_remove_entries(db_url: str) -> None:
    async with running_hub(hub_config(db_url)) as h:
        async with h.hub.db.write() as conn:
            eid = await audit.record(conn, "retention.run", actor=None, target_type="tickets", at=h.hub.clock.now())
        for stmt in (update(audit_log).where(audit_log.c.id == eid).values(actor_name="someone else"),
                     delete(audit_log).where(audit_log.c.id == eid)):
            with pytest.raises(Exception, match="append-only"):
                async with h.hub.db.write() as conn:
                    await conn.execute(stmt)
        if not h.hub.db.is_sqlite:
            with pytest.raises(Exception, match="append-only"):
                async with h.hub.db.write() as conn:
                    await conn.execute(text("TRUNCATE audit_log"))
        async with h.hub.db.read() as conn:
            row = (await conn.execute(audit_log.select().where(audit_log.c.id == eid))).one()
        assert row.actor_name == "system" and row.action == "retention.run"
        with pytest.raises(ValueError):
            async with h.hub.db.write() as conn:
                await audit.record(conn, "ticket.frobnicate", actor=None, target_type="ticket", at=h.hub.clock.now())
