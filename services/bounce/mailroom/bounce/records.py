"""Contacts, bounce history and the suppression list in MongoDB.

Every write is keyed so that a redelivered event changes nothing twice: the
bounce record is unique per (event, recipient), and the contact and
suppression updates are upserts that converge to the same state.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pymongo.errors import DuplicateKeyError

from mailroom.bounce.classifier.model import BouncedRecipient
from mailroom.bounce.classifier.policy import BouncePolicy, Decision, PastBounce
from mailroom.shared.collections import BOUNCES, CONTACTS, SENDS, SUPPRESSIONS, TENANTS
from mailroom.shared.sends import sends_named_by
from mailroom.shared.store import Store

ContactState = Literal["ok", "soft_bouncing", "hard_bounced", "complained"]
# A contact's state only gets worse through bounces; unsuppressing resets it.
_STATE_RANK: dict[str, int] = {"ok": 0, "soft_bouncing": 1, "hard_bounced": 2, "complained": 2}
HISTORY_KEPT = 100


async def tenant_policy(store: Store, tenant_id: str, default: BouncePolicy) -> BouncePolicy:
    doc = await store.collection(TENANTS).find_one({"_id": tenant_id}, {"bounce_policy": 1})
    if doc and doc.get("bounce_policy"):
        return BouncePolicy.model_validate(doc["bounce_policy"])
    return default


async def send_for_message_id_header(
    store: Store, tenant_id: str, message_id_header: str | None
) -> str | None:
    """Mailroom's message id of the send whose Message-ID header the bounce returned."""
    if not message_id_header:
        return None
    doc = await store.collection(SENDS).find_one(
        {**sends_named_by([message_id_header]), "tenant_id": tenant_id}, {"_id": 1}
    )
    return str(doc["_id"]) if doc else None


async def recent_history(
    store: Store, tenant_id: str, email: str, since: datetime, *, excluding_event: str
) -> list[PastBounce]:
    """Earlier bounces of the address; never the event being handled (on redelivery)."""
    cursor = store.collection(BOUNCES).find(
        {
            "tenant_id": tenant_id,
            "email": email,
            "occurred_at": {"$gte": since},
            "source_event_id": {"$ne": excluding_event},
        },
        {"occurred_at": 1, "reason": 1, "kind": 1},
    )
    return [
        PastBounce(at=d["occurred_at"], reason=d["reason"], kind=d["kind"]) async for d in cursor
    ]


async def claim_bounce_record(
    store: Store,
    *,
    source_event_id: str,
    tenant_id: str,
    mailbox_id: str,
    bounced: BouncedRecipient,
    decision: Decision,
    message_id: str | None,
    source: str,
) -> dict[str, Any]:
    """Record the bounce with its evidence; on a redelivery, return the first record."""
    now = datetime.now(UTC)
    record = {
        "source_event_id": source_event_id,
        "tenant_id": tenant_id,
        "mailbox_id": mailbox_id,
        "email": bounced.recipient,
        "kind": bounced.kind,
        "reason": bounced.reason,
        "status": bounced.status,
        "smtp_code": bounced.smtp_code,
        "diagnostic": (bounced.diagnostic or "")[:1000] or None,
        "remote_mta": bounced.remote_mta,
        "message_id": message_id,
        "source": source,
        "decision": decision.model_dump(),
        "occurred_at": now,
    }
    try:
        await store.collection(BOUNCES).insert_one(record)
    except DuplicateKeyError:
        existing = await store.collection(BOUNCES).find_one(
            {"source_event_id": source_event_id, "email": bounced.recipient}
        )
        if existing is not None:
            return existing
        raise
    return record


def contact_state_after(
    current: str | None, bounced: BouncedRecipient, decision: Decision, complaint: bool = False
) -> ContactState:
    new: ContactState = "ok"
    if complaint:
        new = "complained"
    elif decision.outcome != "ignore":
        new = "hard_bounced" if bounced.kind == "hard" and decision.suppress else "soft_bouncing"
    if current in _STATE_RANK and _STATE_RANK[current] >= _STATE_RANK[new]:
        return current  # type: ignore[return-value]
    return new


async def apply_to_contact(
    store: Store,
    record: dict[str, Any],
    bounced: BouncedRecipient,
    decision: Decision,
    *,
    complaint: bool = False,
) -> ContactState:
    tenant_id, email = record["tenant_id"], record["email"]
    contacts = store.collection(CONTACTS)
    current = await contacts.find_one({"tenant_id": tenant_id, "email": email}, {"state": 1})
    state = contact_state_after(
        current.get("state") if current else None, bounced, decision, complaint
    )
    entry = {
        "at": record["occurred_at"],
        "event": "complaint" if complaint else "bounce",
        "kind": record["kind"],
        "reason": record["reason"],
        "status": record["status"],
        "message_id": record["message_id"],
        "decision": decision.explanation,
        "source_event_id": record["source_event_id"],
    }
    # `$ne` on the event id keeps a redelivery from adding the history entry twice.
    await contacts.update_one(
        {"tenant_id": tenant_id, "email": email},
        {
            "$set": {"state": state, "last_bounce_at": record["occurred_at"]},
            "$setOnInsert": {"created_at": record["occurred_at"]},
        },
        upsert=True,
    )
    await contacts.update_one(
        {
            "tenant_id": tenant_id,
            "email": email,
            "history.source_event_id": {"$ne": record["source_event_id"]},
        },
        {"$push": {"history": {"$each": [entry], "$slice": -HISTORY_KEPT}}},
    )
    if decision.suppress:
        await store.collection(SUPPRESSIONS).update_one(
            {"tenant_id": tenant_id, "email": email},
            {
                "$setOnInsert": {
                    "since": record["occurred_at"],
                    "kind": record["kind"],
                    "reason": record["reason"],
                    "status": record["status"],
                    "message_id": record["message_id"],
                    "source_event_id": record["source_event_id"],
                    "explanation": decision.explanation,
                }
            },
            upsert=True,
        )
    return state


def history_window(policy: BouncePolicy) -> timedelta:
    windows = [policy.soft_window, *(rule.window for rule in policy.overrides.values())]
    return max(windows)
