"""`BotConfig`: the `bot:` section of config.yaml, validated by pydantic.

Fixed keys (the public contract): enabled, knowledge_base, threshold, handoff_words.  The others are this package's
own and all have defaults, so `bot: {}` is a working configuration.  Imports only pydantic.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["BotConfig", "DEFAULT_HANDOFF_WORDS", "parse_duration"]

# Phrases that mean "let me talk to a person".  Matched after normalisation (nlp.normalize), as whole words in
# en/fa and as substrings in Thai, which has no spaces.
DEFAULT_HANDOFF_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("human", "agent", "operator", "real person", "live person", "a person", "representative", "talk to someone",
           "speak to someone", "customer service rep", "staff member", "live chat", "live agent", "support person"),
    "th": ("คุยกับพนักงาน", "ขอคุยกับคน", "คุยกับคน", "ขอสายพนักงาน", "ต่อพนักงาน", "ติดต่อพนักงาน", "เจ้าหน้าที่",
           "แอดมินตัวจริง", "คนจริง", "ขอคุยกับแอดมิน"),
    "fa": ("اپراتور", "کارشناس", "پشتیبان انسانی", "پشتیبانی انسانی", "آدم واقعی", "انسان واقعی", "با یک نفر صحبت",
           "با یه نفر صحبت", "با یک آدم", "با یه آدم", "اپراطور", "اوپراتور"),
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as "300", "30s", "5m", "1h"."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 300 or \"5m\"")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"expected a duration such as 300 or \"5m\", got {value!r}")
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


class BotConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    knowledge_base: str = "faq.yaml"
    threshold: float = Field(0.6, ge=0.0, le=1.0)
    # Per language; a language given here replaces that language's defaults, languages left out keep theirs.
    handoff_words: dict[str, tuple[str, ...]] = Field(default_factory=lambda: dict(DEFAULT_HANDOFF_WORDS))
    reopen_to_bot: bool = False
    notice_interval: float = 300.0  # seconds between queue status notices on one ticket
    channels: tuple[str, ...] | None = None  # where the bot takes new tickets; None = every channel
    # Channels where the bot answers once with an automatic acknowledgement and then leaves the ticket to agents.
    ack_only_channels: tuple[str, ...] = ("email",)
    max_misses: int = Field(2, ge=1)  # consecutive unanswered messages before handing off
    # Below `threshold` but at least this confident: offer the closest entries ("Did you mean ...?") instead of a miss.
    suggest_floor: float = Field(0.15, ge=0.0, le=1.0)
    suggestions: int = Field(3, ge=1, le=5)
    ask_helpful: bool = True
    vip_tiers: tuple[str, ...] = ("vip", "key", "enterprise")
    reload_interval: float = 5.0  # how often a periodic task may call KnowledgeBaseHolder.reload()
    # After start-up the meaning-based index is built in the background (seconds for a large knowledge base met for
    # the first time).  A question asked meanwhile waits for it this long before the word-based index answers alone:
    # the first customers get the same answers as the later ones, a little later, instead of a needless handoff.
    # Bounded below the patience of a chat customer (and of a client's reply timeout): a build that takes longer
    # (a 1,500-example base on a slow machine, first start) answers its first questions by words, as before.
    warmup_wait: float = 20.0
    # When questions come faster than the sentence encoder's CPU share (HUB_NLP_ENCODER_SHARE) allows, a question
    # waits its turn this long before the word-based index answers it alone: an answer a few seconds late is better
    # than a wrong one or a needless handoff; a flood that outlasts the wait still cannot take the cores from the hub.
    encoder_wait: float = 10.0

    @field_validator("notice_interval", "reload_interval", "warmup_wait", "encoder_wait",
                     mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return parse_duration(v)

    @field_validator("handoff_words", mode="before")
    @classmethod
    def _merge_words(cls, v: Any) -> Any:
        if v is None:
            return dict(DEFAULT_HANDOFF_WORDS)
        if not isinstance(v, dict):
            raise ValueError("expected a mapping of language -> list of phrases")
        merged: dict[str, Any] = dict(DEFAULT_HANDOFF_WORDS)
        for lang, words in v.items():
            if isinstance(words, str) or not all(isinstance(w, str) and w.strip() for w in words or ()):
                raise ValueError(f"handoff_words.{lang}: expected a list of non-empty phrases")
            merged[str(lang)] = tuple(words or ())
        return merged

    def enabled_for(self, channel: str) -> bool:
        """Whether a new ticket on `channel` starts in the bot's hands."""
        return self.enabled and (self.channels is None or channel in self.channels)
