"""Knowledge base loading, validation errors with lines, and reload that keeps the old base on a broken file."""
from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bots.kb import KnowledgeBaseError, KnowledgeBaseHolder, load, parse
from bots.matcher import Matcher

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
entries:
  - id: hours
    answer: {en: "We open at nine.", th: "เปิด 9 โมงค่ะ", fa: "ساعت ۹ باز می‌کنیم."}
    examples:
      en: ["when do you open", "opening hours"]
      th: ["เปิดกี่โมง", "เวลาทำการ"]
      fa: ["ساعت کاری", "کی باز میکنید"]
  - id: shipping
    department: support
    tags: [delivery]
    answer: {en: "Shipping is 50 THB."}
    examples:
      en: ["how much is shipping", "delivery fee"]
    buttons:
      - {label: {en: "Track"}, payload: "faq:hours"}
"""


def test_default_knowledge_base_is_valid_and_rich() -> None:
    kb = load(ROOT / "faq.yaml")
    assert len(kb.entries) >= 20
    for e in kb.entries:
        assert set(e.answers) >= {"en", "th", "fa"}, e.id
        for lang in ("en", "th", "fa"):
            assert len(e.examples[lang]) >= 5, (e.id, lang)


def test_parse_builds_typed_entries() -> None:
    kb = parse(GOOD)
    ship = kb.get("shipping")
    assert ship is not None and ship.department == "support" and ship.tags == ("delivery",)
    assert ship.answer("th") == "Shipping is 50 THB."  # falls back to English
    assert ship.buttons[0].label("fa") == "Track" and ship.buttons[0].payload == "faq:hours"
    assert kb.languages == {"en", "th", "fa"}


@pytest.mark.parametrize(
    ("text", "line", "entry", "fragment"),
    [
        (GOOD.replace('answer: {en: "Shipping is 50 THB."}', "answer: {}"), 11, "shipping", "answer"),
        (GOOD.replace("  - id: shipping", "  - id: Bad Id!"), 8, "Bad Id!", "id"),
        (GOOD.replace("  - id: shipping", "  - id: hours"), 8, "hours", "duplicate"),
        (GOOD.replace('      en: ["how much is shipping", "delivery fee"]', '      en: ["ok", ""]'), 13, "shipping", "empty"),
        (GOOD.replace("    tags: [delivery]", "    tags: [delivery\n"), 0, None, "YAML"),
        (GOOD.replace("    department: support", "    departmnt: support"), 9, "shipping", "departmnt"),
    ],
)
def test_broken_file_names_line_and_entry(text: str, line: int, entry: str | None, fragment: str) -> None:
    with pytest.raises(KnowledgeBaseError) as info:
        parse(text, "faq.yaml")
    err = info.value
    assert fragment.lower() in str(err).lower()
    if line:
        assert err.line == line, str(err)
    else:
        assert err.line > 0
    assert err.entry_id == entry
    assert str(err).startswith("faq.yaml:")


def _write(path: Path, text: str, bump: int) -> None:
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + bump * 1_000_000_000))  # a distinct mtime each write


def test_holder_reloads_on_change_and_keeps_old_on_broken_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "faq.yaml"
    _write(path, GOOD, 0)
    holder = KnowledgeBaseHolder(path, build=Matcher)
    assert holder.reload() is False  # unchanged: nothing to do
    assert holder.index.match("how much is shipping", "en").entry.id == "shipping"

    _write(path, GOOD.replace("Shipping is 50 THB.", "Shipping is free."), 1)
    assert holder.reload() is True
    assert holder.kb.get("shipping").answer("en") == "Shipping is free."

    with caplog.at_level(logging.ERROR, logger="bots.kb"):
        _write(path, GOOD.replace("answer: {en: \"Shipping is 50 THB.\"}", "answer: 5"), 2)
        assert holder.reload() is False
    assert holder.kb.get("shipping").answer("en") == "Shipping is free."  # the old base is still in use
    assert holder.last_error is not None and holder.last_error.line == 11
    assert any("faq.yaml:11" in r.getMessage() for r in caplog.records)

    assert holder.reload() is False  # the same broken version is not retried or logged again
    _write(path, GOOD, 3)
    assert holder.reload() is True and holder.last_error is None


def test_holder_survives_a_deleted_file(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    _write(path, GOOD, 0)
    holder = KnowledgeBaseHolder(path, build=lambda kb: len(kb.entries))
    path.unlink()
    assert holder.reload() is False
    assert holder.index == 2


def test_holder_fails_fast_on_a_broken_first_load(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    _write(path, "entries: [", 0)
    with pytest.raises(KnowledgeBaseError):
        KnowledgeBaseHolder(path, build=Matcher)
