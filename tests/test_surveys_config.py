"""Survey and follow-up settings: a wrong value fails at start naming its key."""
from __future__ import annotations

import pytest

from hub.config import ConfigError, from_mapping


@pytest.mark.parametrize(("raw", "key"), [
    ({"surveys": {"low_score": 9}}, "surveys.low_score"),
    ({"surveys": {"delay": "soon"}}, "surveys.delay"),
    ({"surveys": {"nps": "maybe"}}, "surveys.nps"),
    ({"surveys": {"expires_after": "10d"}}, "surveys.expires_after"),  # longer than tickets.reopen_window
    ({"followups": {"rules": [{"mode": "message"}]}}, "text.en"),
    ({"followups": {"rules": [{"mode": "call"}]}}, "followups.rules.0.mode"),
    ({"followups": {"winback_days": 0}}, "followups.winback_days"),
    ({"departments": [{"name": "support", "default": True, "surveys": "sometimes"}]}, "departments.0.surveys"),
])
def test_bad_values_name_their_key(raw: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_mapping(raw)
    assert key in str(err.value)


def test_defaults() -> None:
    c = from_mapping({})
    assert (c.surveys.enabled, c.surveys.low_score, c.surveys.nps, c.followups.winback_days) == (True, 2, False, 30)
