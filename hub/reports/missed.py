"""The bot's to-do list: questions it could not answer (the customer messages its misses and miss handoffs
answered) and answers customers said did not help; and complaint topics.  Questions are counted together when
their folded forms (script variants, digits, case, punctuation) are equal."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.reports.params import ReportQuery
from hub.reports.sql import as_text
from hub.store.schema import labels, messages, tickets, trace
from nlp.normalize import lexicon_form

MISS_REASONS = ("no confident answer", "bot missed")  # bots.policy's reasons for a miss and a handoff after misses
KINDS = {"question", "complaint", "sales", "callback", "feedback"}
_PUNCT = re.compile(r"[^\w\s]+")
TOP = 20


@lru_cache(maxsize=4096)  # the same questions come back again and again
def _key(text: str, lang: str | None) -> str:
    return " ".join(_PUNCT.sub(" ", lexicon_form(text, lang)).split())[:300]


def _reason(meta: str | None) -> str:
    try:
        return str((json.loads(meta or "{}") or {}).get("bot", {}).get("reason") or "")
    except (ValueError, AttributeError):
        return ""


async def missed_questions(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    in_range = [tickets.c.created_at >= q.start, tickets.c.created_at < q.end]
    if q.department:
        in_range.append(tickets.c.department == q.department)
    if q.channel:
        in_range.append(tickets.c.channel == q.channel)
    missed_handoff = (select(trace.c.ticket_id).join(tickets, tickets.c.id == trace.c.ticket_id)
                      .where(and_(trace.c.what == "handoff", *in_range,
                                  or_(*(trace.c.why.like(f"{r}%") for r in MISS_REASONS)))))
    rows = (await conn.execute(
        select(messages.c.ticket_id, messages.c.author, messages.c.text, as_text(messages.c.meta).label("meta"),
               tickets.c.language)
        .join(tickets, tickets.c.id == messages.c.ticket_id)
        .where(and_(messages.c.ticket_id.in_(missed_handoff), messages.c.author.in_(("customer", "bot", "system"))))
        .order_by(messages.c.ticket_id, messages.c.id)
    )).all()
    found: list[tuple[str, str | None, int]] = []
    waiting: tuple[str, str | None, int] | None = None
    current = None
    for r in rows:
        if r.ticket_id != current:
            current, waiting = r.ticket_id, None
        if r.author == "customer":
            if r.text.strip():
                waiting = (r.text, r.language, r.ticket_id)
            continue
        if waiting is not None and _reason(r.meta).startswith(MISS_REASONS):
            found.append(waiting)
        waiting = None
    not_helpful = (await conn.execute(
        select(labels.c.text, labels.c.language, labels.c.ticket_id).join(tickets, tickets.c.id == labels.c.ticket_id)
        .where(and_(labels.c.source == "not_helpful", *in_range))
    )).all()
    return _top([*found, *((t, lang, tid) for t, lang, tid in not_helpful)])


def _top(items: Iterable[tuple[str, str | None, int]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    texts: dict[str, Counter[str]] = defaultdict(Counter)
    langs: dict[str, str | None] = {}
    ids: dict[str, list[int]] = defaultdict(list)
    for text, lang, tid in items:
        key = _key(text, lang)
        if not key:
            continue
        counts[key] += 1
        texts[key][text.strip()[:500]] += 1
        langs.setdefault(key, lang)
        if tid not in ids[key] and len(ids[key]) < 5:
            ids[key].append(tid)
    rows = [{"question": texts[k].most_common(1)[0][0], "count": n, "language": langs[k], "tickets": ids[k]}
            for k, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]]
    return {"columns": ["question", "count", "language", "tickets"], "rows": rows}


def topics(rows: Iterable[Any]) -> Counter[str]:
    """A complaint's topic: the first tag a routing rule gave it that is not a kind, else the knowledge-base entry
    the bot last answered from, else none."""
    out: Counter[str] = Counter()
    for r in rows:
        topic = None
        try:
            if r.tags and r.tags != "[]":
                topic = next((t for t in json.loads(r.tags) or () if isinstance(t, str) and t not in KINDS), None)
            if topic is None and r.bot_state and "last_entry" in r.bot_state:
                topic = (json.loads(r.bot_state) or {}).get("last_entry")
        except (ValueError, AttributeError):
            pass
        out[str(topic) if topic else "none"] += 1
    return out
