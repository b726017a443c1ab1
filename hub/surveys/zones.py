"""The customer's own time: their zone (when known), and the company's open hours read in that zone."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import BusinessHours
from hub.store.schema import callbacks, customers
from hub.surveys.texts import digits
from routing.calendar import BusinessCalendar, ClosedCalendarError


def valid_zone(name: str | None) -> str | None:
    if not name or not isinstance(name, str) or len(name) > 64:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


# The zone of a customer's latest callback booking (ix_callbacks_customer).
LATEST_BOOKED_ZONE = (select(callbacks.c.tz).where(callbacks.c.customer_id == bindparam("cid"))
                      .order_by(callbacks.c.id.desc()).limit(1))


async def customer_zone(conn: AsyncConnection, customer_id: int, default: str) -> str:
    """The zone the customer gave (customers.tz), else the one of their latest callback booking, else `default`."""
    tz = (await conn.execute(select(customers.c.tz).where(customers.c.id == customer_id))).scalar()
    if valid_zone(tz):
        return str(tz)
    tz = (await conn.execute(LATEST_BOOKED_ZONE, {"cid": customer_id})).scalar()
    return str(tz) if valid_zone(tz) else default


def local_text(at: datetime, tz: str, lang: str | None) -> str:
    return digits(at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M"), lang) + f" ({tz})"


def next_open(at: datetime, tz: str, hours: BusinessHours) -> datetime:
    """`at`, or the next moment the company's hours are open in the customer's zone (never at night for them)."""
    try:
        return BusinessCalendar(hours.model_copy(update={"tz": tz})).next_open(at)
    except ClosedCalendarError:
        return at
