"""Mailbox documents, read at most once per short interval per process.

Every send needs its mailbox (SMTP settings, limits, state); reading it for each
message would double the store's load. A few seconds of staleness is harmless:
a fixed password or a changed limit is seen on the next read.
"""

from __future__ import annotations

import time

from mailroom.shared.mailboxes import MailboxRecord, load_mailbox
from mailroom.shared.store import Store


class MailboxCache:
    def __init__(self, store: Store, ttl_s: float) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, MailboxRecord | None]] = {}

    async def get(self, mailbox_id: str) -> MailboxRecord | None:
        now = time.monotonic()
        entry = self._entries.get(mailbox_id)
        if entry is not None and now - entry[0] < self._ttl_s:
            return entry[1]
        mailbox = await load_mailbox(self._store, mailbox_id)
        self._entries[mailbox_id] = (now, mailbox)
        return mailbox

    def forget(self, mailbox_id: str) -> None:
        """Read it again next time (its state just changed)."""
        self._entries.pop(mailbox_id, None)
