"""Facts a write transaction records for hooks that must commit with it (the webhook outbox).

A writer notes what it changed (`note("message", id)`); `Database.write` hands the transaction's notes to its
`before_commit` hooks just before the commit, so what they write lands in the same commit as the change or not
at all.  Notes are kept only while some hook listens: with none registered, `note` is one context-variable read.
Imports only the standard library.
"""
from __future__ import annotations

from contextvars import ContextVar, Token

# (kind, id): ("message", message id) for a stored message, ("resolved", ticket id) for a ticket resolved.
Fact = tuple[str, int]

_current: ContextVar[list[Fact] | None] = ContextVar("hub_store_facts", default=None)


def note(kind: str, ident: int) -> None:
    facts = _current.get()
    if facts is not None:
        facts.append((kind, ident))


def begin() -> tuple[list[Fact], Token[list[Fact] | None]]:
    facts: list[Fact] = []
    return facts, _current.set(facts)


def end(token: Token[list[Fact] | None]) -> None:
    _current.reset(token)
