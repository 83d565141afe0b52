"""Where each watched folder stands, and which messages were already reported.

One document per mailbox and folder in `watch_cursors`: the folder's UIDVALIDITY,
the highest UID processed, the HIGHESTMODSEQ when the server has CONDSTORE, and
the counters the API shows (fetched, matched, skipped, failed, last success,
last error). `watch_seen` remembers the Message-IDs (or POP3 UIDLs) of what was
reported, so a rescan after a UIDVALIDITY change, or a crash between publishing
and saving the cursor, never reports a message twice.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from mailroom.shared.collections import WATCH_CURSORS, WATCH_SEEN
from mailroom.shared.store import Store


@dataclass(slots=True)
class FolderCursor:
    """How far a folder was read."""

    uidvalidity: int | None = None
    last_uid: int = 0
    highest_modseq: int | None = None
    updated_at: datetime | None = None


@dataclass(slots=True)
class Counts:
    """What one round over a folder found, added to the folder's counters."""

    fetched: int = 0
    matched: int = 0
    skipped: int = 0
    failed: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1

    @property
    def empty(self) -> bool:
        return not (self.fetched or self.matched or self.skipped or self.failed)


async def load_cursor(store: Store, mailbox_id: str, folder: str) -> FolderCursor:
    doc = await store.collection(WATCH_CURSORS).find_one(
        {"mailbox_id": mailbox_id, "folder": folder},
        {"uidvalidity": 1, "last_uid": 1, "highest_modseq": 1, "updated_at": 1},
    )
    if doc is None:
        return FolderCursor()
    return FolderCursor(
        uidvalidity=doc.get("uidvalidity"),
        last_uid=int(doc.get("last_uid") or 0),
        highest_modseq=doc.get("highest_modseq"),
        updated_at=doc.get("updated_at"),
    )


async def save_progress(
    store: Store,
    tenant_id: str,
    mailbox_id: str,
    folder: str,
    cursor: FolderCursor,
    counts: Counts,
    *,
    protocol: str = "imap",
) -> None:
    """Store the cursor and add the round's counts; the round succeeded."""
    now = datetime.now(UTC)
    cursor.updated_at = now
    update: dict[str, Any] = {
        "$set": {
            "tenant_id": tenant_id,
            "protocol": protocol,
            "uidvalidity": cursor.uidvalidity,
            "last_uid": cursor.last_uid,
            "highest_modseq": cursor.highest_modseq,
            "updated_at": now,
            "last_success_at": now,
        },
    }
    if not counts.empty:
        update["$inc"] = {
            "fetched": counts.fetched,
            "matched": counts.matched,
            "skipped": counts.skipped,
            "failed": counts.failed,
        }
    await store.collection(WATCH_CURSORS).update_one(
        {"mailbox_id": mailbox_id, "folder": folder}, update, upsert=True
    )


async def record_folder_error(
    store: Store, tenant_id: str, mailbox_id: str, folder: str, message: str
) -> None:
    await store.collection(WATCH_CURSORS).update_one(
        {"mailbox_id": mailbox_id, "folder": folder},
        {
            "$set": {
                "tenant_id": tenant_id,
                "last_error": message[:500],
                "last_error_at": datetime.now(UTC),
            }
        },
        upsert=True,
    )


async def folder_counters(store: Store, tenant_id: str, mailbox_id: str) -> list[dict[str, Any]]:
    """The per-folder counters of one mailbox, as the API shows them."""
    cursor = store.collection(WATCH_CURSORS).find(
        {"tenant_id": tenant_id, "mailbox_id": mailbox_id},
        {
            "_id": 0,
            "folder": 1,
            "protocol": 1,
            "fetched": 1,
            "matched": 1,
            "skipped": 1,
            "failed": 1,
            "last_success_at": 1,
            "last_error": 1,
            "last_error_at": 1,
        },
    )
    return [doc async for doc in cursor]


async def already_reported(store: Store, mailbox_id: str, folder: str, key: str) -> bool:
    doc = await store.collection(WATCH_SEEN).find_one(
        {"mailbox_id": mailbox_id, "folder": folder, "message_key": key}, {"_id": 1}
    )
    return doc is not None


async def remember_reported(store: Store, mailbox_id: str, folder: str, key: str) -> None:
    with contextlib.suppress(DuplicateKeyError):
        await store.collection(WATCH_SEEN).insert_one(
            {
                "mailbox_id": mailbox_id,
                "folder": folder,
                "message_key": key,
                "seen_at": datetime.now(UTC),
            }
        )


async def reported_keys(store: Store, mailbox_id: str, folder: str) -> set[str]:
    cursor = store.collection(WATCH_SEEN).find(
        {"mailbox_id": mailbox_id, "folder": folder}, {"_id": 0, "message_key": 1}
    )
    return {doc["message_key"] async for doc in cursor}


async def forget_keys(store: Store, mailbox_id: str, folder: str, keys: set[str]) -> None:
    if keys:
        await store.collection(WATCH_SEEN).delete_many(
            {"mailbox_id": mailbox_id, "folder": folder, "message_key": {"$in": sorted(keys)}}
        )


async def forget_mailbox(store: Store, mailbox_id: str) -> None:
    """A deleted mailbox leaves no watch state behind."""
    await store.collection(WATCH_CURSORS).delete_many({"mailbox_id": mailbox_id})
    await store.collection(WATCH_SEEN).delete_many({"mailbox_id": mailbox_id})
