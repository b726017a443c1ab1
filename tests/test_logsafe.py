"""No secret reaches the log: the redacting filter on its own, and a real `hub serve` talking to the Bot API."""
from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from hub import logsafe
from tests.fake_telegram import FakeTelegram
from tests.test_scale_support import Node, until

TOKEN = "7012345678:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
WEBHOOK_SECRET = "hook_Secret-value_42"


@pytest.fixture
def root_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_secrets_are_masked_in_messages_arguments_and_tracebacks(root_stream: io.StringIO) -> None:
    config = {
        "database": {"url": "postgresql://hub:db-Pass-123@127.0.0.1/hub"},
        "channels": {"telegram": {"token": "123:short-token", "webhook_secret": WEBHOOK_SECRET},
                     "email": {"imap": {"password": "imap-pass-9"}, "smtp": {"password": "smtp-pass-9"}}},
    }
    logsafe.install(config)
    child = logging.getLogger("hub.some.child")  # records propagated from a child logger are filtered too
    child.info("HTTP Request: POST http://127.0.0.1:1/bot%s/getUpdates", TOKEN)
    child.warning("login to imap with %s failed; smtp %s", "imap-pass-9", "smtp-pass-9")
    child.info("db at %s, webhook header %s, bot 123:short-token", config["database"]["url"], WEBHOOK_SECRET)
    child.info("GET /ws/agent?token=abcdefgh12345678 and Authorization: Bearer qwertyuiop123")
    try:
        raise RuntimeError(f"request to https://api.example/bot{TOKEN}/sendMessage failed")
    except RuntimeError:
        child.exception("send failed")
    logging.getLogger("httpx").info("HTTP Request: GET http://x/bot%s/getMe", TOKEN)
    out = root_stream.getvalue()
    for secret in (TOKEN, "123:short-token", "db-Pass-123", "imap-pass-9", "smtp-pass-9", WEBHOOK_SECRET,
                   "abcdefgh12345678", "qwertyuiop123"):
        assert secret not in out, (secret, out)
    assert out.count(logsafe.MASK) >= 9 and "send failed" in out and "RuntimeError" in out
    assert "getMe" not in out  # httpx is quiet below WARNING


async def test_hub_serve_never_logs_the_bot_token(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SCALE_LOG_LEVEL", "DEBUG")
    async with FakeTelegram(token=TOKEN) as fake:
        config = {
            "database": {"url": f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"},
            "channels": {"webchat": {"enabled": True}, "telegram": fake.channel_config()},
            "bot": {"enabled": False},
        }
        node = Node(config, "logsafe", workdir=str(tmp_path))
        try:
            await node.start()
            await until(lambda: len(fake.called("getUpdates")) >= 2, what="polling")
        finally:
            node.stop()
    log = node.log_path.read_text(errors="replace")
    assert "telegram: connected as" in log  # the log was written at all
    assert TOKEN not in log and TOKEN.split(":")[1] not in log, log[-3000:]
