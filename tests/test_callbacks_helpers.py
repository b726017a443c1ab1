"""Shared setup for the callback tests: a hub with the callback channel and a frozen clock."""
from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

import pytest

from hub.clock import FrozenClock
from hub.config import Config
from tests.hubtest import RunningHub, hub_config, running_hub

WEEKDAYS_9_18 = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
# Monday 2027-03-01, 07:00 in Bangkok.
MONDAY_7AM_BKK = datetime(2027, 3, 1, 0, 0, tzinfo=timezone.utc)


def callback_config(db_url: str, *, callback: dict[str, Any] | None = None, hours: dict[str, Any] | None = None, **over: Any) -> Config:
    cb = {"enabled": True, "slot_minutes": 30, "calls_per_agent_per_slot": 2, "agents_on_shift": 1,
          "reminder_before": "15m", "retry_delay": "30m", "max_attempts": 3}
    cb.update(callback or {})
    over.setdefault("departments", [{"name": "support", "default": True}, {"name": "callbacks"}, {"name": "escalations"}])
    return hub_config(
        db_url,
        channels={"webchat": {"enabled": True}, "callback": cb},
        business_hours=hours or {"tz": "Asia/Bangkok", "weekly": WEEKDAYS_9_18, "holidays": []},
        **over,
    )


def booking(**over: Any) -> dict[str, Any]:
    body = {"name": "Somchai", "phone": "081 234 5678", "tz": "Asia/Bangkok", "slot": "2027-03-01T10:00:00+07:00"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


@pytest.fixture
async def hub_cb(sqlite_url: str) -> AsyncIterator[RunningHub]:
    """A hub on SQLite with web chat and callbacks, its clock frozen at Monday 07:00 in Bangkok."""
    async with running_hub(callback_config(sqlite_url), clock=FrozenClock(MONDAY_7AM_BKK)) as h:
        yield h
