"""A real Dovecot IMAP server for tests: started from a temporary config on a free loopback port, one user with a
plaintext password, a maildir under the test's tmp dir, and helpers that APPEND and inspect mail over IMAP.

Runs as an ordinary user or as root (then the mail processes run as `nobody`, since Dovecot refuses mail access with
UID 0).  The `dovecot` binary comes from Debian's dovecot-imapd (/usr/sbin is searched too).
"""
from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioimaplib
import pytest

from tests.services import binary, need

USER = "support@example.com"
PASSWORD = "imap-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    exe: str
    port: int = 0
    user: str = USER
    password: str = PASSWORD
    proc: subprocess.Popen[bytes] | None = None
    run_dir: str = ""
    tls: bool = False  # a self-signed certificate, STARTTLS on `port` and implicit TLS on `ssl_port`
    ssl_port: int = 0

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def imap_config(self, **over: Any) -> dict[str, Any]:
        """The channel's `imap` section pointing at this server."""
        return {"host": self.host, "port": self.port, "user": self.user, "password": self.password, "ssl": False,
                "starttls": False, "poll_interval": 0.2, **over}

    def start(self) -> None:
        self.port = self.port or free_port()
        mail = self.root / "mail"
        mail.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are limited to ~100 bytes: the runtime directory lives in a short temporary path.
        self.run_dir = tempfile.mkdtemp(prefix="dv", dir="/tmp")
        os.chmod(self.run_dir, 0o755)
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            uid, gid = nobody.pw_uid, nobody.pw_gid
            internal, login = "dovecot", "dovenull"
            for p in (mail, *mail.parents):
                if str(p) in ("/", "/tmp"):
                    break
                os.chmod(p, os.stat(p).st_mode | 0o011)  # traversable by the mail processes, not listable
            os.chown(mail, uid, gid)
        else:
            uid, gid = os.getuid(), os.getgid()
            internal = login = pwd.getpwuid(uid).pw_name
        passwd = self.root / "passwd"
        passwd.write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        os.chmod(passwd, 0o644)
        ssl_conf = "ssl = no"
        if self.tls:
            self.ssl_port = self.ssl_port or free_port()
            cert, key = self.root / "cert.pem", self.root / "key.pem"
            if not cert.exists():
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                                "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
            ssl_conf = f"ssl = yes\nssl_cert = <{cert}\nssl_key = <{key}"
        conf = self.root / "dovecot.conf"
        conf.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.run_dir}
state_dir = {self.run_dir}/state
instance_name = hubtest-{self.port}
log_path = {self.root}/dovecot.log
{ssl_conf}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail}/%u
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.ssl_port}
  }}
}}
service anvil {{
  chroot =
}}
""")
        self.proc = subprocess.Popen([self.exe, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode(errors="replace") if self.proc.stdout else ""
                raise RuntimeError(f"dovecot exited with {self.proc.returncode}: {out[-2000:]} {self.log()[-2000:]}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()[-2000:]}")

    def log(self) -> str:
        p = self.root / "dovecot.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None
        if self.run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)

    async def client(self, folder: str | None = "INBOX") -> aioimaplib.IMAP4:
        c = aioimaplib.IMAP4(host=self.host, port=self.port, timeout=30)
        await c.wait_hello_from_server()
        for attempt in range(5):
            resp = await c.login(self.user, self.password)
            # On a loaded machine Dovecot's auth process can answer "Temporary authentication failure" (NO
            # [UNAVAILABLE]) while it starts; that is the fixture's server being slow, not what a test checks.
            if resp.result == "OK" or "UNAVAILABLE" not in " ".join(str(x) for x in resp.lines) or attempt == 4:
                break
            await asyncio.sleep(0.5 * (attempt + 1))
        assert resp.result == "OK", resp
        if folder:
            assert (await c.select(folder)).result == "OK"
        return c

    async def append(self, *raws: bytes, folder: str = "INBOX", flags: str | None = None) -> None:
        c = await self.client(None)
        try:
            for raw in raws:
                resp = await c.append(raw, mailbox=folder, flags=flags)
                assert resp.result == "OK", resp
        finally:
            await c.logout()

    async def create(self, folder: str) -> None:
        c = await self.client(None)
        try:
            await c.create(folder)
        finally:
            await c.logout()

    async def delete(self, folder: str) -> None:
        c = await self.client(None)
        try:
            assert (await c.delete(folder)).result == "OK"
        finally:
            await c.logout()

    async def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        """UID -> flags of every mail in the folder."""
        c = await self.client(folder)
        try:
            resp = await c.uid("fetch", "1:*", "(UID FLAGS)")
        finally:
            await c.logout()
        out: dict[int, set[str]] = {}
        for line in resp.lines:
            uid, flags = re.search(rb"UID (\d+)", bytes(line)), re.search(rb"FLAGS \(([^)]*)\)", bytes(line))
            if uid and flags:
                out[int(uid.group(1))] = set(flags.group(1).decode().split())
        return out


def private_root(name: str) -> Path:
    """A folder for one server's files outside pytest's temporary tree.  Dovecot's mail and auth processes run as
    other users and must traverse to its files; pytest keeps /tmp/pytest-of-<user> at mode 0700 and puts it back
    whenever another pytest run on the machine starts, which made logins fail with "Temporary authentication
    failure" mid-run."""
    root = Path(tempfile.mkdtemp(prefix=f"hub-{name}-", dir="/tmp"))
    os.chmod(root, 0o711)
    return root


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    exe = binary("dovecot", "/usr/sbin")
    need("dovecot (Debian package dovecot-imapd)", exe is not None)
    assert exe is not None
    root = private_root("dovecot")
    server = Dovecot(root, exe)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


async def wait_until(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    """Poll an async or plain predicate until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(interval)


__all__ = ["Dovecot", "dovecot", "wait_until", "free_port", "USER", "PASSWORD"]
