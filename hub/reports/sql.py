"""Column expressions that read cheaply on both databases: times as Unix seconds (no datetime objects built per
row), JSON as its text."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Text, cast, func, literal_column
from sqlalchemy.sql import ColumnElement


def epoch(col: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return (func.julianday(col) - literal_column("2440587.5")) * literal_column("86400.0")
    return cast(func.extract("epoch", col), Float)


def as_text(col: Any) -> ColumnElement[Any]:
    return cast(col, Text)
