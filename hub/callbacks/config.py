"""The `channels.callback` section of config.yaml (validated by the channel's `build`, read by the service)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.config import parse_duration


class CallbackConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True
    department: str = Field("callbacks", description="department whose agents make the calls")
    slot_minutes: int = Field(30, ge=5, le=24 * 60)
    calls_per_agent_per_slot: int = Field(2, ge=1)
    agents_on_shift: int = Field(1, ge=0, description="capacity basis while the department has no agents yet")
    reminder_before: timedelta = Field(timedelta(minutes=15), description="0 sends no reminder")
    retry_delay: timedelta = timedelta(minutes=30)
    max_attempts: int = Field(3, ge=1, description="calls without an answer before the customer is unreachable")
    horizon_days: int = Field(14, ge=1, le=366)
    next_slots: int = Field(5, ge=1, le=50, description="free slots offered with a 409 when the asked one is full")
    # One caller must not be able to take every slot: caps on customers' own bookings (agents booking for a
    # customer are not capped) and a per-IP limit on the public booking endpoints.
    max_active_per_phone: int = Field(2, ge=1, description="callbacks still to be made for one phone number")
    max_active_per_customer: int = Field(3, ge=1, description="callbacks still to be made for one chat visitor or contact")
    bookings_per_hour: int = Field(10, ge=1, description="bookings per client IP per hour on /api/callbacks and /callback")

    @field_validator("reminder_before", "retry_delay", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> Any:
        return parse_duration(v)

    @field_validator("reminder_before", "retry_delay")
    @classmethod
    def _not_negative(cls, v: timedelta) -> timedelta:
        if v < timedelta(0):
            raise ValueError("must not be negative")
        return v
