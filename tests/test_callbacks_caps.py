"""One caller cannot take every callback slot: caps per phone number and per chat visitor, and a per-IP limit on
bookings, each with a clear error."""
from __future__ import annotations

from hub.clock import FrozenClock
from tests.hubtest import running_hub
from tests.test_callbacks_helpers import MONDAY_7AM_BKK, booking, callback_config

SLOTS = [f"2027-03-0{d}T{h}:00+07:00" for d in (1, 2, 3) for h in ("10:00", "10:30", "11:00", "11:30")]


async def test_one_phone_holds_at_most_its_cap(sqlite_url: str) -> None:
    async with running_hub(callback_config(sqlite_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        results = [await h.api("POST", "/api/callbacks", json=booking(slot=s)) for s in SLOTS[:6]]
        codes = [status for status, _ in results]
        assert codes == [201, 201, 409, 409, 409, 409], codes
        err = results[2][1]["error"]
        assert err["code"] == "booking_limit" and err["field"] == "phone" and "cancel" in err["detail"]
        # A cancelled booking frees its place under the cap.
        first = results[0][1]
        token = first["manage_url"].split("t=")[1]
        assert (await h.api("POST", f"/api/callbacks/{first['id']}/cancel", json={"token": token}))[0] == 200
        assert (await h.api("POST", "/api/callbacks", json=booking(slot=SLOTS[6])))[0] == 201
        # The HTML form says the same in words.
        async with h.session.post(f"{h.url}/callback", data=booking(slot=SLOTS[7])) as r:
            assert r.status == 409 and "already has 2 calls booked" in await r.text()
        # ... and in the customer's language.
        async with h.session.post(f"{h.url}/callback", data={**booking(slot=SLOTS[7]), "lang": "th"}) as r:
            assert r.status == 409 and "หมายเลขนี้มีนัดโทรกลับอยู่แล้ว 2 ครั้ง" in await r.text()


async def test_one_chat_visitor_holds_at_most_its_cap(sqlite_url: str) -> None:
    async with running_hub(callback_config(sqlite_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        chat = await h.chat()
        await chat.say("call me")
        codes = []
        for i, slot in enumerate(SLOTS[:5]):
            status, body = await h.api("POST", "/api/callbacks", json=booking(slot=slot, phone=f"08123456{i}0", visitor_token=chat.token))
            codes.append(status)
        assert codes == [201, 201, 201, 409, 409], codes
        assert body["error"]["code"] == "booking_limit" and body["error"]["field"] == "visitor_token"


async def test_bookings_per_address_are_limited(sqlite_url: str) -> None:
    cfg = callback_config(sqlite_url, callback={"bookings_per_hour": 3})
    async with running_hub(cfg, clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        codes = [(await h.api("POST", "/api/callbacks", json=booking(slot=s, phone=f"08123457{i}0")))[0] for i, s in enumerate(SLOTS[:5])]
        assert codes == [201, 201, 201, 429, 429], codes
        status, body = await h.api("POST", "/api/callbacks", json=booking(slot=SLOTS[6], phone="12"))
        assert status == 422  # invalid requests are answered as such and do not count
