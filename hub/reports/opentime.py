"""Business-hours durations for many tickets at once: the calendar's open intervals over the report's span,
turned into a cumulative "open seconds so far" function, so each duration is two lookups (numpy) instead of a walk
through the calendar per ticket."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from routing.calendar import BusinessCalendar, ClosedCalendarError


class OpenTime:
    def __init__(self, calendar: BusinessCalendar, since: datetime, until: datetime) -> None:
        starts, ends = [], []
        try:
            for a, b in calendar.intervals(since):
                if a >= until:
                    break
                starts.append(a.timestamp())
                ends.append(b.timestamp())
        except ClosedCalendarError:
            pass  # never open again: durations count what was open before
        self.starts = np.array(starts, dtype=np.float64)
        self.ends = np.array(ends, dtype=np.float64)
        lengths = self.ends - self.starts
        self.before = np.concatenate(([0.0], np.cumsum(lengths)[:-1])) if len(lengths) else np.zeros(0)

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Open seconds from the first interval up to each moment in `t` (Unix seconds)."""
        if not len(self.starts):
            return np.zeros_like(t)
        i = np.searchsorted(self.starts, t, side="right") - 1
        inside = np.clip(t - self.starts[np.maximum(i, 0)], 0, (self.ends - self.starts)[np.maximum(i, 0)])
        return np.where(i < 0, 0.0, self.before[np.maximum(i, 0)] + inside)

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Open seconds from a to b, element-wise (NaN where b is NaN)."""
        return self.cumulative(np.nan_to_num(b, nan=0.0)) - self.cumulative(a) + np.where(np.isnan(b), np.nan, 0.0)


def span(first: float, last: float) -> tuple[datetime, datetime]:
    """The UTC span an OpenTime must cover for moments between two Unix times (a day of margin each side)."""
    return (datetime.fromtimestamp(first, timezone.utc) - timedelta(days=1),
            datetime.fromtimestamp(last, timezone.utc) + timedelta(days=1))
