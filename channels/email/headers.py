"""Header values as text: RFC 2047 encoded words in any charset (split multi-byte characters included), raw 8-bit
headers, message ids and addresses.  Imports only the standard library and the charset helper."""
from __future__ import annotations

import base64
import binascii
import re
from email.message import Message
from email.utils import getaddresses

from channels.email.charset import decode

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_BETWEEN = re.compile(r"(\?=)\s+(=\?)")
_MSGID = re.compile(r"<[^<>\s]{1,500}>")
MAX_HEADER = 16_384  # longer values (hostile or broken mail) are cut before any work is done on them


def raw_header(msg: Message, name: str) -> str | None:
    """The first raw value of a header, as stored by the parser (no header objects are built: they are slow)."""
    name = name.lower()
    for k, v in msg.raw_items():
        if k.lower() == name:
            return str(v)[:MAX_HEADER]
    return None


def _to_bytes(value: str) -> bytes:
    """The bytes behind a header value: raw 8-bit bytes arrive as surrogate escapes from the parser, or as latin-1
    characters from the unreadable-mail fallback, or (rarely) as real text."""
    if value.isascii():
        return value.encode("ascii")
    for codec, errors in (("ascii", "surrogateescape"), ("latin-1", "strict")):
        try:
            return value.encode(codec, errors)
        except UnicodeEncodeError:
            continue
    return value.encode("utf-8", "surrogatepass")


def decode_words(value: str | None, hint: str | None = None) -> str:
    """A header value with encoded words decoded and folding removed; never raises."""
    if not value:
        return ""
    value = value[:MAX_HEADER]
    if not value.isascii():
        try:
            value = decode(_to_bytes(value), None, hint)[0]
        except UnicodeEncodeError:
            pass
    value = re.sub(r"\r?\n[ \t]+", " ", value).replace("\r", "").replace("\n", "")
    if "=?" not in value:
        return value.replace("\x00", "").strip()
    # Whitespace between two encoded words is not part of the text (RFC 2047 section 6.2).
    value = _BETWEEN.sub(r"\1\2", value)
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent words of one charset: clients split UTF-8 sequences across them
    pos = 0

    def flush() -> None:
        if pending:
            out.append(decode(b"".join(b for _, b in pending), pending[0][0], hint)[0])
            pending.clear()

    for m in _ENCODED_WORD.finditer(value):
        if m.start() > pos:
            flush()
            out.append(value[pos : m.start()])
        charset = m.group(1).split("*", 1)[0]  # RFC 2231 language suffix: utf-8*th
        data = m.group(3)
        try:
            if m.group(2) in "bB":
                raw = base64.b64decode(data + "=" * (-len(data) % 4), validate=False)
            else:
                raw = binascii.a2b_qp(data.replace("_", " ").encode("ascii", "replace"), header=True)
        except (binascii.Error, ValueError):
            raw = data.encode("ascii", "replace")
        if pending and pending[0][0].lower() != charset.lower():
            flush()
        pending.append((charset, raw))
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out).replace("\x00", "").strip()


def message_ids(value: str | None, limit: int = 30) -> tuple[str, ...]:
    """Message ids in angle brackets, in order, without repeats; the newest `limit` kept."""
    if not value:
        return ()
    ids = list(dict.fromkeys(_MSGID.findall(value)))
    return tuple(ids[-limit:])


def one_message_id(value: str | None) -> str | None:
    if not value:
        return None
    found = _MSGID.search(value)
    if found:
        return found.group(0)
    token = value.strip().split()[0].strip("<>") if value.strip() else ""
    return f"<{token}>" if token and "@" in token else None  # any length: the store keeps long ids as a digest


def first_address(value: str | None) -> tuple[str, str]:
    """(address lowercased, display name decoded) of the first mailbox in an address header; ("", "") if none."""
    if not value:
        return "", ""
    value = re.sub(r"\r?\n[ \t]+", " ", value[:MAX_HEADER])
    try:
        pairs = getaddresses([value])
    except Exception:
        pairs = []
    for name, addr in pairs:
        addr = addr.strip().strip("<>").strip()
        if "@" in addr and not any(c in addr for c in " \r\n\t\x00"):
            if not addr.isascii():
                addr = decode(_to_bytes(addr))[0]
            return addr.lower()[:320], decode_words(name)[:200]
    m = re.search(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", value)
    return (m.group(0).lower()[:320], "") if m else ("", "")
