"""The store's JSON columns through orjson (hub.store.jsontext): what is written reads back the same on both
databases, what the standard library refused is still refused, and text it wrote earlier still reads."""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import StatementError

from hub.store import jsontext
from hub.store.db import Database
from hub.store.migrate import migrate
from hub.store.schema import customers, jobs

NOW = datetime(2026, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
VALUES = [
    ["vip", "ลูกค้าประจำ", "مشتری\u200cویژه", "<script>alert(1)</script>"],
    {"step": 2, "ok": True, "score": 0.25, "none": None, "nested": {"list": [1, "۲", {"x": []}]}},
    {"big": 2 ** 70, "negative": -(2 ** 65)},  # past 64 bits: the standard library's text
    {"1": "one", "quote": "\"'\\", "emoji": "😡", "control": "\x00\x1f"},
    [],
    {},
]


@pytest.mark.parametrize("value", VALUES)
def test_text_reads_back_as_the_value_and_as_the_standard_library_reads_it(value: object) -> None:
    written = jsontext.dumps(value)
    assert isinstance(written, str)
    assert jsontext.loads(written) == value == json.loads(written)


def test_keys_that_are_not_strings_are_written_as_the_standard_library_writes_them() -> None:
    assert jsontext.loads(jsontext.dumps({1: "a", None: "b"})) == {"1": "a", "null": "b"}


@pytest.mark.parametrize("value", [{"at": NOW}, [NOW.date()], {"s": {1, 2}}, object()])
def test_what_the_standard_library_refused_is_still_refused(value: object) -> None:
    # orjson would write a datetime as text; read back it would be a str where the caller stored a datetime.
    with pytest.raises(TypeError):
        jsontext.dumps(value)


def test_text_the_standard_library_wrote_earlier_still_reads() -> None:
    assert jsontext.loads('{"a": [1, 2], "th": "\\u0e2a\\u0e27\\u0e31\\u0e2a"}') == {"a": [1, 2], "th": "สวัส"}
    nan = jsontext.loads('{"p": NaN, "q": Infinity}')  # json.dumps wrote these bare
    assert math.isnan(nan["p"]) and nan["q"] == math.inf
    assert jsontext.loads('["\\ud800"]') == ["\ud800"]  # a lone surrogate escape
    assert jsontext.loads(b'{"b": 1}') == {"b": 1}


def test_a_nan_is_written_as_null() -> None:
    assert jsontext.loads(jsontext.dumps({"p": float("nan")})) == {"p": None}


async def test_json_columns_write_and_read_through_the_engine_on_both_databases(db_url: str) -> None:
    db = Database(db_url)
    try:
        await migrate(db)
        async with db.write() as conn:
            ids = [(await conn.execute(insert(customers).values(
                name="c", language="th", tier="standard", tags=v if isinstance(v, list) else [v], created_at=NOW,
            ).returning(customers.c.id))).scalar_one() for v in VALUES]
            await conn.execute(insert(jobs).values(kind="k", key="j1", due_at=NOW, payload=VALUES[1], state="pending",
                                                   attempts=0))
        async with db.read() as conn:
            got = dict((await conn.execute(select(customers.c.id, customers.c.tags).where(customers.c.id.in_(ids)))).all())
            payload = (await conn.execute(select(jobs.c.payload).where(jobs.c.key == "j1"))).scalar_one()
        assert [got[i] for i in ids] == [v if isinstance(v, list) else [v] for v in VALUES]
        assert payload == VALUES[1]
        with pytest.raises(StatementError):  # a datetime inside a JSON value: refused, as before
            async with db.write() as conn:
                await conn.execute(update(jobs).where(jobs.c.key == "j1").values(payload={"at": NOW}))
        if db.is_sqlite:
            # A row as the standard library wrote it (ASCII escapes, spaces after separators) reads as before.
            async with db.write() as conn:
                await conn.execute(text("UPDATE jobs SET payload = :p WHERE key = 'j1'"),
                                   {"p": json.dumps({"th": "ด่วน", "n": [1, 2]})})
            async with db.read() as conn:
                assert (await conn.execute(select(jobs.c.payload))).scalar_one() == {"th": "ด่วน", "n": [1, 2]}
    finally:
        await db.close()
