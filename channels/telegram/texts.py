"""Texts the channel answers by itself (/start, /help) and splitting long replies at Telegram's limit.

Imports hub.i18n only, a leaf of the core (standard library and Babel): the channel stays free of the rest of the hub.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping

from hub.i18n import N_, known, tr

MAX_TEXT = 4096  # Telegram counts UTF-16 code units

# The English source; the translations live in the server catalogs (hub/locale), read through hub.i18n.
GREETING = N_("Hello! Write your question here and our support team will answer in this chat. "
              "Send /human at any time to talk to a person.")
HELP = N_("Just write your message here; photos, documents, voice messages and your location are welcome too. "
          "Send /human to ask for a person from our team.")


def language(code: str | None) -> str | None:
    """Telegram's IETF tag ("pt-br", "fa-IR") reduced to its primary language, lower case."""
    if not code:
        return None
    primary = code.replace("_", "-").split("-", 1)[0].strip().lower()
    return primary[:10] or None


def pick(msgid: str, overrides: Mapping[str, str], lang: str | None) -> str:
    """The configured text for the language (`channels.telegram.greeting` / `help`), else the catalog's."""
    key = known(lang) or "en"
    return overrides.get(key) or tr(key, msgid)


def _units(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` UTF-16 units, cut at a paragraph, line or word boundary when there is one.

    A word longer than the limit is cut hard, but never between a base letter and its combining marks (Thai vowel
    and tone marks, Persian diacritics), so no part starts with a dangling mark.
    """
    text = text.strip()
    if not text:
        return []
    parts: list[str] = []
    while _units(text) > limit:
        cut = _fit(text, limit)
        head = text[:cut]
        best = -1
        for sep in ("\n\n", "\n", " "):
            pos = head.rfind(sep)
            if pos > 0:
                best = pos
                break
        if best <= 0:
            best = cut
            while best > 1 and unicodedata.category(text[best]).startswith("M"):
                best -= 1
        part, text = text[:best].rstrip(), text[best:].lstrip()
        if part:
            parts.append(part)
    if text:
        parts.append(text)
    return parts


def _fit(text: str, limit: int) -> int:
    """The longest prefix (in code points) that fits `limit` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return i
    return len(text)
