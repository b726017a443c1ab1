"""Adapts the routing package to the core's `Router` port (hub.ports): RouteRequest in, RouteResult out."""
from __future__ import annotations

from hub.config import Config
from hub.domain import Kind
from hub.ports import RouteRequest, RouteResult
from routing.config import RoutingConfig
from routing.router import RouteContext, Router


class HubRouter:
    def __init__(self, config: Config, routing: RoutingConfig) -> None:
        self.router = Router(config, routing)

    def route(self, req: RouteRequest) -> RouteResult:
        text = f"{req.subject}\n{req.text}" if req.subject and req.subject not in req.text else req.text
        d = self.router.route(
            RouteContext(
                text=text,
                channel=req.channel,
                now=req.now,
                language_hint=req.language_hint,
                tier=req.tier,
                tags=frozenset(req.tags),
                account_manager_id=req.account_manager_id,
                repeat_contact=req.repeat_contact,
                kind_hint=Kind(req.kind_hint) if req.kind_hint else None,
                detector=req.detector,
                deadlines=req.deadlines,
            )
        )
        return RouteResult(
            kind=d.kind.value,
            language=d.language,
            department=d.department,
            priority=d.priority.value,
            first_response_due=d.first_response_due,
            resolution_due=d.resolution_due,
            tags=d.tags,
            assignee_id=d.assign_to_agent_id,
            trace=tuple((t.what, t.why) for t in d.trace),
            first_response_warn_at=d.first_response_warn_at,
            resolution_warn_at=d.resolution_warn_at,
            auto_assign=d.auto_assign,
            sla_policy=d.sla_policy,
            complaint=d.kind is Kind.COMPLAINT,
            complaint_probability=d.classification.complaint_probability,
            detector=d.classification.detector,
        )
