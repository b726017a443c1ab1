"""Property tests: the mail parser, the Telegram update parser and the chat frame decoder never crash on anything
a sender can put in front of them, and what they hand on can always be stored (ids that fit, encodable text).
Bounded example counts keep the run to seconds; a failure found here is kept below as a fixed example."""
from __future__ import annotations

import copy
import json
import os
from datetime import datetime, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from telegram import Update

from channels.email import to_inbound
from channels.email.parse import broken_mail, parse_mail
from channels.telegram.parse import Answer, Deliver, Ignore, Me, Texts, parse_update
from channels.webchat import decode_frame
from hub.domain import PROVIDER_ID_MAX, Inbound
from tests.fake_telegram import load
from tests.mailtest import DATA

# HUB_FUZZ_EXAMPLES raises the count for a longer hunt (the suite's default keeps it to seconds).
FUZZ = settings(max_examples=int(os.environ.get("HUB_FUZZ_EXAMPLES", "150")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
ME = Me(123456, "acme_support_bot")
TEXT = st.text(st.characters(codec="utf-8"), max_size=80) | st.text(max_size=40)  # the second may hold lone surrogates
HEADER_NAMES = st.sampled_from(["From", "To", "Subject", "Message-ID", "References", "In-Reply-To", "Date", "Content-Type",
                                "Content-Transfer-Encoding", "Content-Disposition", "Auto-Submitted", "MIME-Version"])


def storable(i: Inbound) -> None:
    """What the store needs of any Inbound: ids that fit their columns, text PostgreSQL can take."""
    for value in (i.provider_id, *i.thread_refs):
        assert len(value) <= PROVIDER_ID_MAX and "\x00" not in value
        value.encode("utf-8")
    assert isinstance(i.text, str) and len(i.sender.external_id) <= 320
    i.text.encode("utf-8", "surrogatepass")


# -- mail ---------------------------------------------------------------------------------------------------------

@st.composite
def mails(draw: Any) -> bytes:
    """Mails built from real fixtures, random headers and random bodies, glued with random line ends."""
    if draw(st.booleans()):
        base = (DATA / draw(st.sampled_from(sorted(p.name for p in DATA.glob("*.eml"))))).read_bytes()
        cut = draw(st.integers(0, len(base)))
        return base[:cut] + draw(st.binary(max_size=200)) + base[cut:]
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(HEADER_NAMES).encode()
        value = draw(st.binary(max_size=120) | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")))
        lines.append(name + b": " + value)
    if draw(st.booleans()):
        lines.append(b"Content-Type: multipart/mixed; boundary=" + draw(st.binary(min_size=1, max_size=20)))
    body = draw(st.binary(max_size=400))
    return eol.join(lines) + eol + eol + body


@FUZZ
@given(mails())
@example(b"Message-ID: <" + b"a" * 3000 + b"@x>\r\n\r\nhi")  # finding 1: an id longer than the column
@example(b"Message-ID: " + b"<" * 600 + b"x@y" + b">" * 600 + b"\r\n\r\n")
@example(b"Subject: =?utf-8?b?4Liq4Lin4Lix\x0b?=\r\nFrom: \x1c@\x1d\r\n\r\n")
@example(b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: message/rfc822\r\n\r\n--x--")
@example(b"From: \x80somchai@example.co.th\r\n\r\nhi")  # found here: an 8-bit address stopped the mailbox
def test_any_mail_parses_to_a_storable_inbound(raw: bytes) -> None:
    parsed = parse_mail(raw, own_address="support@example.com", max_attachment=1024)
    storable(to_inbound(parsed, ref_prefix="imap:1:1"))
    storable(to_inbound(broken_mail(raw, "fuzz"), ref_prefix="imap:1:1"))


# -- Telegram -----------------------------------------------------------------------------------------------------

FIXTURES = sorted(p.stem for p in (DATA.parent / "telegram").glob("*.json"))


@st.composite
def updates(draw: Any) -> dict[str, Any]:
    """A recorded update with random values put where senders control them."""
    update = copy.deepcopy(load(draw(st.sampled_from(FIXTURES))))
    if isinstance(update, list):  # a file of several updates
        update = draw(st.sampled_from(update))
    body = update.get("message") or update.get("edited_message") or {}
    for key in ("text", "caption"):
        if draw(st.booleans()):
            body[key] = draw(TEXT)
    if body and draw(st.booleans()):
        body["entities"] = [{"type": draw(st.sampled_from(["mention", "bot_command", "url", "bold"])),
                             "offset": draw(st.integers(-5, 100)), "length": draw(st.integers(-5, 100))}]
    if body and draw(st.booleans()):
        body["contact"] = {"phone_number": draw(TEXT), "first_name": draw(TEXT),
                           "user_id": (body.get("from") or {}).get("id", 1)}
    if body and "from" in body and draw(st.booleans()):
        body["from"]["first_name"] = draw(TEXT)
        body["from"]["language_code"] = draw(TEXT)
    if "callback_query" in update and draw(st.booleans()):
        update["callback_query"]["data"] = draw(TEXT)
    if draw(st.booleans()):
        update["update_id"] = draw(st.integers(-(2**63), 2**63))
    return update


@FUZZ
@given(updates())
def test_any_update_parses_without_raising(data: dict[str, Any]) -> None:
    try:
        update = Update.de_json(copy.deepcopy(data), None)
    except Exception:
        return  # the library refused it: the poller and the webhook log and skip such updates
    event = parse_update(update, ME, Texts(), data)
    assert isinstance(event, (Deliver, Answer, Ignore))
    if isinstance(event, Deliver):
        storable(event.inbound)


# -- chat frames --------------------------------------------------------------------------------------------------

JSONISH = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=20)


@FUZZ
@given(st.one_of(
    TEXT,
    JSONISH.map(json.dumps),
    st.dictionaries(st.sampled_from(["type", "client_id", "text", "visitor_token", "payload", "name"]), JSONISH, max_size=5).map(json.dumps),
    st.integers(1, 5000).map(lambda n: "[" * n + "]" * n),
))
@example('{"type":"message","text":"\\ud800"}')  # finding 12: a lone surrogate
@example("[" * 8000)  # finding 12: nesting deeper than the parser allows
def test_any_frame_decodes_to_an_object_or_an_error(data: str) -> None:
    frame, (code, detail) = decode_frame(data)
    if frame is None:
        assert code in ("bad_json", "bad_frame", "bad_text") and detail
    else:
        assert isinstance(frame, dict)
        json.dumps(frame).encode("utf-8")  # whatever passes can be stored and echoed


def test_inbound_keys_are_stable() -> None:
    """The digest of a long id is the same every time, so a re-fetched mail is still a duplicate."""
    long_id = "<" + "z" * 900 + ">"
    now = datetime.now(timezone.utc)
    from hub.domain import Identity

    a = Inbound("email", long_id, Identity("email", "a@x.y"), "t", now, thread_refs=(long_id,))
    b = Inbound("email", long_id, Identity("email", "a@x.y"), "t", now)
    assert a.provider_id == b.provider_id == a.thread_refs[0] and a.provider_id.startswith("sha256:")
