"""The router: one customer message in, a routing decision with its reasons out.

`Router(config, routing).route(ctx)` classifies the message, applies the first matching rule, fills what the rule
left open with the defaults (complaint priority, sales leads to the sales department, department keywords, the
default department), picks the preferred assignee and computes the SLA deadlines on the department's calendar.
Every step adds a `TraceEntry` so the ticket can show why it went where it went. Pure: no I/O, no clock reads.
"""
from __future__ import annotations

import math

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.config import Config
from hub.domain import Kind, Priority
from nlp.models import TextModels, current_models
from routing.calendar import BusinessCalendar, _aware
from routing.classify import Classification, classify
from routing.config import RoutingConfig
from routing.lexicon import Lexicon, default_lexicons
from routing.rules import RuleFacts, RuleMatch, find_keyword, first_match
from routing.sla import SlaPlan, calendar_for, plan, target_for

PLANS_KEPT = 64  # distinct (time, department, priority, policy, complaint) plans remembered


@dataclass(frozen=True, slots=True)
class TraceEntry:
    what: str  # "language", "kind", "rule", "department", "priority", "assign", "sla", "tags"
    why: str


@dataclass(frozen=True, slots=True)
class RouteContext:
    text: str
    channel: str
    now: datetime  # aware; the moment the message arrived
    language_hint: str | None = None
    tier: str | None = None
    tags: frozenset[str] = frozenset()
    account_manager_id: int | None = None
    repeat_contact: bool = False  # the customer has another unresolved ticket / writes again on this one
    kind_hint: Kind | None = None  # set by a channel that knows (the callback form asks for a call)
    detector: str | None = None  # "lexicon", "model:lexical" or None (as configured); see hub.ports.RouteRequest
    deadlines: bool = True  # False: SLA deadlines only for a complaint; see hub.ports.RouteRequest


@dataclass(frozen=True, slots=True)
class RoutingDecision:
    kind: Kind
    language: str
    department: str
    priority: Priority
    tags: tuple[str, ...]
    assign_to_agent_id: int | None  # preferred assignee; the store still checks presence and capacity
    sla_policy: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_warn_at: datetime | None
    resolution_warn_at: datetime | None
    auto_assign: bool  # the department assigns on its own; otherwise the ticket waits to be claimed
    rule: str | None  # label of the matching rule, None when the defaults decided
    classification: Classification
    trace: tuple[TraceEntry, ...] = field(default=())

    def trace_dicts(self) -> list[dict[str, str]]:
        return [{"what": t.what, "why": t.why} for t in self.trace]


class Router:
    def __init__(
        self, config: Config, routing: RoutingConfig, lexicons: Mapping[str, Lexicon] | None = None
    ) -> None:
        self.config = config
        self.routing = routing
        self.lexicons = lexicons if lexicons is not None else default_lexicons(
            routing.lexicon_paths(config.base_dir)
        )
        self._global = BusinessCalendar(config.business_hours)
        # Recent SLA plans by their inputs.  The messages stored in one transaction share its `now`, so a group of new
        # conversations for one department and priority needs the business-hours arithmetic once, not once each
        # (it was a fifth of routing a first message).  A plan is frozen and depends on nothing else.
        self._plans: dict[tuple[datetime, str, Priority, str | None, bool], SlaPlan] = {}

    @property
    def models(self) -> TextModels | None:
        if self.routing.complaint.detector != "model":
            return None
        return current_models()

    def calendar(self, department: str | None) -> BusinessCalendar:
        return calendar_for(self.config, department)

    def classify(self, ctx: RouteContext) -> Classification:
        threshold = self.routing.complaint.threshold
        if ctx.detector == "lexicon" and self.models is not None:
            # The keywords-only reading inside the storing transaction, with the learned model configured: the
            # model's review after the commit decides whether this is a complaint (and raises the ticket if so).
            # Keywords deciding here as well made a first message a complaint when either said so, and a complaint
            # is never lowered: Thai precision through the chat 0.62 instead of the model's 0.83.
            threshold = math.inf
        return classify(
            ctx.text,
            language_hint=ctx.language_hint,
            repeat_contact=ctx.repeat_contact,
            kind_hint=ctx.kind_hint,
            lexicons=self.lexicons,
            threshold=threshold,
            models=None if ctx.detector == "lexicon" else self.models,
            lexicon_weight=self.routing.complaint.lexicon_weight,
            variant="lexical" if ctx.detector == "model:lexical" else None,
        )

    def route(self, ctx: RouteContext) -> RoutingDecision:
        now = _aware(ctx.now, "RouteContext.now")
        trace: list[TraceEntry] = []
        c = self.classify(ctx)
        trace.append(TraceEntry("language", f"{c.language}: {c.language_reason}"))
        trace.append(TraceEntry("kind", self._kind_why(c)))

        open_now = self._global.is_open(now)
        facts = RuleFacts(
            kind=c.kind.value,
            language=c.language,
            channel=ctx.channel,
            text=ctx.text,
            tier=ctx.tier,
            tags=frozenset(ctx.tags),
            open_now=open_now,
            complaint_score=c.complaint_score,
        )
        match = first_match(self.routing.rules, facts)
        if match:
            trace.append(TraceEntry("rule", f"{match.label} matched: {'; '.join(match.reasons)}"))
        else:
            trace.append(TraceEntry("rule", f"no rule matched ({len(self.routing.rules)} checked); defaults apply"))

        department = self._department(c, ctx, match, trace)
        priority = self._priority(c, match, trace)
        tags = self._tags(c, match, ctx, trace)
        assignee = self._assignee(ctx, match, trace)
        complaint = c.kind is Kind.COMPLAINT
        policy = match.rule.then.sla if match else None
        if ctx.deadlines or complaint:
            sla = self._plan(now, department, priority, policy, complaint)
        else:
            name, target, _ = target_for(self.config, self.routing, policy, priority, complaint)
            sla = SlaPlan(name, target, self._global, None, None, None, None,
                          f"policy {name!r}: deadlines not worked out (a review changes them only for a complaint)")
        trace.append(TraceEntry("sla", sla.why))
        dept = self.config.department(department)
        return RoutingDecision(
            kind=c.kind,
            language=c.language,
            department=department,
            priority=priority,
            tags=tags,
            assign_to_agent_id=assignee,
            sla_policy=sla.policy,
            first_response_due=sla.first_response_due,
            resolution_due=sla.resolution_due,
            first_response_warn_at=sla.first_response_warn_at,
            resolution_warn_at=sla.resolution_warn_at,
            auto_assign=bool(dept and dept.auto_assign),
            rule=match.label if match else None,
            classification=c,
            trace=tuple(trace),
        )

    # -- steps -------------------------------------------------------------------------------------------------
    def _plan(self, now: datetime, department: str, priority: Priority, policy: str | None, complaint: bool) -> SlaPlan:
        key = (now, department, priority, policy, complaint)
        made = self._plans.get(key)
        if made is None:
            if len(self._plans) >= PLANS_KEPT:
                self._plans.clear()
            made = self._plans[key] = plan(self.config, self.routing, now=now, department=department,
                                           priority=priority, policy=policy, complaint=complaint)
        return made

    @staticmethod
    def _kind_why(c: Classification) -> str:
        why = c.reasons[-1]
        if c.signals:
            why += f"; signals: {', '.join(c.signals)}"
        return why

    def _department(self, c: Classification, ctx: RouteContext, match: RuleMatch | None, trace: list[TraceEntry]) -> str:
        if match and match.rule.then.department:
            trace.append(TraceEntry("department", f"{match.rule.then.department}: set by {match.label}"))
            return match.rule.then.department
        sales = self.routing.sales_department
        if c.kind is Kind.SALES and self.config.department(sales):
            trace.append(TraceEntry("department", f"{sales}: sales lead"))
            return sales
        for dept in self.config.departments:
            found = find_keyword(dept.keywords, c.language, ctx.text) if dept.keywords else None
            if found:
                trace.append(TraceEntry("department", f"{dept.name}: keyword {found[1]!r} ({found[0]})"))
                return dept.name
        default = self.config.default_department
        trace.append(TraceEntry("department", f"{default}: default department (no rule or keyword)"))
        return default

    def _priority(self, c: Classification, match: RuleMatch | None, trace: list[TraceEntry]) -> Priority:
        policy = self.routing.complaint
        if match and match.rule.then.priority:
            p = Priority(match.rule.then.priority)
            trace.append(TraceEntry("priority", f"{p.value}: set by {match.label}"))
            return p
        if c.kind is Kind.COMPLAINT:
            if policy.urgent_score is not None and c.complaint_score >= policy.urgent_score:
                trace.append(
                    TraceEntry("priority", f"urgent: complaint score {c.complaint_score:g} >= {policy.urgent_score:g}")
                )
                return Priority.URGENT
            trace.append(TraceEntry("priority", f"{policy.priority}: complaint (routing.complaint.priority)"))
            return Priority(policy.priority)
        trace.append(TraceEntry("priority", "normal: default"))
        return Priority.NORMAL

    def _tags(
        self, c: Classification, match: RuleMatch | None, ctx: RouteContext, trace: list[TraceEntry]
    ) -> tuple[str, ...]:
        tags: list[str] = []
        if c.kind is Kind.COMPLAINT:
            tags.extend(self.routing.complaint.tags)
        if ctx.repeat_contact:
            tags.append("repeat-contact")
        if match:
            tags.extend(match.rule.then.tags)
        out = tuple(dict.fromkeys(tags))
        if out:
            trace.append(TraceEntry("tags", ", ".join(out)))
        return out

    def _assignee(self, ctx: RouteContext, match: RuleMatch | None, trace: list[TraceEntry]) -> int | None:
        assign = match.rule.then.assign if match else None
        manager = ctx.account_manager_id
        if assign == "queue":
            trace.append(TraceEntry("assign", f"queue: {match.label if match else ''} says never pre-assign"))
            return None
        if manager is not None and (assign == "account_manager" or self.routing.assign_account_manager):
            source = f"{match.label if match else ''} assigns the account manager" if assign else (
                "customer has a dedicated account manager"
            )
            trace.append(TraceEntry("assign", f"agent {manager}: {source}"))
            return manager
        if assign == "account_manager":
            trace.append(TraceEntry("assign", "queue: rule asks for the account manager but the customer has none"))
        return None


def route_many(router: Router, contexts: Iterable[RouteContext]) -> list[RoutingDecision]:
    """Route a batch (benchmarks, replays)."""
    return [router.route(ctx) for ctx in contexts]
