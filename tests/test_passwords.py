"""One password policy everywhere (API, command line, config) and no password in any log line."""
from __future__ import annotations

import logging
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from hub.auth import verify_password
from hub.cli import main
from hub.config import ConfigError
from hub.store.schema import agents
from tests.hubtest import hub_config, running_hub


def _config_file(tmp_path: Any, sqlite_url: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"database": {"url": sqlite_url}}))
    return str(path)


def test_command_line_takes_the_api_policy(tmp_path: Any, sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _config_file(tmp_path, sqlite_url)
    assert main(["--config", cfg, "agent", "add", "Nok", "--email", "nok@example.com", "--password", "short"]) != 0
    assert "at least 8 characters" in capsys.readouterr().err
    assert main(["--config", cfg, "agent", "add", "Nok", "--email", "nok@example.com", "--password", "        "]) != 0
    assert main(["--config", cfg, "agent", "add", "Nok", "--email", "nok@example.com", "--password", "long-enough-1"]) == 0
    assert main(["--config", cfg, "agent", "password", "NOK@example.com ", "--password", "x"]) != 0
    assert main(["--config", cfg, "agent", "password", "nok@example.com"]) == 0
    out = capsys.readouterr().out
    assert "password: " in out and len(out.split("password: ")[1].strip()) >= 8


def test_config_agents_take_the_policy_too(sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match=r"agents\.0\.password: .*at least 8"):
        hub_config(sqlite_url, agents=[{"name": "Nok", "email": "nok@example.com", "password": "1234"}])


async def test_api_refuses_what_the_policy_refuses(hub) -> None:  # type: ignore[no-untyped-def]
    admin = await hub.agent("admin@example.com", role="admin")
    for bad in ("1234567", " " * 12, "x" * 501):
        status, body = await hub.api("POST", "/api/agents", admin, json={"name": "x", "email": "x@example.com", "password": bad})
        assert status == 422 and body["error"]["field"] == "password", body


async def test_seeded_agent_password_is_never_logged(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = hub_config(sqlite_url, agents=[{"name": "Nok", "email": "nok@example.com", "role": "admin"}])
    async with running_hub(cfg) as h:
        async with h.hub.db.read() as conn:
            stored = (await conn.execute(select(agents.c.password_hash).where(agents.c.email == "nok@example.com"))).scalar_one()
    words = {w.strip(".,;:()'\"") for r in caplog.records for w in r.getMessage().split()}
    assert not any(verify_password(w, stored) for w in words if len(w) >= 8)
    assert any("hub agent password nok@example.com" in r.getMessage() for r in caplog.records)
