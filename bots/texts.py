"""What the bot says: short, polite, plain text (channels render it as they can).

The English source is here; the translations live in the server catalogs (hub/locale), read through hub.i18n; times
through hub.dates.  Both are leaves of the core (standard library, Babel, jdatetime), so bots/ stays free of the
rest of the hub and no import cycle can form.  Pure functions.  Languages without a catalog fall back to English.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from hub.dates import clock
from hub.i18n import N_, NATIVE_DIGITS, known, languages, tr

__all__ = ["t", "LANGS", "format_wait", "queue_notice_text", "email_ack_text", "feedback_reply", "did_you_mean_text"]

LANGS = languages()  # the languages with a catalog: English, Thai, Persian

_T: dict[str, str] = {
    "did_it_help": N_("Did this answer your question?"),
    "did_it_help_text": N_("Did this answer your question? Reply yes or no."),
    "did_you_mean": N_("I'm not quite sure what you mean. Did you mean one of these?"),
    "did_you_mean_text": N_("Reply with the number of your choice, or describe your question in other words."),
    "none_of_these": N_("None of these"),
    "yes": N_("Yes, thanks"),
    "no": N_("No, talk to a person"),
    "glad": N_("Glad I could help! Anything else, just ask."),
    "rephrase": N_('Sorry, I\'m not sure I understood. Could you say it another way? '
                   'Or type "agent" to talk to a person.'),
    "handoff": N_("I'm passing you to a member of our team. They'll reply here as soon as they can."),
    "handoff_complaint": N_("I'm sorry about this. I've passed your message to our team, "
                            "and a person will look into it shortly."),
    "email_ack_head": N_("This is an automatic reply: we have received your message "
                         "and a member of our team will answer you personally."),
    "email_ack_likely": N_("Meanwhile, this may already answer your question:"),
    "queue_position": N_("Thanks for waiting. You're number {position} in the queue."),
    "queue_next": N_("Thanks for waiting. You're next in line."),
    "queue_wait": N_("Expected wait: about {wait}."),
    "closed": N_("Our team is offline right now and will be back {when}. Your message is saved and we'll reply then."),
    "callback_offer": N_("Prefer a call? Ask for a callback and pick a time that suits you."),
    "minutes": N_("{n} min"),
    "hours": N_("{n} h"),
    "at": N_("on {day} at {time}"),
}
# Weekday names as the "at" text reads them (the Thai one without the "วัน" CLDR puts in front of it).
_DAYS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"), N_("Sunday"))


def t(key: str, lang: str | None, **values: object) -> str:
    return tr(lang, _T[key], **values)


def format_wait(wait: timedelta, lang: str | None) -> str:
    minutes = max(1, round(wait.total_seconds() / 60))
    if minutes < 90:
        return t("minutes", lang, n=minutes)
    return t("hours", lang, n=round(minutes / 60))


def queue_notice_text(lang: str | None, position: int | None, wait: timedelta | None, open_now: bool,
                      next_opening: datetime | None, offer_callback: bool) -> str:
    """One short status message for a queued customer (see bots.policy.queue_notice)."""
    parts: list[str] = []
    if not open_now:
        when = ""
        if next_opening is not None:
            day = tr(lang, _DAYS[next_opening.weekday()])
            when = t("at", lang, day=day, time=clock(next_opening, lang))
        parts.append(t("closed", lang, when=when).replace("  ", " "))
    else:
        if position is not None and position <= 1:
            parts.append(t("queue_next", lang))
        elif position is not None:
            parts.append(t("queue_position", lang, position=position))
        if wait is not None:
            parts.append(t("queue_wait", lang, wait=format_wait(wait, lang)))
    if offer_callback:
        parts.append(t("callback_offer", lang))
    return " ".join(parts)


def email_ack_text(lang: str | None, answers: list[str]) -> str:
    """The single automatic acknowledgement on email, with the likely answers (if any) below it."""
    lines = [t("email_ack_head", lang)]
    if answers:
        lines += ["", t("email_ack_likely", lang), ""]
        lines += [f"- {a}" for a in answers]
    return "\n".join(lines)


def did_you_mean_text(lang: str | None, titles: list[str], with_buttons: bool) -> str:
    """The question that offers the closest entries; without buttons the choices are numbered in the text."""
    if with_buttons:
        return t("did_you_mean", lang)
    digits = NATIVE_DIGITS.get(known(lang) or "")
    lines = [t("did_you_mean", lang), ""]
    for i, title in enumerate(titles, 1):
        n = str(i).translate(digits) if digits else str(i)
        lines.append(f"{n}. {title}")
    lines += ["", t("did_you_mean_text", lang)]
    return "\n".join(lines)


def feedback_reply(lang: str | None) -> str:
    return t("glad", lang)
