"""A customer's requests, answered: a copy of their data (export) and erasure, each recorded in the audit log.

Erasure removes the provider's copies first (the mails on the mail server), then the store's in one transaction:
when the mail server cannot be reached nothing is erased and the admin is told to retry, so a customer is never
reported erased while their mails remain.  May import hub.audit, hub.store, hub.privacy and channels.base.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from channels.base import Channel
from hub import audit
from hub.clock import Clock
from hub.domain import Agent
from hub.errors import NotFoundError
from hub.privacy import anonymise, export
from hub.store.db import Database

log = logging.getLogger("hub.privacy")


async def compact(db: Database) -> None:
    """SQLite keeps the old versions of changed pages in the write-ahead log until a checkpoint: fold them into the
    database now (deleted content there is zeroed, `secure_delete`), so erased values do not linger in hub.db-wal."""
    if db.is_sqlite:
        # On a thread of its own: copying a large log back into the file would otherwise stall the event loop.
        def checkpoint() -> bool:
            with db.sync_engine.connect() as conn:
                busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            return bool(busy and busy[0])

        # A reader in the middle of a transaction keeps the checkpoint from finishing: try again shortly.
        for _ in range(20):
            if not await asyncio.to_thread(checkpoint):
                return
            await asyncio.sleep(0.05)
        log.warning("the write-ahead log could not be checkpointed after an erasure; SQLite will do it later")


async def export_customer(db: Database, channels: Mapping[str, Channel], clock: Clock, agent: Agent,
                          customer_id: int, max_attachment: int) -> export.Archive:
    async with db.read() as conn:
        data = await export.collect(conn, customer_id)
    if data is None:
        raise NotFoundError(f"customer {customer_id} does not exist")

    async def fetch(channel: str, ref: str, limit: int) -> bytes:
        fetcher = getattr(channels.get(channel), "fetch_attachment", None)
        if fetcher is None:
            raise NotFoundError(f"the {channel} channel is not running")
        return bytes(await fetcher(ref, limit))

    now = clock.now()
    archive = await export.build(data, fetch, max_attachment, made_at=now, made_by=agent.id)
    async with db.write() as conn:
        await audit.record(conn, "customer.export", actor=agent, target_type="customer", target_id=customer_id,
                           customer_id=customer_id, at=now,
                           detail=dict(archive.counts, attachments_missing=len(archive.missing)))
    return archive


async def erase_customer(db: Database, channels: Mapping[str, Channel], clock: Clock, agent: Agent,
                         customer_id: int) -> dict[str, Any]:
    async with db.read() as conn:
        mids, addresses = await anonymise.mail_references(conn, customer_id)
    removed, mail_note = 0, None
    if mids or addresses:
        forget = getattr(channels.get("email"), "forget", None)
        if forget is not None:
            removed = await forget(mids, addresses)  # Unavailable (503) stops here, before anything is erased
        elif mids:
            mail_note = "the email channel is not enabled: remove this customer's mails from the mailbox by hand"
    now = clock.now()
    async with db.write() as conn:
        counts = await anonymise.erase_customer(conn, customer_id, now)
        if counts is None:
            raise NotFoundError(f"customer {customer_id} does not exist")
        counts.mails_removed = removed
        body = counts.as_dict()
        await audit.record(conn, "customer.erase", actor=agent, target_type="customer", target_id=customer_id,
                           customer_id=customer_id, at=now, detail=body)
    await compact(db)
    log.info("customer %s erased by agent %s: %s", customer_id, agent.id, body)
    body = {"customer_id": customer_id, "erased_at": now.isoformat(), **body}
    if mail_note:
        body["note"] = mail_note
    return body
