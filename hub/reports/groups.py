"""Group keys for report rows (day, ISO week, agent, department, channel) and per-group statistics on numpy arrays."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from typing import Any

import numpy as np

from hub.reports.params import ReportQuery

NONE = "none"  # the key of rows without an agent or a department


def time_keys(q: ReportQuery) -> list[str]:
    """Every key of a day or week grouping in the range, so a chart shows quiet days as zero, not as gaps."""
    days = q.days()
    if q.group == "day":
        return [d.isoformat() for d in days]
    return sorted({(d - timedelta(days=d.weekday())).isoformat() for d in days})


def keys(q: ReportQuery, at: np.ndarray, agent: Sequence[Any], dept: Sequence[Any], channel: Sequence[Any]) -> np.ndarray:
    """One key per row: the local day or week of `at` (Unix seconds), or the row's agent, department, channel."""
    if q.group in ("day", "week"):
        days = q.days()
        bounds = np.array([datetime.combine(d, time(0), tzinfo=q.zone).timestamp() for d in days])
        idx = np.clip(np.searchsorted(bounds, at, side="right") - 1, 0, len(days) - 1)
        names = [d.isoformat() if q.group == "day" else (d - timedelta(days=d.weekday())).isoformat() for d in days]
        return np.array(names, dtype=object)[idx] if len(at) else np.array([], dtype=object)
    col = {"agent": agent, "department": dept, "channel": channel}[q.group]
    return np.array([NONE if v is None else str(v) for v in col], dtype=object)


def split(k: np.ndarray) -> dict[str, np.ndarray]:
    """Row indexes per key."""
    if not len(k):
        return {}
    uniq, inv = np.unique(k.astype(str), return_inverse=True)
    order = np.argsort(inv, kind="stable")
    cuts = np.cumsum(np.bincount(inv, minlength=len(uniq)))[:-1]
    return {str(u): part for u, part in zip(uniq, np.split(order, cuts))}


def quantile(values: np.ndarray, q: float) -> float | None:
    """Linear interpolation between the two nearest ranks (numpy's default): with 11 values p90 is the 10th."""
    v = values[~np.isnan(values)]
    return round(float(np.quantile(v, q)), 1) if len(v) else None


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def table(q: ReportQuery, k: np.ndarray, row: Callable[[np.ndarray], dict[str, Any]], n: int) -> dict[str, Any]:
    """Rows per group (every day or week of the range even when empty) and a total row over all rows."""
    parts = split(k)
    order = time_keys(q) if q.group in ("day", "week") else sorted(parts, key=lambda x: (x == NONE, x))
    empty = np.array([], dtype=np.int64)
    rows = [{"key": key, **row(parts.get(key, empty))} for key in order]
    return {"rows": rows, "total": row(np.arange(n))}
