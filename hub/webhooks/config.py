"""The `webhooks:` config section: endpoints with their event filters and secrets, timeouts, retry schedule."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# The events a webhook endpoint may subscribe to (the `webhooks` section of hub/web/openapi.yaml describes each).
EVENTS = (
    "ticket.created", "ticket.updated", "ticket.resolved", "message.created", "survey.answered",
    "callback.booked", "callback.outcome", "sla.breached",
)
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")


class Strict(BaseModel):
    # As hub.config.Strict (which imports this module, hence not from there): unknown keys are errors.
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookEndpoint(Strict):
    name: str
    url: str
    secret: str = Field(min_length=16, description="shared HMAC key; at least 16 characters")
    events: list[str] = Field(default_factory=lambda: ["*"], description="event names, or * for every event")
    enabled: bool = True
    # Loopback and private addresses are refused unless an endpoint is allowed to reach them: a receiver on the
    # same host or LAN is a deliberate choice, never something a mistyped or rebound name should lead to.
    allow_private: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("expected 1-60 letters, digits, '.', '_' or '-'")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"expected an http:// or https:// URL, got {v!r}")
        if not parts.hostname:
            raise ValueError(f"the URL has no host: {v!r}")
        if parts.username or parts.password:
            raise ValueError("credentials in the URL would be logged; put them in the secret instead")
        return v

    @field_validator("events")
    @classmethod
    def _events(cls, v: list[str]) -> list[str]:
        for e in v:
            if e != "*" and e not in EVENTS:
                raise ValueError(f"unknown event {e!r}; expected * or one of {', '.join(EVENTS)}")
        if not v:
            raise ValueError("expected at least one event (or *)")
        return v

    def wants(self, event: str) -> bool:
        return self.enabled and ("*" in self.events or event in self.events)


class WebhooksConfig(Strict):
    endpoints: list[WebhookEndpoint] = []
    timeout: float = Field(10.0, gt=0, le=120, description="seconds for one delivery, connect to last byte")
    max_attempts: int = Field(12, ge=1, description="tries before a delivery is marked failed")
    backoff_base: float = Field(10.0, gt=0, description="seconds before the first retry; doubles per attempt")
    backoff_max: float = Field(3600.0, gt=0, description="longest wait between two tries")
    sweep_interval: float = Field(2.0, gt=0)
    lock_timeout: float = Field(180.0, gt=0, description="seconds a claimed delivery stays locked; longer than timeout")
    concurrency: int = Field(8, ge=1, description="deliveries in flight at once per process")
    keep_days: int = Field(30, ge=1, description="days a finished delivery stays in the log")

    @model_validator(mode="after")
    def _unique(self) -> "WebhooksConfig":
        names = [e.name for e in self.endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoints: names must be unique")
        if self.lock_timeout <= self.timeout:
            raise ValueError("lock_timeout: must be longer than timeout")
        return self

    def endpoint(self, name: str) -> WebhookEndpoint | None:
        return next((e for e in self.endpoints if e.name == name), None)
