"""The IMAP side: connecting (TLS, STARTTLS or plain), reading new mail by UID, waiting with IDLE or polling, and
acknowledging (\\Seen or a move) only what the hub has committed.

`Mailbox.run` never returns on its own: it reconnects with backoff until cancelled.  The cursor is
"<UIDVALIDITY>:<last UID>" in the channel's checkpoints, so a restart fetches only what is new, and a changed
UIDVALIDITY re-reads the folder, relying on the Message-ID being the idempotency key.  Imports aioimaplib, this
package's config, fetching and readahead, and hub.periodic only; what to do with a mail is the `prepare` and `store` callbacks' business.
"""
from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aioimaplib
from aioimaplib.aioimaplib import Command

from channels.email.config import ImapConfig
from channels.email.fetching import UidFetch
from channels.email.readahead import ReadAhead, small
from hub.periodic import cancel_and_wait

log = logging.getLogger("hub.channels.email.imap")

_FETCH_HEAD = re.compile(rb"^\d+ FETCH \(")
_UID = re.compile(rb"UID (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')
_UIDVALIDITY = re.compile(rb"\[UIDVALIDITY (\d+)\]")
_UIDNEXT = re.compile(rb"\[UIDNEXT (\d+)\]")
_EXISTS = re.compile(rb"^\d+ (?:EXISTS|RECENT)")


class ImapError(Exception):
    """The server refused a command or the connection broke; the session is restarted with backoff."""


@dataclass(frozen=True, slots=True)
class Fetched:
    uid: int
    raw: bytes
    internal_date: datetime | None


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int
    last_uid: int

    def dump(self) -> str:
        return f"{self.uidvalidity}:{self.last_uid}"

    @staticmethod
    def load(value: str | None) -> Cursor | None:
        if not value:
            return None
        a, _, b = value.partition(":")
        return Cursor(int(a), int(b)) if a.isdigit() and b.isdigit() else None


def _tls_context(verify: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class Connection:
    """One logged-in IMAP session; `lost` is set when the server goes away, so an IDLE wait never outlives it."""

    def __init__(self, cfg: ImapConfig, user: str) -> None:
        self.cfg, self.user = cfg, user
        self.lost = asyncio.Event()
        self.client: aioimaplib.IMAP4 | None = None
        # One command on the wire at a time, taken in the order asked (asyncio.Lock is fair): a backlog's fetches
        # and acknowledgements run beside the storing as tasks, and never interleave their responses.
        self.wire = asyncio.Lock()

    async def open(self) -> Connection:
        cfg = self.cfg
        self.client = aioimaplib.IMAP4(
            host=cfg.host, port=cfg.effective_port, timeout=cfg.timeout,
            conn_lost_cb=lambda exc: self.lost.set(),
            ssl_context=_tls_context(cfg.verify_tls) if cfg.ssl else None,
        )
        await self.client.wait_hello_from_server()
        if cfg.starttls and not cfg.ssl:
            await self._starttls()
        if cfg.password is None:
            raise ImapError("imap.password is not set")
        _ok(await self.client.login(self.user, cfg.password), "LOGIN")
        return self

    async def _starttls(self) -> None:
        assert self.client is not None
        proto = self.client.protocol
        if "STARTTLS" not in proto.capabilities:
            raise ImapError("the server does not offer STARTTLS (imap.starttls is set)")
        resp = await asyncio.wait_for(proto.execute(Command("STARTTLS", proto.new_tag(), loop=proto.loop)), self.cfg.timeout)
        _ok(resp, "STARTTLS")
        loop = asyncio.get_running_loop()
        proto.transport = await loop.start_tls(proto.transport, proto, _tls_context(self.cfg.verify_tls), server_hostname=self.cfg.host)
        await asyncio.wait_for(proto.capability(), self.cfg.timeout)  # capabilities may change after TLS (RFC 3501)

    @property
    def c(self) -> aioimaplib.IMAP4:
        assert self.client is not None
        return self.client

    def has(self, capability: str) -> bool:
        return capability in self.c.protocol.capabilities

    async def select(self, folder: str) -> tuple[int, int]:
        """(UIDVALIDITY, UIDNEXT) of the folder."""
        resp = _ok(await self.c.select(_quote(folder)), f"SELECT {folder}")
        blob = b"\n".join(bytes(x) for x in resp.lines)
        v, n = _UIDVALIDITY.search(blob), _UIDNEXT.search(blob)
        if v is None:
            raise ImapError(f"SELECT {folder}: no UIDVALIDITY")
        return int(v.group(1)), int(n.group(1)) if n else 0

    async def search(self, criteria: str) -> list[int]:
        resp = _ok(await self.c.uid_search(criteria, charset=None), f"UID SEARCH {criteria}")
        uids: list[int] = []
        for line in resp.lines[:-1]:  # the last line is the tagged status; aioimaplib drops the "SEARCH" word
            tokens = bytes(line).split()
            if tokens and tokens[0] == b"SEARCH":
                tokens = tokens[1:]
            if tokens and all(t.isdigit() for t in tokens):
                uids.extend(int(t) for t in tokens)
        return sorted(set(uids))

    async def fetch(self, uids: Sequence[int], what: str = "(UID INTERNALDATE BODY.PEEK[])") -> list[Fetched]:
        proto = self.c.protocol  # aioimaplib's own UID FETCH, less its per-line timer (channels.email.fetching)
        async with self.wire:
            resp = _ok(await proto.execute(UidFetch(proto.new_tag(), _uid_set(uids), what, loop=proto.loop,
                                                    timeout=self.c.timeout)), "UID FETCH")
        out: list[Fetched] = []
        lines = resp.lines
        i = 0
        while i < len(lines):
            head = lines[i]
            if isinstance(head, (bytes, bytearray)) and _FETCH_HEAD.match(head) and i + 1 < len(lines) \
                    and isinstance(lines[i + 1], bytearray):
                tail = bytes(lines[i + 2]) if i + 2 < len(lines) else b""
                m = _UID.search(bytes(head)) or _UID.search(tail)
                if m:
                    d = _INTERNALDATE.search(bytes(head)) or _INTERNALDATE.search(tail)
                    out.append(Fetched(int(m.group(1)), bytes(lines[i + 1]), _internal_date(d.group(1)) if d else None))
                i += 2
                continue
            i += 1
        return out

    async def acknowledge(self, uids: Sequence[int], processed_folder: str | None, mark_seen: bool) -> None:
        if not uids:
            return
        async with self.wire:
            await self._acknowledge(_uid_set(uids), processed_folder, mark_seen)

    async def _acknowledge(self, uid_set: str, processed_folder: str | None, mark_seen: bool) -> None:
        if processed_folder:
            if self.has("MOVE"):
                _ok(await self.c.uid("move", uid_set, _quote(processed_folder)), "UID MOVE")
                return
            _ok(await self.c.uid("copy", uid_set, _quote(processed_folder)), "UID COPY")
            _ok(await self.c.uid("store", uid_set, "+FLAGS.SILENT (\\Deleted \\Seen)"), "UID STORE")
            if self.has("UIDPLUS"):
                _ok(await self.c.uid("expunge", uid_set), "UID EXPUNGE")
            else:
                _ok(await self.c.expunge(), "EXPUNGE")
        elif mark_seen:
            _ok(await self.c.uid("store", uid_set, "+FLAGS.SILENT (\\Seen)"), "UID STORE")

    async def wait_for_mail(self, renew: float) -> None:
        """IDLE until the server announces new mail, the renewal time passes or the connection drops."""
        idle = await self.c.idle_start(timeout=renew)
        lost = asyncio.ensure_future(self.lost.wait())
        try:
            while self.c.has_pending_idle():
                push = asyncio.ensure_future(self.c.wait_server_push(timeout=renew + 5))
                done, _ = await asyncio.wait({push, lost}, return_when=asyncio.FIRST_COMPLETED)
                if lost in done:
                    push.cancel()
                    raise ImapError("connection lost during IDLE")
                lines = push.result()
                if lines == aioimaplib.STOP_WAIT_SERVER_PUSH or any(
                    isinstance(x, (bytes, bytearray)) and _EXISTS.match(bytes(x)) for x in lines
                ):
                    break
        finally:
            lost.cancel()
            if self.c.has_pending_idle() and not self.lost.is_set():
                self.c.idle_done()
                await asyncio.wait_for(idle, self.cfg.timeout)

    async def close(self) -> None:
        if self.client is None:
            return
        try:
            if not self.lost.is_set():
                await asyncio.wait_for(self.client.logout(), 5)
        except Exception:
            pass
        finally:  # also when the LOGOUT is cut short by a second cancellation: the socket never outlives the session
            transport = getattr(self.client.protocol, "transport", None)
            if transport is not None:
                transport.close()


def _ok(resp: aioimaplib.Response, what: str) -> aioimaplib.Response:
    if resp.result != "OK":
        detail = b" ".join(bytes(x) for x in resp.lines[-1:]).decode("ascii", "replace")[:200]
        raise ImapError(f"{what} failed: {resp.result} {detail}")
    return resp


def _quote(folder: str) -> str:
    if re.fullmatch(r"[A-Za-z0-9_./-]+", folder):
        return folder
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uid_set(uids: Sequence[int]) -> str:
    """Compact ranges ("1:5,9"): a batch of thousands of UIDs stays a short command line."""
    parts: list[str] = []
    ordered = sorted(set(uids))
    start = prev = ordered[0]
    for u in ordered[1:] + [None]:  # type: ignore[list-item]
        if u is not None and u == prev + 1:
            prev = u
            continue
        parts.append(str(start) if start == prev else f"{start}:{prev}")
        if u is not None:
            start = prev = u
    return ",".join(parts)


def _internal_date(raw: bytes) -> datetime | None:
    try:
        return datetime.strptime(raw.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


# prepare(fetched batch in UID order, uidvalidity): what storing it needs (the parsed mails); it may run while the
# batch before it is being stored.  store(batch, uidvalidity, prepared): stores them all or raises, and then nothing
# is acknowledged.
Prepare = Callable[[Sequence[Fetched], int], Awaitable[Any]]
Store = Callable[[Sequence[Fetched], int, Any], Awaitable[None]]


class Mailbox:
    """Reads one folder forever: new mail -> `prepare` and `store` in UID order -> acknowledge -> cursor.

    A backlog is read READ_AHEAD batches ahead (channels.email.readahead): the next batches are fetched and their preparing started while the
    current one is stored, so a parser in another process works while the hub stores (not after a batch of
    READ_AHEAD_BYTES), and a stored batch is acknowledged while the next one is stored.  Only what is stored is
    acknowledged, in order, and the cursor moves only past what is acknowledged; a batch read ahead of one that
    failed is dropped and read again by the next session."""

    def __init__(self, cfg: ImapConfig, user: str, prepare: Prepare, store: Store,
                 load: Callable[[], Awaitable[str | None]], save: Callable[[str], Awaitable[None]]) -> None:
        self.cfg, self.user, self.prepare, self.store, self.load, self.save = cfg, user, prepare, store, load, save
        self.ready = asyncio.Event()  # set once a session has read the folder (tests and benchmarks wait on it)
        self.idle_active = False
        self.progress = False  # this session acknowledged mail or caught up with the folder

    async def run(self) -> None:
        delay = 1.0
        while True:
            conn = Connection(self.cfg, self.user)
            self.progress = False
            try:
                await conn.open()
                await self._session(conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # network, server or protocol trouble: start over after a pause
                log.warning("imap %s@%s:%s/%s: %s; reconnecting in %.0fs", self.user, self.cfg.host,
                            self.cfg.effective_port, self.cfg.folder, exc or type(exc).__name__, delay)
            finally:
                self.idle_active = False
                await conn.close()
            # Only a session that got somewhere resets the pause: one that fails on the same mail every time
            # backs off instead of hammering the server and the database once a second.
            if self.progress:
                delay = 1.0
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.cfg.backoff_max)

    async def _read(self, conn: Connection, uids: Sequence[int], uidvalidity: int,
                    started: list[asyncio.Future[Any]]) -> tuple[list[Fetched], asyncio.Future[Any]]:
        """Fetch a batch and start preparing it; the caller awaits the preparing when it is the batch's turn."""
        fetched = sorted(await conn.fetch(uids), key=lambda f: f.uid)
        preparing = asyncio.ensure_future(self.prepare(fetched, uidvalidity))
        started.append(preparing)
        return fetched, preparing

    async def _settle(self, conn: Connection, uids: list[int], cursor: Cursor,
                      before: asyncio.Task[None] | None) -> None:
        """Acknowledge a stored batch, then move the cursor past it: after the batch before it, never past a batch
        the server has not acknowledged."""
        await conn.acknowledge(uids, self.cfg.processed_folder, self.cfg.mark_seen)
        if before is not None:
            await before  # its error is this batch's too: the cursor stays behind both
        await self.save(cursor.dump())
        self.progress = True

    async def _session(self, conn: Connection) -> None:
        cfg = self.cfg
        uidvalidity, uidnext = await conn.select(cfg.folder)
        cursor = Cursor.load(await self.load())
        if cursor is None:
            mode, last = ("ALL" if cfg.initial == "all" or cfg.processed_folder else "UNSEEN"), 0
        elif cursor.uidvalidity != uidvalidity:
            log.warning("imap %s/%s: UIDVALIDITY changed %s -> %s; re-reading the folder (Message-IDs prevent duplicates)",
                        self.user, cfg.folder, cursor.uidvalidity, uidvalidity)
            mode, last = "ALL", 0
        else:
            mode, last = "", cursor.last_uid
        use_idle = cfg.idle and conn.has("IDLE")
        while True:
            uids = await conn.search(mode or f"UID {last + 1}:*")
            if not mode:
                uids = [u for u in uids if u > last]  # "n:*" always matches the newest mail, even when it is older
            chunks = [uids[start : start + cfg.batch] for start in range(0, len(uids), cfg.batch)]
            started: list[asyncio.Future[Any]] = []
            settling: list[asyncio.Task[None]] = []  # stored batches' acknowledgements, then their cursors, in order
            ahead = ReadAhead(lambda chunk: self._read(conn, chunk, uidvalidity, started), chunks)
            try:
                for chunk in chunks:
                    for t in settling:  # an acknowledgement failed: nothing more is stored that could not be
                        if t.done() and not t.cancelled() and t.exception() is not None:
                            raise t.exception()  # type: ignore[misc]
                    fetched, preparing = await ahead.next()
                    ahead.top_up(small(fetched))
                    prepared = await preparing
                    started.remove(preparing)
                    await self.store(fetched, uidvalidity, prepared)
                    last = max(last, *chunk)
                    before = settling[-1] if settling else None  # awaited by the next, even once done and dropped
                    settling = [t for t in settling if not t.done()]
                    settling.append(asyncio.ensure_future(self._settle(
                        conn, [item.uid for item in fetched], Cursor(uidvalidity, last), before)))
                if settling:
                    await settling[-1]
            finally:
                ahead.ending = True
                if settling:
                    task = asyncio.current_task()
                    if task is not None and task.cancelling():
                        await cancel_and_wait(*settling)
                    else:  # a later batch failed: what was stored before it is still acknowledged
                        await asyncio.wait(settling)
                # A batch read ahead of one that failed is dropped (read again by the next session): stop its
                # preparing, and take any error it ended with so that it is not reported as never retrieved.
                await cancel_and_wait(*started, *ahead.reads)
                for f in [*started, *ahead.reads, *settling]:
                    if not f.cancelled():
                        f.exception()
            if mode:
                # Mail older than this session that was not taken (seen, or re-read) is settled: go by UID from here.
                last = max(last, uidnext - 1)
                mode = ""
                await self.save(Cursor(uidvalidity, last).dump())
            self.ready.set()
            self.progress = True
            if uids:
                continue  # mail that arrived while these were handled was announced outside IDLE: look again first
            if use_idle:
                self.idle_active = True
                await conn.wait_for_mail(cfg.idle_renew)
                self.idle_active = False
            else:
                await asyncio.sleep(cfg.poll_interval)
                _ok(await conn.c.noop(), "NOOP")
