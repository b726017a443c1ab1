"""Signed, expiring, single-use survey links for customers who answer on a web page (email, contact form).

A token is `<survey id>.<nonce>.<signature>`; the signature (HMAC-SHA256 over id, nonce and expiry) turns away a
forged or altered link before the database is asked, and the row keeps only the SHA-256 of the one live token.
Using a link stores the answer and replaces the token with a new one shown only on the thank-you page, so the
mailed link works once while the customer who answered can still change the score until the survey expires.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.store.db import Database
from hub.store.schema import checkpoints

SECRET_KEY = "surveys:link_secret"


@dataclass(frozen=True, slots=True)
class Token:
    value: str
    hash: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Signer:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sig(self, survey_id: int, nonce: str, expires_at: datetime) -> str:
        msg = f"{survey_id}.{nonce}.{int(expires_at.timestamp())}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:32]

    def mac(self, text: str) -> str:
        """The same key over another kind of link (hub.surveys.optout): callers prefix `text` with their kind, which
        never starts with a digit, so no such signature is ever a survey link's."""
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, survey_id: int, expires_at: datetime) -> Token:
        nonce = secrets.token_urlsafe(18)
        value = f"{survey_id}.{nonce}.{self._sig(survey_id, nonce, expires_at)}"
        return Token(value, token_hash(value))

    @staticmethod
    def survey_id(token: str) -> int | None:
        head = token.split(".", 1)[0]
        return int(head) if head.isdigit() and len(head) < 12 and token.count(".") == 2 else None

    def valid(self, token: str, expires_at: datetime) -> bool:
        try:
            sid, nonce, sig = token.split(".")
        except ValueError:
            return False
        return sid.isdigit() and hmac.compare_digest(sig, self._sig(int(sid), nonce, expires_at))


async def load_secret(db: Database, configured: str | None, now: datetime) -> bytes:
    """The configured key, else one generated once and kept in the database so every process signs alike."""
    if configured:
        return configured.encode()
    ins = (sqlite_insert if db.is_sqlite else pg_insert)(checkpoints)
    async with db.write() as conn:
        await conn.execute(
            ins.values(key=SECRET_KEY, value=secrets.token_hex(32), updated_at=now).on_conflict_do_nothing(index_elements=["key"])
        )
        value = (await conn.execute(select(checkpoints.c.value).where(checkpoints.c.key == SECRET_KEY))).scalar_one()
    return bytes.fromhex(value)
