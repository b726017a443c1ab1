"""SLA arithmetic: targets for a ticket, deadlines on a business calendar, warnings, pauses and escalation.

Pure functions over hub.config values and a `BusinessCalendar`; the scheduler stores the results and fires the
jobs. Imports hub.config, hub.domain and routing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from hub.config import Config, SlaTarget
from hub.domain import Priority
from routing.calendar import BusinessCalendar
from routing.config import RoutingConfig

_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)


def escalate(current: Priority | str) -> Priority:
    """The next priority up; urgent stays urgent."""
    p = Priority(current)
    return _ORDER[min(_ORDER.index(p) + 1, len(_ORDER) - 1)]


def calendar_for(config: Config, department: str | None) -> BusinessCalendar:
    """The department's own hours when it has them, else the global business hours."""
    dept = config.department(department) if department else None
    return _calendar(dept.business_hours if dept and dept.business_hours else config.business_hours)


_CACHE: dict[int, BusinessCalendar] = {}


def _calendar(hours: object) -> BusinessCalendar:
    # Calendars cache their day intervals, so keep one per hours object instead of rebuilding per ticket.
    key = id(hours)
    cal = _CACHE.get(key)
    if cal is None or cal.hours is not hours:
        cal = _CACHE[key] = BusinessCalendar(hours)  # type: ignore[arg-type]
    return cal


@dataclass(frozen=True, slots=True)
class SlaPlan:
    policy: str
    target: SlaTarget
    calendar: BusinessCalendar
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_warn_at: datetime | None
    resolution_warn_at: datetime | None
    why: str


def target_for(
    config: Config, routing: RoutingConfig, policy: str | None, priority: Priority, complaint: bool
) -> tuple[str, SlaTarget, str]:
    """(policy name, effective target, explanation): a named policy, else the priority's; complaint overrides."""
    name = policy if policy and policy in config.sla else priority.value
    base = config.sla.get(name) or SlaTarget()
    why = f"policy {name!r}" if name in config.sla else f"no SLA policy for {name!r}: no deadlines"
    override = routing.complaint.sla if complaint else None
    if override is not None and override.model_fields_set:
        base = base.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})
        why += f" with complaint override ({', '.join(sorted(override.model_fields_set))})"
    return name, base, why


def warn_time(start: datetime, due: datetime, fraction: float, calendar: BusinessCalendar) -> datetime:
    """When `fraction` of the business time between `start` and `due` has elapsed (the SLA warning)."""
    span = calendar.business_time_between(start, due)
    return calendar.add_business_time(start, span * fraction)


def plan(
    config: Config,
    routing: RoutingConfig,
    *,
    now: datetime,
    department: str | None,
    priority: Priority,
    policy: str | None = None,
    complaint: bool = False,
) -> SlaPlan:
    name, target, why = target_for(config, routing, policy, priority, complaint)
    wall_clock = name in routing.calendar_hours
    cal = BusinessCalendar.always() if wall_clock else calendar_for(config, department)
    fr = cal.add_business_time(now, target.first_response) if target.first_response is not None else None
    res = cal.add_business_time(now, target.resolution) if target.resolution is not None else None
    clock = "wall-clock hours" if wall_clock else f"business hours ({cal.hours.tz})"
    parts = [why, clock]
    if target.first_response is not None:
        parts.append(f"first response {target.first_response} -> {fr.isoformat() if fr else None}")
    if target.resolution is not None:
        parts.append(f"resolution {target.resolution} -> {res.isoformat() if res else None}")
    return SlaPlan(
        policy=name,
        target=target,
        calendar=cal,
        first_response_due=fr,
        resolution_due=res,
        first_response_warn_at=warn_time(now, fr, target.warn_at, cal) if fr else None,
        resolution_warn_at=warn_time(now, res, target.warn_at, cal) if res else None,
        why="; ".join(parts),
    )


def resume_resolution_due(
    resolution_due: datetime, paused_at: datetime, resumed_at: datetime, calendar: BusinessCalendar
) -> datetime:
    """The resolution deadline after a `pending` pause: the business time left at the pause, counted again from
    the resume. A deadline already passed when the ticket was paused stays where it was (it is breached)."""
    if resumed_at < paused_at:
        raise ValueError("resumed_at is before paused_at")
    if resolution_due <= paused_at:
        return resolution_due.astimezone(timezone.utc)
    left = calendar.business_time_between(paused_at, resolution_due)
    return calendar.add_business_time(resumed_at, left)


@dataclass(frozen=True, slots=True)
class BreachAction:
    priority: Priority
    department: str | None  # the department to move the ticket to; None keeps it where it is
    why: str


def on_breach(config: Config, *, priority: Priority | str, department: str | None, deadline: str) -> BreachAction:
    """What a breach of `deadline` ("first_response" or "resolution") does: raise the priority one step and, when
    the department names an escalation department, move the ticket there."""
    new = escalate(priority)
    dept = config.department(department) if department else None
    move = dept.escalation if dept and dept.escalation and dept.escalation != department else None
    why = f"{deadline} SLA breached: priority {Priority(priority).value} -> {new.value}"
    if move:
        why += f"; moved from {department} to escalation department {move}"
    return BreachAction(new, move, why)
