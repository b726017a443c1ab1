"""Greetings, thanks and small talk (nlp/data/smalltalk.yaml), recognised on the whole message.

Routing never reads such a message as a complaint, and the bot answers it with a short friendly reply
(bots/data/smalltalk_replies.yaml) instead of a miss.

Recognition is deliberately narrow: the message, once normalised and stripped of punctuation, emoji and a trailing
name or politeness particle, must be one of the listed phrases (Thai compared without spaces and tone marks), or,
when the sentence encoder is there, within a cosine of 0.92 of one while being short.  A greeting that carries a
question ("hi, where is my order?") is a question and goes to the FAQ matcher.  Imports the language layer.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from nlp.encoder import embed_bulk
from nlp.normalize import normalize, strip_thai_tones

__all__ = ["prepare", "recognise"]

_MAX_WORDS = 6
_MAX_CHARS = 40
_MIN_COSINE = 0.92
_TRAILING = {"en": ("please", "admin", "team", "guys", "there", "you", "again"),
             "th": ("ค่ะ", "ครับ", "คะ", "จ้า", "นะ", "นะคะ", "นะครับ", "แอดมิน", "แอด"),
             "fa": ("جان", "عزیز", "دوست", "ادمین", "پشتیبانی")}


@lru_cache(maxsize=1)
def _data() -> dict[str, dict]:
    return yaml.safe_load(resources.files("nlp").joinpath("data/smalltalk.yaml").read_text(encoding="utf-8"))


def _key(text: str, lang: str) -> str:
    norm = normalize(text, lang)
    words = norm.split()
    while len(words) > 1 and words[-1] in _TRAILING.get(lang, ()):
        words.pop()
    out = " ".join(words)
    if lang == "th":
        out = strip_thai_tones(out.replace(" ", ""))
        for p in _TRAILING["th"]:
            if out.endswith(strip_thai_tones(p)) and len(out) > len(p):
                out = out[: -len(p)]
                break
    return out


@lru_cache(maxsize=8)
def _table(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for intent, spec in _data().items():
        for phrase in spec.get(lang, ()):
            out[_key(str(phrase), lang)] = intent
    return out


@lru_cache(maxsize=2)
def _vectors(encoder: object) -> tuple[np.ndarray, tuple[str, ...]]:
    texts, intents = [], []
    for intent, spec in _data().items():
        for phrases in spec.values():
            for p in phrases:
                texts.append(str(p))
                intents.append(intent)
    return embed_bulk(encoder, texts), tuple(intents)  # type: ignore[arg-type]


def prepare(encoder: object | None) -> None:
    """Embed the phrase tables now (a few seconds of CPU), not on the first message that needs them."""
    if encoder is not None:
        _vectors(encoder)


def recognise(text: str, lang: str, encoder: object | None = None) -> str | None:
    """The small-talk intent ("greeting", "thanks", "bye", ...) of a whole short message, or None."""
    stripped = text.strip()
    if not stripped or len(stripped) > _MAX_CHARS or len(stripped.split()) > _MAX_WORDS:
        return None
    lg = lang if lang in ("en", "th", "fa") else ("fa" if lang == "ar" else "en")
    key = _key(stripped, lg)
    intent = _table(lg).get(key) if key else None
    if intent is None and key and lg != "en":
        intent = _table("en").get(_key(stripped, "en"))  # "hi" and "thanks" in a Thai or Persian chat
    busy = getattr(encoder, "busy", None)
    # Past the encoder's CPU share (nlp.encoder.Budget) the phrase tables alone decide, as the matcher does then.
    if intent is None and encoder is not None and key and not (busy is not None and busy([stripped])):
        vecs, intents = _vectors(encoder)
        sims = vecs @ encoder.embed([stripped])[0]  # type: ignore[attr-defined]
        best = int(sims.argmax())
        if float(sims[best]) >= _MIN_COSINE:
            intent = intents[best]
    return intent
