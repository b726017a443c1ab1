"""The text of the store's JSON columns (tags, payloads, bot state, a message's meta and raw provider data),
encoded and decoded with orjson: SQLAlchemy's JSON type calls these through the engine's `json_serializer` and
`json_deserializer`.

A new conversation binds some fifteen JSON values (the ticket's tags and state, four SLA job payloads, the message's
meta), and the standard library's encoder was a good part of the intake's CPU (BENCHMARKS.md, "Counted in
instructions").
orjson writes compact UTF-8 text where the standard library wrote ASCII escapes and spaces after separators: both
are the same JSON to every reader (the hub parses it; the reports' SQL compares only "{}", "[]", "null" and ASCII
words inside the text, written alike by both).

Strict like the standard library: a value it would refuse (a datetime, a dataclass) is passed through by orjson
and refused by `json.dumps` as before, and what orjson cannot write (integers past 64 bits, keys that are not
strings) gets the standard library's text.  One difference stays: a NaN is written as null (valid JSON, which
PostgreSQL's JSON type requires) instead of the standard library's bare `NaN`.  Text that orjson will not read
(`NaN` written earlier, lone surrogate escapes) is read by the standard library.
Imports orjson only.
"""
from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["dumps", "loads"]

_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_STRICT).decode()
    except TypeError:  # orjson.JSONEncodeError included: the standard library's text, or its error, as before
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
