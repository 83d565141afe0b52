"""`/v1/messages`: ask Mailroom to send a message, and read what became of it.

`POST` validates the request like the `email.send.requested` contract, checks
that the caller may use the mailbox, and publishes the command; the sender does
the rest. The message id is derived from the tenant and the idempotency key, so
posting the same request again names the same message (and sends it once).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mailroom.api.deps import CallerDep, MetricsDep, PlatformDep
from mailroom.api.errors import ApiError, ErrorResponse, not_found
from mailroom.api.mailboxes import find_visible
from mailroom.shared.collections import SEND_BUDGETS
from mailroom.shared.contracts import Address, SendEmail
from mailroom.shared.sends import (
    BudgetWindow,
    SendRecord,
    SendStatus,
    TimelineEntry,
    budget_window_id,
    load_send,
    window_bounds,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid API key or user."},
    404: {"model": ErrorResponse, "description": "Not found for this tenant."},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names it."},
}

log = logging.getLogger(__name__)

router = APIRouter(tags=["messages"], responses=ERRORS)

_HEADER_NAME = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322 field name: printable, no colon
_LINE_BREAK = re.compile(r"[\r\n\x00]")
# Headers Mailroom writes itself; a request may not set them.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "message-id", "date", "sender", "reply-to"}
)


class MessageRequest(BaseModel):
    """A message to send through one of the tenant's mailboxes.

    The fields of the `email.send.requested` contract, without `tenant_id` (it
    comes from the API key).
    """

    model_config = ConfigDict(extra="forbid")

    idempotency_key: str = Field(
        min_length=1, max_length=200, description="Unique per tenant; a repeat sends nothing."
    )
    mailbox_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")
    to: list[Address] = Field(min_length=1, max_length=100)
    cc: list[Address] = Field(default_factory=list, max_length=100)
    bcc: list[Address] = Field(default_factory=list, max_length=100)
    subject: str = Field(default="", max_length=998)
    text: str | None = Field(default=None, max_length=5_000_000)
    html: str | None = Field(default=None, max_length=5_000_000)
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    list_unsubscribe: str | None = Field(default=None, max_length=2000)
    list_unsubscribe_one_click: bool = False
    contact: dict[str, str] = Field(default_factory=dict, max_length=200)
    metadata: dict[str, Any] = Field(default_factory=dict, max_length=100)

    @model_validator(mode="after")
    def _safe_headers(self) -> MessageRequest:
        if _LINE_BREAK.search(self.subject):
            raise ValueError("subject must not contain line breaks")
        if self.list_unsubscribe and _LINE_BREAK.search(self.list_unsubscribe):
            raise ValueError("list_unsubscribe must not contain line breaks")
        for name, value in self.headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"headers: {name[:40]!r} is not a valid header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"headers: {name} is set by Mailroom and cannot be given")
            if _LINE_BREAK.search(value) or len(value) > 2000:
                raise ValueError(f"headers: the value of {name} must be one line (< 2000)")
        for address in (*self.to, *self.cc, *self.bcc):
            if address.name and _LINE_BREAK.search(address.name):
                raise ValueError("address names must not contain line breaks")
        return self


class MessageAccepted(BaseModel):
    """The request was published; the sender takes it from here."""

    message_id: str
    idempotency_key: str
    status: str = "accepted"


class MessageStatus(BaseModel):
    """What the sender recorded about a message (see `mailroom.shared.sends`)."""

    message_id: str
    status: SendStatus
    mailbox_id: str
    idempotency_key: str
    attempts: int
    smtp_message_id: str | None = None
    recipients: list[str] = Field(default_factory=list)
    accepted: list[str] = Field(default_factory=list)
    rejected: list[str] = Field(default_factory=list)
    refusals: list[dict[str, Any]] = Field(default_factory=list)
    suppressed: list[str] = Field(default_factory=list)
    smtp_reply: str | None = None
    smtp_code: int | None = None
    enhanced_status: str | None = None
    failure_reason: str | None = None
    failure_detail: str | None = None
    failed_recipients: list[str] = Field(default_factory=list)
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntry] = Field(default_factory=list)


class Budget(BaseModel):
    limit: int | None = Field(description="Configured limit; none means no limit.")
    used: int
    remaining: int | None
    resets_at: datetime | None


class LimitsStatus(BaseModel):
    """How much the mailbox may still send in the current minute and day."""

    mailbox_id: str
    per_minute: Budget
    per_day: Budget


@router.post(
    "/v1/messages",
    status_code=202,
    response_model=MessageAccepted,
    summary="Send a message",
    responses={409: {"model": ErrorResponse, "description": "The mailbox is disabled."}},
)
async def send_message(
    body: MessageRequest, caller: CallerDep, platform: PlatformDep, metrics: MetricsDep
) -> MessageAccepted:
    """Publish `email.send.requested` for the caller's tenant; 202 with the message id."""
    try:
        mailbox = await find_visible(platform.store, caller, body.mailbox_id)
    except ApiError as exc:
        exc.field = "mailbox_id"
        raise
    if mailbox.state == "disabled":
        raise ApiError(409, "mailbox_disabled", "This mailbox is disabled.", field="mailbox_id")
    command = SendEmail(tenant_id=caller.tenant_id, **body.model_dump())
    await platform.bus.publish(command)
    metrics.messages_accepted.inc()
    return MessageAccepted(message_id=command.message_id, idempotency_key=body.idempotency_key)


def json_safe(value: Any) -> Any:
    """Stored values as JSON-friendly ones (ids and bytes become strings)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool | datetime):
        return value
    return str(value)


# Bookkeeping of the sender's own, not part of a message's story.
_INTERNAL_FIELDS = {"id", "tenant_id", "lease_owner", "lease_until", "outcome_published"}


@router.get("/v1/messages/{message_id}", response_model=MessageStatus, summary="Read a message")
async def get_message(
    message_id: Annotated[str, Path(min_length=1, max_length=100)],
    caller: CallerDep,
    platform: PlatformDep,
) -> MessageStatus:
    """Status, SMTP outcome and timeline of a send; 404 until the sender has taken it."""
    doc = await load_send(platform.store, message_id, tenant_id=caller.tenant_id)
    if doc is None:
        raise not_found("Message")
    try:
        record = SendRecord.model_validate(doc)
    except ValidationError:
        log.error("unreadable send record", extra={"message_id": message_id})
        raise ApiError(
            503, "record_unreadable", "This message's record cannot be read right now."
        ) from None
    return MessageStatus(message_id=record.id, **record.model_dump(exclude=_INTERNAL_FIELDS))


@router.get(
    "/v1/mailboxes/{mailbox_id}/limits",
    response_model=LimitsStatus,
    summary="Remaining sending budget of a mailbox",
)
async def get_limits(
    mailbox_id: Annotated[str, Path(min_length=1, max_length=100)],
    caller: CallerDep,
    platform: PlatformDep,
) -> LimitsStatus:
    """Configured limits and what the sender counted in the current windows."""
    mailbox = await find_visible(platform.store, caller, mailbox_id)
    now = datetime.now(UTC)
    budgets: dict[BudgetWindow, Budget] = {}
    limits: dict[BudgetWindow, int | None] = {
        "minute": mailbox.limits.per_minute,
        "day": mailbox.limits.per_day,
    }
    for window, limit in limits.items():
        start, end = window_bounds(window, now)
        doc = await platform.store.collection(SEND_BUDGETS).find_one(
            {"_id": budget_window_id(mailbox.id, window, start)}
        )
        count = doc.get("count", 0) if doc else 0
        budgets[window] = _budget(limit, count if isinstance(count, int) else 0, end)
    return LimitsStatus(mailbox_id=mailbox.id, per_minute=budgets["minute"], per_day=budgets["day"])


def _budget(limit: int | None, used: int, resets_at: datetime | None) -> Budget:
    remaining = None if limit is None else max(0, limit - used)
    return Budget(limit=limit, used=used, remaining=remaining, resets_at=resets_at)
