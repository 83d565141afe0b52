"""The `sends` collection as the sender uses it: claim, lease, record outcomes.

The document shape is `mailroom.shared.sends.SendRecord` (the API reads it too).
Every write that changes who owns a send is a compare-and-set on `status` and
the lease, so two replicas handling the same request (a redelivery, a duplicate
publish) never both start an SMTP transaction for it.

The hot path (look up, claim, record the outcome) goes through `Batcher`s: the
messages handled concurrently share one `find` per collection and one
`insert_many(ordered=False)` per collection per round, instead of a store round
trip each. A send costs two inserts: the claim into `sends` and its final
outcome into `send_outcomes` (updates of indexed documents are the store's most
expensive operation; see `mailroom.shared.sends`). Whether its result event went
out is not recorded (that would be a third write): any later delivery of a
finished send publishes its result again, under the same event id. Every filter
starts with `_id` equality and adds only plain conditions on the same document
(no `$or`), so any MongoDB-wire store finds the document through the `_id` index.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError

from mailroom.sender.batching import Batcher
from mailroom.shared.collections import SEND_OUTCOMES, SENDS
from mailroom.shared.contracts import SendEmail
from mailroom.shared.sends import SendRecord, SendStatus, with_outcome
from mailroom.shared.store import Store

# Statuses from which a send may (re)start its SMTP transaction.
STARTABLE: tuple[SendStatus, ...] = ("accepted", "deferred", "held")
_DUPLICATE_KEY = 11000


@dataclass(frozen=True, slots=True)
class Lease:
    owner: str
    until: datetime


def lease_is_live(record: SendRecord, now: datetime) -> bool:
    """A delivery of this send is at work right now, in this process or another.

    Two deliveries of the same request can run at once in one process (a producer
    publishing twice), so the owner does not matter: only a lapsed lease means
    the delivery that held it died.
    """
    return record.lease_until is not None and record.lease_until > now


def _entry(now: datetime, status: SendStatus, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"at": now, "status": status}
    entry.update({k: v for k, v in extra.items() if v is not None})
    return entry


def _new_doc(event: SendEmail, now: datetime, status: SendStatus) -> dict[str, Any]:
    return {
        "_id": event.message_id,
        "tenant_id": event.tenant_id,
        "idempotency_key": event.idempotency_key,
        "mailbox_id": event.mailbox_id,
        "status": status,
        "attempts": 0,
        "recipients": [a.email for a in (*event.to, *event.cc, *event.bcc)],
        "metadata": event.metadata,
        "lease_owner": None,
        "lease_until": None,
        "created_at": now,
        "updated_at": now,
        "timeline": [_entry(now, "accepted")],
    }


class SendLedger:
    """Reads and writes of `sends` for one sender replica (`owner`)."""

    def __init__(self, store: Store, owner: str, lease_s: float) -> None:
        self._sends = store.collection(SENDS)
        self._outcomes = store.collection(SEND_OUTCOMES)
        self.owner = owner
        self._lease = timedelta(seconds=lease_s)
        self._finds: Batcher[str, dict[str, Any] | None] = Batcher(self._find_batch)
        self._inserts: Batcher[dict[str, Any], bool] = Batcher(self._insert_batch)
        self._outcome_inserts: Batcher[dict[str, Any], bool] = Batcher(self._insert_outcome_batch)
        self._updates: Batcher[UpdateOne, None] = Batcher(self._update_batch)

    async def find(self, message_id: str) -> SendRecord | None:
        doc = await self._finds.submit(message_id)
        return SendRecord.model_validate(doc) if doc else None

    async def start_sending(
        self,
        event: SendEmail,
        existing: SendRecord | None,
        now: datetime,
        smtp_message_id: str,
    ) -> bool:
        """Take the send for an SMTP transaction; False if another delivery has it.

        A new send is claimed by inserting it (the unique `_id` and
        `(tenant_id, idempotency_key)` make exactly one insert win). A send already
        on record is taken with a compare-and-set on what the caller read of it:
        it changes only if nobody wrote to it since, and the caller checked that
        no live lease of another replica was on it.
        """
        lease_until = now + self._lease
        if existing is None:
            doc = _new_doc(event, now, "sending")
            doc.update(
                attempts=1,
                smtp_message_id=smtp_message_id,
                lease_owner=self.owner,
                lease_until=lease_until,
            )
            doc["timeline"].append(_entry(now, "sending", attempt=1))
            return await self._inserts.submit(doc)
        if existing.status not in STARTABLE:
            return False
        result = await self._sends.update_one(
            {
                "_id": event.message_id,
                "status": existing.status,
                "attempts": existing.attempts,
                "lease_owner": existing.lease_owner,
                "updated_at": existing.updated_at,
            },
            {
                "$set": {
                    "status": "sending",
                    "smtp_message_id": smtp_message_id,
                    "lease_owner": self.owner,
                    "lease_until": lease_until,
                    "updated_at": now,
                    "next_attempt_at": None,
                },
                "$inc": {"attempts": 1},
                "$push": {"timeline": _entry(now, "sending", attempt=existing.attempts + 1)},
            },
        )
        return result.modified_count == 1

    async def record_waiting(
        self,
        event: SendEmail,
        exists: bool,
        now: datetime,
        status: SendStatus,
        detail: str,
        next_attempt_at: datetime,
        *,
        attempt: int | None = None,
        smtp_code: int | None = None,
        enhanced_status: str | None = None,
    ) -> None:
        """A send that will be tried again later (`deferred` or `held`); releases the lease."""
        entry = _entry(
            now,
            status,
            detail=detail,
            attempt=attempt,
            smtp_code=smtp_code,
            enhanced_status=enhanced_status,
        )
        fields = {
            "status": status,
            "next_attempt_at": next_attempt_at,
            "lease_owner": None,
            "lease_until": None,
            "updated_at": now,
            "smtp_code": smtp_code,
            "enhanced_status": enhanced_status,
        }
        if not exists:
            doc = _new_doc(event, now, status)
            doc.update(fields)
            doc["timeline"].append(entry)
            if await self._inserts.submit(doc):
                return
        await self._updates.submit(
            UpdateOne(
                {"_id": event.message_id, "status": {"$in": [*STARTABLE, "sending"]}},
                {"$set": fields, "$push": {"timeline": entry}},
            )
        )

    async def move_next_attempt(self, record: SendRecord, next_attempt_at: datetime) -> None:
        """A send still waiting for the reason its last timeline entry gives: only the
        time it is next looked at changes.

        No timeline entry and no `updated_at` (its story did not move on), so a message
        held for a day keeps the one entry that says why, and the API still shows when
        it is really looked at next. The filter is the send as the caller read it: when
        another delivery took it or wrote it since, that write stands and this one does
        nothing.
        """
        await self._updates.submit(
            UpdateOne(
                {"_id": record.id, "status": record.status, "updated_at": record.updated_at},
                {"$set": {"next_attempt_at": next_attempt_at}},
            )
        )

    async def record_outcome(
        self,
        event: SendEmail,
        exists: bool,
        now: datetime,
        status: SendStatus,
        fields: dict[str, Any],
        detail: str | None = None,
    ) -> None:
        """A final outcome (`sent` or `failed`), recorded before its event is published.

        Releases the lease: from here on, any delivery of the same request only
        publishes this outcome (again), it never starts another transaction.
        """
        entry = _entry(
            now,
            status,
            detail=detail,
            smtp_code=fields.get("smtp_code"),
            enhanced_status=fields.get("enhanced_status"),
        )
        updates = {
            **fields,
            "status": status,
            "updated_at": now,
            "lease_owner": None,
            "lease_until": None,
        }
        if not exists:
            doc = _new_doc(event, now, status)
            doc.update(updates)
            doc["timeline"].append(entry)
            if await self._inserts.submit(doc):
                return
        # One outcome per send: when another delivery recorded one first, that one stands.
        await self._outcome_inserts.submit(
            {"_id": event.message_id, **updates, "timeline_entry": entry}
        )

    # ------------------------------------------------------------------ batches

    async def _find_batch(self, ids: list[str]) -> list[dict[str, Any] | None]:
        wanted = {"_id": {"$in": sorted(set(ids))}}
        found = {doc["_id"]: doc async for doc in self._sends.find(wanted)}
        outcomes = {doc["_id"]: doc async for doc in self._outcomes.find(wanted)}
        return [
            with_outcome(found[message_id], outcomes.get(message_id))
            if message_id in found
            else None
            for message_id in ids
        ]

    async def _insert_batch(self, docs: list[dict[str, Any]]) -> list[bool | BaseException]:
        """Insert each claim; False for one whose send is already on record."""
        return await _insert_each(self._sends, docs)

    async def _insert_outcome_batch(self, docs: list[dict[str, Any]]) -> list[bool | BaseException]:
        """Insert each outcome; False for one whose send has an outcome already."""
        return await _insert_each(self._outcomes, docs)

    async def _update_batch(self, updates: list[UpdateOne]) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = [None] * len(updates)
        try:
            await self._sends.bulk_write(updates, ordered=False)
        except BulkWriteError as exc:
            for error in exc.details.get("writeErrors", []):
                outcomes[int(error["index"])] = RuntimeError(f"update of sends failed: {error}")
        return outcomes


async def _insert_each(
    collection: AsyncCollection[dict[str, Any]], docs: list[dict[str, Any]]
) -> list[bool | BaseException]:
    """Insert the documents in one command; per document True, or False for a
    duplicate `_id` (or unique key), or the error."""
    results: list[bool | BaseException] = [True] * len(docs)
    try:
        await collection.insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        for error in exc.details.get("writeErrors", []):
            index = int(error["index"])
            if error.get("code") == _DUPLICATE_KEY:
                results[index] = False
            else:
                results[index] = RuntimeError(f"insert into {collection.name} failed: {error}")
    return results
