"""Config validation (the failing key is named) and the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hub.config import ConfigError, from_mapping, parse_duration, read_config
from hub.registry import load_config

ROOT = Path(__file__).resolve().parent.parent


def hub_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}, cwd=cwd or ROOT, timeout=120)


@pytest.mark.parametrize(
    "raw, path",
    [
        ({"server": {"prot": 1}}, "server.prot"),
        ({"server": {"port": "eighty"}}, "server.port"),
        ({"database": {"url": "mysql://x"}}, "database.url"),
        ({"business_hours": {"tz": "Mars/Olympus"}}, "business_hours.tz"),
        ({"business_hours": {"weekly": {"mon": ["18:00-09:00"]}}}, "business_hours.weekly"),
        ({"business_hours": {"weekly": {"funday": ["09:00-10:00"]}}}, "business_hours.weekly"),
        ({"sla": {"high": {"first_response": "soon"}}}, "sla.high.first_response"),
        ({"departments": [{"name": "a", "escalation": "b"}]}, "departments"),
        ({"agents": [{"name": "x", "email": "x@y.z", "role": "boss"}]}, "agents.0.role"),
    ],
)
def test_bad_core_config_names_the_key(raw: dict, path: str) -> None:
    with pytest.raises(ConfigError) as exc:
        from_mapping(raw)
    assert str(exc.value).startswith(path), str(exc.value)


def test_bad_channel_config_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("channels:\n  webchat: {enabled: true, colour: red}\n")
    with pytest.raises(ConfigError, match=r"channels\.webchat\.colour"):
        load_config(str(cfg))
    cfg.write_text("channels:\n  pigeon: {enabled: true}\n")
    with pytest.raises(ConfigError, match=r"channels\.pigeon"):
        load_config(str(cfg))


def test_env_expansion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("server: {port: '${HUB_T_PORT:-9000}', public_url: '${HUB_T_URL}'}\n")
    config, _ = read_config(cfg)
    assert config.server.port == 9000 and config.server.public_url is None
    monkeypatch.setenv("HUB_T_PORT", "9100")
    monkeypatch.setenv("HUB_T_URL", "https://help.example.com")
    config, _ = read_config(cfg)
    assert config.server.port == 9100 and config.server.public_url == "https://help.example.com"


def test_durations() -> None:
    assert parse_duration("15m").total_seconds() == 900
    assert parse_duration("1.5h").total_seconds() == 5400
    assert parse_duration(30).total_seconds() == 30
    with pytest.raises(ValueError):
        parse_duration("a while")


def test_shipped_config_is_valid() -> None:
    result = hub_cli("check-config", "--config", str(ROOT / "config.yaml"))
    assert result.returncode == 0, result.stderr


def test_check_config_fails_with_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("server: {host: 127.0.0.1, prot: 1}\n")
    result = hub_cli("check-config", "--config", str(cfg))
    assert result.returncode != 0 and "server.prot" in result.stderr
    cfg.write_text("server: [unclosed\n")
    result = hub_cli("--config", str(cfg), "check-config")
    assert result.returncode != 0 and "YAML" in result.stderr


def test_migrate_and_agent_add(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database: {{url: 'sqlite+aiosqlite:///{tmp_path / 'h.db'}'}}\n")
    env = {"HUB_CONFIG": str(cfg)}
    assert hub_cli("migrate", env=env).returncode == 0
    result = hub_cli("agent", "add", "Dao", "--email", "dao@example.com", "--role", "supervisor", "--department", "support", env=env)
    assert result.returncode == 0, result.stderr
    assert "password:" in result.stdout  # generated and shown once
    again = hub_cli("agent", "add", "Dao", "--email", "dao@example.com", "--password", "x" * 10, env=env)
    assert again.returncode != 0 and "exists" in again.stderr
    bad = hub_cli("agent", "add", "Z", "--email", "z@example.com", "--department", "nowhere", env=env)
    assert bad.returncode != 0 and "department" in bad.stderr


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    """The database file, like the knowledge base, sits next to the config file whatever the working folder."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "faq.yaml").write_text((ROOT / "faq.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    cfg = site / "hub.yaml"
    cfg.write_text("database: {url: 'sqlite+aiosqlite:///data/hub.db'}\nbot: {enabled: true, knowledge_base: faq.yaml}\n")
    config, _ = read_config(cfg)
    assert config.database.url == f"sqlite+aiosqlite:///{site / 'data' / 'hub.db'}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # The folder of the database does not exist yet: check-config says so, as serve would fail on it.
    result = hub_cli("check-config", "--config", str(cfg), cwd=elsewhere)
    assert result.returncode != 0 and "database.url" in result.stderr
    (site / "data").mkdir()
    assert hub_cli("check-config", "--config", str(cfg), cwd=elsewhere).returncode == 0
    assert hub_cli("migrate", "--config", str(cfg), cwd=elsewhere).returncode == 0
    assert (site / "data" / "hub.db").exists() and not (elsewhere / "data").exists()
    # The default database (no database section) is next to the file too.
    bare = site / "bare.yaml"
    bare.write_text("bot: {enabled: false}\n")
    assert read_config(bare)[0].database.url == f"sqlite+aiosqlite:///{site / 'hub.db'}"


def test_check_config_refuses_what_serve_refuses(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("bot: {enabled: true, knowledge_base: missing.yaml}\n")
    result = hub_cli("check-config", "--config", str(cfg))
    assert result.returncode != 0 and "bot.knowledge_base" in result.stderr and "missing.yaml" in result.stderr
    cfg.write_text("bot: {enabled: false}\nchannels: {callback: {enabled: true, department: nowhere}}\n")
    result = hub_cli("check-config", "--config", str(cfg))
    assert result.returncode != 0 and "channels.callback.department" in result.stderr
    cfg.write_text("bot: {enabled: false}\nchannels: {telegram: {enabled: true, token: '1:x', mode: webhook, webhook_secret: abc}}\n")
    result = hub_cli("check-config", "--config", str(cfg))
    assert result.returncode != 0 and "server.public_url" in result.stderr


def test_serve_prints_the_pages_and_how_to_create_the_first_agent(tmp_path: Path) -> None:
    from tests.mailtest import free_port

    cfg = tmp_path / "c.yaml"
    cfg.write_text("bot: {enabled: false}\nchannels: {webchat: {enabled: true}, callback: {enabled: true}}\n"
                   "departments: [{name: help, default: true}, {name: callbacks}]\n")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "--config", str(cfg), "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip())
            if "agent add" in line:
                break
        out = "\n".join(lines)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for path in ("/chat", "/console", "/contact", "/callback"):
        assert f"http://127.0.0.1:{port}{path}" in out
    assert f"--config {cfg} agent add" in out and "--role admin --department help" in out


def test_the_faq_opening_hours_agree_with_business_hours() -> None:
    """The shipped FAQ answers "when are you open" with the hours the shipped config routes and promises by."""
    import yaml

    config, _ = read_config(ROOT / "config.yaml")
    faq = yaml.safe_load((ROOT / "faq.yaml").read_text(encoding="utf-8"))
    entries = faq["entries"] if isinstance(faq, dict) else faq
    [hours] = [e for e in entries if e.get("id") == "opening_hours"]
    spans = {span for ranges in config.business_hours.weekly.values() for span in ranges}
    for lang in ("en", "th"):
        answer = hours["answer"][lang]
        for span in spans:
            start, end = (part.lstrip("0") if part[0] == "0" else part for part in span.split("-"))
            assert f"{start}–{end}" in answer, (lang, span, answer)
    assert "sun" not in config.business_hours.weekly and "Sunday" in hours["answer"]["en"]
