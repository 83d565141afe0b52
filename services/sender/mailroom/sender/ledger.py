"""The `sends` collection as the sender uses it: claim, lease, record outcomes.

The document shape is `mailroom.shared.sends.SendRecord` (the API reads it too).
Every write that changes who owns a send is a compare-and-set on `status` and
the lease, so two replicas handling the same request (a redelivery, a duplicate
publish) never both start an SMTP transaction for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from mailroom.shared.collections import SENDS
from mailroom.shared.contracts import SendEmail
from mailroom.shared.sends import SendRecord, SendStatus
from mailroom.shared.store import Store

# Statuses from which a send may (re)start its SMTP transaction.
STARTABLE: tuple[SendStatus, ...] = ("accepted", "deferred", "held")


@dataclass(frozen=True, slots=True)
class Lease:
    owner: str
    until: datetime


def lease_is_live(record: SendRecord, now: datetime, owner: str) -> bool:
    """Someone else is working on this send right now."""
    return (
        record.lease_owner is not None
        and record.lease_owner != owner
        and record.lease_until is not None
        and record.lease_until > now
    )


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
        "outcome_published": False,
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
        self.owner = owner
        self._lease = timedelta(seconds=lease_s)

    async def find(self, message_id: str) -> SendRecord | None:
        doc = await self._sends.find_one({"_id": message_id})
        return SendRecord.model_validate(doc) if doc else None

    async def start_sending(
        self,
        event: SendEmail,
        existing: SendRecord | None,
        now: datetime,
        smtp_message_id: str,
    ) -> bool:
        """Take the send for an SMTP transaction; False if another delivery has it."""
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
            try:
                await self._sends.insert_one(doc)
            except DuplicateKeyError:
                return False
            return True
        result = await self._sends.update_one(
            {
                "_id": event.message_id,
                "status": {"$in": list(STARTABLE)},
                "$or": [
                    {"lease_owner": None},
                    {"lease_owner": self.owner},
                    {"lease_until": {"$lte": now}},
                ],
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
            try:
                await self._sends.insert_one(doc)
                return
            except DuplicateKeyError:
                pass
        await self._sends.update_one(
            {"_id": event.message_id, "status": {"$in": [*STARTABLE, "sending"]}},
            {"$set": fields, "$push": {"timeline": entry}},
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

        The lease is kept until the event is confirmed (`mark_published`), so a
        duplicate delivery arriving meanwhile waits instead of publishing it again.
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
            "lease_owner": self.owner,
            "lease_until": now + self._lease,
        }
        if not exists:
            doc = _new_doc(event, now, status)
            doc.update(updates)
            doc["timeline"].append(entry)
            try:
                await self._sends.insert_one(doc)
                return
            except DuplicateKeyError:
                pass
        await self._sends.update_one(
            {"_id": event.message_id, "status": {"$nin": ["sent", "failed"]}},
            {"$set": updates, "$push": {"timeline": entry}},
        )

    async def mark_published(self, message_id: str, now: datetime) -> None:
        await self._sends.update_one(
            {"_id": message_id},
            {
                "$set": {
                    "outcome_published": True,
                    "lease_owner": None,
                    "lease_until": None,
                    "updated_at": now,
                }
            },
        )
