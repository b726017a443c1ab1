"""A ticket's title from what the customer wrote: the first line of the first message with content, never a bare
greeting ("hi", "สวัสดีค่ะ", "سلام") or a thanks, which would name every ticket alike.  Imports nlp only."""
from __future__ import annotations

from nlp.smalltalk import recognise

MAX_TITLE = 200


def title_of(text: str, lang: str | None) -> str | None:
    """The title `text` gives a ticket, or None when it is only small talk (the next message names the ticket)."""
    first = text.strip().split("\n", 1)[0].strip()
    if not first:
        return None
    # The table lookup only (no encoder): this runs inside the intake's transaction for a new ticket.
    if recognise(text, lang or "en") is not None:
        return None
    return first[:MAX_TITLE]
