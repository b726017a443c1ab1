"""routing: config validation naming the faulty rule, rule order, defaults and the routing trace."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.config import Config, ConfigError, from_mapping
from hub.domain import Kind, Priority
from routing.config import validate_routing
from routing.router import RouteContext, Router

BKK = ZoneInfo("Asia/Bangkok")
MON_10 = datetime(2024, 3, 4, 10, 0, tzinfo=BKK)
SAT_10 = datetime(2024, 3, 2, 10, 0, tzinfo=BKK)


def make_config(**extra: Any) -> Config:
    return from_mapping(
        {
            "business_hours": {"tz": "Asia/Bangkok", "weekly": {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}},
            "departments": [
                {"name": "support", "default": True},
                {"name": "sales", "auto_assign": True},
                {"name": "billing", "keywords": {"en": ["refund*", "invoice"], "th": ["คืนเงิน"], "fa": ["استرداد", "فاکتور"]}},
                {"name": "night", "business_hours": {"tz": "Asia/Bangkok", "weekly": {"sat": ["00:00-24:00"]}}},
            ],
            "sla": {
                "low": {"first_response": "8h", "resolution": "3d"},
                "normal": {"first_response": "1h", "resolution": "24h"},
                "high": {"first_response": "30m", "resolution": "8h"},
                "urgent": {"first_response": "10m", "resolution": "4h"},
                "vip": {"first_response": "5m", "resolution": "2h"},
            },
            **extra,
        }
    )


def router(raw: dict[str, Any], config: Config | None = None) -> Router:
    # These tests are about rules, SLA and departments: keywords decide the kind so the phrases below stay fixed
    # (the learned detector has tests of its own).
    raw = {**raw, "complaint": {"detector": "lexicon", **(raw.get("complaint") or {})}}
    config = config or make_config()
    return Router(config, validate_routing(raw, config))


def ctx(text: str, **kw: Any) -> RouteContext:
    return RouteContext(text=text, channel=kw.pop("channel", "webchat"), now=kw.pop("now", MON_10), **kw)


# -- validation ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"rules": [{"then": {"department": "sales"}, "when": {"kind": "sales"}},
                       {"when": {"tier": "gold"}, "then": {"department": "support"}},
                       {"name": "vip", "when": {"tier": "gold"}, "then": {"department": "salse"}}]},
            "routing.rules[2] (name 'vip'): then.department: unknown department 'salse'",
        ),
        ({"rules": [{"name": "x", "when": {"kind": "moan"}, "then": {}}]}, "routing.rules[0] (name 'x'): when.kind"),
        ({"rules": [{"when": {"kind": "sales"}, "then": {"priorty": "high"}}]}, "routing.rules[0]: then.priorty: unknown key"),
        ({"rules": [{"name": "a", "when": {"kind": "sales"}, "then": {"sla": "gold"}}]},
         "routing.rules[0] (name 'a'): then.sla: unknown SLA policy 'gold'"),
        ({"rules": [{"name": "all", "then": {}}, {"name": "b", "when": {"kind": "sales"}, "then": {}}]},
         "routing.rules[0] (name 'all'): when: a rule without conditions must be the last one"),
        ({"rules": [{"name": "a", "when": {"kind": "sales"}, "then": {}}, {"name": "a", "when": {"tier": "x"}, "then": {}}]},
         "routing.rules[1] (name 'a'): name: duplicate"),
        ({"rules": [{"name": "k", "when": {"keywords": {"en": []}}, "then": {}}]}, "routing.rules[0] (name 'k'): when.keywords.en"),
        ({"rules": [{"name": "p", "when": {"kind": "sales"}, "then": {"priority": "asap"}}]}, "routing.rules[0] (name 'p'): then.priority"),
        ({"complaint": {"priority": "hgh"}}, "routing.complaint.priority"),
        ({"colour": "red"}, "routing.colour: unknown key"),
        ({"calendar_hours": ["nope"]}, "routing.calendar_hours: unknown SLA policy 'nope'"),
        ({"lexicons": ["missing.yaml"]}, "routing.lexicons[0]: file not found"),
    ],
)
def test_validation_names_rule_and_key(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_routing(raw, make_config())
    assert message in str(info.value)


def test_valid_config_parses_with_defaults() -> None:
    rc = validate_routing({"rules": [{"when": {"kind": "complaint", "language": "th"}, "then": {"tags": ["th"]}}]}, make_config())
    assert rc.complaint.priority == "high"
    assert rc.rules[0].when.kind == ["complaint"]
    assert validate_routing(None, make_config()).rules == []


# -- rules ---------------------------------------------------------------------------------------------------------
RULES = {
    "rules": [
        {"name": "vip", "when": {"tier": ["gold"], "kind": "complaint"},
         "then": {"priority": "urgent", "assign": "account_manager", "sla": "vip", "tags": ["vip"]}},
        {"name": "thai-complaints", "when": {"kind": "complaint", "language": "th"}, "then": {"department": "billing"}},
        {"name": "any-complaint", "when": {"kind": "complaint"}, "then": {"tags": ["c"]}},
        {"name": "after-hours", "when": {"business_hours": False, "channel": "telegram"}, "then": {"department": "night"}},
        {"name": "outage", "when": {"keywords": {"en": ["outage"], "*": ["5G"]}}, "then": {"priority": "high"}},
    ]
}


def test_first_matching_rule_wins_in_order() -> None:
    r = router(RULES)
    d = r.route(ctx("This is terrible, nothing works", tier="gold", account_manager_id=42))
    assert d.rule == "rules[0] 'vip'" and d.priority is Priority.URGENT and d.sla_policy == "vip"
    assert d.assign_to_agent_id == 42 and "vip" in d.tags
    d = r.route(ctx("บริการแย่มาก ไม่พอใจเลย", tier="silver"))
    assert d.rule == "rules[1] 'thai-complaints'" and d.department == "billing"
    d = r.route(ctx("Terrible service, nobody answers", tier="silver"))
    assert d.rule == "rules[2] 'any-complaint'" and d.priority is Priority.HIGH and "c" in d.tags


def test_business_hours_condition_and_keywords() -> None:
    r = router(RULES)
    assert r.route(ctx("hello, question about my plan", channel="telegram", now=SAT_10)).department == "night"
    assert r.route(ctx("hello, question about my plan", channel="telegram", now=MON_10)).rule is None
    d = r.route(ctx("Is there an outage in Sathorn?"))
    assert d.rule == "rules[4] 'outage'" and d.priority is Priority.HIGH
    assert r.route(ctx("สัญญาณ 5G หายทั้งวันค่ะ")).rule in ("rules[4] 'outage'", "rules[1] 'thai-complaints'")


def test_defaults_sales_keywords_and_default_department() -> None:
    r = router({})
    d = r.route(ctx("Could you send me a quote for 40 laptops?"))
    assert (d.kind, d.department, d.priority) == (Kind.SALES, "sales", Priority.NORMAL)
    assert d.auto_assign is True
    d = r.route(ctx("Where can I download my invoice?"))
    assert d.department == "billing"
    assert any(t.what == "department" and "invoice" in t.why for t in d.trace)
    d = r.route(ctx("ขอคืนเงินค่ะ สินค้าไม่ตรงปก"))
    assert (d.kind, d.department, d.priority) == (Kind.COMPLAINT, "billing", Priority.HIGH)
    d = r.route(ctx("درخواست استرداد وجه دارم، کالا خراب بود"))
    assert (d.kind, d.department) == (Kind.COMPLAINT, "billing")
    assert r.route(ctx("How do I change my address?")).department == "support"


def test_trace_explains_every_decision() -> None:
    d = router(RULES).route(ctx("WHY is my order STILL not here?! Third time I write!!", repeat_contact=True))
    whats = [t.what for t in d.trace]
    assert whats[:3] == ["language", "kind", "rule"]
    assert {"department", "priority", "sla", "tags"} <= set(whats)
    kind_why = next(t.why for t in d.trace if t.what == "kind")
    assert "repeat_contact" in kind_why and "complaint" in kind_why
    assert d.trace_dicts()[0]["what"] == "language"


def test_account_manager_assignment_rules() -> None:
    assert router({}).route(ctx("How do I pay?", account_manager_id=9)).assign_to_agent_id == 9
    off = router({"assign_account_manager": False})
    assert off.route(ctx("How do I pay?", account_manager_id=9)).assign_to_agent_id is None
    queue = router({"rules": [{"name": "q", "when": {"kind": "question"}, "then": {"assign": "queue"}}]})
    assert queue.route(ctx("How do I pay?", account_manager_id=9)).assign_to_agent_id is None


def test_complaint_priority_sla_override_and_urgent_score() -> None:
    r = router({"complaint": {"priority": "high", "sla": {"first_response": "15m"}, "urgent_score": 4}})
    d = r.route(ctx("The parcel arrived damaged."))
    assert d.priority is Priority.HIGH
    assert d.first_response_due == MON_10 + timedelta(minutes=15)  # override
    assert d.resolution_due == MON_10 + timedelta(hours=8)  # the high policy's resolution, untouched
    d = r.route(ctx("SCAM!!! You THIEVES stole my money, worst company ever 🤬"))
    assert d.priority is Priority.URGENT


def test_sla_uses_department_calendar_and_wall_clock_policies() -> None:
    r = router({"rules": [{"when": {"channel": "telegram"}, "then": {"department": "night"}}]})
    d = r.route(ctx("How do I pay?", channel="telegram", now=MON_10))
    # night desk is open only on Saturdays: 1h of first response lands on Saturday 01:00
    assert d.first_response_due == datetime(2024, 3, 9, 1, 0, tzinfo=BKK)
    wall = router({"calendar_hours": ["normal"]})
    d = wall.route(ctx("How do I pay?", now=SAT_10))
    assert d.first_response_due == SAT_10 + timedelta(hours=1)
    assert d.first_response_warn_at == SAT_10 + timedelta(minutes=48)


def test_department_keywords_first_in_list_order_whatever_the_script() -> None:
    from routing.rules import find_keyword

    words = {"en": ["invoice", "refund*"], "th": ["คืนเงิน", "ใบแจ้งหนี้"], "fa": ["فاکتور", "استرداد"], "*": ["vat"]}
    # The list's order decides, not the text's: "refund" comes first in the message, "invoice" first in the list.
    assert find_keyword(words, "en", "Refunded twice, and the INVOICE is wrong") == ("en", "invoice")
    assert find_keyword(words, "en", "refunding takes how long?") == ("en", "refund*")
    assert find_keyword(words, "en", "my invoices") is None  # whole words unless the entry says `*`
    assert find_keyword(words, "en", "no keyword here") is None
    assert find_keyword(words, "en", "add VAT please") == ("*", "vat")
    assert find_keyword(words, "th", "อยากได้ใบแจ้งหนี้และขอคืนเงินด้วยค่ะ") == ("th", "คืนเงิน")
    # Arabic-keyboard kaf and yeh, and a ZWNJ: the same Persian word.
    assert find_keyword(words, "fa", "لطفا فاكتور را بفرستيد") == ("fa", "فاکتور")
    assert find_keyword(words, "fa", "سلام، خوبید؟") is None


def test_messages_stored_together_share_one_sla_plan_and_each_input_still_counts() -> None:
    # The messages of one transaction share its time: the plan for a department and priority is worked out once,
    # and whatever differs (time, department, priority, complaint) gives that input's own deadlines.
    from routing.sla import plan

    r = router({"rules": [{"when": {"channel": "telegram"}, "then": {"department": "night"}}],
                "complaint": {"priority": "high", "sla": {"first_response": "15m"}}})
    first = r.route(ctx("How do I pay?", now=MON_10))
    again = r.route(ctx("Where is the shop?", now=MON_10))
    assert (again.first_response_due, again.resolution_due, again.first_response_warn_at) == (
        first.first_response_due, first.resolution_due, first.first_response_warn_at)
    cases = [
        ("How do I pay?", "webchat", MON_10 + timedelta(minutes=7)),  # another time
        ("How do I pay?", "telegram", MON_10),  # another department and calendar
        ("The parcel arrived damaged.", "webchat", MON_10),  # a complaint: another priority and override
        ("How do I pay?", "webchat", SAT_10),
    ]
    for text, channel, now in cases:
        d = r.route(ctx(text, channel=channel, now=now))
        fresh = plan(r.config, r.routing, now=now, department=d.department, priority=d.priority,
                     complaint=d.kind is Kind.COMPLAINT)
        assert (d.first_response_due, d.resolution_due, d.first_response_warn_at, d.resolution_warn_at) == (
            fresh.first_response_due, fresh.resolution_due, fresh.first_response_warn_at, fresh.resolution_warn_at)
    assert r.route(ctx("How do I pay?", channel="telegram", now=MON_10)).first_response_due != first.first_response_due
    for k in range(200):  # the plans remembered stay few
        r.route(ctx("How do I pay?", now=MON_10 + timedelta(seconds=k)))
    assert len(r._plans) <= 64
