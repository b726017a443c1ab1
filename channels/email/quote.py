"""Cutting quoted history and signatures off a reply, so a ticket shows what the customer wrote this time.

Mail clients mark history differently: Gmail and Apple Mail write "On <date>, <name> wrote:" (localised), Outlook a
"-----Original Message-----" line or a From:/Sent:/To: block, most clients "> " prefixes.  Everything from the
first such marker on is history.  The full body is kept elsewhere for agents; when cutting would leave nothing, the
whole text is returned.  Imports only the standard library.
"""
from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{0,200}\bwrote\s*:|"  # Gmail, Apple Mail, Thunderbird (English)
    r"Am\b.{0,200}\bschrieb.{0,80}:|Le\b.{0,200}\ba écrit\s*:|El\b.{0,200}\bescribió\s*:|"
    r"เมื่อ.{0,200}เขียน(?:ว่า)?\s*:?|"  # Thai Gmail / Apple Mail
    r".{0,200}(?:نوشت|کتب)\s*[:：]|در تاریخ.{0,200}:|"  # Persian / Arabic
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}.{0,120}<[^>]+@[^>]+>.{0,40}:"  # "2024-01-02 10:00 GMT+7 Name <a@b>:"
    r")\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Forwarded message|Ursprüngliche Nachricht|Message d'origine|ข้อความต้นฉบับ"
    r"|پیام اصلی)\s*-{2,}|_{20,}|Begin forwarded message:|-{5,})\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From:" followed within a few lines by "Sent:"/"Date:" and "To:"/"Subject:".
_FROM = re.compile(r"^\s*\*?(?:From|จาก|از|Von|De)\s*\*?\s*:", re.IGNORECASE)
_HEADERISH = re.compile(r"^\s*\*?(?:Sent|Date|To|Subject|Cc|ส่ง|ถึง|เรื่อง|تاریخ|به|موضوع|Gesendet|Envoyé)\s*\*?\s*:", re.IGNORECASE)
_SIGNATURE = re.compile(
    r"^\s*(?:--\s?|Sent from my \w+.*|Sent from (?:Mail|Outlook|Yahoo Mail).*|Get Outlook for \w+.*|"
    r"ส่งจาก.{0,40}ของฉัน|ارسال شده از.{0,40}|Envoyé de mon .*|Von meinem .* gesendet)\s*$",
    re.IGNORECASE,
)


def strip_reply(text: str) -> str:
    """The new part of a reply: quoted history and the signature cut off."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = len(lines)
    for i, line in enumerate(lines):
        if _SEPARATOR.match(line) or _ATTRIBUTION.match(line) or _signature_at(lines, i):
            cut = i
            break
        # An attribution wrapped onto two lines by the client ("On Mon, 1 Jan 2024 at 10:00, Somchai" / "<a@b> wrote:").
        if i + 1 < len(lines) and _ATTRIBUTION.match(f"{line} {lines[i + 1]}") and not _ATTRIBUTION.match(lines[i + 1]):
            cut = i
            break
        if _FROM.match(line) and sum(1 for nxt in lines[i + 1 : i + 6] if _HEADERISH.match(nxt)) >= 2:
            cut = i
            break
    kept = [line for line in lines[:cut] if not line.lstrip().startswith(">")]
    result = "\n".join(kept).strip()
    return result or text.strip()


def _signature_at(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.rstrip() in ("--", "-- "):
        return True  # RFC 3676 signature separator
    return bool(_SIGNATURE.match(line)) and not line.strip().startswith("--") and len(lines) - i <= 6
