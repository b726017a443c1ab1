"""Exporting one customer's data: a ZIP of JSON plus the attachments' bytes, notes marked internal, routing
decisions, callbacks and survey answers, in the customer's own script; admins only; recorded in the audit log."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from sqlalchemy import insert, select

from hub.clock import FrozenClock
from hub.store.schema import messages, surveys, tickets
from tests.dovecot import Dovecot, dovecot, wait_until  # noqa: F401  (fixture)
from tests.hubtest import RunningHub, running_hub
from tests.privacytest import customer_mail
from tests.test_callbacks_helpers import MONDAY_7AM_BKK
from tests.test_privacy_erase import _config

THAI = "สินค้าที่ได้รับไม่ตรงกับที่สั่ง"
PERSIAN = "کالای دریافتی با سفارش فرق دارد ۱۲۳"
PDF = b"%PDF-1.4 receipt \x00\x01\x02 bytes"


async def _export(h: RunningHub, headers: dict[str, str], cid: int) -> tuple[int, bytes, Any]:
    async with h.session.get(f"{h.url}/api/customers/{cid}/export", headers=headers) as r:
        return r.status, await r.read(), r.headers


async def test_export_holds_everything_about_the_customer(sqlite_url: str, dovecot: Dovecot) -> None:  # noqa: F811
    cfg = _config(sqlite_url, dovecot)
    cfg = cfg.model_copy(update={"channels": {**cfg.channels, "email": {
        **cfg.channels["email"], "imap": dovecot.imap_config()}}})  # mails stay in INBOX: attachments can be fetched
    async with running_hub(cfg, clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        admin = await h.agent("admin@example.com", "admin")
        sup = await h.agent("sup@example.com", "supervisor")
        await dovecot.append(customer_mail(sender="somying@example.co.th", name="สมหญิง ใจดี", message_id="th-exp-1@example.co.th",
                                           subject="สั่งผิด", body=f"{THAI}\n{PERSIAN}", attachment=("ใบเสร็จ.pdf", PDF)))

        async def stored() -> Any:
            async with h.hub.db.read() as conn:
                return (await conn.execute(select(tickets))).first()

        t = await wait_until(stored, timeout=90)
        await h.settle()
        await h.api("POST", f"/api/tickets/{t.id}/reply", admin, json={"text": "ขออภัยค่ะ <b>จะส่งใหม่</b>"})
        await h.api("POST", f"/api/tickets/{t.id}/notes", admin, json={"text": "ลูกค้าประจำ — internal"})
        status, cb = await h.api("POST", f"/api/tickets/{t.id}/callback", admin, json={
            "window_start": "2027-03-01T14:00:00", "window_end": "2027-03-01T15:00:00", "tz": "Asia/Bangkok",
            "phone": "+66 81 111 2222", "topic": "เปลี่ยนสินค้า"})
        assert status == 201, cb
        now = h.hub.clock.now()
        async with h.hub.db.write() as conn:
            await conn.execute(insert(surveys).values(
                ticket_id=t.id, customer_id=t.customer_id, resolved_at=now, channel="email", language="th",
                state="answered", score=2, comment="ช้ามาก", answers=1, token_hash="f" * 64, due_at=now,
                answered_at=now, created_at=now, updated_at=now))

        assert (await _export(h, sup, t.customer_id))[0] == 403
        status, blob, headers = await _export(h, admin, t.customer_id)
        assert status == 200 and headers["Content-Type"] == "application/zip"
        assert headers["Content-Disposition"].startswith(f'attachment; filename="customer-{t.customer_id}-')
        z = zipfile.ZipFile(io.BytesIO(blob))
        names = set(z.namelist())
        assert {"README.txt", "manifest.json", "customer.json", f"tickets/{t.id}.json", "callbacks.json",
                "surveys.json", "followups.json"} <= names
        customer = json.loads(z.read("customer.json"))
        assert customer["name"] == "สมหญิง ใจดี"
        assert {(i["channel"], i["external_id"]) for i in customer["identities"]} >= {("email", "somying@example.co.th")}
        ticket = json.loads(z.read(f"tickets/{t.id}.json"))
        texts = [m["text"] for m in ticket["messages"]]
        assert any(THAI in x and PERSIAN in x for x in texts) and "ขออภัยค่ะ <b>จะส่งใหม่</b>" in texts
        assert ticket["notes"] == [dict(ticket["notes"][0], text="ลูกค้าประจำ — internal", internal=True)]
        assert ticket["routing"] and all({"at", "what", "why"} <= set(r) for r in ticket["routing"])
        # Written as UTF-8, not escaped: the customer can read their own words.
        assert THAI.encode() in z.read(f"tickets/{t.id}.json")
        [att] = [n for n in names if n.startswith(f"attachments/{t.id}/")]
        assert z.read(att) == PDF and att.endswith(".pdf")
        [callback] = json.loads(z.read("callbacks.json"))
        assert callback["phone"] == "+66811112222" and callback["topic"] == "เปลี่ยนสินค้า"
        assert "manage_hash" not in callback and "request_key" not in callback
        [survey] = json.loads(z.read("surveys.json"))
        assert survey["score"] == 2 and survey["comment"] == "ช้ามาก" and "token_hash" not in survey
        manifest = json.loads(z.read("manifest.json"))
        assert manifest["counts"]["attachments"] == 1 and manifest["attachments_missing"] == []
        _, log = await h.api("GET", "/api/audit?action=customer.export", admin)
        [entry] = log["items"]
        assert entry["customer_id"] == t.customer_id and entry["detail"]["attachments"] == 1
        assert "สมหญิง" not in json.dumps(entry, ensure_ascii=False)


async def test_an_attachment_the_channel_cannot_return_is_listed_not_fatal(hub: RunningHub) -> None:
    admin = await hub.agent("admin@example.com", "admin")
    chat = await hub.chat(name="Ali")
    await chat.say("hello")
    await hub.settle()
    async with hub.hub.db.write() as conn:
        t = (await conn.execute(select(tickets))).one()
        await conn.execute(messages.update().where(messages.c.ticket_id == t.id).values(
            attachments=[{"name": "x.png", "content_type": "image/png", "size": 3, "ref": "nowhere:1"}]))
    status, blob, _ = await _export(hub, admin, t.customer_id)
    assert status == 200
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(blob)).read("manifest.json"))
    assert manifest["counts"]["attachments"] == 0
    assert manifest["attachments_missing"][0]["name"] == "x.png"
