"""The email parser, charset fallback, quote stripping, loop detection and composer, fed directly (no servers)."""
from __future__ import annotations

import os
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from channels.email import build, to_inbound
from channels.email.charset import decode
from channels.email.parse import parse_mail
from channels.email.quote import strip_reply
from channels.email.smtp import compose, reply_subject
from hub.domain import Author, Identity, Outbound
from tests.mailtest import fixture

TH = "สวัสดีครับ ผมสั่งสินค้าไปเมื่อวานแต่ยังไม่ได้รับเลย"
FA = "سلام، سفارش من هنوز نرسیده است. لطفا پیگیری کنید"


def inbound(name: str, **replace: str):  # type: ignore[no-untyped-def]
    return to_inbound(parse_mail(fixture(name, **replace), own_address="support@example.com"), ref_prefix="imap:1:1")


@pytest.mark.parametrize(
    "text,codec",
    [(TH, "tis-620"), (TH, "cp874"), (FA.replace("ی", "ي").replace("ک", "ك"), "cp1256"),
     ("Здравствуйте, мой заказ ещё не пришёл", "cp1251"), ("Здравствуйте, мой заказ ещё не пришёл", "koi8-r"),
     ("您好，我的订单还没有到，请帮我查一下", "gb2312"), ("您好，我的訂單還沒有到，請幫我查一下", "big5"),
     ("Grüße aus München, das Café ist geschlossen", "cp1252")],
)
@pytest.mark.parametrize("declared", [None, "iso-8859-1", "utf-8", "x-unknown-charset"])
def test_wrong_or_missing_charset_is_detected(text: str, codec: str, declared: str | None) -> None:
    assert decode(text.encode(codec), declared)[0] == text


def test_declared_charset_is_trusted_when_it_fits() -> None:
    assert decode("日本語のメール".encode("shift_jis"), "shift_jis")[0] == "日本語のメール"
    assert decode(b"plain ascii", None) == ("plain ascii", "ascii")
    assert decode(b"a\x00b", "utf-8")[0] == "ab"


def test_thai_tis620_and_utf8() -> None:
    for name in ("thai_tis620.eml", "thai_utf8.eml"):
        i = inbound(name)
        assert i.subject == "สอบถามเรื่องการจัดส่งสินค้า"
        assert i.text.startswith(TH) and i.sender.external_id.endswith("@example.co.th")
    assert inbound("thai_tis620.eml").sender_name == "สมชาย ใจดี"


def test_persian_windows1256_and_utf8() -> None:
    a, b = inbound("persian_cp1256.eml"), inbound("persian_utf8.eml")
    assert a.subject == "پيگيري سفارش" and a.sender_name == "علي رضايي" and a.text.startswith("سلام، سفارش من")
    assert b.subject == "پیگیری سفارش" and b.text.startswith(FA) and b.html and 'dir="rtl"' in b.html


def test_no_wrong_and_unknown_charset() -> None:
    assert inbound("no_charset.eml").text.startswith(TH)
    assert inbound("wrong_charset.eml").text.startswith("سلام، سفارش من هنوز")
    unknown = inbound("unknown_charset.eml")
    assert unknown.subject == "สอบถามเรื่องการจัดส่งสินค้า" and unknown.text.startswith(TH)


def test_reply_styles_are_stripped_and_threaded() -> None:
    refs = dict(IN_REPLY_TO="<hub-1@hub.example.com>", REFERENCES="<root@x.com> <hub-1@hub.example.com>", TICKET="42")
    gmail = inbound("gmail_reply.eml", **refs)
    assert gmail.text == "ยังไม่ได้รับของเลยครับ ช่วยเช็คอีกทีได้ไหม"
    assert "Your order has shipped." in gmail.raw["full_text"]
    assert set(gmail.thread_refs) == {"<root@x.com>", "<hub-1@hub.example.com>"} and gmail.ticket_hint == 42
    outlook = inbound("outlook_reply.eml", **refs)
    assert outlook.text == "I still have not received the refund.\n\nBest regards,\nJohn" and outlook.ticket_hint == 42
    apple = inbound("apple_reply.eml", **refs)
    assert apple.text == "ขอบคุณครับ ได้รับแล้ว" and apple.ticket_hint is None


@pytest.mark.parametrize(
    "body,expected",
    [
        ("Thanks!\n\nOn Tue, 14 Jan 2025 at 09:00, Support <support@example.com>\nwrote:\n> old", "Thanks!"),
        ("ok\n\nเมื่อ อ. 14 ม.ค. 2025 เวลา 09:00 Support <support@example.com> เขียนว่า:\n> เก่า", "ok"),
        ("باشه\n\nدر تاریخ سه‌شنبه ۱۴ ژانویه Support <support@example.com> نوشت:\n> قدیمی", "باشه"),
        ("new\n-----Original Message-----\nFrom: x\nSent: y\n", "new"),
        ("new text\n\nFrom: Support <s@example.com>\nSent: Monday\nTo: me\nSubject: Re: x\n\nold", "new text"),
        ("inline answer\n> quoted question\nmore answer", "inline answer\nmore answer"),
        ("body\n-- \nJohn Smith\nACME", "body"),
        ("> only quoted text", "> only quoted text"),
    ],
)
def test_quote_and_signature_stripping(body: str, expected: str) -> None:
    assert strip_reply(body) == expected


def test_out_of_office_bounce_and_lists_are_flagged() -> None:
    ooo = inbound("out_of_office.eml", IN_REPLY_TO="<a@b>")
    assert ooo.flags == {"auto_reply"}
    bounce = parse_mail(fixture("dsn_bounce.eml", ORIGINAL_ID="<hub-7@hub.example.com>", TICKET="7"))
    assert bounce.noise.flags == {"bounce"} and bounce.noise.failed == ("gone@example.net",)
    assert "5.1.1" in bounce.noise.reason and "<hub-7@hub.example.com>" in bounce.thread_refs
    listed = parse_mail(b"From: news@shop.com\r\nList-Id: <news.shop.com>\r\nSubject: sale\r\n\r\nbuy\r\n")
    assert listed.noise.flags == {"auto_reply"}
    plain_bounce = parse_mail(
        b"From: postmaster@mx.example.org\r\nReturn-Path: <>\r\nSubject: Undeliverable: hello\r\n\r\n"
        b"Delivery has failed to these recipients:\r\n\r\nlost@example.org\r\n\r\nMessage-ID: <hub-9@hub.example.com>\r\n",
        own_address="support@example.com",
    )
    assert plain_bounce.noise.flags == {"bounce"} and plain_bounce.noise.failed == ("lost@example.org",)
    assert "<hub-9@hub.example.com>" in plain_bounce.thread_refs
    arf = parse_mail(b"From: abuse@isp.com\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=x\r\n\r\n"
                     b"--x\r\nContent-Type: text/plain\r\n\r\nspam complaint\r\n--x--\r\n")
    assert arf.noise.flags == {"spam_report"}
    human = parse_mail(b"From: a@b.com\r\nAuto-Submitted: no\r\nSubject: hi\r\n\r\nhello\r\n")
    assert human.noise.flags == frozenset()


def test_html_only_attachments_and_broken_mail() -> None:
    html = inbound("html_only.eml")
    assert "alert" not in html.text and "- item one" in html.text and "<https://shop.example.com/o/42>" in html.text
    att = inbound("attachments.eml")
    kinds = {(a.name, a.content_type, a.inline, a.ref) for a in att.attachments}
    assert ("ใบแจ้งหนี้.pdf", "application/pdf", False, "imap:1:1:2") in kinds
    assert any(a.inline and a.content_type == "image/png" for a in att.attachments)
    capped = to_inbound(parse_mail(fixture("attachments.eml"), max_attachment=10), ref_prefix="imap:1:1")
    assert all(a.ref == "" for a in capped.attachments if a.size > 10) and "larger than the limit" in capped.text
    nul = parse_mail(b"From: a@b.com\r\nSubject: n\x00ul\r\n\r\nte\x00xt\r\n")
    assert nul.subject == "nul" and nul.text.strip() == "text"
    garbage = to_inbound(parse_mail(b"\x00\xff\xfe"), ref_prefix="imap:1:2")
    assert "could not be read" in garbage.text and garbage.attachments[0].ref == "imap:1:2:raw"
    huge = parse_mail(b"From: a@b.com\r\nSubject: " + b"x" * 2_000_000 + b"\r\nReferences: " + b"<r@x> " * 100_000 + b"\r\n\r\nbody\r\n")
    assert huge.text.strip() == "body" and len(huge.subject) <= 1000 and len(huge.references) <= 30
    no_id = parse_mail(b"From: a@b.com\r\n\r\nsame\r\n")
    assert no_id.synthetic_id and no_id.message_id == parse_mail(b"From: a@b.com\r\n\r\nsame\r\n").message_id
    nested = parse_mail(b"From: a@b.com\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\n"
                        b"see below\r\n--o\r\nContent-Type: message/rfc822\r\n\r\nFrom: c@d.com\r\nSubject: inner\r\n\r\ninner text\r\n--o--\r\n")
    assert "see below" in nested.text and "inner text" in nested.text and "Subject: inner" in nested.text


def test_split_encoded_words_and_rfc2231() -> None:
    th = "การจัดส่ง".encode()
    import base64

    a, b = base64.b64encode(th[:5]).decode(), base64.b64encode(th[5:]).decode()
    p = parse_mail(f"From: a@b.com\r\nSubject: =?utf-8?B?{a}?= =?utf-8?B?{b}?= [#12]\r\n\r\nx\r\n".encode())
    assert p.subject == "การจัดส่ง [#12]" and p.ticket_hint == 12


def _stdlib_corpus() -> list[Path]:
    try:
        import test

        base = Path(os.path.dirname(test.__file__)) / "test_email" / "data"
    except ImportError:
        return []
    return sorted(base.iterdir()) if base.is_dir() else []


def test_standard_library_corpus_never_crashes_or_is_lost() -> None:
    files = _stdlib_corpus()
    if not files:
        pytest.skip("the CPython test corpus (Lib/test/test_email/data) is not installed")
    for path in files:
        raw = path.read_bytes()
        i = to_inbound(parse_mail(raw), ref_prefix="imap:1:1")
        assert i.provider_id.startswith("<") and i.sender.external_id and i.text, path.name


def _out(**kw: object) -> Outbound:
    base = dict(outbox_id=1, message_id=5, ticket_id=42, channel="email", recipient=Identity("email", "somchai@example.co.th"),
                text="ได้รับแล้ว <script>x</script>\nบรรทัดสอง", author=Author.AGENT, author_name="นก", subject="Re: RE: สอบถาม [#42]",
                thread_refs=("contact:abc", "<a@x.com>", "<b@hub.example.com>"))
    base.update(kw)
    return Outbound(**base)  # type: ignore[arg-type]


def test_compose_threads_encodes_and_escapes() -> None:
    ch = build({"enabled": True, "address": "support@example.com", "hostname": "hub.example.com", "display_name": "ฝ่ายบริการ"})
    raw = compose(ch.config, _out()).data
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()  # every header is RFC 2047-encoded, nothing 8-bit
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert str(parsed["Subject"]) == "Re: สอบถาม [#42]"
    assert str(parsed["From"]) == "นก via ฝ่ายบริการ <support@example.com>"
    assert parsed["In-Reply-To"] == "<b@hub.example.com>" and parsed["References"].split() == ["<a@x.com>", "<b@hub.example.com>"]
    assert parsed["Message-ID"].endswith("@hub.example.com>") and parsed["Auto-Submitted"] is None
    assert parsed.get_body(("plain",)).get_content().startswith("ได้รับแล้ว <script>")
    html = parsed.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in html and "<script>" not in html and 'dir="auto"' in html
    auto = BytesParser(policy=policy.default).parsebytes(compose(ch.config, _out(automatic=True, thread_refs=())).data)
    assert auto["Auto-Submitted"] == "auto-replied" and auto["In-Reply-To"] is None
    assert reply_subject("Fwd: Re: AW: hello [#3]", 3) == "Re: hello [#3]" and reply_subject(None, 9) == "Re: [#9]"


def test_bad_recipient_and_config_are_refused() -> None:
    from channels.base import PermanentError
    from pydantic import ValidationError

    ch = build({"enabled": True, "address": "support@example.com"})
    with pytest.raises(PermanentError):
        compose(ch.config, _out(recipient=Identity("email", "evil@example.com\r\nBcc: x@y.z")))
    with pytest.raises(ValidationError):
        build({"enabled": True, "address": "not an address"})
    with pytest.raises(ValidationError):
        build({"enabled": True, "imap": {"hots": "x"}})
    with pytest.raises(ValidationError):
        build({"enabled": True, "smtp": {"ssl": True, "starttls": True}})
    with pytest.raises(ValidationError, match="parse_worker"):
        build({"enabled": True, "parse_worker": "threads"})
    assert ch.capabilities.conversational is False and ch.capabilities.html and not ch.capabilities.buttons
