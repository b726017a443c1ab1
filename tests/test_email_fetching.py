"""channels.email.fetching.UidFetch: the same answers as aioimaplib's FetchCommand, with one timer per silence instead
of one per line.  (The mailbox reads through it against Dovecot in tests/test_email_*.py.)"""
from __future__ import annotations

import asyncio
import random

import pytest
from aioimaplib.aioimaplib import CommandTimeout, FetchCommand

from channels.email.fetching import UidFetch


def _lines(rng: random.Random, mails: int) -> list[bytes | bytearray]:
    """A UID FETCH response as aioimaplib's protocol hands it to the command: each message's first line, its literal,
    its closing line (sometimes with the UID after the literal), and now and then an unrelated untagged line."""
    out: list[bytes | bytearray] = []
    for k in range(1, mails + 1):
        if rng.random() < 0.5:
            out += [b"%d FETCH (UID %d INTERNALDATE \"01-Jan-2026 10:00:00 +0000\" BODY[] {42}" % (k, 100 + k),
                    bytearray(b"Subject: (x\r\n\r\nbody ( with ) parens ("), b")"]
        else:
            out += [b"%d FETCH (BODY[] {7}" % k, bytearray(b"x)y(z)("), b" UID %d)" % (100 + k)]
        if rng.random() < 0.2:
            out.append(b"%d EXISTS" % (200 + k))
    return out


async def test_whether_a_response_is_complete_is_answered_as_aioimaplib_does() -> None:
    loop = asyncio.get_running_loop()
    rng = random.Random(7)
    for _ in range(50):
        ours = UidFetch("A1", "1:*", "(UID BODY.PEEK[])", loop=loop, timeout=None)
        theirs = FetchCommand("A1", "1:*", "(UID BODY.PEEK[])", prefix="UID", loop=loop)
        for line in _lines(rng, rng.randint(1, 12)):
            for cut in ([line[:5], line[5:]] if isinstance(line, bytes) and rng.random() < 0.3 else [line]):
                ours.append_to_resp(cut)
                theirs.append_to_resp(cut)
                assert ours.wait_data() == theirs.wait_data()
        assert str(ours) == str(theirs)  # the same command goes on the wire


async def test_data_keeps_the_command_alive_and_silence_ends_it() -> None:
    loop = asyncio.get_running_loop()
    cmd = UidFetch("A2", "1:*", "(UID BODY.PEEK[])", loop=loop, timeout=0.3)
    waiter = asyncio.ensure_future(cmd.wait())
    for _ in range(8):  # 0.8 s of a slow server, never silent for 0.3 s
        await asyncio.sleep(0.1)
        cmd.append_to_resp(b"* 1 FETCH (UID 1 BODY[] {3}")
        assert not waiter.done()
    started = loop.time()
    with pytest.raises(CommandTimeout):
        await asyncio.wait_for(waiter, 5)
    assert loop.time() - started >= 0.25  # not before the silence lasted the timeout (less the last sleep's slack)


async def test_a_finished_command_leaves_no_timer_behind() -> None:
    loop = asyncio.get_running_loop()
    cmd = UidFetch("A3", "1", "(UID BODY.PEEK[])", loop=loop, timeout=0.2)
    cmd.append_to_resp(b"* 1 FETCH (UID 1)")
    cmd.close(b"A3 OK done", "OK")
    await cmd.wait()
    await asyncio.sleep(0.4)  # past the timeout: the cancelled timer never reports a time-out
    assert cmd.response.result == "OK"
