"""Helpers for the privacy tests: a customer's mail with an attachment, and a search of the whole database (every
table, every column, and on SQLite the bytes of the files) for values that must be gone."""
from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url

from hub.store.db import Database


def customer_mail(*, sender: str, name: str, message_id: str, subject: str, body: str,
                  attachment: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "support@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{message_id}>"
    msg["Date"] = "Mon, 01 Mar 2027 06:30:00 +0700"
    msg.set_content(body)
    if attachment is not None:
        msg.add_attachment(attachment[1], maintype="application", subtype="octet-stream", filename=attachment[0])
    return msg.as_bytes()


async def database_text(db: Database) -> str:
    """Every value of every row of every table (reflected, so tables other modules add are searched too)."""
    meta = MetaData()

    def reflect(sync_conn: Any) -> None:
        meta.reflect(sync_conn)

    async with db.read() as conn:
        await conn.run_sync(reflect)
        parts: list[str] = []
        for table in meta.sorted_tables:
            for row in (await conn.execute(select(table))).all():
                parts.append(f"{table.name}: " + " | ".join(repr(v) for v in row))
    return "\n".join(parts)


def database_files(url: str) -> bytes:
    """The SQLite database file and its write-ahead log, as bytes (b"" for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return b""
    path = Path(parsed.database)
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def leftovers(haystack: str, raw: bytes, needles: list[str]) -> list[str]:
    """The needles still found: in the values (case-insensitive) or in the file bytes (UTF-8 and UTF-16)."""
    low = haystack.lower()
    found = []
    for n in needles:
        if n.lower() in low or n.encode("utf-8") in raw or (raw and n.encode("utf-16-le") in raw):
            found.append(n)
    return found
