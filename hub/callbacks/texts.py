"""What the customer is told about their callback; translations in hub/locale (English when unknown)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hub import dates
from hub.i18n import N_, tr

TEXTS: dict[str, str] = {
    "confirmed": N_("Your callback is booked: we will call {phone} between {start} and {end} ({tz})."),
    "manage": N_("To cancel or change the time: {url}"),
    "reminder": N_("Reminder: we will call {phone} between {start} and {end} ({tz})."),
    "rescheduled": N_("Your callback was moved: we will call {phone} between {start} and {end} ({tz})."),
    "cancelled": N_("Your callback for {start} ({tz}) is cancelled."),
    "unreachable": N_("We tried to call {phone} {attempts} times but could not reach you. Write to us here or book a new time."),
    "offer": N_("Pick a time for our call ({tz}):"),
    "no_slots": N_("There are no free call times at the moment. Write to us here and an agent will answer."),
    "need_contact": N_("Please share your phone number first (attach, then Contact), then pick the time again."),
    "taken": N_("That time was just taken or has passed. These are still free:"),
}


def say(key: str, lang: str | None, **values: object) -> str:
    return tr(lang, TEXTS[key], **values)


def window(start: datetime, end: datetime, tz: str, lang: str | None) -> dict[str, str]:
    """`start`, `end` and `tz` for a notice: the day and time in the customer's language and calendar (Buddhist
    year in Thai, Solar Hijri in Persian), the end as a time of that day; the zone keeps its name."""
    return {"start": dates.when(start, tz, lang), "end": dates.clock(end.astimezone(ZoneInfo(tz)), lang), "tz": tz}
