"""What the core asks of the routing and bot packages.  The registry plugs in the real ones; the defaults here
keep the core usable (and testable) on its own."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from hub.config import Config
from hub.domain import Accepted, Inbound


@dataclass(frozen=True, slots=True)
class RouteRequest:
    text: str
    channel: str
    now: datetime
    language_hint: str | None = None
    subject: str | None = None
    tier: str = "standard"
    tags: tuple[str, ...] = ()
    account_manager_id: int | None = None
    repeat_contact: bool = False  # the customer has another unresolved ticket
    kind_hint: str | None = None  # set by a channel that knows (the callback form asks for a call)
    # "lexicon": keywords only (the quick decision inside the intake transaction); "model:lexical": the learned
    # model without the sentence encoder (under load); None: as configured.
    detector: str | None = None
    # False for the review of a stored message: SLA deadlines are worked out only when it reads as a complaint, the
    # one case in which a review changes them (the business-hours arithmetic is a good part of a route's cost).
    deadlines: bool = True


@dataclass(frozen=True, slots=True)
class RouteResult:
    kind: str
    language: str | None
    department: str
    priority: str
    first_response_due: datetime | None
    resolution_due: datetime | None
    tags: tuple[str, ...] = ()
    assignee_id: int | None = None  # a preferred assignee (account manager); the assigner checks presence/capacity
    trace: tuple[tuple[str, str], ...] = field(default_factory=tuple)  # (what, why)
    first_response_warn_at: datetime | None = None
    resolution_warn_at: datetime | None = None
    auto_assign: bool = False
    sla_policy: str = "normal"
    complaint: bool = False
    complaint_probability: float | None = None
    detector: str = ""


class Router(Protocol):
    def route(self, req: RouteRequest) -> RouteResult: ...


class Responder(Protocol):
    """Runs after a customer message is committed (the FAQ bot).  Must not raise."""

    async def on_customer_message(self, accepted: Accepted, inbound: Inbound, new_ticket: bool) -> None: ...


_THAI = re.compile(r"[\u0e00-\u0e7f]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")


def script_language(text: str) -> str | None:
    if _THAI.search(text):
        return "th"
    if _ARABIC.search(text):
        return "fa"
    return "en" if re.search(r"[A-Za-z]", text) else None


class DefaultRouter:
    """Default department, normal priority, SLA in wall-clock time."""

    def __init__(self, config: Config) -> None:
        self.config = config

    def route(self, req: RouteRequest) -> RouteResult:
        sla = self.config.sla.get("normal")
        fr = req.now + sla.first_response if sla and sla.first_response else None
        rs = req.now + sla.resolution if sla and sla.resolution else None
        dept = self.config.default_department
        return RouteResult(
            kind="question",
            language=req.language_hint or script_language(req.text),
            department=dept,
            priority="normal",
            first_response_due=fr,
            resolution_due=rs,
            trace=(("department", f"{dept}: default department"),),
        )


class NoResponder:
    async def on_customer_message(self, accepted: Accepted, inbound: Inbound, new_ticket: bool) -> None:
        return None


ZERO = timedelta(0)
