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
        keys = np.array([NONE if v is None else str(v) for v in col], dtype=object)
        if not len(keys):
            return cls([], np.zeros(0, dtype=np.int64))
        uniq, inv = np.unique(keys.astype(str), return_inverse=True)
        names = sorted((str(u) for u in uniq), key=lambda x: (x == NONE, _natural(x)))
        where = np.array([names.index(str(u)) for u in uniq], dtype=np.int64)
        return cls(names, where[inv])

    def total(self) -> Grouping:
        return Grouping(["total"], np.zeros(len(self.index), dtype=np.int64))

    def count(self, mask: np.ndarray | None = None) -> np.ndarray:
        w = None if mask is None else mask.astype(np.float64)
        return np.bincount(self.index, weights=w, minlength=self.size)[: self.size] if self.size else np.zeros(0)

    def total_of(self, values: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(values)
        return np.bincount(self.index[ok], weights=values[ok], minlength=self.size)[: self.size] if self.size else np.zeros(0)

    def quantile(self, values: np.ndarray, q: float) -> np.ndarray:
        """Per group, linear interpolation between the two nearest ranks (numpy's default): with 11 values the 90th
        percentile is the 10th value."""
        out = np.full(self.size, np.nan)
        ok = ~np.isnan(values)
        g, v = self.index[ok], values[ok]
        if not len(v):
            return out
        order = np.lexsort((v, g))
        v = v[order]
        counts = np.bincount(g, minlength=self.size)[: self.size]
        starts = np.cumsum(counts) - counts
        has = counts > 0
        h = (counts[has] - 1) * q
        lo = np.floor(h).astype(np.int64)
        hi = np.minimum(lo + 1, counts[has] - 1)
        a, b = v[starts[has] + lo], v[starts[has] + hi]
        out[has] = a + (h - lo) * (b - a)
        return out


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
