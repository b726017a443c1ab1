"""The `retention:` config section: how long personal data is kept, per channel, and how the job that removes it
paces itself.  Imports pydantic only (hub.config imports this module)."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w|y)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 365 * 86400}


def _period(value: Any) -> timedelta | None:
    """'30d', '104w', '12h'; null keeps the data forever."""
    if value is None or isinstance(value, timedelta):
        return value
    if isinstance(value, str) and (m := _DURATION.match(value)):
        period = timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
        if period <= timedelta(0):
            raise ValueError("expected a period longer than zero, or null to keep forever")
        return period
    raise ValueError(f"expected a period such as 30d, 2y or 12h, or null to keep forever; got {value!r}")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChannelRetention(Strict):
    """Periods for one channel; a key left out takes the section's default."""

    closed_tickets: timedelta | None = Field(None, description="after a ticket is resolved or closed, its personal data goes")
    raw_sources: timedelta | None = Field(None, description="raw provider data (mail sources on the server, raw updates)")

    @field_validator("closed_tickets", "raw_sources", mode="before")
    @classmethod
    def _p(cls, v: Any) -> Any:
        return _period(v)


class RetentionConfig(Strict):
    enabled: bool = Field(True, description="run the retention job (it does nothing while every period is null)")
    closed_tickets: timedelta | None = Field(None, description="default for every channel; null keeps forever")
    raw_sources: timedelta | None = Field(None, description="default for every channel; null keeps forever")
    channels: dict[str, ChannelRetention] = Field(default_factory=dict)
    every: timedelta = Field(timedelta(hours=1), description="how often the job runs")
    batch: int = Field(100, ge=1, le=5000, description="tickets or messages per transaction")
    pause: float = Field(0.05, ge=0, le=10, description="seconds between two batches, so other writers get the lock")
    max_batches: int = Field(200, ge=1, description="batches per run; the rest waits for the next run")

    @field_validator("closed_tickets", "raw_sources", mode="before")
    @classmethod
    def _p(cls, v: Any) -> Any:
        return _period(v)

    @field_validator("every", mode="before")
    @classmethod
    def _every(cls, v: Any) -> Any:
        period = _period(v)
        if period is None:
            raise ValueError("expected a period such as 1h")
        return period

    @property
    def active(self) -> bool:
        """Enabled with at least one period set: otherwise the job is not even planned."""
        periods = [self.closed_tickets, self.raw_sources]
        for own in self.channels.values():
            periods += [own.closed_tickets, own.raw_sources]
        return self.enabled and any(p is not None for p in periods)

    def period(self, channel: str, what: str) -> timedelta | None:
        """The period for `what` (closed_tickets or raw_sources) on `channel`."""
        own = self.channels.get(channel)
        if own is not None and what in own.model_fields_set:
            return getattr(own, what)
        return getattr(self, what)
