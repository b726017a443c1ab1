"""Helpers for the scale-out tests: real `hub serve` processes sharing one PostgreSQL database and one Redis, a
private redis-server that a test can stop and start, a TCP proxy that cuts the database away, and polling helpers.

Holds no tests itself; the other tests/test_scale_*.py modules import it.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import free_port
from tests.hubtest import deep_merge

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


def cluster_config(db_url: str, redis_url: str, prefix: str, **over: Any) -> dict[str, Any]:
    """The config every process of one test cluster shares (each adds its own port)."""
    base: dict[str, Any] = {
        "database": {"url": db_url, "pool_size": 4},
        "redis": {"url": redis_url, "prefix": prefix, "lease_ttl": 2},
        "channels": {"webchat": {"enabled": True}},
        "departments": [{"name": "support", "default": True}],
        "rate_limits": {"enabled": False},
        "outbox": {"backoff_base": 0.05, "sweep_interval": 0.1, "max_attempts": 5, "lock_timeout": 3},
        "scheduler_interval": 0.2,
        "bot": {"enabled": False},
    }
    return deep_merge(base, over)


class Node:
    """One `hub serve` process on its own port; it can be SIGKILLed and started again on the same port."""

    def __init__(self, config: dict[str, Any], name: str, workdir: str | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.dir = Path(workdir or tempfile.mkdtemp(prefix=f"hub-scale-{name}-"))
        cfg = deep_merge(config, {"server": {"host": "127.0.0.1", "port": self.port}})
        self.config_path = self.dir / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(cfg, allow_unicode=True))
        self.log_path = self.dir / "hub.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.serving = False  # answered /healthz since its last start (clients pick such a process, as a balancer would)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def spawn(self) -> None:
        self.serving = False
        env = dict(os.environ, HUB_LOG_LEVEL=os.environ.get("HUB_SCALE_LOG_LEVEL", "WARNING"))
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "--config", str(self.config_path), "serve"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.starts += 1

    async def start(self, timeout: float = 60.0) -> "Node":
        self.spawn()
        await self.ready(timeout)
        return self

    async def ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as s:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise RuntimeError(f"hub {self.name} exited with {self.proc and self.proc.returncode}:\n{self.tail()}")
                try:
                    async with s.get(self.url + "/healthz", timeout=aiohttp.ClientTimeout(total=2)) as r:
                        if r.status == 200:
                            self.serving = True
                            return
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"hub {self.name} did not become healthy:\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash or the OOM killer."""
        self.serving = False
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


async def start_all(nodes: list[Node]) -> None:
    """All at once on a fresh database, as a process manager starts them at boot: they migrate concurrently."""
    for n in nodes:
        n.spawn()
    await asyncio.gather(*(n.ready() for n in nodes))


def stop_all(nodes: list[Node]) -> None:
    for n in nodes:
        n.stop()


class RedisServer:
    """A private redis-server on a free port that a test may kill and start again on the same port."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="hub-redis-")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", self.dir],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        import redis.asyncio as aioredis

        client = aioredis.from_url(self.url, socket_connect_timeout=0.5)
        try:
            await until(lambda: _ping(client), timeout=10, what="redis-server to answer")
        finally:
            await client.aclose()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


async def _ping(client: Any) -> bool:
    try:
        return bool(await client.ping())
    except Exception:
        return False


class TcpProxy:
    """Forwards a local port to PostgreSQL; `cut()` closes the port and every open connection, `restore()` reopens."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port, reuse_address=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for w in tuple(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def restore(self) -> None:
        await self.start()

    async def close(self) -> None:
        await self.cut()


async def until(check: Callable[[], Awaitable[T] | T], *, timeout: float = 20.0, what: str = "condition", every: float = 0.1) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if asyncio.iscoroutine(got) or isinstance(got, asyncio.Future):
            got = await got
        if got:
            return got  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)


class Sql:
    """Direct reads of the shared database, to check what the processes stored."""

    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url, pool_size=2)

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.engine.connect() as conn:
            return list((await conn.execute(text(sql), params)).all())

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def close(self) -> None:
        await self.engine.dispose()


async def add_agent(node: Node, email: str, password: str = "secret-pass-1", role: str = "agent") -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.cli", "--config", str(node.config_path), "agent", "add", email.split("@")[0],
        "--email", email, "--password", password, "--role", role, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()


async def login(session: aiohttp.ClientSession, node: Node, email: str, password: str = "secret-pass-1") -> str:
    async with session.post(f"{node.url}/api/auth/login", json={"email": email, "password": password}) as r:
        assert r.status == 200, await r.text()
        return str((await r.json())["token"])
