"""Time, injectable: tests freeze or move it; everything else asks `now()`."""
from __future__ import annotations

from datetime import datetime, timezone


class Clock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **kw: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kw)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
