"""Recorded Telegram updates -> what the channel does with them (pure parsing), text splitting, and config errors."""
from __future__ import annotations

from typing import Any

import pytest
from telegram import Update

from channels.telegram.parse import Answer, Deliver, Ignore, Me, Texts, e164, parse_update
from channels.telegram.texts import GREETING, HELP, split_text
from hub.config import ConfigError, from_mapping
from hub.domain import Identity
from hub.i18n import tr
from hub.registry import build_channels
from tests.fake_telegram import load

ME = Me(123456, "acme_support_bot")


def parse(data: dict[str, Any], me: Me = ME) -> Any:
    return parse_update(Update.de_json(data, None), me, Texts(), data)


def delivered(name: str) -> Any:
    event = parse(load(name))
    assert isinstance(event, Deliver), event
    return event.inbound


def test_text_keeps_thai_and_persian_exactly() -> None:
    th, fa = delivered("text_th"), delivered("text_fa")
    assert th.text == load("text_th")["message"]["text"] and th.sender_lang == "th"
    assert fa.text == load("text_fa")["message"]["text"] and fa.sender_lang == "fa"
    assert th.provider_id == "7012345678:11" and th.sender == Identity("telegram", "7012345678")
    assert th.sender_name == "Somchai Jaidee" and th.raw["display"] == "@somchai_j"
    assert th.raw["update"]["update_id"] == 804512001


def test_photo_takes_the_largest_size_and_the_caption() -> None:
    m = delivered("photo_caption")
    assert m.text == "กล่องพัสดุเสียหายตอนได้รับ"
    [a] = m.attachments
    assert (a.ref, a.content_type, a.size) == ("AgACAgUAAxkBAAMMZ0photo-large", "image/jpeg", 64877)


@pytest.mark.parametrize(
    "name,text,att",
    [
        ("document", "[document: invoice-2026-0113.pdf]", ("invoice-2026-0113.pdf", "application/pdf", 48213)),
        ("voice", "[voice message]", ("voice.ogg", "audio/ogg", 19830)),
        ("video", "The lid does not close, see video", ("unboxing.mp4", "video/mp4", 2412331)),
    ],
)
def test_files_are_kept_as_file_ids(name: str, text: str, att: tuple[str, str, int]) -> None:
    m = delivered(name)
    assert m.text == text
    assert [(a.name, a.content_type, a.size) for a in m.attachments] == [att]
    assert m.attachments[0].ref.startswith(("BQ", "Aw", "BA"))


def test_sticker_location_and_contact_become_short_texts() -> None:
    assert delivered("sticker").text == "[sticker 👍]"
    loc = delivered("location").text
    assert loc.startswith("[location] 13.746318, 100.534875")
    c = delivered("contact")
    assert c.text == "[contact] Somchai Jaidee +66812345678"
    assert c.extra_identities == (Identity("phone", "+66812345678"),)


def test_a_strangers_contact_card_does_not_become_the_senders_phone() -> None:
    c = delivered("contact_other")
    assert c.extra_identities == () and "+442079460958" in c.text


def test_edit_points_at_the_original_with_its_own_provider_id() -> None:
    original, edit = load("edited")
    a, b = parse(original).inbound, parse(edit).inbound
    assert b.edit_of == a.provider_id == "7012345678:16"
    assert b.provider_id == "7012345678:16:e804512012" != a.provider_id
    assert b.text.endswith("เชียงใหม่")


def test_reply_carries_a_thread_ref() -> None:
    data = load("reply")
    data["message"]["reply_to_message"]["message_id"] = 90001
    assert parse(data).inbound.thread_refs == ("7012345678:90001",)


def test_callback_query_is_a_button_press_with_its_payload_and_label() -> None:
    event = parse(load("callback_query"))
    assert isinstance(event, Deliver) and event.callback_id == "4382910355734519001"
    m = event.inbound
    assert m.flags == frozenset({"button"}) and m.raw["payload"] == "helpful:yes" and m.text == "Yes, thanks"
    assert m.provider_id == "cb:4382910355734519001" and m.sender == Identity("telegram", "5550001111")


def test_start_and_help_are_answered_in_the_users_language() -> None:
    th, fa, en = parse(load("start_th")), parse(load("start_fa")), parse(load("help_en"))
    # The greeting in the user's language, from the catalogs (not the English source).
    assert isinstance(th, Answer) and th.text == tr("th", GREETING) and th.chat_id == 7099990001
    assert th.text.startswith("สวัสดี")
    assert isinstance(fa, Answer) and fa.text == tr("fa", GREETING) and fa.text.startswith("سلام!")
    assert isinstance(en, Answer) and en.text == HELP and en.command == "help"
    custom = parse_update(Update.de_json(load("start_th"), None), ME, Texts(greeting={"th": "ยินดีต้อนรับ"}))
    assert isinstance(custom, Answer) and custom.text == "ยินดีต้อนรับ"


def test_human_passes_through_as_a_command() -> None:
    m = delivered("human")
    assert m.raw["command"] == "human" and m.text == "/human"


def test_group_only_when_addressed() -> None:
    m = delivered("group_mention")
    assert m.text == "[Tom Baker] when does the March price list come out?"
    assert m.sender == Identity("telegram", "-1001987654321") and m.sender_name == "Acme Wholesale Partners"
    assert isinstance(parse(load("group_unaddressed")), Ignore)
    assert isinstance(parse(load("group_other_command")), Ignore)
    reply = load("group_reply")
    assert isinstance(parse(reply), Deliver)  # replies to the bot's message (from id 123456)
    reply["message"]["reply_to_message"]["from"] = {"id": 42, "is_bot": False, "first_name": "Lena"}
    assert isinstance(parse(reply), Ignore)


def test_unknown_kinds_and_service_messages_are_ignored() -> None:
    for data in load("unknown_kinds"):
        assert isinstance(parse(data), Ignore), data


@pytest.mark.parametrize("raw,want", [("66812345678", "+66812345678"), ("+98 912 345 6789", "+989123456789"), ("12", None), ("", None)])
def test_e164(raw: str, want: str | None) -> None:
    assert e164(raw) == want


def test_split_prefers_paragraphs_lines_then_words() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    parts = split_text(words)
    assert all(len(p) <= 4096 for p in parts) and " ".join(parts) == words
    assert all(not p.startswith(" ") and not p.endswith(" ") for p in parts)
    para = "a" * 3000 + "\n\n" + "b" * 3000
    assert split_text(para) == ["a" * 3000, "b" * 3000]
    assert split_text("short") == ["short"] and split_text("   ") == []


def test_split_counts_utf16_and_never_strands_combining_marks() -> None:
    emoji = "😀" * 3000  # two UTF-16 units each
    parts = split_text(emoji)
    assert [len(p) for p in parts] == [2048, 952]
    thai = "ที่" * 2000  # base letter + two combining marks, no spaces
    for p in split_text(thai):
        assert p[0] == "ท" and len(p.encode("utf-16-le")) // 2 <= 4096


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"channels\.telegram\.token: required"):
        build_channels(from_mapping({"channels": {"telegram": {"enabled": True}}}))
    with pytest.raises(ConfigError, match=r"channels\.telegram\.webhook_secret"):
        build_channels(from_mapping({"channels": {"telegram": {"enabled": True, "token": "1:abc", "mode": "webhook"}}}))
    with pytest.raises(ConfigError, match=r"channels\.telegram\.colour: unknown key"):
        build_channels(from_mapping({"channels": {"telegram": {"enabled": True, "token": "1:abc", "colour": "red"}}}))
    with pytest.raises(ConfigError, match=r"channels\.telegram\.mode"):
        build_channels(from_mapping({"channels": {"telegram": {"enabled": True, "token": "1:abc", "mode": "push"}}}))
    # Disabled: nothing is required.
    assert "telegram" not in build_channels(from_mapping({"channels": {"telegram": {"enabled": False}}}))
