"""Shared bench helpers: free ports, a hub subprocess with a temporary config, percentiles, RSS."""
from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

try:
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None

ROOT = Path(__file__).resolve().parent.parent
# HUB_BENCH_TREE: another checkout whose hub the bench runs (A/B of two commits with the same load generator).
HUB_TREE = Path(os.environ.get("HUB_BENCH_TREE") or ROOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))], 3)


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def rss_mb(pid: int) -> float | None:
    """Resident memory now (VmRSS), MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, quiet: float = 0.02, step: float = 0.25, limit: float = 30.0) -> float:
    """Wait until process `pid` and its children are idle (less than `quiet` CPU seconds in `step`): what a hub does right after
    start-up (warming its models, building indexes) stays out of the figures measured next.  Returns the wait."""
    started = time.monotonic()
    last = tree_cpu_seconds(pid)
    while time.monotonic() - started < limit:
        time.sleep(step)
        now = tree_cpu_seconds(pid)
        if now - last < quiet:
            break
        last = now
    return time.monotonic() - started


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of `pid` and every process under it (a classifier worker, say)."""
    total = 0.0
    for p in (pid, *children(pid)):
        try:
            total += cpu_seconds(p)
        except OSError:  # ended meanwhile
            pass
    return total


def children(pid: int) -> list[int]:
    """Every descendant process of `pid` (the classifier worker of a hub with review.worker: process)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += [int(child), *children(int(child))]
    except OSError:
        pass
    return out


def machine() -> dict[str, Any]:
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(terse=True)}


class HubProcess:
    """`hub serve` in a subprocess on a free port with the given config overrides."""

    def __init__(self, overrides: dict[str, Any], workdir: str | None = None, port: int | None = None) -> None:
        self.dir = workdir or tempfile.mkdtemp(prefix="hub-bench-")
        self.port = port or free_port()
        cfg = {
            "server": {"host": "127.0.0.1", "port": self.port},
            "database": {"url": f"sqlite+aiosqlite:///{self.dir}/hub.db"},
            "channels": {"webchat": {"enabled": True}},
            "rate_limits": {"enabled": False},
            "bot": {"enabled": False},
        }
        for k, v in overrides.items():
            cfg[k] = {**cfg.get(k, {}), **v} if isinstance(v, dict) and isinstance(cfg.get(k), dict) else v
        self.config_path = Path(self.dir) / "config.yaml"
        self.config_path.write_text(yaml.safe_dump(cfg))
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *extra: str) -> "HubProcess":
        env = dict(os.environ, HUB_LOG_LEVEL="WARNING")
        cmd = [sys.executable, "-m", "hub.cli", "--config", str(self.config_path), "serve", *extra]
        profile = os.environ.get("HUB_BENCH_PROFILE")  # a directory: the hub runs under py-spy (pip install py-spy)
        if profile:
            Path(profile).mkdir(parents=True, exist_ok=True)
            out = Path(profile) / f"hub-{self.port}.txt"
            cmd = ["py-spy", "record", "--nonblocking", "--rate", "200", "--format", "raw", "-o", str(out), "--", *cmd]
        # The hub's stdout (its start-up banner) stays out of the JSON this script prints.
        self.proc = subprocess.Popen(cmd, cwd=HUB_TREE, env=env, stdout=subprocess.DEVNULL)
        deadline = time.time() + 60
        import urllib.request

        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("hub did not become healthy")

    @property
    def pid(self) -> int:
        """The hub's own process (under py-spy, its child), for CPU and RSS figures."""
        assert self.proc is not None
        if not os.environ.get("HUB_BENCH_PROFILE"):
            return self.proc.pid
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return int(children[0]) if children else self.proc.pid

    def add_agent(self, email: str, password: str, role: str = "agent") -> None:
        subprocess.run([sys.executable, "-m", "hub.cli", "--config", str(self.config_path), "agent", "add", email.split("@")[0],
                        "--email", email, "--password", password, "--role", role], cwd=HUB_TREE, check=True, capture_output=True)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            if os.environ.get("HUB_BENCH_PROFILE"):  # py-spy writes its profile when the hub ends
                os.kill(self.pid, 15)
                try:
                    self.proc.wait(30)
                    return
                except subprocess.TimeoutExpired:
                    pass
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, indent=2, ensure_ascii=False))


async def _delayed_pipe(reader: Any, writer: Any, delay: float) -> None:
    """Forward bytes, each chunk `delay` seconds after it arrived (order kept): one direction of a slow link."""
    import asyncio

    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def feed() -> None:
        while True:
            data = await reader.read(65536)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def drain() -> None:
        while True:
            due, data = await queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if not data:
                writer.close()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(feed(), drain())
    except (ConnectionError, OSError):
        writer.close()


def serve_delay_proxy(listen_port: int, upstream_port: int, rtt_ms: float) -> None:
    """A TCP proxy on 127.0.0.1:listen_port to upstream_port that adds rtt_ms/2 to each direction: a mail server
    across a network instead of on loopback.  Runs until killed (start it in a process of its own, so its work is
    not counted as the hub's)."""
    import asyncio

    async def handle(reader: Any, writer: Any) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
        half = rtt_ms / 2000
        await asyncio.gather(_delayed_pipe(reader, up_writer, half), _delayed_pipe(up_reader, writer, half))

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def start_delay_proxy(upstream_port: int, rtt_ms: float) -> tuple[subprocess.Popen[bytes], int]:
    """`serve_delay_proxy` in a subprocess; (process, its port), once it accepts connections."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from bench.common import serve_delay_proxy; "
                             f"serve_delay_proxy({port}, {upstream_port}, {rtt_ms!r})"], cwd=ROOT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the delay proxy did not start")
