"""Facts a write transaction records for hooks that must commit with it (the webhook outbox).

A writer notes what it changed (`note("message", id)`); `Database.write` hands the transaction's notes to its
`before_commit` hooks just before the commit, so what they write lands in the same commit as the change or not
at all.  Notes are kept only while some hook listens: with none registered, `note` is one context-variable read.
Imports only the standard library.
"""
from __future__ import annotations

from contextvars import ContextVar, Token

# (kind, id, details).  The kinds:
#   ("message", message id)              a stored message
#   ("resolved", ticket id)              a ticket resolved
#   ("updated", ticket id)               a ticket change the consoles are told of (a `ticket.updated` after commit)
#   ("callback.booked", callback id)     a callback booked
#   ("callback.updated", callback id)    a callback's outcome recorded, or the callback moved or cancelled
#   ("breach", ticket id, (target, why)) an SLA target missed
#   ("callback.missed", callback id, (why,)) a callback not made by the end of its window (the "call by" SLA)
Fact = tuple[str, int, tuple[str, ...]]

_current: ContextVar[list[Fact] | None] = ContextVar("hub_store_facts", default=None)


def note(kind: str, ident: int, *details: str) -> None:
    facts = _current.get()
    if facts is not None:
        facts.append((kind, ident, details))


def begin() -> tuple[list[Fact], Token[list[Fact] | None]]:
    facts: list[Fact] = []
    return facts, _current.set(facts)


def end(token: Token[list[Fact] | None]) -> None:
    _current.reset(token)
