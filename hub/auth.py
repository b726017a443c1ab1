"""Agent authentication: scrypt password hashes and expiring bearer tokens (stored hashed)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain import Agent, Role
from hub.store import records
from hub.store.prepared import Prepared
from hub.store.schema import agents, auth_tokens

_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~50 ms per check here, cheap for a login, dear for a guesser


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${base64.b64encode(salt).decode()}${base64.b64encode(dk).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        algo, n, r, p, salt, dk = stored.split("$")
        if algo != "scrypt":
            return False
        want = base64.b64decode(dk)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(want))
        return hmac.compare_digest(want, got)
    except (ValueError, TypeError):
        return False


# A valid hash to check against when the email is unknown, so both answers take the same time.
_DUMMY = hash_password(secrets.token_urlsafe(12))


MIN_PASSWORD, MAX_PASSWORD = 8, 500


def password_problem(password: str) -> str | None:
    """The one password policy (API, command line and config alike): what is wrong with it, or None."""
    if len(password) < MIN_PASSWORD:
        return f"password must have at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"password must have at most {MAX_PASSWORD} characters"
    if not password.strip():
        return "password must not be only spaces"
    return None


def normal_email(email: str) -> str:
    """The one form of an agent's email: stored, looked up and rate-limited on (so " A@x " is a@x everywhere)."""
    return email.strip().lower()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def login(conn: AsyncConnection, email: str, password: str, now: datetime, ttl: timedelta) -> tuple[str, Agent] | None:
    row = (await conn.execute(select(agents).where(agents.c.email == normal_email(email)))).first()
    if row is None or not row.active:
        verify_password(password, _DUMMY)
        return None
    if not verify_password(password, row.password_hash):
        return None
    token = secrets.token_urlsafe(32)
    await conn.execute(delete(auth_tokens).where(auth_tokens.c.expires_at < now))
    await conn.execute(insert(auth_tokens).values(token_hash=token_hash(token), agent_id=row.id, expires_at=now + ttl, created_at=now))
    return token, records.agent(row)


async def authenticate(conn: AsyncConnection, token: str, now: datetime) -> Agent | None:
    found = await session(conn, token, now)
    return None if found is None else found[0]


# Every request of an agent looks its token up: built and prepared once (hub.store.prepared), as the intake's
# statements are, so an agent's request costs the lookup and not SQLAlchemy's execution around it.
_SESSION = Prepared(
    select(agents, auth_tokens.c.expires_at.label("token_expires_at"))
    .join(auth_tokens, auth_tokens.c.agent_id == agents.c.id)
    .where(and_(auth_tokens.c.token_hash == bindparam("hash"), auth_tokens.c.expires_at > bindparam("now"),
                agents.c.active.is_(True))),
    ("hash", "now"),
)


async def session(conn: AsyncConnection, token: str, now: datetime) -> tuple[Agent, datetime] | None:
    """The agent a live token belongs to and when the token expires; None when it is unknown, expired, revoked
    or its agent deactivated."""
    row = (await _SESSION.run(conn, {"hash": token_hash(token), "now": now})).first()
    return None if row is None else (records.agent(row), row.token_expires_at)


async def logout(conn: AsyncConnection, token: str) -> None:
    await conn.execute(delete(auth_tokens).where(auth_tokens.c.token_hash == token_hash(token)))


async def set_password(conn: AsyncConnection, agent_id: int, password: str) -> None:
    """A new password ends every session of the agent."""
    await conn.execute(update(agents).where(agents.c.id == agent_id).values(password_hash=hash_password(password)))
    await revoke_agent(conn, agent_id)


async def revoke_agent(conn: AsyncConnection, agent_id: int) -> None:
    """Every token of one agent (deactivation): its sessions end on every device."""
    await conn.execute(delete(auth_tokens).where(auth_tokens.c.agent_id == agent_id))


async def add_agent(
    conn: AsyncConnection,
    *,
    name: str,
    email: str,
    password: str,
    role: Role | str,
    departments: list[str],
    capacity: int,
    now: datetime,
) -> int:
    return (
        await conn.execute(
            insert(agents)
            .values(
                name=name,
                email=normal_email(email),
                password_hash=hash_password(password),
                role=Role(role).value,
                departments=departments,
                capacity=capacity,
                active=True,
                presence="offline",
                created_at=now,
            )
            .returning(agents.c.id)
        )
    ).scalar_one()


RANK = {Role.AGENT: 0, Role.SUPERVISOR: 1, Role.ADMIN: 2}


def at_least(agent: Agent, role: Role) -> bool:
    return RANK[agent.role] >= RANK[role]
