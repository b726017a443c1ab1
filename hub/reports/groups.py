"""Grouping report rows (by day, ISO week, agent, department or channel) and per-group statistics, vectorised:
each statistic is a few numpy calls over all rows, however many groups there are."""
from __future__ import annotations

import math

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np

from hub.reports.params import ReportQuery

NONE = "none"  # the key of rows without an agent or a department
Columns = dict[str, np.ndarray]


def column(values: Sequence[Any]) -> np.ndarray:
    """Numbers (None as NaN) from one fetched column."""
    return np.array(values, dtype=np.float64) if len(values) else np.zeros(0)


_KINDS = {"f": np.float64, "i": np.int64, "o": object}


def columns(rows: Sequence[Any], kinds: str) -> list[np.ndarray]:
    """Fetched rows turned into one array per column, `kinds` naming each: "f" a number (None as NaN), "i" an
    integer, "o" anything else.  One pass in numpy: transposing 100,000 rows with zip and converting each column
    costs about four times as much."""
    dtype = np.dtype([(f"c{i}", _KINDS[k]) for i, k in enumerate(kinds)])
    table = np.fromiter(map(tuple, rows), dtype=dtype, count=len(rows))
    return [table[f"c{i}"] for i in range(len(kinds))]


class Grouping:
    """Which group each row belongs to (`index`), the groups' keys in display order."""

    def __init__(self, names: list[str], index: np.ndarray) -> None:
        self.names, self.index, self.size = names, index.astype(np.int64), len(names)

    @classmethod
    def of(cls, q: ReportQuery, at: np.ndarray, agent: Sequence[Any], dept: Sequence[Any], channel: Sequence[Any]) -> Grouping:
        if q.group in ("day", "week"):
            days = q.days()
            bounds = np.array([datetime.combine(d, time(0), tzinfo=q.zone).timestamp() for d in days])
            day = np.clip(np.searchsorted(bounds, at, side="right") - 1, 0, len(days) - 1)
            if q.group == "day":
                return cls([d.isoformat() for d in days], day)
            mondays = [(d - timedelta(days=d.weekday())).isoformat() for d in days]
            names = sorted(set(mondays))
            week_of_day = np.array([names.index(m) for m in mondays], dtype=np.int64)
            return cls(names, week_of_day[day] if len(day) else day)
        col = {"agent": agent, "department": dept, "channel": channel}[q.group]
        # Numbered in order of appearance through a dict (a hash per row beats sorting 100,000 strings), then
        # renumbered in display order.
        codes: dict[Any, int] = {}
        seen = np.fromiter((codes.setdefault(v, len(codes)) for v in col), dtype=np.int64, count=len(col))
        keys = [NONE if v is None else str(v) for v in codes]
        names = sorted(set(keys), key=lambda x: (x == NONE, _natural(x)))
        where = np.array([names.index(k) for k in keys], dtype=np.int64)
        return cls(names, where[seen] if len(seen) else seen)

    @classmethod
    def of_codes(cls, q: ReportQuery, at: np.ndarray, codes: np.ndarray, strings: Sequence[Any] | None) -> Grouping:
        """As `of`, from a group column already numbered: agent ids (-1 for none) with `strings` None, or codes
        into `strings` (text or None); days and weeks from `at` as `of` does."""
        if q.group in ("day", "week"):
            return cls.of(q, at, (), (), ())
        values, seen = np.unique(codes, return_inverse=True)
        if strings is None:
            keys = [NONE if v == -1 else str(v) for v in values.tolist()]
        else:
            keys = [NONE if strings[v] is None else str(strings[v]) for v in values.tolist()]
        names = sorted(set(keys), key=lambda x: (x == NONE, _natural(x)))
        where = np.array([names.index(k) for k in keys], dtype=np.int64)
        return cls(names, where[seen] if len(seen) else np.zeros(0, dtype=np.int64))

    def total(self) -> Grouping:
        return Grouping(["total"], np.zeros(len(self.index), dtype=np.int64))

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        w = None if mask is None else mask.astype(np.float64)
        return np.bincount(self.index, weights=w, minlength=self.size)[: self.size] if self.size else np.zeros(0)

    def total_of(self, values: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(values)
        return np.bincount(self.index[ok], weights=values[ok], minlength=self.size)[: self.size] if self.size else np.zeros(0)

    def quantiles(self, values: np.ndarray, qs: Sequence[float]) -> list[np.ndarray]:
        """Per group, linear interpolation between the two nearest ranks (numpy's default): with 11 values the 90th
        percentile is the 10th value.  One sort serves every q."""
        outs = [np.full(self.size, np.nan) for _ in qs]
        ok = ~np.isnan(values)
        g, v = self.index[ok], values[ok]
        if not len(v):
            return outs
        # Values sorted, then grouped by a stable sort of the small group numbers (a radix sort): cheaper than one
        # lexsort of both on 100,000 rows.
        if self.size == 1:
            v = np.sort(v)
        else:
            order = np.argsort(v)
            v, g = v[order], g[order]
            by_group = np.argsort(g.astype(np.int16 if self.size < 2**15 else np.int64), kind="stable")
            v = v[by_group]
        counts = np.bincount(g, minlength=self.size)[: self.size]
        starts = np.cumsum(counts) - counts
        has = counts > 0
        for out, q in zip(outs, qs):
            h = (counts[has] - 1) * q
            lo = np.floor(h).astype(np.int64)
            hi = np.minimum(lo + 1, counts[has] - 1)
            a, b = v[starts[has] + lo], v[starts[has] + hi]
            out[has] = a + (h - lo) * (b - a)
        return outs


def _natural(x: str) -> tuple[int, Any]:
    return (0, int(x)) if x.isdigit() else (1, x)


def ratio(part: np.ndarray, whole: np.ndarray, scale: float = 100.0) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(whole > 0, scale * part / np.where(whole > 0, whole, 1), np.nan)


def table(g: Grouping, section: Callable[[Grouping], Columns], decimals: dict[str, int]) -> dict[str, Any]:
    """Rows per group and the total row.  Columns not in `decimals` are counts."""
    def rows(grouping: Grouping) -> list[dict[str, Any]]:
        cols = {c: arr.tolist() for c, arr in section(grouping).items()}
        out = []
        for i, name in enumerate(grouping.names):
            row: dict[str, Any] = {"key": name}
            for c, values in cols.items():
                x = values[i]
                row[c] = None if math.isnan(x) else (round(x, decimals[c]) if c in decimals else int(round(x)))
            out.append(row)
        return out

    total = rows(g.total())[0]
    del total["key"]
    return {"rows": rows(g), "total": total}
