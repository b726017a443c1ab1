"""The translation catalogs are complete: every browser key and every server message has a Thai and a Persian
text, the template matches the code, and the pages' JavaScript asks only for keys that exist."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from hub import i18n
from hub.extract import messages

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "hub" / "locale"
STATIC = ROOT / "hub" / "web" / "static"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TRANSLATED = [code for code in i18n.languages() if code != "en"]


def test_thai_and_persian_are_offered_with_their_direction() -> None:
    assert {"en", "th", "fa"} <= set(i18n.languages())
    meta = i18n.languages_json()
    assert meta["fa"] == {"name": "فارسی", "dir": "rtl"}
    assert meta["th"] == {"name": "ไทย", "dir": "ltr"}


def _web(lang: str) -> dict[str, str]:
    return json.loads((LOCALE / lang / "web.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_browser_key_is_translated(lang: str) -> None:
    en, other = _web("en"), _web(lang)
    missing = sorted(k for k in en if not str(other.get(k, "")).strip())
    assert not missing, f"{lang}/web.json lacks {missing}"
    extra = sorted(set(other) - set(en))
    assert not extra, f"{lang}/web.json has keys English does not: {extra}"
    for k, text in en.items():
        assert set(PLACEHOLDER.findall(other[k])) == set(PLACEHOLDER.findall(text)), f"{lang}: placeholders of {k}"
        # Words are translated; names and acronyms ("Telegram", "SLA {in}", "NPS {nps}/10") may stay as they are.
        if re.search(r"[a-z]{3,}", PLACEHOLDER.sub("", text)) and text != "Telegram":
            assert other[k] != text, f"{lang}: {k} is still English"


def _pot_ids() -> set[str]:
    with (LOCALE / "messages.pot").open("rb") as f:
        return {m.id for m in read_po(f) if m.id}


def test_template_matches_the_code() -> None:
    found = {msg for _, _, msg, *_ in extract_from_dir(str(ROOT), method_map=[
        ("hub/**.py", "hub.extract:extract"), ("channels/**.py", "hub.extract:extract"),
        ("bots/**.py", "hub.extract:extract"), ("routing/**.py", "hub.extract:extract")])}
    pot = _pot_ids()
    assert found - pot == set(), "new strings: run pybabel extract (see babel.cfg) and translate them"
    assert pot - found == set(), "strings no longer used: run pybabel extract (see babel.cfg)"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_server_message_is_translated(lang: str) -> None:
    with (LOCALE / lang / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale=lang)
    done = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(_pot_ids() - set(done))
    assert not missing, f"{lang}/LC_MESSAGES/messages.po lacks {missing}"
    for msgid, text in done.items():
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(msgid)), f"{lang}: placeholders of {msgid!r}"
        assert text != msgid, f"{lang}: {msgid!r} is still English"


def test_the_extractor_sees_into_f_strings() -> None:
    src = 'x = f"<p>{e(tr(lang, \'Hello there\'))}</p>"\ny = N_("Marked")\nz = tr(lang, name)\n'
    assert sorted(m for _, _, m in messages(src)) == ["Hello there", "Marked"]


def test_pages_ask_only_for_keys_that_exist() -> None:
    en = _web("en")
    asked: set[str] = set()
    for js in STATIC.glob("*.js"):
        src = js.read_text(encoding="utf-8")
        if js.name == "widget.js":
            asked |= {"widget." + k for k in re.findall(r'\bt\("([\w.]+\w)"', src)}
        else:
            asked |= set(re.findall(r'\bt\("([\w.]+\w)"', src))
    assert asked - set(en) == set()


def test_lookup_and_choice() -> None:
    assert i18n.tr("th", "Contact us") == "ติดต่อเรา"
    assert i18n.tr("fa-IR", "Contact us") == "تماس با ما"
    assert i18n.tr("de", "Contact us") == "Contact us"
    assert i18n.choose(None, None, "de-DE,fa;q=0.8,th;q=0.9") == "th"
    assert i18n.choose("fa", "th", "th") == "fa"
    assert i18n.choose("xx", "th", "fa") == "th"
    assert i18n.choose(None, None, "th;q=0, de") == "en"
