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
def question_key(text: str, lang: str | None) -> str:
    """A question's folded form: questions with equal ones count together."""
    return " ".join(_PUNCT.sub(" ", lexicon_form(text, lang)).split())[:300]


async def missed_questions(conn: AsyncConnection, q: ReportQuery) -> dict[str, Any]:
    in_range = [tickets.c.created_at >= q.start, tickets.c.created_at < q.end]
    if q.department:
        in_range.append(tickets.c.department == q.department)
    if q.channel:
        in_range.append(tickets.c.channel == q.channel)
    missed_handoff = (select(trace.c.ticket_id).join(tickets, tickets.c.id == trace.c.ticket_id)
                      .where(and_(trace.c.what == "handoff", *in_range,
                                  or_(*(trace.c.why.like(f"{r}%") for r in MISS_REASONS)))))
    # Each miss on those tickets (a bot reply or the handoff notice the bot gave a miss reason) with the customer
    # message just before it: the database finds both, so only the missed questions come back.
    reply = messages.alias("reply")
    asked = (select(messages.c.text).where(and_(messages.c.ticket_id == reply.c.ticket_id, messages.c.author == "customer",
                                                 messages.c.id < reply.c.id))
             .order_by(messages.c.id.desc()).limit(1).scalar_subquery())
    meta = as_text(reply.c.meta)
    found = (await conn.execute(
        select(asked, tickets.c.language, reply.c.ticket_id)
        .join(tickets, tickets.c.id == reply.c.ticket_id)
        .where(and_(reply.c.ticket_id.in_(missed_handoff), reply.c.author.in_(("bot", "system")),
                    or_(*(meta.like(f"%{r}%") for r in MISS_REASONS))))
    )).all()
    not_helpful = (await conn.execute(
        select(labels.c.text, labels.c.language, labels.c.ticket_id).join(tickets, tickets.c.id == labels.c.ticket_id)
        .where(and_(labels.c.source == "not_helpful", *in_range))
    )).all()
    return _top([*((t, lang, tid) for t, lang, tid in found if t), *not_helpful])


def _top(items: Iterable[tuple[str, str | None, int]]) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    texts: dict[str, Counter[str]] = defaultdict(Counter)
    langs: dict[str, str | None] = {}
    ids: dict[str, list[int]] = defaultdict(list)
    for text, lang, tid in items:
        key = question_key(text, lang)
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


def topics(groups: Iterable[tuple[str | None, str | None, int]]) -> Counter[str]:
    """Complaints per topic from (tags JSON, last knowledge-base entry, count) groups: a complaint's topic is the
    first tag a routing rule gave it that is not a kind, else the entry the bot last answered from, else none."""
    out: Counter[str] = Counter()
    for tags, entry, n in groups:
        out[topic_of(tags, entry)] += n
    return out


def topic_of(tags: str | None, entry: str | None) -> str:
    """One complaint's topic from its tags (JSON text) and the bot's last entry."""
    topic = None
    if tags and tags != "[]":
        try:
            topic = next((t for t in json.loads(tags) or () if isinstance(t, str) and t not in KINDS), None)
        except (ValueError, TypeError):
            topic = None
    return str(topic or entry or "none")
