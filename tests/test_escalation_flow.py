"""Classification through the whole conversation: a complaint after a greeting raises the ticket (kind, priority,
SLA, trace, agents and supervisors told), later calm messages never lower it, and the report counts agree; an
agent's kind correction is kept as a label."""
from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from hub.store.schema import jobs, labels
from tests.hubtest import agent_socket, hub_config, next_event, running_hub

ROUTING = {"complaint": {"priority": "high", "sla": {"first_response": "15m"}}}
OPENERS = {"en": "hi", "th": "สวัสดีค่ะ", "fa": "سلام"}
COMPLAINTS = {
    "en": "My order never arrived, I was charged twice and nobody answers my emails. This is unacceptable!",
    "th": "สั่งของไปสองอาทิตย์แล้วยังไม่ได้ของ โดนตัดเงินสองครั้ง โทรไปก็ไม่มีใครรับ แย่มากค่ะ",
    "fa": "سفارشم دو هفته‌ست نرسیده، دو بار هم پول از حسابم کم شده و هیچکس جواب نمیده! واقعا افتضاحه",
}


async def _ticket(h: Any, headers: dict[str, str], tid: int) -> dict[str, Any]:
    status, body = await h.api("GET", f"/api/tickets/{tid}", headers)
    assert status == 200, body
    return body


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
async def test_a_complaint_after_a_greeting_raises_the_ticket(db_url: str, lang: str) -> None:
    await _flow(db_url, lang)


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
async def test_the_same_with_the_sentence_encoder(sqlite_url: str, lang: str, encoder: object) -> None:
    await _flow(sqlite_url, lang)


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
async def test_the_same_with_the_classifier_in_its_own_process(sqlite_url: str, lang: str) -> None:
    await _flow(sqlite_url, lang, review={"worker": "process"})


async def _flow(db_url: str, lang: str, **over: Any) -> None:
    async with running_hub(hub_config(db_url, routing=ROUTING, **over)) as h:
        sup = await h.agent("sup@example.com", role="supervisor", departments=["support"])
        ws = await agent_socket(h, sup)
        chat = await h.chat(lang=lang)
        await chat.say(OPENERS[lang])
        await h.settle()
        status, listing = await h.api("GET", "/api/tickets", sup)
        tid = listing["items"][0]["id"]
        before = await _ticket(h, sup, tid)
        assert before["kind"] != "complaint" and before["priority"] == "normal", (lang, before)
        await chat.say(COMPLAINTS[lang])
        await h.settle()
        event = await next_event(ws, "ticket.escalated")
        assert event["ticket"]["id"] == tid and event["supervisors"], event
        after = await _ticket(h, sup, tid)
        assert after["kind"] == "complaint" and after["priority"] == "high", (lang, after)
        assert after["first_response_due"] < before["first_response_due"]
        whats = [(t["what"], t["why"]) for t in after["trace"]]
        assert any(w == "kind" and "raised to complaint" in why for w, why in whats), whats
        # A calm message later never lowers it.
        await chat.say({"en": "ok thanks", "th": "โอเคค่ะ ขอบคุณ", "fa": "باشه ممنون"}[lang])
        await h.settle()
        assert (await _ticket(h, sup, tid))["kind"] == "complaint"
        status, report = await h.api("GET", "/api/reports/summary", sup)
        assert status == 200
        assert report["by_kind"].get("complaint") == 1, report["by_kind"]
        await ws.close()
        await chat.close()


async def _sales_lead(h: Any) -> tuple[dict[str, str], int]:
    """An agent's headers and the ticket a sales question opened, once reviewed."""
    agent = await h.agent("a@example.com")
    chat = await h.chat(lang="en")
    await chat.say("Could you send me a quote for 200 units of the blue model?")
    await h.settle()
    return agent, (await h.api("GET", "/api/tickets", agent))[1]["items"][0]["id"]


async def test_agents_correct_the_kind_and_it_is_kept_as_a_label(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url, routing=ROUTING)) as h:
        agent, tid = await _sales_lead(h)
        status, body = await h.api("POST", f"/api/tickets/{tid}/kind", agent, json={"kind": "complaint"})
        assert status == 200 and body["kind"] == "complaint" and body["priority"] == "high", body
        status, body = await h.api("POST", f"/api/tickets/{tid}/kind", agent, json={"kind": "angry"})
        assert status == 422 and body["error"]["field"] == "kind"
        status, body = await h.api("POST", f"/api/tickets/{tid}/kind", agent, json={"kind": "sales"})
        assert status == 200 and body["kind"] == "sales"
        async with h.hub.db.read() as conn:
            rows = (await conn.execute(select(labels).order_by(labels.c.id))).all()
        assert [(r.kind, r.source) for r in rows] == [("complaint", "kind_changed"), ("sales", "kind_changed")]
        assert "200 units" in rows[0].text
        trace = (await _ticket(h, agent, tid))["trace"]
        assert any(t["what"] == "kind" and "set by a" in t["why"] for t in trace), trace


@pytest.mark.parametrize("lang", ["en", "th", "fa"])
async def test_a_message_not_reviewed_before_a_stop_is_reviewed_after_the_restart(
    db_url: str, lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The review runs after the commit; a hub that stops before it runs leaves the message marked in the database,
    and the next start reviews it (the complaint still raises its ticket)."""
    from hub.escalation import Escalator
    from hub.store.schema import messages

    cfg = hub_config(db_url, routing=ROUTING)
    reviewing = Escalator._review_batch

    async def never(self: Escalator, batch: Any) -> Any:  # the hub stops before any review finishes
        import asyncio

        await asyncio.Event().wait()

    monkeypatch.setattr(Escalator, "_review_batch", never)
    async with running_hub(cfg) as h:
        chat = await h.chat(lang=lang)
        await chat.say(OPENERS[lang])
        await chat.say(COMPLAINTS[lang])
        async with h.hub.db.read() as conn:
            pending = (await conn.execute(
                select(messages.c.text).where(messages.c.review_pending.is_(True)).order_by(messages.c.id))).scalars().all()
        assert pending == [OPENERS[lang], COMPLAINTS[lang]]
    monkeypatch.setattr(Escalator, "_review_batch", reviewing)
    async with running_hub(cfg) as h:
        sup = await h.agent("sup@example.com", role="supervisor", departments=["support"])
        await h.hub.escalator.drain()
        status, listing = await h.api("GET", "/api/tickets", sup)
        after = await _ticket(h, sup, listing["items"][0]["id"])
        assert after["kind"] == "complaint" and after["priority"] == "high", (lang, after)
        async with h.hub.db.read() as conn:
            left = (await conn.execute(select(messages.c.id).where(messages.c.review_pending.is_(True)))).all()
        assert left == []


async def test_a_complaints_later_messages_need_no_model(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a ticket is a complaint (and no bot reads its messages), its later messages are not classified: nothing
    they say can change it.  Their review marks are still cleared."""
    from hub.classifier_pool import ClassifierPool
    from hub.store.schema import messages

    classified: list[str] = []
    route = ClassifierPool.route

    async def counting(self: ClassifierPool, reqs: Any, lexical: bool, deadline: Any = None) -> Any:
        classified.extend(r.text for r in reqs)
        return await route(self, reqs, lexical, deadline)

    monkeypatch.setattr(ClassifierPool, "route", counting)
    async with running_hub(hub_config(sqlite_url, routing=ROUTING)) as h:
        sup = await h.agent("sup@example.com", role="supervisor", departments=["support"])
        chat = await h.chat(lang="en")
        await chat.say(OPENERS["en"])
        await chat.say(COMPLAINTS["en"])
        await h.settle()
        await h.hub.escalator.drain()
        tid = (await h.api("GET", "/api/tickets", sup))[1]["items"][0]["id"]
        assert (await _ticket(h, sup, tid))["kind"] == "complaint"
        assert COMPLAINTS["en"] in classified
        later = ["and I want a refund today", "still waiting!!", "is anyone there?"]
        for text in later:
            await chat.say(text)
        await h.settle()
        await h.hub.escalator.drain()
        assert not set(later) & set(classified), classified
        async with h.hub.db.read() as conn:
            left = (await conn.execute(select(messages.c.id).where(messages.c.review_pending.is_(True)))).all()
        assert left == []
        await chat.close()


def test_a_batch_that_would_miss_its_deadline_is_classified_without_the_encoder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    from datetime import datetime, timezone

    import nlp.encoder
    from hub import classifier_pool
    from hub.ports import RouteRequest

    class Encoder:
        per_text = 0.02

        def busy(self, texts: Any) -> bool:
            return False

        def estimate(self, texts: Any) -> float:
            return self.per_text * len(texts)

        def embed(self, texts: Any) -> Any:
            embedded.extend(texts)

    class Router:
        def route(self, req: RouteRequest) -> str:
            return req.detector or "full"

    embedded: list[str] = []
    monkeypatch.setattr(nlp.encoder, "load_encoder", lambda: Encoder())
    reqs = [RouteRequest(text=f"message {i}", channel="webchat", now=datetime.now(timezone.utc)) for i in range(5)]
    now = time.monotonic()
    # 5 texts at 20 ms each end 100 ms from now: in time for a deadline 1 s away, not for one 50 ms away.
    assert classifier_pool.route_all(Router(), reqs, False, now + 1.0) == ["full"] * 5
    assert len(embedded) == 5
    assert classifier_pool.route_all(Router(), reqs, False, now + 0.05) == ["model:lexical"] * 5
    assert classifier_pool.route_all(Router(), reqs, False, None) == ["full"] * 5  # no deadline: as before


def test_the_encoders_estimate_counts_only_texts_not_embedded_yet() -> None:
    from collections import OrderedDict

    import numpy as np

    from nlp.encoder import E5Encoder

    enc = object.__new__(E5Encoder)  # the estimate needs no model
    enc.per_text, enc._recent = 0.01, OrderedDict({"seen": np.zeros(3)})
    assert enc.estimate(["seen", "new", "new", "other"]) == pytest.approx(0.02)


async def test_a_kind_correction_racing_the_review_to_the_same_kind_succeeds(sqlite_url: str, monkeypatch: Any) -> None:
    """The review raised the ticket to a complaint between the agent's read and write: the agent asked for what it now
    is, so the correction succeeds (and is kept as a label) instead of failing with 409."""
    from dataclasses import replace as _replace

    from sqlalchemy import update

    from hub import labels as labels_mod
    from hub.store.schema import tickets
    async with running_hub(hub_config(sqlite_url, routing=ROUTING)) as h:
        agent, tid = await _sales_lead(h)
        get_ticket = labels_mod.store.get_ticket
        stale: list[Any] = []

        async def read_before_the_review(conn: Any, ticket_id: int) -> Any:
            t = await get_ticket(conn, ticket_id)
            if not stale:  # the agent's read: what it was before the review's write
                stale.append(t)
                await conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(kind="complaint"))
                return _replace(t, kind="sales")
            return t

        monkeypatch.setattr(labels_mod.store, "get_ticket", read_before_the_review)
        status, body = await h.api("POST", f"/api/tickets/{tid}/kind", agent, json={"kind": "complaint"})
        assert status == 200 and body["kind"] == "complaint", body
        status, body = await h.api("POST", f"/api/tickets/{tid}/kind", agent, json={"kind": "question"})
        assert status == 200 and body["kind"] == "question"  # an ordinary correction still goes through
        async with h.hub.db.read() as conn:
            kept = [r.kind for r in (await conn.execute(select(labels).where(labels.c.ticket_id == tid))).all()]
        assert "complaint" in kept


async def test_a_review_batch_raises_each_of_its_tickets_once_in_one_write(sqlite_url: str, monkeypatch: Any) -> None:
    """Complaints from several new conversations reviewed together: one transaction for the batch's changes, each
    ticket raised once (kind, trace), and each escalation announced once, after the commit."""
    import asyncio
    from datetime import datetime, timezone

    from hub import review_changes
    from hub.domain import Identity, Inbound

    applied: list[int] = []
    apply = review_changes.apply

    async def counted(hub: Any, changes: Any, now: Any, opened: Any = ()) -> None:
        applied.append(len(changes))
        await apply(hub, changes, now, opened)

    monkeypatch.setattr(review_changes, "apply", counted)
    from hub.sla import SlaJobs

    reads: list[set[str]] = []
    supervisors = SlaJobs._supervisors

    async def read(self: SlaJobs, conn: Any, departments: set[str]) -> list[int]:
        reads.append(departments)
        return await supervisors(self, conn, departments)

    monkeypatch.setattr(SlaJobs, "_supervisors", read)
    async with running_hub(hub_config(sqlite_url, routing=ROUTING)) as h:
        sup = await h.agent("sup@example.com", role="supervisor", departments=["support"])
        sup_id = (await h.api("GET", "/api/me", sup))[1]["id"]
        ws = await agent_socket(h, sup)
        texts = [COMPLAINTS[lang] for lang in ("en", "th", "fa")] * 2
        got = await asyncio.gather(*(h.hub.intake.deliver(Inbound(
            channel="webchat", provider_id=f"batch-{i}", sender=Identity("webchat", f"v-{i}"), text=text,
            received_at=datetime.now(timezone.utc))) for i, text in enumerate(texts)))
        await h.settle()
        tids = {a.ticket_id for a in got}
        assert len(tids) == 6
        assert max(applied) > 1  # reviewed together, written together
        assert len(reads) == sum(1 for n in applied if n)  # read once per batch (one department here)
        seen: list[int] = []
        for _ in tids:
            event = await next_event(ws, "ticket.escalated")
            seen.append(event["ticket"]["id"])
            assert event["supervisors"] == [sup_id]
        assert sorted(seen) == sorted(tids)
        for tid in tids:
            t = await _ticket(h, sup, tid)
            assert t["kind"] == "complaint" and t["priority"] == "high", t
            assert sum(1 for tr in t["trace"] if tr["what"] == "kind" and "raised to complaint" in tr["why"]) == 1
            # The batch's trace lines and SLA jobs are written together at its end: each ticket has its own, in
            # order, and its breach job is due at the complaint's deadline.
            whats = [tr["what"] for tr in t["trace"]]
            assert whats.index("kind") < whats.index("priority") < whats.index("sla"), whats
            async with h.hub.db.read() as conn:
                due = (await conn.execute(select(jobs.c.due_at).where(
                    jobs.c.key == f"sla:first_response:breach:{tid}", jobs.c.state == "pending"))).scalar_one()
            assert due.isoformat().replace("+00:00", "Z")[:19] == t["first_response_due"][:19], (due, t)
        await ws.close()
