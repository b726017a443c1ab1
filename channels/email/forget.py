"""Removing a customer's mails from the mail server: the raw sources the hub read (with every header, quoted
history and attachment) stay in the watched folder, or in the processed folder they were moved to, until removed.

A mail is found by its Message-ID, and, for erasure, by its sender: mails without a Message-ID (the hub made one
up) and mails the hub never stored (a poisoned one) still carry the address.  The server's search is a substring
match, so every candidate's headers are read back and compared exactly before it is deleted.
Imports channels.email only.
"""
from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Sequence
from email.parser import BytesHeaderParser

from channels.email.config import ImapConfig
from channels.email.imap import Connection, _ok, _quote, _uid_set

log = logging.getLogger("hub.channels.email")
_HEADER_FETCH = "(UID BODY.PEEK[HEADER.FIELDS (FROM MESSAGE-ID)])"
_UID = re.compile(rb"UID (\d+)")
_SAFE = re.compile(r"^[\x21-\x7e]+$")  # what can go into a quoted IMAP search string as is (then escaped)


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _norm_id(value: str) -> str:
    return value.strip().strip("<>").strip().lower()


async def _matching(conn: Connection, message_ids: set[str], senders: set[str]) -> list[int]:
    candidates: set[int] = set()
    for mid in message_ids:
        if _SAFE.match(mid):
            candidates.update(await conn.search(f"HEADER Message-ID {_q(mid)}"))
    for address in senders:
        if _SAFE.match(address):
            candidates.update(await conn.search(f"FROM {_q(address)}"))
    if not candidates:
        return []
    resp = _ok(await conn.c.uid("fetch", _uid_set(sorted(candidates)), _HEADER_FETCH), "UID FETCH")
    found: list[int] = []
    lines = resp.lines
    for i, head in enumerate(lines):
        if not isinstance(head, (bytes, bytearray)) or i + 1 >= len(lines) or not isinstance(lines[i + 1], bytearray):
            continue
        m = _UID.search(bytes(head)) or (_UID.search(bytes(lines[i + 2])) if i + 2 < len(lines) else None)
        if m is None:
            continue
        headers = BytesHeaderParser().parsebytes(bytes(lines[i + 1]))
        mid = _norm_id(str(headers.get("Message-ID", "")))
        froms = {a.lower() for _, a in email.utils.getaddresses([str(v) for v in headers.get_all("From", [])]) if a}
        if (mid and mid in message_ids) or froms & senders:
            found.append(int(m.group(1)))
    return sorted(set(found))


async def remove_mails(cfg: ImapConfig, user: str, message_ids: Sequence[str], senders: Sequence[str]) -> int:
    """Delete every mail with one of these Message-IDs or sent from one of these addresses from the watched folder
    and the processed folder; the number removed.  Raises ImapError / OSError when the server cannot be reached:
    the caller must not report the mails gone."""
    ids = {_norm_id(m) for m in message_ids if m and _norm_id(m)}
    addresses = {a.strip().lower() for a in senders if a and a.strip()}
    if not ids and not addresses:
        return 0
    removed = 0
    conn = Connection(cfg, user)
    try:
        await conn.open()
        for folder in dict.fromkeys(f for f in (cfg.folder, cfg.processed_folder) if f):
            await conn.select(folder)
            uids = await _matching(conn, ids, addresses)
            if not uids:
                continue
            uid_set = _uid_set(uids)
            _ok(await conn.c.uid("store", uid_set, "+FLAGS.SILENT (\\Deleted)"), "UID STORE")
            if conn.has("UIDPLUS"):
                _ok(await conn.c.uid("expunge", uid_set), "UID EXPUNGE")
            else:
                _ok(await conn.c.expunge(), "EXPUNGE")
            removed += len(uids)
            log.info("email: removed %d mail(s) from %s", len(uids), _quote(folder))
    finally:
        await conn.close()
    return removed
