"""The customer's language on the server: gettext catalogs read through Babel, and the browser catalogs.

Catalogs live in `hub/locale/`: `messages.pot` (the English source strings, extracted from the code with
`pybabel extract -F babel.cfg`), `LANG/LC_MESSAGES/messages.po` per language, and `LANG/web.json` per language for
the browser pages (console, widget).  A translator adds a language by adding both files; no code changes.  The
catalogs are read once, on first use, into plain dicts: a lookup on a request is one dict access.

A string is marked for extraction by calling `tr(lang, "English text", **values)` or `N_("English text")` (a
marker for strings kept in tables and translated later).  This module imports only the standard library and Babel.
"""
from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
SOURCE = "en"  # the language the code is written in: its catalog is the msgids themselves
_CODE = re.compile(r"^[a-z]{2,3}$")
# Languages whose readers expect their own digits in running text (Thai readers use 0-9 day to day).
NATIVE_DIGITS = {"fa": str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")}


def N_(msgid: str) -> str:
    """Marks a string for extraction without translating it (tables translated at the point of use)."""
    return msgid


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """English first, then every language with a catalog in hub/locale/, sorted."""
    found = sorted(
        p.name for p in LOCALE_DIR.iterdir()
        if p.is_dir() and _CODE.match(p.name) and ((p / "LC_MESSAGES" / "messages.po").exists() or (p / "web.json").exists())
    ) if LOCALE_DIR.exists() else []
    return (SOURCE, *[code for code in found if code != SOURCE])


@lru_cache(maxsize=None)
def _messages(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    # Fuzzy and empty entries are not translations yet: the English source shows instead.
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def tr(lang: str | None, msgid: str, /, **values: Any) -> str:
    """`msgid` in `lang` (English when there is no translation), with `{name}` placeholders filled in."""
    code = known(lang)
    if not code or code == SOURCE:
        return msgid.format(**values) if values else msgid
    text = _messages(code).get(msgid, msgid)
    if not values:
        return text
    native = NATIVE_DIGITS.get(code)
    if native:  # counts in the language's own digits; strings (phone numbers, links) stay as they are
        values = {k: str(v).translate(native) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in values.items()}
    return text.format(**values)


def known(lang: str | None) -> str | None:
    """The supported language code for a tag such as "th", "fa-IR" or "EN_us"; None when unsupported."""
    if not lang or not isinstance(lang, str):
        return None
    base = lang.strip().replace("_", "-").split("-")[0].lower()
    return base if base in languages() else None


def from_accept_language(header: str | None) -> str | None:
    """The supported language the browser prefers most (RFC 9110 quality values); None when none fits."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if q > 0:
            ranked.append((-q, i, tag))
    for _, _, tag in sorted(ranked):
        code = known(tag)
        if code:
            return code
    return None


def choose(query: str | None = None, given: str | None = None, accept_language: str | None = None) -> str:
    """The customer's language: `?lang=`, then the one the page or widget carried, then Accept-Language, then English."""
    return known(query) or known(given) or from_accept_language(accept_language) or SOURCE


@lru_cache(maxsize=None)
def direction(lang: str) -> str:
    try:
        return "rtl" if Locale.parse(lang).text_direction == "rtl" else "ltr"
    except (UnknownLocaleError, ValueError):
        return "ltr"


@lru_cache(maxsize=None)
def display_name(lang: str) -> str:
    """The language's name in itself ("ไทย", "فارسی"), from CLDR through Babel."""
    try:
        name = Locale.parse(lang).get_display_name(lang) or lang
    except (UnknownLocaleError, ValueError):
        return lang
    return name[:1].upper() + name[1:] if name[:1].isascii() else name


@lru_cache(maxsize=None)
def web_catalog(lang: str) -> dict[str, str]:
    """The browser strings of `lang` (LANG/web.json), English filling any gap."""
    base = _read_json(SOURCE)
    if lang == SOURCE:
        return base
    return {**base, **{k: v for k, v in _read_json(lang).items() if isinstance(v, str) and v}}


def _read_json(lang: str) -> dict[str, str]:
    path = LOCALE_DIR / lang / "web.json"
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object of key -> text")
    return data


def languages_json() -> dict[str, dict[str, str]]:
    return {code: {"name": display_name(code), "dir": direction(code)} for code in languages()}
