"""The UID FETCH command the mailbox reads mail with: aioimaplib's `FetchCommand`, less two costs that grow with a
backlog.

- **The inactivity timeout.** aioimaplib re-arms the command's timer for every line and every literal it receives:
  a cancelled timer and a new one on the event loop (three a mail), and the cancelled ones stay in the loop's heap
  until it is rebuilt.  Reading a backlog, that was an eighth of the hub's CPU.  Here a piece of data only notes the
  time; the one timer checks, when it fires, whether the command has really been silent for `timeout` seconds,
  and otherwise waits the rest.  The same timeout as before: no data for `timeout` seconds ends the command.
- **Whether the response is complete.** aioimaplib looks for the last message's first line from the start of the
  response after every line, so a fetch of n mails reads O(n^2) lines.  Here the search goes on from where it
  stopped, with the same test.

Imports aioimaplib only.
"""
from __future__ import annotations

import asyncio

from aioimaplib.aioimaplib import FetchCommand, matched_parenthesis

__all__ = ["UidFetch"]


class UidFetch(FetchCommand):
    def __init__(self, tag: str, uid_set: str, parts: str, *, loop: asyncio.AbstractEventLoop,
                 timeout: float | None) -> None:
        self._seen_at = loop.time()
        self._scanned = 0  # response lines already looked at for a message's first line
        self._last_fetch = 0  # index of the last message's first line
        super().__init__(tag, uid_set, parts, prefix="UID", loop=loop, timeout=timeout)

    # -- the timer ---------------------------------------------------------------------------------------------
    def _set_timer(self) -> None:
        if self._timeout is not None:
            self._timer = self._loop.call_later(self._timeout, self._check_silence)

    def _reset_timer(self) -> None:
        self._seen_at = self._loop.time()

    def _check_silence(self) -> None:
        assert self._timeout is not None
        silent = self._loop.time() - self._seen_at
        if silent >= self._timeout:
            self._timeout_callback()
        else:
            self._timer = self._loop.call_later(self._timeout - silent, self._check_silence)

    # -- completeness ------------------------------------------------------------------------------------------
    def wait_data(self) -> bool:
        lines = self._resp_lines
        match = self.FETCH_MESSAGE_DATA_RE.match
        for index in range(self._scanned, len(lines)):
            line = lines[index]
            if isinstance(line, bytes) and match(line):
                self._last_fetch = index
        self._scanned = len(lines)
        return not matched_parenthesis(b"".join(line for line in lines[self._last_fetch:] if isinstance(line, bytes)))
