"""Ticket titles skip greetings: the first message with content names the ticket, in every language."""
from __future__ import annotations

import pytest

from tests.hubtest import hub_config, running_hub


@pytest.mark.parametrize("lang,greeting,question", [
    ("en", "hi", "My parcel 4521 has not arrived"),
    ("th", "สวัสดีค่ะ", "พัสดุหมายเลข 4521 ยังไม่มาส่งเลยค่ะ"),
    ("fa", "سلام", "سفارش ۴۵۲۱ من هنوز نرسیده است"),
])
async def test_the_first_message_with_content_names_the_ticket(sqlite_url: str, lang: str, greeting: str, question: str) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        chat = await h.chat(lang=lang)
        ack = await chat.say(greeting)
        await h.settle()
        headers = await h.agent("a@example.com")
        _, t = await h.api("GET", f"/api/tickets/{ack['ticket_id']}", headers)
        assert t["subject"] is None
        await chat.say(question)
        await chat.say("and one more thing")
        await h.settle()
        _, t = await h.api("GET", f"/api/tickets/{ack['ticket_id']}", headers)
        assert t["subject"] == question


async def test_a_greeting_with_a_question_names_the_ticket_at_once(sqlite_url: str) -> None:
    async with running_hub(hub_config(sqlite_url)) as h:
        chat = await h.chat(lang="th")
        ack = await chat.say("สวัสดีครับ ขอสอบถามเรื่องการคืนสินค้า")
        headers = await h.agent("a@example.com")
        _, t = await h.api("GET", f"/api/tickets/{ack['ticket_id']}", headers)
        assert t["subject"] == "สวัสดีครับ ขอสอบถามเรื่องการคืนสินค้า"
