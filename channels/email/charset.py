"""Turning mail bytes into text when the declared charset is missing, unknown or wrong.

Mail in the wild declares iso-8859-1 for Thai, nothing for Persian, or a charset Python does not know.  We try the
declared charset strictly, then UTF-8, then a short list of legacy charsets our customers actually use, and keep the
reading that looks most like text in one script.  A scorer of a few lines is enough here: the candidates are few and
the languages known, so no detector library is needed.  Imports nothing outside the standard library.
"""
from __future__ import annotations

import codecs
import re
import unicodedata
from functools import lru_cache

# Names seen in mail headers that Python spells differently or does not know at all.
_ALIASES = {
    "tis620": "cp874", "tis-620": "cp874", "tis_620": "cp874", "x-tis-620": "cp874", "iso-8859-11": "cp874",
    "iso8859-11": "cp874", "windows-874": "cp874", "x-windows-874": "cp874", "ms874": "cp874",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "x-euc-kr": "cp949",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "chinese": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "shift-jis": "cp932", "shift_jis": "cp932", "x-sjis": "cp932",
    "sjis": "cp932", "windows-31j": "cp932", "iso-8859-8-i": "iso-8859-8", "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman", "unicode-1-1-utf-7": "utf-7", "utf8": "utf-8", "x-unknown": "",
    "unknown-8bit": "", "x-user-defined": "", "default": "", "unknown": "",
    # Western single-byte charsets: windows-1252 is a superset that every mail client means when it says latin-1.
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "ascii", "ansi_x3.4-1968": "ascii",
}
# Tried in order after the declared charset and UTF-8; ties go to the earlier one.
FALLBACKS = ("cp874", "cp1256", "cp1251", "koi8-r", "cp932", "gb18030", "big5hkscs", "euc-jp", "cp949", "cp1252")
_SINGLE_BYTE = {"cp874", "cp1256", "cp1251", "koi8-r", "cp1252", "ascii", "iso-8859-6", "iso-8859-5", "cp1255"}
_PLAIN_SYMBOLS = set("€£¥©®°±×÷«»‘’“”„–—…•·§¶¡¿¢\u200c\u200d\u200e\u200f\u00a0、。「」『』（）！？，：；・ー")
_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f\u0e00-\u0e7f\u0600-\u06ff\u200c])+")


@lru_cache(maxsize=256)
def codec_name(declared: str | None) -> str | None:
    """The Python codec for a declared charset, or None when unknown or meaningless."""
    if not declared:
        return None
    name = declared.strip().strip('"\'').lower()
    name = _ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


@lru_cache(maxsize=4096)
def _script(ch: str) -> str:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "?"
    first = name.split(" ", 1)[0]
    if first in ("HIRAGANA", "KATAKANA"):
        return "KANA"
    if first in ("CJK", "HANGUL", "IDEOGRAPHIC"):
        return "CJK"
    return first


def plausibility(text: str, nbytes: int, codec: str = "") -> float:
    """How much `text` looks like real writing, per byte of input: letters of one script per word score, symbols,
    controls and script soup inside a word cost."""
    score = 0.0
    for ch in text:
        if ch < "\x80":
            if ch < " " and ch not in "\r\n\t\f":
                score -= 3
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cn", "Cs") or ch == "\ufffd":
            score -= 5
        elif "\u3131" <= ch <= "\u318f" or "\uff61" <= ch <= "\uff9f":
            score -= 2  # lone Hangul jamo and half-width katakana: what CJK bytes look like in the wrong CJK charset
        elif cat[0] in "SP" and ch not in _PLAIN_SYMBOLS:
            score -= 1.5
    for word in _WORD.findall(text):
        high = [c for c in word if c >= "\x80"]
        if not high:
            continue
        scripts = {_script(c) for c in word if c.isalpha()}
        marks_first = unicodedata.category(word[0]) == "Mn"
        if len({"CJK" if x == "KANA" else x for x in scripts}) > 1 or marks_first:
            score -= len(high)
        elif scripts == {"LATIN"}:
            # Accents sit among ASCII letters in real Latin text; a word of accented letters only is mojibake.
            score += len(high) * (0.5 if len(high) * 2 <= len(word) else -1.0)
        elif scripts & {"CYRILLIC", "GREEK"}:
            lower = sum(1 for c in word if c.islower())
            score += len(high) * (1.0 if lower * 2 >= len(word) or len(word) <= 4 else 0.2)
        elif scripts <= {"CJK", "KANA"}:
            # Two bytes per character in every CJK charset: weigh per byte like the single-byte scripts.
            chinese_codec = codec.startswith(("gb", "big5"))
            jamo = sum(1 for c in high if "\u3131" <= c <= "\u318f" or "\uff61" <= c <= "\uff9f")
            score += 2 * (len(high) - 2 * jamo) * (-1 if chinese_codec and "KANA" in scripts else 1)
        elif scripts == {"THAI"}:
            score += len(high) - 3 * _thai_faults(word)
        else:
            score += len(high)
    return score / max(nbytes, 1)


_THAI_RARE = set("\u0e03\u0e05\u0e24\u0e26\u0e2f\u0e4f\u0e5a\u0e5b\u0e3a")
_THAI_MARKS = set("\u0e31\u0e34\u0e35\u0e36\u0e37\u0e38\u0e39\u0e47\u0e48\u0e49\u0e4a\u0e4b\u0e4c\u0e4d")


def _thai_faults(word: str) -> int:
    """Spelling a Thai reader would never see: rare letters, vowel and tone marks not on a consonant, a leading vowel
    before something other than a consonant.  Random bytes read as TIS-620 are full of these."""
    faults = 0
    prev = ""
    for ch in word:
        if ch in _THAI_RARE:
            faults += 1
        elif (ch in _THAI_MARKS or "\u0e30" <= ch <= "\u0e33" or ch == "\u0e45") and not prev:
            faults += 1
        elif ch in _THAI_MARKS and not ("\u0e01" <= prev <= "\u0e2e" or prev in _THAI_MARKS):
            faults += 1
        elif "\u0e40" <= prev <= "\u0e44" and not "\u0e01" <= ch <= "\u0e2e":
            faults += 1
        prev = ch
    if "\u0e40" <= prev <= "\u0e44":
        faults += 1
    return faults


def decode(data: bytes, declared: str | None = None, hint: str | None = None) -> tuple[str, str]:
    """(text, codec used).  Never raises: the last resort is the declared (or UTF-8) codec with replacement."""
    if not data:
        return "", codec_name(declared) or "ascii"
    if b"\x00" in data and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = data.replace(b"\x00", b"")
    primary = codec_name(declared)
    if primary and primary not in _SINGLE_BYTE:
        # A multi-byte declaration that decodes cleanly is almost always right (UTF-8, GB18030, Shift-JIS...).
        try:
            return data.decode(primary), primary
        except (UnicodeDecodeError, LookupError):
            pass
    elif primary == "ascii" or primary is None or primary in _SINGLE_BYTE:
        if not any(b >= 0x80 for b in data):
            return data.decode("ascii"), primary or "ascii"
    try:
        text = data.decode("utf-8")
        # Valid UTF-8 with high bytes is UTF-8 whatever the header claims: legacy text is almost never valid UTF-8.
        return text, "utf-8"
    except UnicodeDecodeError:
        pass
    candidates: list[str] = []
    for c in (primary, codec_name(hint), *FALLBACKS):
        if c and c not in candidates and c != "utf-8":
            candidates.append(c)
    best: tuple[float, str, str] | None = None
    for i, c in enumerate(candidates):
        try:
            text = data.decode(c)
        except (UnicodeDecodeError, LookupError):
            continue
        # The declared charset and the hint get a small head start: they win when the bytes do not argue.
        bonus = 0.15 if c in (primary, codec_name(hint)) else 0.0
        score = plausibility(text, len(data), c) + bonus - i * 0.001
        if best is None or score > best[0]:
            best = (score, text, c)
    if best is not None:
        return best[1], best[2]
    fallback = primary or "utf-8"
    return data.decode(fallback, errors="replace"), fallback
