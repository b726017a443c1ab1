"""Telegram `Update` -> what the channel does with it: deliver an `Inbound`, answer by itself, or ignore.

Pure functions over python-telegram-bot's parsed objects, so recorded Update JSON can be fed straight in.
Imports only the hub's domain types and the channel's own texts.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import phonenumbers
from telegram import Message, Update

from channels.telegram.texts import GREETING, HELP, language, pick
from hub.domain import Attachment, Identity, Inbound

NAME = "telegram"
GROUPS = ("group", "supergroup")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)")


@dataclass(frozen=True, slots=True)
class Me:
    """The bot itself, as getMe (or the config) describes it: needed to tell whether a group addresses us."""

    id: int
    username: str | None = None


@dataclass(frozen=True, slots=True)
class Deliver:
    inbound: Inbound
    callback_id: str | None = None  # answered after the commit so the button stops spinning


@dataclass(frozen=True, slots=True)
class Answer:
    """A command the channel answers itself (/start, /help): no ticket is needed for a greeting."""

    chat_id: int
    text: str
    command: str


@dataclass(frozen=True, slots=True)
class Ignore:
    reason: str
    callback_id: str | None = None


Event = Deliver | Answer | Ignore


@dataclass(frozen=True, slots=True)
class Texts:
    greeting: Mapping[str, str] = field(default_factory=dict)
    help: Mapping[str, str] = field(default_factory=dict)


def parse_update(update: Update, me: Me, texts: Texts = Texts(), raw: dict[str, Any] | None = None) -> Event:
    raw = raw if raw is not None else update.to_dict()
    if update.message is not None:
        return _message(update, update.message, me, texts, raw, edited=False)
    if update.edited_message is not None:
        return _message(update, update.edited_message, me, texts, raw, edited=True)
    if update.callback_query is not None:
        return _callback(update, me, raw)
    kinds = [k for k in raw if k != "update_id"]
    return Ignore(f"unhandled update kind {','.join(kinds) or 'empty'}")


def _message(update: Update, msg: Message, me: Me, texts: Texts, raw: dict[str, Any], *, edited: bool) -> Event:
    chat, user = msg.chat, msg.from_user
    if chat.type not in ("private", *GROUPS):
        return Ignore(f"{chat.type} chats are not served")
    if user is not None and user.is_bot and user.id == me.id:
        return Ignore("our own message")
    group = chat.type in GROUPS
    text = msg.text if msg.text is not None else (msg.caption or "")
    command, addressed_cmd, text = _command(text, me)
    if group:
        mentioned, text = _mention(text, me)
        replied = msg.reply_to_message is not None and msg.reply_to_message.from_user is not None and (
            msg.reply_to_message.from_user.id == me.id
        )
        if addressed_cmd is False or not (addressed_cmd or mentioned or replied):
            return Ignore("group message not addressed to the bot")
    lang = language(user.language_code if user else None)
    if command in ("start", "help") and not edited:
        return Answer(chat.id, pick(GREETING if command == "start" else HELP, texts.greeting if command == "start" else texts.help, lang), command)
    body, attachments = _content(msg, text.strip())
    if not body:
        return Ignore("message without content the hub stores (service message, poll, dice, game)")
    extra: tuple[Identity, ...] = ()
    if msg.contact is not None and user is not None and msg.contact.user_id == user.id:
        # Only the sender's own number joins their record; a forwarded stranger's card stays plain text.
        phone = e164(msg.contact.phone_number)
        if phone:
            extra = (Identity("phone", phone),)
    who = user.full_name if user else None
    if group and who:
        body = f"[{who}] {body}"
    key = f"{chat.id}:{msg.message_id}"
    audit: dict[str, Any] = {"update": raw, "display": _display(msg, group)}
    if command == "human":
        audit["command"] = "human"
    refs: tuple[str, ...] = ()
    if msg.reply_to_message is not None:
        refs = (f"{chat.id}:{msg.reply_to_message.message_id}",)
    return Deliver(
        Inbound(
            channel=NAME,
            provider_id=f"{key}:e{update.update_id}" if edited else key,
            sender=Identity(NAME, str(chat.id)),
            text=body,
            received_at=_aware(msg.edit_date if edited and msg.edit_date else msg.date),
            sender_name=(chat.title if group else who) or None,
            sender_lang=lang,
            attachments=attachments,
            thread_refs=refs,
            edit_of=key if edited else None,
            extra_identities=extra,
            raw=audit,
        )
    )


def _callback(update: Update, me: Me, raw: dict[str, Any]) -> Event:
    cq = update.callback_query
    assert cq is not None
    if cq.data is None:
        return Ignore("callback without data (a game button)", cq.id)
    msg = cq.message
    user = cq.from_user
    accessible = msg is not None and msg.is_accessible
    chat_id = msg.chat.id if msg is not None else user.id
    group = msg is not None and msg.chat.type in GROUPS
    label = _label(msg, cq.data) if accessible else None
    who = user.full_name
    text = label or cq.data
    if group:
        text = f"[{who}] {text}"
    return Deliver(
        Inbound(
            channel=NAME,
            provider_id=f"cb:{cq.id}",
            sender=Identity(NAME, str(chat_id)),
            text=text,
            received_at=datetime.now(timezone.utc),
            sender_name=(msg.chat.title if group and msg is not None else who) or None,
            sender_lang=language(user.language_code),
            thread_refs=(f"{chat_id}:{msg.message_id}",) if msg is not None else (),
            flags=frozenset({"button"}),
            raw={"update": raw, "payload": cq.data[:200], "display": _user_display(user.username, who)},
        ),
        callback_id=cq.id,
    )


def _label(msg: Any, data: str) -> str | None:
    markup = getattr(msg, "reply_markup", None)
    for row in getattr(markup, "inline_keyboard", ()) or ():
        for button in row:
            if button.callback_data == data:
                return str(button.text)
    return None


def _command(text: str, me: Me) -> tuple[str | None, bool | None, str]:
    """(command, addressed: True for /cmd@us, False for /cmd@someone_else, None without @; text without @us)."""
    m = _COMMAND.match(text)
    if not m:
        return None, None, text
    target = m.group(2)
    if target is None:
        return m.group(1).lower(), None, text
    if me.username and target.lower() == me.username.lower():
        return m.group(1).lower(), True, f"/{m.group(1)}{text[m.end():]}"
    return m.group(1).lower(), False, text


def _mention(text: str, me: Me) -> tuple[bool, str]:
    if not me.username:
        return False, text
    pattern = re.compile(rf"(?<![\w@])@{re.escape(me.username)}\b", re.IGNORECASE)
    stripped, n = pattern.subn("", text)
    return n > 0, re.sub(r"[ \t]{2,}", " ", stripped).strip()


def _content(msg: Message, text: str) -> tuple[str, tuple[Attachment, ...]]:
    """The text to store (caption, or a short placeholder) and the files, kept as file_id for a lazy download."""
    atts: list[Attachment] = []
    placeholder = ""
    if msg.photo:
        p = max(msg.photo, key=lambda s: (s.file_size or 0, s.width * s.height))
        atts.append(Attachment(f"photo_{p.file_unique_id}.jpg", "image/jpeg", p.file_size or 0, p.file_id))
        placeholder = "[photo]"
    elif msg.animation is not None:
        a = msg.animation
        atts.append(Attachment(a.file_name or "animation.mp4", a.mime_type or "video/mp4", a.file_size or 0, a.file_id))
        placeholder = "[animation]"
    elif msg.document is not None:
        d = msg.document
        name = d.file_name or "document"
        atts.append(Attachment(name, d.mime_type or "application/octet-stream", d.file_size or 0, d.file_id))
        placeholder = f"[document: {name}]"
    elif msg.video is not None:
        v = msg.video
        atts.append(Attachment(v.file_name or "video.mp4", v.mime_type or "video/mp4", v.file_size or 0, v.file_id))
        placeholder = "[video]"
    elif msg.video_note is not None:
        n = msg.video_note
        atts.append(Attachment("video_note.mp4", "video/mp4", n.file_size or 0, n.file_id))
        placeholder = "[video message]"
    elif msg.voice is not None:
        vo = msg.voice
        atts.append(Attachment("voice.ogg", vo.mime_type or "audio/ogg", vo.file_size or 0, vo.file_id))
        placeholder = "[voice message]"
    elif msg.audio is not None:
        au = msg.audio
        name = au.file_name or "audio.mp3"
        atts.append(Attachment(name, au.mime_type or "audio/mpeg", au.file_size or 0, au.file_id))
        placeholder = f"[audio: {au.title or name}]"
    elif msg.sticker is not None:
        # Stickers carry no words; the emoji the sender picked is the closest thing to their meaning.
        placeholder = f"[sticker {msg.sticker.emoji}]" if msg.sticker.emoji else "[sticker]"
    elif msg.venue is not None:
        v2 = msg.venue
        placeholder = f"[location] {v2.title}, {v2.address} ({_maps(v2.location.latitude, v2.location.longitude)})"
    elif msg.location is not None:
        placeholder = f"[location] {_maps(msg.location.latitude, msg.location.longitude)}"
    elif msg.contact is not None:
        c = msg.contact
        name = " ".join(x for x in (c.first_name, c.last_name) if x)
        placeholder = f"[contact] {name} {e164(c.phone_number) or c.phone_number}".strip()
    return (text or placeholder), tuple(atts)


def _maps(lat: float, lon: float) -> str:
    return f"{lat:.6f}, {lon:.6f} https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}"


def e164(number: str | None) -> str | None:
    """Telegram sends contact numbers with or without "+"; they are always international."""
    if not number:
        return None
    digits = re.sub(r"[^\d+]", "", number)
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _display(msg: Message, group: bool) -> str | None:
    if group:
        return msg.chat.title
    user = msg.from_user
    return _user_display(user.username if user else None, user.full_name if user else None)


def _user_display(username: str | None, name: str | None) -> str | None:
    return f"@{username}" if username else name


def _aware(at: datetime | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)
