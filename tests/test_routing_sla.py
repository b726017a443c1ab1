"""SLA helpers: escalation steps, warning times, pause/resume of the resolution clock, breach actions."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.config import BusinessHours, from_mapping
from hub.domain import Priority
from routing.calendar import BusinessCalendar
from routing.sla import escalate, on_breach, resume_resolution_due, warn_time

BKK = ZoneInfo("Asia/Bangkok")
CAL = BusinessCalendar(BusinessHours(tz="Asia/Bangkok", weekly={d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}))


@pytest.mark.parametrize(
    ("now", "then"),
    [("low", Priority.NORMAL), ("normal", Priority.HIGH), (Priority.HIGH, Priority.URGENT), ("urgent", Priority.URGENT)],
)
def test_escalate_one_step(now: str, then: Priority) -> None:
    assert escalate(now) is then


def test_escalate_rejects_unknown() -> None:
    with pytest.raises(ValueError):
        escalate("critical")


def test_warn_time_counts_business_time() -> None:
    start = datetime(2024, 3, 1, 17, 0, tzinfo=BKK)  # Friday 17:00
    due = CAL.add_business_time(start, timedelta(hours=5))  # Monday 13:00
    # 80% of 5 business hours = 4h: 1h on Friday, 3h on Monday.
    assert warn_time(start, due, 0.8, CAL) == datetime(2024, 3, 4, 12, 0, tzinfo=BKK)


def test_pause_over_weekend_keeps_remaining_business_time() -> None:
    due = datetime(2024, 3, 5, 12, 0, tzinfo=BKK)  # Tuesday noon
    paused = datetime(2024, 3, 4, 15, 0, tzinfo=BKK)  # Monday 15:00: 3h + 3h = 6h left
    resumed = datetime(2024, 3, 6, 10, 0, tzinfo=BKK)  # Wednesday 10:00
    assert resume_resolution_due(due, paused, resumed, CAL) == datetime(2024, 3, 6, 16, 0, tzinfo=BKK)


def test_pause_outside_hours_costs_nothing() -> None:
    due = datetime(2024, 3, 4, 12, 0, tzinfo=BKK)
    paused = datetime(2024, 3, 1, 20, 0, tzinfo=BKK)  # Friday night
    resumed = datetime(2024, 3, 3, 20, 0, tzinfo=BKK)  # Sunday night
    assert resume_resolution_due(due, paused, resumed, CAL) == due


def test_breached_before_pause_stays_breached_and_order_is_checked() -> None:
    due = datetime(2024, 3, 4, 12, 0, tzinfo=BKK)
    paused = datetime(2024, 3, 4, 13, 0, tzinfo=BKK)
    assert resume_resolution_due(due, paused, paused + timedelta(days=2), CAL) == due
    with pytest.raises(ValueError):
        resume_resolution_due(due, paused, paused - timedelta(hours=1), CAL)


def test_breach_raises_priority_and_moves_to_escalation_department() -> None:
    config = from_mapping(
        {"departments": [{"name": "support", "default": True, "escalation": "tier2"}, {"name": "tier2"}]}
    )
    act = on_breach(config, priority="normal", department="support", deadline="first_response")
    assert (act.priority, act.department) == (Priority.HIGH, "tier2")
    assert "first_response" in act.why and "tier2" in act.why
    act = on_breach(config, priority="urgent", department="tier2", deadline="resolution")
    assert (act.priority, act.department) == (Priority.URGENT, None)
