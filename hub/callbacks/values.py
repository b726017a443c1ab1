"""Parsing and showing the customer's values: phone numbers (E.164, masked for logs), IANA zones, times."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from hub.errors import Invalid
from hub.validation import year_in_range

ACTIVE = ("scheduled", "due", "claimed")  # a callback that still holds its place in a slot
FINAL = ("done", "cancelled", "unreachable")
OUTCOMES = ("reached", "no_answer", "wrong_number", "reschedule")


def phone_e164(raw: Any, region: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid("phone is required", field="phone")
    if len(raw) > 40:
        raise Invalid("phone is longer than 40 characters", field="phone")
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        raise Invalid("phone is not a phone number", field="phone") from None
    if not phonenumbers.is_valid_number(num):
        raise Invalid("phone is not a valid number (add the country code, e.g. +66 81 234 5678)", field="phone")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def mask(phone: str) -> str:
    """'+66812345678' -> '+66******678': enough for a person to recognise, useless to anyone reading logs."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


def zone(raw: Any, field: str = "tz") -> ZoneInfo:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid(f"{field} is required (an IANA zone such as Asia/Bangkok)", field=field)
    if len(raw) > 64 or raw.startswith("/") or ".." in raw:
        raise Invalid(f"{field} is not a known IANA time zone", field=field)
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"{field} is not a known IANA time zone (e.g. Asia/Bangkok)", field=field) from None


def parse_time(raw: Any, tz: ZoneInfo, field: str) -> datetime:
    """ISO 8601 with an offset, or a local time read in `tz`; returned in UTC."""
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid(f"{field} is required", field=field)
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(f"{field} must be an ISO 8601 time such as 2026-03-02T14:00:00+07:00", field=field) from None
    year_in_range(at.year, field)  # before any arithmetic: 0001-01-01 or 9999-12-31 would overflow it
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    return at.astimezone(timezone.utc)


def local(at: datetime, tz: ZoneInfo | str) -> str:
    z = ZoneInfo(tz) if isinstance(tz, str) else tz
    return at.astimezone(z).isoformat()


def human(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")
