"""@mentions of agents in internal notes: which agents a note's text names, and their stored notifications.

A mention is `@` followed by an agent's name or the part of its email before `@`, compared case-insensitively;
the longest name wins ("@Ana Lima" names Ana Lima, not Ana).  Thai is written without spaces, so after a Thai
name the next letter may follow at once ("@นกช่วยดูหน่อย"); after a Latin or Persian name a letter or digit
means a longer word ("@Anabel" does not name Ana).  May import hub.store only."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.schema import agents, mentions, notes, tickets


@dataclass(frozen=True, slots=True)
class Mentionable:
    id: int
    name: str
    email: str


def _fold(text: str) -> str:
    # NFC first: a name typed with a combining mark matches one stored precomposed.
    return unicodedata.normalize("NFC", text).casefold()


def _thai(ch: str) -> bool:
    return "\u0e00" <= ch <= "\u0e7f"


def _handles(agent: Mentionable) -> list[str]:
    local = agent.email.split("@", 1)[0]
    return [h for h in {_fold(agent.name.strip()), _fold(local)} if h]


def find_mentions(text: str, candidates: Iterable[Mentionable]) -> list[int]:
    """Ids of the agents `text` mentions, in order of first mention, each once."""
    handles = sorted(((h, a.id) for a in candidates for h in _handles(a)), key=lambda x: -len(x[0]))
    folded = _fold(text)
    found: list[int] = []
    start = folded.find("@")
    while start >= 0:
        # An email address in the note ("write to nok@example.com") is not a mention: @ must start a word.
        if start == 0 or not folded[start - 1].isalnum():
            rest = folded[start + 1:]
            for handle, aid in handles:
                if not rest.startswith(handle):
                    continue
                after = rest[len(handle):len(handle) + 1]
                if after and (after.isalnum() or after == "_") and not (_thai(handle[-1]) and _thai(after)):
                    continue  # part of a longer word: try a shorter name
                if aid not in found:
                    found.append(aid)
                break
        start = folded.find("@", start + 1)
    return found


async def mentionable(conn: AsyncConnection) -> list[Mentionable]:
    rows = await conn.execute(select(agents.c.id, agents.c.name, agents.c.email).where(agents.c.active.is_(True)))
    return [Mentionable(r.id, r.name, r.email) for r in rows]


async def record(conn: AsyncConnection, *, note_id: int, ticket_id: int, author_id: int, text: str,
                 now: datetime) -> list[int]:
    """Stores one notification per agent the note mentions (never the author itself); the mentioned ids."""
    ids = [i for i in find_mentions(text, await mentionable(conn)) if i != author_id]
    if ids:
        await conn.execute(insert(mentions), [
            {"note_id": note_id, "ticket_id": ticket_id, "agent_id": i, "author_id": author_id, "created_at": now}
            for i in ids
        ])
    return ids


def _with_context() -> Any:
    """Mentions with what a notification shows: the note's text and the ticket's subject."""
    return (
        select(mentions, notes.c.text, tickets.c.subject)
        .join(notes, notes.c.id == mentions.c.note_id)
        .join(tickets, tickets.c.id == mentions.c.ticket_id)
    )


def _json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "ticket_id": r.ticket_id, "note_id": r.note_id, "agent_id": r.agent_id, "author_id": r.author_id,
        "created_at": r.created_at.isoformat(), "seen_at": r.seen_at.isoformat() if r.seen_at else None,
        "text": r.text, "subject": r.subject,
    }


async def for_agent(conn: AsyncConnection, agent_id: int, *, unseen_only: bool,
                    limit: int) -> tuple[list[dict[str, Any]], int]:
    """An agent's mentions, newest first, with the note's text and the ticket's subject; and how many are unseen."""
    q = _with_context().where(mentions.c.agent_id == agent_id)
    if unseen_only:
        q = q.where(mentions.c.seen_at.is_(None))
    rows = (await conn.execute(q.order_by(mentions.c.id.desc()).limit(limit))).all()
    unseen = (await conn.execute(
        select(func.count()).select_from(mentions)
        .where(and_(mentions.c.agent_id == agent_id, mentions.c.seen_at.is_(None)))
    )).scalar_one()
    return [_json(r) for r in rows], int(unseen)


async def of_note(conn: AsyncConnection, note_id: int) -> list[dict[str, Any]]:
    """The notifications one note made, in the shape of `for_agent`'s items (for the live event)."""
    rows = await conn.execute(_with_context().where(mentions.c.note_id == note_id).order_by(mentions.c.id))
    return [_json(r) for r in rows]


async def mark_seen(conn: AsyncConnection, agent_id: int, now: datetime, *, ids: Sequence[int] = (),
                    ticket_id: int | None = None) -> int:
    """Marks an agent's own mentions seen (by id, or all on one ticket); how many changed."""
    cond = and_(mentions.c.agent_id == agent_id, mentions.c.seen_at.is_(None))
    if ticket_id is not None:
        cond = and_(cond, mentions.c.ticket_id == ticket_id)
    else:
        cond = and_(cond, mentions.c.id.in_(list(ids)))
    return (await conn.execute(update(mentions).where(cond).values(seen_at=now))).rowcount or 0
