"""CPU of routing one message, in one process: the intake's route of a new conversation, the review's, and the SLA
plan inside them (is the desk open, two deadlines and their two warnings on the business calendar).

    python bench/routing_cpu.py [--plans 20000] [--routes 4000] [--rounds 3] [--config config.yaml]

Routes: the shipped config's router (registry.build_router), Thai, Persian and English questions and complaints
(as bench/intake_cpu.py sends), the intake's keywords-only reading with deadlines and the review's lexical model
without them (HUB_NLP_ENCODER=none: the encoder's cost is bench/nlp_eval.py's).  Noise on a shared machine only
adds CPU time, so the minimum of the rounds is printed beside the median.

Every new conversation asks its calendar these questions at intake, and a complaint asks them again when the review
raises it.  `routing.sla.plan` with the shipped config (Asia/Bangkok, 09:00-18:00 on weekdays) for arrivals spread
over a week, so open and closed hours, nights and the weekend all come up; the calendar answers from its day tables.
Baseline in the same run: the same plans with the calendar's interval walk answering instead (the way every
question was answered before the tables, and still the answer past a table's sixty days).  Prints JSON; medians.
"""
from __future__ import annotations

import os
import sys

sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

os.environ.setdefault("HUB_NLP_ENCODER", "none")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

from bench.common import emit, machine  # noqa: E402
from hub.config import read_config  # noqa: E402
from hub import registry  # noqa: E402
from hub.domain import Priority  # noqa: E402
from hub.ports import RouteRequest  # noqa: E402
from routing import calendar as calendar_module  # noqa: E402
from routing.config import validate_routing  # noqa: E402
from routing import sla  # noqa: E402
from routing.sla import plan  # noqa: E402


class _Walking(calendar_module.BusinessCalendar):
    """The baseline: every question answered by walking the intervals."""

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        return self._walk_business_time(calendar_module._aware(start), duration)

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        a, b = calendar_module._aware(a), calendar_module._aware(b)
        return -self._walk_between(b, a) if b < a else self._walk_between(a, b)

    def _next_start(self, at: datetime) -> datetime:
        return next(self.intervals(at))[0]

    @classmethod
    def always(cls) -> calendar_module.BusinessCalendar:
        cal = cls(calendar_module.BusinessCalendar.always().hours)
        cal._always = True
        return cal


def _deadlines(config, routing, moments: list[datetime]) -> list[tuple]:  # type: ignore[no-untyped-def]
    out = []
    for i, at in enumerate(moments):
        p = plan(config, routing, now=at, department=None, priority=Priority.NORMAL, complaint=i % 2 == 0)
        out.append((p.first_response_due, p.resolution_due, p.first_response_warn_at, p.resolution_warn_at))
    return out


def _time(config, routing, moments: list[datetime]) -> float:  # type: ignore[no-untyped-def]
    t0 = time.process_time()
    for i, at in enumerate(moments):
        plan(config, routing, now=at, department=None, priority=Priority.NORMAL, complaint=i % 2 == 0)
    return (time.process_time() - t0) * 1e6 / len(moments)


TEXTS = ("สวัสดีครับ สั่งของไปสามวันแล้วยังไม่ได้รับเลย", "سلام، سفارشم هنوز نرسیده", "hello, my order has not arrived",
         "what are your opening hours?")


def _routes(router, n: int, **kw) -> float:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc)
    t0 = time.process_time()
    for i in range(n):
        router.route(RouteRequest(text=f"{TEXTS[i % 4]} ({i})", channel="webchat", now=now + timedelta(milliseconds=i),
                                  **kw))
    return (time.process_time() - t0) * 1e6 / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--plans", type=int, default=20000)
    ap.add_argument("--routes", type=int, default=4000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--config", default=os.path.join(sys.path[0], "config.yaml"))
    args = ap.parse_args()
    config, _ = read_config(args.config)
    routing = validate_routing(config.routing, config)
    start = datetime(2026, 11, 30, tzinfo=timezone.utc)  # a Monday
    step = timedelta(days=7) / args.plans
    moments = [start + i * step for i in range(args.plans)]  # arrival order, as tickets open
    router = registry.build_router(config)
    intake_kw = {"detector": "lexicon"}
    review_kw = {"detector": "model:lexical", "deadlines": False}
    _routes(router, 400, **intake_kw), _routes(router, 400, **review_kw)  # first calls load models and lexicons
    at_intake, in_review = [], []
    tables, walks = [], []
    same = True
    for _ in range(args.rounds):
        at_intake.append(_routes(router, args.routes, **intake_kw))
        in_review.append(_routes(router, args.routes, **review_kw))
        answers = _deadlines(config, routing, moments[::20])
        tables.append(_time(config, routing, moments))
        # routing.sla builds its calendars from this name: point it at the walking kind for the baseline.
        sla._CACHE.clear()
        sla.BusinessCalendar = _Walking  # type: ignore[misc]
        try:
            same = same and _deadlines(config, routing, moments[::20]) == answers
            walks.append(_time(config, routing, moments))
        finally:
            sla.BusinessCalendar = calendar_module.BusinessCalendar  # type: ignore[misc]
            sla._CACHE.clear()
    emit({
        "bench": "routing_cpu", "machine": machine(), "date": time.strftime("%Y-%m-%d"), "plans": args.plans,
        "routes": args.routes,
        "us_per_route_at_intake": {"median": round(statistics.median(at_intake), 1), "min": round(min(at_intake), 1)},
        "us_per_route_in_review": {"median": round(statistics.median(in_review), 1), "min": round(min(in_review), 1)},
        "us_per_plan_tables": round(statistics.median(tables), 1),
        "us_per_plan_walk_baseline": round(statistics.median(walks), 1),
        "walk_over_tables": round(statistics.median(walks) / statistics.median(tables), 2),
        "same_deadlines": same,  # every twentieth plan worked out both ways
        "each_round": {"tables": [round(x, 1) for x in tables], "walk": [round(x, 1) for x in walks],
                       "route_at_intake": [round(x, 1) for x in at_intake],
                       "route_in_review": [round(x, 1) for x in in_review]},
    })


if __name__ == "__main__":
    main()
