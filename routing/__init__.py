"""Routing: language and kind classification, department rules, assignment choice and SLA deadlines.

Depends on hub.domain and hub.config only; the core calls `validate_routing` from `hub check-config` and
`Router.route` from intake, `pick_agent` when a seat frees up, and the sla helpers from the scheduler.
"""
from __future__ import annotations

from routing.assign import AgentLoad, Assignment, choose_agent, pick_agent
from routing.calendar import BusinessCalendar, ClosedCalendarError
from routing.classify import Classification, classify
from routing.config import RoutingConfig, validate_routing
from nlp.langid import LanguageGuess, detect_language
from routing.router import RouteContext, Router, RoutingDecision, TraceEntry
from routing.sla import BreachAction, calendar_for, escalate, on_breach, resume_resolution_due, warn_time

__all__ = [
    "AgentLoad", "Assignment", "BreachAction", "BusinessCalendar", "Classification", "ClosedCalendarError",
    "LanguageGuess", "RouteContext", "Router", "RoutingConfig", "RoutingDecision", "TraceEntry", "calendar_for",
    "choose_agent", "classify", "detect_language", "escalate", "on_breach", "pick_agent", "resume_resolution_due",
    "validate_routing", "warn_time",
]
