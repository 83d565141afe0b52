"""Which replica watches which mailbox: leases in MongoDB, no coordinator.

Each replica announces itself in `watch_replicas` and holds one lease document
per mailbox in `watch_leases` (`_id` = mailbox id, `owner`, `expires_at`). On
every heartbeat it renews its leases, counts the live replicas and moves toward
its fair share, ceil(watchable mailboxes / live replicas): it gives up extra
leases (after stopping their watches) and claims free or expired ones. A lease
is written to expire one heartbeat before the lease period ends, so a replica
that dies loses its mailboxes to the others within one lease period.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from mailroom.shared.collections import MAILBOXES, WATCH_LEASES, WATCH_REPLICAS
from mailroom.shared.store import Store


@dataclass(slots=True)
class LeasePlan:
    """What a heartbeat decided; the caller stops and starts watches accordingly."""

    lost: set[str] = field(default_factory=set)
    release: set[str] = field(default_factory=set)
    claimable: list[str] = field(default_factory=list)
    restart: set[str] = field(default_factory=set)
    wanted: int = 0
    previous_owners: dict[str, str] = field(default_factory=dict)


class Leases:
    """One replica's view of the lease collections."""

    def __init__(
        self, store: Store, replica_id: str, *, lease_seconds: float, heartbeat_seconds: float
    ) -> None:
        self.store = store
        self.replica_id = replica_id
        self.lease = timedelta(seconds=lease_seconds)
        # Renewed every heartbeat, expiring one heartbeat early: a dead owner's leases
        # are free at most one lease period after its last renewal.
        self.validity = timedelta(seconds=lease_seconds - heartbeat_seconds)

    async def plan(self, held: set[str]) -> LeasePlan:
        """Announce this replica, renew its leases and work out its fair share."""
        now = datetime.now(UTC)
        expires = now + self.validity
        replicas = self.store.collection(WATCH_REPLICAS)
        await replicas.update_one(
            {"_id": self.replica_id},
            {"$set": {"expires_at": now + self.validity, "heartbeat_at": now}},
            upsert=True,
        )
        live = await replicas.count_documents({"expires_at": {"$gt": now}})
        leases = self.store.collection(WATCH_LEASES)
        if held:
            # By owner, not by a list of ids: one filter whatever the number of leases
            # (an `$in` over a thousand ids costs the database seconds).
            await leases.update_many({"owner": self.replica_id}, {"$set": {"expires_at": expires}})
        plan = LeasePlan()
        mine: set[str] = set()
        taken: set[str] = set()
        async for doc in leases.find({}, {"owner": 1, "expires_at": 1, "restart": 1}):
            expires_at = _aware(doc.get("expires_at"))
            if doc.get("owner") == self.replica_id:
                mine.add(doc["_id"])
                if doc.get("restart"):
                    plan.restart.add(doc["_id"])
            elif expires_at is not None and expires_at > now:
                taken.add(doc["_id"])
            elif doc.get("owner"):
                plan.previous_owners[doc["_id"]] = str(doc["owner"])
        plan.lost = held - mine
        watchable = await watchable_mailbox_ids(self.store)
        # Mailboxes deleted, disabled or without incoming settings are let go at once.
        plan.release = mine - watchable
        mine -= plan.release
        fair = math.ceil(len(watchable) / max(live, 1))
        if len(mine) > fair:
            extra = sorted(mine)[fair:]
            plan.release |= set(extra)
        else:
            free = list(watchable - mine - taken)
            random.shuffle(free)
            plan.claimable = free
            plan.wanted = fair - len(mine)
        return plan

    async def claim(self, mailbox_id: str) -> bool:
        """Take the lease if it is free, expired or already ours."""
        now = datetime.now(UTC)
        try:
            await self.store.collection(WATCH_LEASES).update_one(
                {
                    "_id": mailbox_id,
                    "$or": [{"expires_at": {"$lt": now}}, {"owner": self.replica_id}],
                },
                {
                    "$set": {
                        "owner": self.replica_id,
                        "expires_at": now + self.validity,
                        "acquired_at": now,
                        "restart": False,
                    }
                },
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # another replica holds it (or won the race)
        return True

    async def release(self, mailbox_ids: set[str]) -> None:
        if mailbox_ids:
            await self.store.collection(WATCH_LEASES).delete_many(
                {"_id": {"$in": sorted(mailbox_ids)}, "owner": self.replica_id}
            )

    async def restarted(self, mailbox_id: str) -> None:
        await self.store.collection(WATCH_LEASES).update_one(
            {"_id": mailbox_id, "owner": self.replica_id}, {"$set": {"restart": False}}
        )

    async def leave(self) -> None:
        """At shutdown: free every lease and the replica's entry, so others take over now."""
        await self.store.collection(WATCH_LEASES).delete_many({"owner": self.replica_id})
        await self.store.collection(WATCH_REPLICAS).delete_one({"_id": self.replica_id})


async def request_restart(store: Store, mailbox_id: str) -> bool:
    """Ask the owner of a mailbox's lease (whichever replica) to restart its watch."""
    result = await store.collection(WATCH_LEASES).update_one(
        {"_id": mailbox_id}, {"$set": {"restart": True}}
    )
    return result.matched_count > 0


async def lease_owner(store: Store, mailbox_id: str) -> str | None:
    doc = await store.collection(WATCH_LEASES).find_one({"_id": mailbox_id}, {"owner": 1})
    return str(doc["owner"]) if doc and doc.get("owner") else None


async def watchable_mailbox_ids(store: Store) -> set[str]:
    query: dict[str, Any] = {"incoming": {"$ne": None}, "state": {"$ne": "disabled"}}
    return {doc["_id"] async for doc in store.collection(MAILBOXES).find(query, {"_id": 1})}


def _aware(value: Any) -> datetime | None:
    # PyMongo returns naive UTC datetimes unless the client is tz-aware.
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None
