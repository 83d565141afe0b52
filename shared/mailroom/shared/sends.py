"""What Mailroom stores about each send request, and about each mailbox's sending budget.

The sender writes these documents; the API reads them for `GET /v1/messages/{id}`
and for what is left of a mailbox's budgets.

Collection `sends`, one document per `(tenant_id, idempotency_key)`: `_id` is the
message id, `message_id_for(tenant_id, idempotency_key)`, so the `_id` index alone
makes the idempotency claim unique. The Message-ID header of a send is
`<{message id}@{mailbox domain}>` (`message_id_header`): a reply or a bounce that
quotes it leads back to the send through `_id` too (`sends_named_by`). `sends`
therefore needs no secondary index, which keeps the claim, one insert per send,
cheap. `status` moves forward only:

    accepted ─┬─> sending ──> sent
              ├─> deferred / held ──> sending ...
              └─> failed          (suppressed, rejected, invalid, auth_failed,
                                   retries_exhausted)

`sending` is written before the SMTP transaction starts. A document found in
`sending` after its lease ran out belongs to a sender that died while the server
may already have accepted the message; it is reported failed (`outcome_unknown`)
and never sent again, since sending twice is the one thing users must not see.

The final outcome (`sent` or `failed`) of a send claimed with `sending` is not
written into its `sends` document but inserted into collection `send_outcomes`
(`_id` = the message id, so one outcome per send; the fields it sets plus one
`timeline_entry`): on a MongoDB-wire store an insert into a collection with no
secondary index costs a fraction of an update of an indexed document.
`with_outcome(send_doc, outcome_doc)` gives the send as it reads after its
outcome; every reader of a send's status goes through it (`load_send`).

Collection `send_budgets`, one document per mailbox and window (minute or UTC
day), `_id` = `budget_window_id(...)`, holding `count` (sends taken) and
`expires_at` (a TTL index removes the document after its window).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mailroom.shared.collections import SEND_OUTCOMES, SENDS
from mailroom.shared.store import Store

SendStatus = Literal["accepted", "sending", "sent", "deferred", "held", "failed"]
TERMINAL_STATUSES: frozenset[str] = frozenset({"sent", "failed"})
BudgetWindow = Literal["minute", "day"]


def message_id_header(message_id: str, domain: str) -> str:
    """A send's Message-ID header: its message id as the local part, on the mailbox's domain."""
    return f"<{message_id}@{domain}>"


def sends_named_by(message_id_headers: Iterable[str]) -> dict[str, Any]:
    """A `sends` filter for the sends whose Message-ID is one of these (with or without `<>`).

    The local part of each header is a message id (`message_id_header`), so the
    filter looks documents up by `_id` and then requires the exact header the send
    went out with (a foreign Message-ID whose local part happens to be one of ours
    on another domain does not match). Callers add the tenant (and mailbox).
    """
    headers: set[str] = set()
    for value in message_id_headers:
        bare = value.strip().strip("<>").strip()
        if bare:
            headers.add(f"<{bare}>")
    ids = {header[1:-1].rpartition("@")[0] for header in headers} - {""}
    return {"_id": {"$in": sorted(ids)}, "smtp_message_id": {"$in": sorted(headers)}}


class TimelineEntry(BaseModel):
    """One step in a send's life, oldest first in `SendRecord.timeline`."""

    model_config = ConfigDict(extra="ignore")

    at: datetime
    status: SendStatus
    detail: str | None = None
    attempt: int | None = None
    smtp_code: int | None = None
    enhanced_status: str | None = None


class SendRecord(BaseModel):
    """A send request as stored in collection `sends`."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    id: str = Field(alias="_id", description="Mailroom's message id.")
    tenant_id: str
    idempotency_key: str
    mailbox_id: str
    status: SendStatus
    attempts: int = Field(0, description="SMTP transactions started for this send.")
    smtp_message_id: str | None = Field(
        None, description="The Message-ID header, with angle brackets (bounces are matched on it)."
    )
    recipients: list[str] = Field(default_factory=list)
    accepted: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    refusals: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Recipients refused with 5xx during SMTP: recipient, code, message.",
    )
    suppressed: list[str] = Field(
        default_factory=list, description="Recipients left out: on the suppression list."
    )
    smtp_reply: str | None = None
    smtp_code: int | None = None
    enhanced_status: str | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None
    failed_recipients: list[str] = Field(default_factory=list)
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    sent_folder_uid: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    outcome_published: bool = Field(
        False, description="The result event (email.sent / email.failed) was confirmed."
    )
    lease_owner: str | None = Field(None, description="The sender replica working on it.")
    lease_until: datetime | None = None
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] = Field(default_factory=list)


class BudgetUse(BaseModel):
    """How much of one budget window is spent (what the API shows)."""

    window: BudgetWindow
    limit: int
    used: int
    remaining: int
    resets_at: datetime


def window_bounds(window: BudgetWindow, now: datetime) -> tuple[datetime, datetime]:
    """Start and end of the minute or UTC day that contains `now`."""
    now = now.astimezone(UTC)
    if window == "minute":
        start = now.replace(second=0, microsecond=0)
        return start, start + timedelta(minutes=1)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def budget_window_id(mailbox_id: str, window: BudgetWindow, start: datetime) -> str:
    """The `send_budgets` document of one mailbox and window."""
    stamp = start.strftime("%Y%m%dT%H%M") if window == "minute" else start.strftime("%Y%m%d")
    return f"{mailbox_id}:{window}:{stamp}"


def with_outcome(send_doc: dict[str, Any], outcome_doc: dict[str, Any] | None) -> dict[str, Any]:
    """The `sends` document with its `send_outcomes` document applied (if any).

    An outcome applies only to a send still open in `sends`: a send recorded
    finished there (e.g. failed before it was ever claimed) already says it all.
    """
    if outcome_doc is None or send_doc.get("status") in TERMINAL_STATUSES:
        return send_doc
    merged = dict(send_doc)
    merged.update({k: v for k, v in outcome_doc.items() if k not in ("_id", "timeline_entry")})
    entry = outcome_doc.get("timeline_entry")
    if entry is not None:
        merged["timeline"] = [*send_doc.get("timeline", []), entry]
    return merged


async def load_send(store: Store, message_id: str, **conditions: Any) -> dict[str, Any] | None:
    """The send document of `message_id` as it reads with its outcome (`conditions`
    narrow the `sends` query, e.g. `tenant_id=...`)."""
    send_doc = await store.collection(SENDS).find_one({"_id": message_id, **conditions})
    if send_doc is None:
        return None
    outcome_doc = await store.collection(SEND_OUTCOMES).find_one({"_id": message_id})
    return with_outcome(send_doc, outcome_doc)
