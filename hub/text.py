"""Script-level tables shared by everything that matches text (the FAQ matcher, routing lexicons).

Each user adds its own extras on top (punctuation, hamza seats, quotes); these are the parts that must agree
everywhere, so a customer's "ك" or "۴" means the same to the bot and to the router.
"""
from __future__ import annotations

# Letters that an Arabic keyboard types where Persian has a code point of its own (phones and PCs set to Arabic
# often produce them): the same letter to a reader, another character to a machine.  Unlike the rest of the table
# below, folding these loses nothing, so the sentence encoder's input folds them too (nlp.encoder).
ARABIC_KEYBOARD_TO_PERSIAN: dict[str, str] = {
    "\u064a": "\u06cc",  # ي -> ی
    "\u0649": "\u06cc",  # ى -> ی
    "\u0643": "\u06a9",  # ك -> ک
}

# Marks that decorate Arabic-script words without making them other words: the harakat and tanween ("اصلاً" and
# "اصلا" are one word, written both ways), the superscript alef, and the tatweel that stretches a word for emphasis
# ("خیـــلی").  Matching and the sentence encoder's input both drop them.
ARABIC_MARKS = "\u0640" + "".join(chr(c) for c in range(0x064B, 0x0660)) + "\u0670"

# Arabic code points that Persian writes differently, and spellings customers drop: what matching folds.
ARABIC_TO_PERSIAN: dict[str, str] = {
    **ARABIC_KEYBOARD_TO_PERSIAN,
    "\u0629": "\u0647",  # ة -> ه
    "\u06c0": "\u0647",  # ۀ -> ه
    "\u0623": "\u0627",  # أ -> ا
    "\u0625": "\u0627",  # إ -> ا
    "\u0671": "\u0627",  # ٱ -> ا
    "\u0622": "\u0627",  # آ -> ا (customers drop the madda, so matching must too)
    "\u0624": "\u0648",  # ؤ -> و
}

# Persian ۰-۹, Arabic-Indic ٠-٩ and Thai ๐-๙ to ASCII, as a str.translate table.
DIGITS: dict[int, str] = {
    **{0x06F0 + i: str(i) for i in range(10)},
    **{0x0660 + i: str(i) for i in range(10)},
    **{0x0E50 + i: str(i) for i in range(10)},
}
