"""Raw RFC 5322 bytes -> `ParsedMail`: sender, subject, thread ids, readable text, attachments, noise flags.

The standard library parser builds the MIME tree; headers and bodies are decoded here, by
`headers` and `charset`, so that a wrong or unknown charset, a broken encoded word or a NUL byte never raises.
`parse_mail` never fails: mail it cannot read still comes back with a note and the raw source as an attachment.
Pure functions, no I/O.  Imports the standard library and this package only.
"""
from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime

from channels.email.charset import decode
from channels.email.headers import decode_words, first_address, message_ids, one_message_id, raw_header
from channels.email.htmltext import html_to_text
from channels.email.loops import Noise, classify

# The email package builds the MIME tree; compat32 keeps header values as plain strings, which `headers` decodes
# itself.  policy.default's header objects are built even for Content-Type lookups during parsing and cost more
# than half of the whole parse, for decoding we do not use.
_POLICY = policy.compat32
_TOKEN = re.compile(r"\[#(\d{1,12})\]")
MAX_TEXT = 200_000  # characters of body text kept on the message; the raw mail stays on the server
MAX_HTML = 1_000_000
MAX_DEPTH = 12
RAW_PART = "raw"  # attachment path meaning "the whole message source"


@dataclass(frozen=True, slots=True)
class PartInfo:
    name: str
    content_type: str
    size: int
    path: str  # our own tree path, "1.2": children numbered from 1, nested messages included
    inline: bool = False
    kept: bool = True  # False when over the size cap: listed for agents, never fetched


@dataclass(frozen=True, slots=True)
class ParsedMail:
    message_id: str
    synthetic_id: bool
    sender: str
    sender_name: str
    subject: str
    date: datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str
    html: str | None
    attachments: tuple[PartInfo, ...]
    noise: Noise
    language: str | None = None
    broken: str | None = None  # why the mail could not be read, when it could not

    @property
    def thread_refs(self) -> tuple[str, ...]:
        refs = [*self.references, *self.in_reply_to]
        if self.noise.original_id:
            refs.append(self.noise.original_id)
        return tuple(dict.fromkeys(r for r in refs if r != self.message_id))

    @property
    def ticket_hint(self) -> int | None:
        found = _TOKEN.findall(self.subject)
        return int(found[-1]) if found else None


@dataclass
class _Body:
    texts: list[str] = field(default_factory=list)
    html: str | None = None
    parts: list[PartInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    from_plain: bool = False


def synthetic_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@no-message-id.invalid>"


def parse_bytes(raw: bytes) -> Message:
    return BytesParser(policy=_POLICY).parsebytes(raw)


def parse_mail(raw: bytes, *, own_address: str = "", max_attachment: int = 25 * 1024 * 1024) -> ParsedMail:
    try:
        return _parse(raw, own_address, max_attachment)
    except Exception as exc:  # the last line of defence: a mail is never lost to a parser bug
        return broken_mail(raw, f"{type(exc).__name__}: {exc}"[:300])


POISONED = "storing the parsed mail failed repeatedly"


def parse_many(batch: Sequence[tuple[bytes, bool]], *, own_address: str = "",
               max_attachment: int = 25 * 1024 * 1024) -> list[ParsedMail]:
    """A fetched batch, in order: (raw, poisoned) -> the parsed mail, or its raw form when storing it as parsed has
    failed too often (`poisoned`)."""
    return [broken_mail(raw, POISONED) if poisoned
            else parse_mail(raw, own_address=own_address, max_attachment=max_attachment)
            for raw, poisoned in batch]


def parser_for(own_address: str, max_attachment: int) -> Callable[[Sequence[tuple[bytes, bool]]], list[ParsedMail]]:
    """`parse_many` with a channel's settings: what a parser process answers each batch with (hub.offload)."""
    return functools.partial(parse_many, own_address=own_address, max_attachment=max_attachment)


def broken_mail(raw: bytes, why: str) -> ParsedMail:
    head = raw[:65536].decode("latin-1")
    sender = first_address(_grep(head, "From"))
    mid = one_message_id(_grep(head, "Message-ID"))
    text = (
        "This mail could not be read and is shown as received; the original is attached as message.eml.\n"
        f"Reason: {why}"
    )
    return ParsedMail(
        message_id=mid or synthetic_id(raw),
        synthetic_id=mid is None,
        sender=sender[0] or "unknown@invalid",
        sender_name=sender[1],
        subject=decode_words(_grep(head, "Subject"))[:500],
        date=None,
        in_reply_to=message_ids(_grep(head, "In-Reply-To")),
        references=message_ids(_grep(head, "References")),
        text=text,
        html=None,
        attachments=(PartInfo("message.eml", "message/rfc822", len(raw), RAW_PART),),
        noise=Noise(frozenset()),
        broken=why,
    )


def _grep(head: str, name: str) -> str | None:
    m = re.search(rf"^{name}:[ \t]*(.*(?:\r?\n[ \t].*)*)", head, re.I | re.M)
    return m.group(1) if m else None


def _parse(raw: bytes, own: str, cap: int) -> ParsedMail:
    msg = parse_bytes(raw)
    if not msg.keys() and b"\n" not in raw[:4096].strip():
        return broken_mail(raw, "no header section")
    subject = decode_words(raw_header(msg, "subject"))[:1000]
    sender, name = first_address(raw_header(msg, "from"))
    if not sender:
        sender, name = first_address(raw_header(msg, "sender") or raw_header(msg, "return-path"))
    body = _Body()
    _walk(msg, [], body, cap, 0)
    text = "\n\n".join(t for t in body.texts if t.strip())
    if body.notes:
        text = (text + "\n\n" if text else "") + "\n".join(body.notes)
    text = text.replace("\x00", "")[:MAX_TEXT]
    if not sender and not text.strip() and not body.parts:
        return broken_mail(raw, "no sender and no readable content")
    mid = one_message_id(raw_header(msg, "message-id"))
    noise = classify(msg, sender, subject, text, own)
    lang = (raw_header(msg, "content-language") or "").strip().split(",")[0].strip()[:2].lower() or None
    return ParsedMail(
        message_id=mid or synthetic_id(raw),
        synthetic_id=mid is None,
        sender=sender or "unknown@invalid",
        sender_name=name,
        subject=subject,
        date=_date(raw_header(msg, "date")),
        in_reply_to=message_ids(raw_header(msg, "in-reply-to"), 5),
        references=message_ids(raw_header(msg, "references")),
        text=text,
        html=body.html[:MAX_HTML] if body.html else None,
        attachments=tuple(body.parts),
        noise=noise,
        language=lang if lang and lang.isalpha() else None,
    )


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        d = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def part_text(part: Message) -> str:
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    try:
        declared = part.get_content_charset()
    except Exception:
        declared = None
    return decode(data, declared)[0].replace("\r\n", "\n").replace("\r", "\n")


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or part.get_param("name", header="content-type") or ""
    except Exception:
        name = ""
    if isinstance(name, tuple):  # an undecoded RFC 2231 triple
        name = str(name[2])
    return decode_words(str(name))[:255]


def _disposition(part: Message) -> str | None:
    value = (raw_header(part, "content-disposition") or "").split(";", 1)[0].strip().lower()
    return value or None


def _ctype(part: Message) -> str:
    value = (raw_header(part, "content-type") or "").split(";", 1)[0].strip().lower()
    if "/" not in value:
        return part.get_content_type()  # the default for the context (message/rfc822 inside multipart/digest...)
    return value


def _walk(part: Message, path: list[int], body: _Body, cap: int, depth: int) -> None:
    if depth > MAX_DEPTH:
        body.notes.append("[parts nested too deeply were not read]")
        return
    ctype = _ctype(part)
    disp = _disposition(part)
    payload = part.get_payload()
    if ctype.startswith("multipart/") and isinstance(payload, list):
        if ctype == "multipart/alternative":
            _alternative(payload, path, body, cap, depth)
            return
        for i, child in enumerate(payload, 1):
            if isinstance(child, Message):
                kind = _ctype(child)
                if ctype == "multipart/report" and kind in ("message/delivery-status", "message/feedback-report"):
                    continue
                if ctype == "multipart/report" and kind in ("message/rfc822", "message/global", "text/rfc822-headers"):
                    _attachment(child, [*path, i], body, cap, ctype=kind, default=_eml_name(_inner(child)))
                    continue
                _walk(child, [*path, i], body, cap, depth + 1)
        return
    if ctype in ("message/rfc822", "message/global") and isinstance(payload, list) and payload:
        inner = payload[0]
        if disp == "attachment" or not isinstance(inner, Message):
            _attachment(part, path, body, cap, ctype="message/rfc822", default=_eml_name(inner))
            return
        # A forwarded mail shown inline: its headers, then its text.
        sub = _Body()
        _walk(inner, [*path, 1], sub, cap, depth + 1)
        who = decode_words(raw_header(inner, "from"))
        what = decode_words(raw_header(inner, "subject"))
        body.texts.append(f"---------- Forwarded message ----------\nFrom: {who}\nSubject: {what}\n\n" + "\n\n".join(sub.texts))
        body.parts.extend(sub.parts)
        body.html = body.html or sub.html
        return
    if ctype.startswith("multipart/"):
        # A multipart whose boundary was missing or broken: the body is one unsplit string; read it as text.
        body.notes.append("[the mail's MIME structure is broken; its body is shown as received]")
        body.texts.append(part_text(part))
        return
    filename = _filename(part)
    if ctype in ("text/plain", "text/html", "text/enriched") and disp != "attachment" and not (filename and disp):
        text = part_text(part)
        if ctype == "text/html":
            body.html = body.html or text
            body.texts.append(html_to_text(text))
        else:
            body.from_plain = True
            body.texts.append(text)
        return
    if ctype.startswith("message/") and not filename:
        return  # delivery-status blocks and the like: read by the loop detector, not shown
    _attachment(part, path, body, cap, ctype=ctype, default=filename)


def _alternative(children: list[Message], path: list[int], body: _Body, cap: int, depth: int) -> None:
    """Prefer the plain-text alternative (what the sender wrote) and keep the HTML one for agents."""
    readings: list[_Body] = []
    for i, child in enumerate(children, 1):
        if isinstance(child, Message):
            sub = _Body()
            _walk(child, [*path, i], sub, cap, depth + 1)
            readings.append(sub)
    plain = next((r for r in readings if r.from_plain and any(t.strip() for t in r.texts)), None)
    rich = next((r for r in reversed(readings) if r.html), None)
    chosen = plain or rich or next((r for r in readings if any(t.strip() for t in r.texts)), None)
    if chosen is not None:
        body.texts.extend(chosen.texts)
        body.from_plain = body.from_plain or chosen.from_plain
    body.html = body.html or (rich.html if rich else None)
    for r in readings:
        body.parts.extend(r.parts)
        body.notes.extend(r.notes)


def _inner(part: Message) -> object:
    payload = part.get_payload()
    return payload[0] if isinstance(payload, list) and payload else None


def _eml_name(inner: object) -> str:
    subject = decode_words(raw_header(inner, "subject")) if isinstance(inner, Message) else ""
    safe = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', " ", subject).strip()[:80]
    return f"{safe or 'message'}.eml"


def _attachment(part: Message, path: list[int], body: _Body, cap: int, *, ctype: str, default: str) -> None:
    size = attachment_size(part)
    ref_path = ".".join(map(str, path)) or "0"
    ext = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "application/pdf": ".pdf"}.get(ctype, ".bin")
    name = default or f"part-{ref_path}{ext}"
    inline = _disposition(part) == "inline" or (raw_header(part, "content-id") is not None and ctype.startswith("image/"))
    kept = size <= cap
    if not kept:
        body.notes.append(f"[attachment {name} ({size} bytes) is larger than the limit and was not kept]")
    body.parts.append(PartInfo(name, ctype, size, ref_path, inline, kept))


def attachment_size(part: Message) -> int:
    payload = part.get_payload()
    if isinstance(payload, list):
        try:
            return len(payload[0].as_bytes(policy=_POLICY)) if payload else 0
        except Exception:
            return 0
    data = part.get_payload(decode=True)
    return len(data) if isinstance(data, bytes) else 0


def find_part(msg: Message, path: str) -> Message | None:
    """The part at one of our tree paths ("0" is the message itself)."""
    node: Message = msg
    if path in ("", "0"):
        return node
    for step in path.split("."):
        payload = node.get_payload()
        if not isinstance(payload, list) or not step.isdigit():
            return None
        i = int(step) - 1
        if not 0 <= i < len(payload) or not isinstance(payload[i], Message):
            return None
        node = payload[i]
    return node


def part_bytes(part: Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list):
        return payload[0].as_bytes(policy=_POLICY) if payload else b""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""
