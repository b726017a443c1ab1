"""The bot's ownership rules: answer, feedback, handoff reasons, email acknowledgement, queue notices."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from bots.config import BotConfig, parse_duration
from bots.kb import load
from bots.matcher import Matcher
from bots.policy import Action, QueueState, Turn, decide, feedback_of, initial_status, queue_notice, reopen_status
from hub.domain import Status

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(load(ROOT / "faq.yaml"))


CFG = BotConfig()


def turn(text: str, channel: str = "webchat", **kw: object) -> Turn:
    kw.setdefault("status", Status.BOT)
    kw.setdefault("channel_has_buttons", channel in ("webchat", "telegram"))
    return Turn(channel=channel, text=text, **kw)  # type: ignore[arg-type]


def test_answer_with_helpful_buttons_on_a_button_channel(matcher: Matcher) -> None:
    d = decide(turn("How much is shipping?"), matcher, CFG)
    assert d.action is Action.ANSWER and d.entry_id == "shipping_cost"
    assert "50 THB" in d.text and "Did this answer your question?" in d.text
    assert [b.payload for b in d.buttons[:2]] == ["helpful:yes:shipping_cost", "helpful:no:shipping_cost"]
    assert d.awaiting_feedback == "shipping_cost" and d.misses == 0


def test_answer_asks_in_text_without_buttons(matcher: Matcher) -> None:
    d = decide(turn("ค่าส่งเท่าไหร่คะ", channel="sms", channel_has_buttons=False), matcher, CFG)
    assert d.action is Action.ANSWER and d.buttons == ()
    assert d.lang == "th" and "ตอบ ใช่ หรือ ไม่" in d.text


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("I want to talk to a human please", "en"),
        ("can I speak to an agent", "en"),
        ("ขอคุยกับพนักงานหน่อยค่ะ", "th"),
        ("ติดต่อเจ้าหน้าที่ได้ไหม", "th"),
        ("می‌خوام با اپراتور صحبت کنم", "fa"),
        ("لطفا وصلم کنید به کارشناس", "fa"),
        ("پشتیبان انسانی میخوام", "fa"),
    ],
)
def test_handoff_when_customer_asks_for_a_human(matcher: Matcher, text: str, lang: str) -> None:
    d = decide(turn(text), matcher, CFG)
    assert d.action is Action.HANDOFF
    assert d.reason == f"customer asked for a human ({lang})"
    assert d.text and d.lang == lang


def test_handoff_words_are_configurable(matcher: Matcher) -> None:
    cfg = BotConfig(handoff_words={"en": ["manager"]})
    assert decide(turn("let me speak to your manager"), matcher, cfg).action is Action.HANDOFF
    assert decide(turn("I want a human"), matcher, cfg).action is not Action.HANDOFF  # en replaced
    assert decide(turn("ขอคุยกับพนักงาน"), matcher, cfg).action is Action.HANDOFF  # th defaults kept


def test_handoff_on_complaint_even_when_answerable(matcher: Matcher) -> None:
    # A stated complaint the knowledge base answers: the answer goes first, the ticket still goes to a person.
    d = decide(turn("My item arrived broken!", is_complaint=True), matcher, CFG)
    assert d.action is Action.HANDOFF and d.reason == "complaint"
    assert d.entry_id == "damaged_item" and d.first == matcher.kb.get("damaged_item").answer("en")
    for text, lang in [("ของที่ได้รับแตกเสียหายค่ะ", "th"), ("کالایی که رسید شکسته بود", "fa")]:
        d = decide(turn(text, lang=lang, is_complaint=True), matcher, CFG)
        assert d.action is Action.HANDOFF and d.first == matcher.kb.get("damaged_item").answer(lang), (text, d)
    # One it knows nothing about: handed off with nothing first.
    d = decide(turn("your staff were rude to me", is_complaint=True), matcher, CFG)
    assert d.action is Action.HANDOFF and d.reason == "complaint" and d.first is None


def test_handoff_after_two_misses(matcher: Matcher) -> None:
    first = decide(turn("zxqv blorp"), matcher, CFG)
    assert first.action is Action.ANSWER and first.entry_id is None and first.misses == 1
    second = decide(turn("qwpe flum", bot_misses=first.misses), matcher, CFG)
    assert second.action is Action.HANDOFF and second.misses == 2
    assert second.reason.startswith("bot missed 2 times")


def test_a_good_answer_resets_misses(matcher: Matcher) -> None:
    d = decide(turn("how much is shipping", bot_misses=1), matcher, CFG)
    assert d.action is Action.ANSWER and d.misses == 0


def test_not_helpful_button_and_text_hand_off(matcher: Matcher) -> None:
    d = decide(turn("helpful:no:returns", flags=frozenset({"button"})), matcher, CFG)
    assert d.action is Action.HANDOFF and "did not help" in d.reason
    d = decide(turn("x", button_payload="helpful:no:returns"), matcher, CFG)
    assert d.action is Action.HANDOFF
    for text, lang in (("no", "en"), ("ไม่ใช่ค่ะ", "th"), ("نه", "fa")):
        d = decide(turn(text, channel_has_buttons=False, awaiting_feedback="returns", lang=lang), matcher, CFG)
        assert d.action is Action.HANDOFF and "did not help" in d.reason, text


def test_helpful_yes_thanks_and_keeps_the_bot(matcher: Matcher) -> None:
    d = decide(turn("helpful:yes:returns", flags=frozenset({"button"})), matcher, CFG)
    assert d.action is Action.ANSWER and "helped" in d.reason
    d = decide(turn("بله ممنون", awaiting_feedback="returns"), matcher, CFG)
    assert d.action is Action.ANSWER and "helped" in d.reason


def test_feedback_recognition() -> None:
    assert feedback_of("No thanks", "en") is False
    assert feedback_of("yes!", "en") is True
    assert feedback_of("ไม่ได้ช่วยเลย", "th") is False
    assert feedback_of("خیر", "fa") is False
    assert feedback_of("how long does delivery take to chiang mai", "en") is None


@pytest.mark.parametrize(("tier", "manager"), [("vip", False), ("VIP", False), ("standard", True)])
def test_vip_or_account_manager_goes_to_a_person(matcher: Matcher, tier: str, manager: bool) -> None:
    d = decide(turn("how much is shipping", customer_tier=tier, has_account_manager=manager), matcher, CFG)
    assert d.action is Action.HANDOFF
    assert "vip" in d.reason or "account manager" in d.reason


def test_email_gets_one_automatic_acknowledgement_then_nothing(matcher: Matcher) -> None:
    d = decide(turn("Hello, how much is shipping to Chiang Mai?", channel="email"), matcher, CFG)
    assert d.action is Action.HANDOFF and d.automatic
    assert d.text.startswith("This is an automatic reply") and "50 THB" in d.text
    again = decide(turn("Any news?", channel="email", email_ack_sent=True), matcher, CFG)
    assert again.action is Action.HANDOFF and again.text is None
    # Once the ticket is queued, nothing at all.
    later = decide(turn("hello?", channel="email", status=Status.QUEUED, email_ack_sent=True), matcher, CFG)
    assert later.action is Action.NOTHING and later.text is None


@pytest.mark.parametrize("status", [Status.QUEUED, Status.ASSIGNED, Status.PENDING, Status.RESOLVED, Status.CLOSED])
def test_never_answers_after_handoff(matcher: Matcher, status: Status) -> None:
    for text in ("How much is shipping?", "helpful:yes:returns", "agent please", "zxqv"):
        d = decide(turn(text, status=status, flags=frozenset({"button"})), matcher, CFG)
        assert d.action is Action.NOTHING and d.text is None


@pytest.mark.parametrize("flag", ["auto_reply", "bounce"])
def test_auto_replies_and_bounces_get_nothing(matcher: Matcher, flag: str) -> None:
    d = decide(turn("Out of office: how much is shipping", channel="email", flags=frozenset({flag})), matcher, CFG)
    assert d.action is Action.NOTHING


def test_channel_list_and_reopen_rules() -> None:
    cfg = BotConfig(channels=["webchat"], reopen_to_bot=False)
    assert initial_status("webchat", cfg) is Status.BOT
    assert initial_status("telegram", cfg) is Status.QUEUED
    assert initial_status("webchat", BotConfig(enabled=False)) is Status.QUEUED
    assert reopen_status(cfg) is Status.QUEUED
    assert reopen_status(BotConfig(reopen_to_bot=True)) is Status.BOT


NOW = datetime(2024, 5, 6, 10, 0, tzinfo=timezone.utc)


def test_queue_notice_at_most_once_per_interval() -> None:
    cfg = BotConfig(notice_interval="5m")
    state = QueueState(Status.QUEUED, NOW, None, position=3, expected_wait=timedelta(minutes=6), lang="en")
    first = queue_notice(state, cfg)
    assert first.action is Action.NOTICE and "number 3" in first.text and "6 min" in first.text
    soon = QueueState(Status.QUEUED, NOW + timedelta(minutes=2), NOW, position=2, lang="en")
    assert queue_notice(soon, cfg).action is Action.NOTHING
    later = QueueState(Status.QUEUED, NOW + timedelta(minutes=5), NOW, position=1, lang="en")
    assert queue_notice(later, cfg).action is Action.NOTICE
    assigned = QueueState(Status.ASSIGNED, NOW + timedelta(hours=1), NOW, lang="en")
    assert queue_notice(assigned, cfg).action is Action.NOTHING


def test_queue_notice_outside_hours_offers_a_callback() -> None:
    opening = datetime(2024, 5, 7, 9, 0)
    state = QueueState(Status.QUEUED, NOW, None, open_now=False, next_opening=opening, lang="fa")
    d = queue_notice(state, BotConfig())
    assert d.action is Action.NOTICE and "سه‌شنبه" in d.text and "۰۹:۰۰" in d.text and "تماس" in d.text
    th = queue_notice(QueueState(Status.QUEUED, NOW, None, open_now=False, next_opening=opening, lang="th"), BotConfig())
    assert "อังคาร" in th.text and "โทรกลับ" in th.text


def test_config_durations_and_contract_keys() -> None:
    assert parse_duration("5m") == 300 and parse_duration(30) == 30 and parse_duration("1h") == 3600
    cfg = BotConfig.model_validate({"enabled": True, "knowledge_base": "faq.yaml", "threshold": 0.6,
                                    "handoff_words": {"fa": ["اپراتور"]}, "notice_interval": "2m"})
    assert cfg.notice_interval == 120 and cfg.handoff_words["fa"] == ("اپراتور",) and "human" in cfg.handoff_words["en"]
    with pytest.raises(ValidationError):
        BotConfig.model_validate({"threshold": 1.5})
    with pytest.raises(ValidationError):
        BotConfig.model_validate({"notice_interval": "soon"})
    with pytest.raises(ValidationError):
        BotConfig.model_validate({"unknown_key": 1})
