"""The bot's ownership rules, as pure functions over small typed inputs.

The hub core calls these and acts on the `Decision`; nothing here touches the store, the bus or a channel.

Interface for the core
----------------------
- `initial_status(channel, config) -> Status`: a new ticket starts in `bot` when the bot is enabled for the channel,
  else `queued`.
- `reopen_status(config) -> Status`: where a resolved ticket goes when the customer writes again (`queued` unless
  `bot.reopen_to_bot`).
- `decide(turn, matcher, config) -> Decision` for each stored customer message on an open ticket.  Build `Turn`
  from the ticket, the customer and the inbound message.  Then, in ONE transaction with a status check
  (`UPDATE tickets SET status='queued' WHERE id=? AND status='bot'`): on `handoff` move the ticket to `queued` and
  post `text` (if any) as a `system` message; on `answer` post `text` with `buttons` as a `bot` message only if the
  ticket is still `bot`.  Store `misses` as the ticket's `bot_misses`, `awaiting_feedback` for the next turn,
  and `reason` in the routing trace, so the agent sees why the bot let go.  Mark the outbound `automatic` when
  `decision.automatic`.  Concurrent messages: whichever commits a handoff first wins; a later bot answer's
  status check then fails and it is dropped, so no bot message follows a handoff.
- `queue_notice(state, config) -> Decision` from a periodic job for each `queued` ticket: a `notice` (author
  `system`) at most once per `bot.notice_interval`; store `now` as the ticket's last notice time when sent.

Button payloads (channels send them back as the inbound text with the "button" flag, or as `button_payload`):
"helpful:yes:<entry id>", "helpful:no:<entry id>", "faq:<entry id>" (a follow-up question).
"""
from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

from bots import smalltalk, texts
from bots.config import BotConfig
from nlp.langid import language_of as detect_language
from nlp.question import looks_like_question
from nlp.normalize import normalize, strip_thai_tones
from hub.domain import Button, Status

if TYPE_CHECKING:
    from bots.matcher import Matcher

__all__ = ["Action", "Decision", "Turn", "QueueState", "decide", "queue_notice", "initial_status", "reopen_status",
           "wants_human", "feedback_of", "helpful_buttons"]

NEVER_ANSWER_FLAGS = frozenset({"auto_reply", "bounce", "spam_report"})


class Action(str, enum.Enum):
    ANSWER = "answer"  # post `text` (author bot), ticket stays with the bot
    HANDOFF = "handoff"  # move the ticket to `queued`; post `text` (author system) if given
    NOTICE = "notice"  # post `text` (author system), a queue status notice
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class Turn:
    """What the policy needs to know about one inbound customer message."""

    status: Status
    channel: str
    text: str
    channel_has_buttons: bool = False
    lang: str | None = None  # from routing; detected from the text when None
    flags: frozenset[str] = frozenset()
    button_payload: str | None = None
    is_complaint: bool = False  # from routing
    customer_tier: str | None = None
    has_account_manager: bool = False
    bot_misses: int = 0  # consecutive messages the bot could not answer so far
    email_ack_sent: bool = False
    awaiting_feedback: str | None = None  # entry id of the answer the bot last asked "did this help?" about
    suggested: tuple[str, ...] = ()  # entry ids the bot last offered as "Did you mean ...?", in order


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: str
    text: str | None = None
    buttons: tuple[Button, ...] = ()
    lang: str = "en"
    entry_id: str | None = None
    confidence: float | None = None
    misses: int = 0  # the ticket's new bot_misses
    awaiting_feedback: str | None = None  # store for the next Turn
    automatic: bool = False  # mark the outbound as automatic (email Auto-Submitted)
    suggested: tuple[str, ...] = ()  # store for the next Turn: the entries offered as choices
    # HANDOFF only: what the knowledge base says, sent by the bot before the handoff (a stated complaint it answers).
    first: str | None = None


@dataclass(frozen=True, slots=True)
class QueueState:
    status: Status
    now: datetime
    last_notice_at: datetime | None
    position: int | None = None  # 1 = next
    expected_wait: timedelta | None = None
    open_now: bool = True
    next_opening: datetime | None = None
    lang: str | None = None
    callback_enabled: bool = True


def initial_status(channel: str, config: BotConfig) -> Status:
    return Status.BOT if config.enabled_for(channel) else Status.QUEUED


def reopen_status(config: BotConfig) -> Status:
    return Status.BOT if config.enabled and config.reopen_to_bot else Status.QUEUED


# --- recognising what the customer means ---------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def _key(text: str, lang: str) -> str:
    # Cached: a message is checked against every handoff and feedback phrase of three languages, and normalising
    # it (and the phrases) again for each phrase was most of the bot's own CPU time.
    norm = normalize(text, lang)
    return strip_thai_tones(norm).replace(" ", "") if lang == "th" else f" {norm} "


def _contains(text: str, phrase: str, lang: str) -> bool:
    p = _key(phrase, lang).strip() if lang != "th" else _key(phrase, lang)
    if not p:
        return False
    return (p in _key(text, lang)) if lang == "th" else (f" {p} " in _key(text, lang))


def wants_human(text: str, lang: str, words: dict[str, tuple[str, ...]]) -> str | None:
    """The language whose handoff phrase occurs in `text` (the message's own language first), else None."""
    order = [lang] + [lg for lg in words if lg != lang]
    for lg in order:
        for phrase in words.get(lg, ()):
            if _contains(text, phrase, lg):
                return lg
    return None


_YES = {
    "en": ("yes", "yep", "yeah", "y", "it did", "it helped", "thanks", "thank you", "great", "perfect", "ok thanks"),
    "th": ("ใช่", "ช่วยได้", "ได้ค่ะ", "ได้ครับ", "โอเค", "ขอบคุณ", "เข้าใจแล้ว"),
    "fa": ("بله", "آره", "اره", "بلی", "ممنون", "مرسی", "کمک کرد", "عالی", "اوکی"),
}
_NO = {
    "en": ("no", "nope", "nah", "n", "not really", "didnt help", "did not help", "not helpful", "doesnt help", "wrong"),
    "th": ("ไม่", "ไม่ใช่", "ไม่ช่วย", "ไม่ได้ช่วย", "ไม่ตรง", "ไม่เข้าใจ", "ยังไม่ได้คำตอบ"),
    "fa": ("نه", "خیر", "نخیر", "کمک نکرد", "جواب نداد", "اشتباه", "نه ممنون"),
}
_SHORT = 24  # a feedback reply is short; a longer message is a new question


def feedback_of(text: str, lang: str) -> bool | None:
    """True/False when `text` answers "did this help?", None when it is something else."""
    if len(text.strip()) > _SHORT:
        return None
    for table, value in ((_NO, False), (_YES, True)):  # "no thanks" is a no
        for lg in (lang, "en"):
            words = table.get(lg, ())
            key = _key(text, lg)
            if lg == "th":
                if any(key.startswith(_key(w, lg)) for w in words):
                    return value
            elif any(f" {_key(w, lg).strip()} " in key for w in words):
                return value
    return None


_PAYLOAD = re.compile(r"^(helpful):(yes|no)(?::([a-z0-9_.-]+))?$|^(faq):([a-z0-9_.-]+)$")


def helpful_buttons(entry_id: str, lang: str) -> tuple[Button, ...]:
    return (Button(texts.t("yes", lang), f"helpful:yes:{entry_id}"), Button(texts.t("no", lang), f"helpful:no:{entry_id}"))


# --- the decision --------------------------------------------------------------------------------------------------

def _handoff(reason: str, lang: str, turn: Turn, key: str = "handoff") -> Decision:
    return Decision(Action.HANDOFF, reason, texts.t(key, lang), lang=lang, misses=turn.bot_misses)


def _answer(entry_id: str, matcher: Matcher, lang: str, turn: Turn, config: BotConfig, reason: str,
            confidence: float | None) -> Decision:
    entry = matcher.kb.get(entry_id)
    if entry is None:
        return _miss(turn, lang, config, f"unknown entry {entry_id!r}")
    body = entry.answer(lang)
    buttons: tuple[Button, ...] = ()
    if config.ask_helpful and turn.channel_has_buttons:
        buttons = helpful_buttons(entry.id, lang) + tuple(Button(b.label(lang), b.payload) for b in entry.buttons)
        body = f"{body}\n\n{texts.t('did_it_help', lang)}"
    elif config.ask_helpful:
        body = f"{body}\n\n{texts.t('did_it_help_text', lang)}"
    return Decision(Action.ANSWER, reason, body, buttons, lang, entry.id, confidence, misses=0,
                    awaiting_feedback=entry.id if config.ask_helpful else None)


def _miss(turn: Turn, lang: str, config: BotConfig, why: str) -> Decision:
    misses = turn.bot_misses + 1
    if misses >= config.max_misses:
        d = _handoff(f"bot missed {misses} times in a row ({why})", lang, turn)
        return Decision(d.action, d.reason, d.text, lang=lang, misses=misses)
    return Decision(Action.ANSWER, f"no confident answer ({why}); miss {misses} of {config.max_misses}",
                    texts.t("rephrase", lang), lang=lang, misses=misses)


_DIGIT_VALUE = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩๐๑๒๓๔๕๖๗๘๙", "012345678901234567890123456789")


def _choice(text: str, n: int) -> int | None:
    """0-based choice when the customer answers a numbered "Did you mean" list with a number ("2", "۲", "๒.")."""
    key = text.strip().translate(_DIGIT_VALUE).strip(" .)-")
    if key.isdigit() and 1 <= int(key) <= n:
        return int(key) - 1
    return None


def _suggest(turn: Turn, matcher: Matcher, lang: str, config: BotConfig, ranked: Sequence, why: str) -> Decision:
    """Between "confident" and "no idea": offer the closest entries.  Counts as a miss, so a customer who keeps
    not finding the answer still reaches a person after `max_misses`."""
    misses = turn.bot_misses + 1
    if misses >= config.max_misses:
        return _miss(turn, lang, config, why)
    picks = [m.entry for m in ranked[: config.suggestions]]
    titles = [e.title(lang) for e in picks]
    buttons: tuple[Button, ...] = ()
    if turn.channel_has_buttons:
        buttons = tuple(Button(t[:60], f"faq:{e.id}") for t, e in zip(titles, picks)) + (
            Button(texts.t("none_of_these", lang), "helpful:no"),)
    text = texts.did_you_mean_text(lang, titles, bool(buttons))
    return Decision(Action.ANSWER, f"suggested {', '.join(e.id for e in picks)} ({why})", text, buttons, lang,
                    misses=misses, suggested=tuple(e.id for e in picks))


def _handoff_reason(turn: Turn, lang: str, config: BotConfig) -> tuple[str | None, str]:
    """Why this message must go to a person regardless of what it asks (reason, text key), or (None, "")."""
    if not config.enabled_for(turn.channel):
        return f"bot disabled on channel {turn.channel}", "handoff"
    if turn.is_complaint:
        return "complaint", "handoff_complaint"
    if turn.has_account_manager:
        return "customer has an account manager", "handoff"
    if turn.customer_tier and turn.customer_tier.lower() in config.vip_tiers:
        return f"vip customer (tier {turn.customer_tier})", "handoff"
    asked = wants_human(turn.text, lang, dict(config.handoff_words))
    if asked:
        return f"customer asked for a human ({asked})", "handoff"
    return None, ""


def decide(turn: Turn, matcher: Matcher, config: BotConfig) -> Decision:
    """What the bot does with one customer message; see the module docstring for how the core applies it."""
    lang = turn.lang or detect_language(turn.text)
    lang = lang if lang in texts.LANGS else ("fa" if lang == "ar" else "en")
    if turn.status is not Status.BOT:
        return Decision(Action.NOTHING, f"ticket is {turn.status.value}, not with the bot", lang=lang,
                        misses=turn.bot_misses)
    if turn.flags & NEVER_ANSWER_FLAGS:
        flag = sorted(turn.flags & NEVER_ANSWER_FLAGS)[0]
        return Decision(Action.NOTHING, f"{flag} message: never answered automatically", lang=lang,
                        misses=turn.bot_misses)
    reason, key = _handoff_reason(turn, lang, config)
    if turn.channel in config.ack_only_channels:
        return _email_ack(turn, matcher, lang, reason)
    if reason == "complaint":
        found = matcher.match(turn.text, lang)
        if found is not None and looks_like_question(turn.text, lang):
            # "I want my money back, how does that work?": answer what the knowledge base knows, and watch: the answer
            # asks whether it helped, and a "no" (or another complaint) hands off at once.
            return _answer(found.entry.id, matcher, lang, turn, config,
                           f"complaint-looking question answered from {found.entry.id} "
                           f"(confidence {found.confidence:.2f}); watched", found.confidence)
        if found is not None:
            # A problem stated, not asked ("the SMS says delivered but nothing came"): the customer gets what the
            # knowledge base says about it at once, and the complaint still goes straight to a person.
            d = _handoff(reason, lang, turn, key)
            return replace(d, first=found.entry.answer(lang), entry_id=found.entry.id, confidence=found.confidence)
    if reason:
        return _handoff(reason, lang, turn, key)

    payload = (turn.button_payload or (turn.text.strip() if "button" in turn.flags else "")).strip()
    m = _PAYLOAD.match(payload) if payload else None
    if m and m.group(1) == "helpful":
        if m.group(2) == "no":
            return _handoff(f"answer did not help ({m.group(3) or turn.awaiting_feedback})", lang, turn)
        return Decision(Action.ANSWER, f"answer helped ({m.group(3) or turn.awaiting_feedback})",
                        texts.feedback_reply(lang), lang=lang, misses=0)
    if m and m.group(4) == "faq":
        return _answer(m.group(5), matcher, lang, turn, config, f"follow-up button {m.group(5)}", None)

    if turn.awaiting_feedback:
        verdict = feedback_of(turn.text, lang)
        if verdict is False:
            return _handoff(f"answer did not help ({turn.awaiting_feedback})", lang, turn)
        if verdict is True:
            return Decision(Action.ANSWER, f"answer helped ({turn.awaiting_feedback})", texts.feedback_reply(lang),
                            lang=lang, misses=0)

    if turn.suggested:
        pick = _choice(turn.text, len(turn.suggested))
        if pick is not None:
            return _answer(turn.suggested[pick], matcher, lang, turn, config, f"chose suggestion {pick + 1}", None)

    if not turn.text.strip():
        return _miss(turn, lang, config, "no text")
    small = smalltalk.recognise(turn.text, lang, matcher.encoder)
    ranked = matcher.rank(turn.text, lang, k=max(config.suggestions, 1))
    top = ranked[0] if ranked else None
    if small is not None and (top is None or top.confidence < matcher.threshold):
        # The knowledge base's own entry for "hi" or "thanks", when it has one, is what its owner wants said.
        return Decision(Action.ANSWER, f"small talk ({small.intent})", small.reply, lang=lang,
                        misses=turn.bot_misses)
    if top is not None and top.confidence >= matcher.threshold:
        return _answer(top.entry.id, matcher, lang, turn, config,
                       f"answered {top.entry.id} (confidence {top.confidence:.2f})", top.confidence)
    if top is not None and top.confidence >= config.suggest_floor:
        return _suggest(turn, matcher, lang, config, ranked, f"best {top.entry.id} at {top.confidence:.2f}")
    return _miss(turn, lang, config, "below threshold")


def _email_ack(turn: Turn, matcher: Matcher, lang: str, reason: str | None) -> Decision:
    """Email: one automatic acknowledgement, with likely answers for a plain question, then agents take over."""
    if turn.email_ack_sent:
        return Decision(Action.HANDOFF, f"{turn.channel} channel: acknowledgement already sent", lang=lang,
                        misses=turn.bot_misses)
    likely: Sequence = matcher.likely(turn.text, lang) if turn.text.strip() and not reason else []
    answers = [m.entry.answer(lang) for m in likely]
    why = f"{reason}; {turn.channel} channel" if reason else f"{turn.channel} channel"
    return Decision(Action.HANDOFF, f"{why}: one automatic acknowledgement", texts.email_ack_text(lang, answers),
                    lang=lang, entry_id=likely[0].entry.id if likely else None,
                    confidence=likely[0].confidence if likely else None, misses=turn.bot_misses, automatic=True)


def queue_notice(state: QueueState, config: BotConfig) -> Decision:
    """A queue status notice for a waiting customer, at most one per `config.notice_interval`."""
    lang = state.lang if state.lang in texts.LANGS else "en"
    if state.status is not Status.QUEUED:
        return Decision(Action.NOTHING, f"ticket is {state.status.value}, not queued", lang=lang)
    if state.last_notice_at is not None:
        elapsed = (state.now - state.last_notice_at).total_seconds()
        if elapsed < config.notice_interval:
            return Decision(Action.NOTHING, f"last notice {int(elapsed)}s ago (interval {int(config.notice_interval)}s)",
                            lang=lang)
    offer = state.callback_enabled and (not state.open_now or (state.expected_wait or timedelta()) >= timedelta(minutes=15))
    text = texts.queue_notice_text(lang, state.position, state.expected_wait, state.open_now, state.next_opening, offer)
    if not text:
        return Decision(Action.NOTHING, "nothing to tell", lang=lang)
    why = "outside business hours" if not state.open_now else f"queue position {state.position}"
    return Decision(Action.NOTICE, f"status notice: {why}", text, lang=lang, automatic=True)
