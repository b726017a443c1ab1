"""The bot's reply to greetings, thanks and small talk (recognised by nlp.smalltalk), in the customer's language."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from nlp.smalltalk import recognise as _recognise

__all__ = ["SmallTalk", "recognise"]


@dataclass(frozen=True, slots=True)
class SmallTalk:
    intent: str
    reply: str


@lru_cache(maxsize=1)
def _replies() -> dict[str, dict[str, str]]:
    return yaml.safe_load(resources.files("bots").joinpath("data/smalltalk_replies.yaml").read_text(encoding="utf-8"))


def recognise(text: str, lang: str, encoder: object | None = None) -> SmallTalk | None:
    intent = _recognise(text, lang, encoder)
    if intent is None:
        return None
    replies = _replies().get(intent) or {}
    lg = lang if lang in replies else ("fa" if lang == "ar" and "fa" in replies else "en")
    return SmallTalk(intent, replies.get(lg) or next(iter(replies.values()), ""))
