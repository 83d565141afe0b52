"""`/v1/contacts` and `/v1/suppressions`: what bounces did to a tenant's contacts.

The bounce service writes `contacts`, `suppressions` and `bounces`; the API
reads them and lets a user lift a suppression, which is recorded in the
contact's history (who, when, and what the suppression was).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from mailroom.api.deps import CallerDep, PlatformDep
from mailroom.api.errors import ErrorResponse, not_found
from mailroom.api.messages import json_safe
from mailroom.shared.collections import BOUNCES, CONTACTS, SUPPRESSIONS
from mailroom.shared.contracts import ContactUnsuppressed

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid API key or user."},
    404: {"model": ErrorResponse, "description": "Not known for this tenant."},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names it."},
}

router = APIRouter(tags=["contacts"], responses=ERRORS)

EmailPath = Annotated[str, Path(min_length=3, max_length=320, description="Contact address.")]


class Suppression(BaseModel):
    """An address the tenant no longer sends to, and why."""

    email: str
    reason: str | None = None
    created_at: datetime | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class SuppressionList(BaseModel):
    items: list[Suppression]
    next_after: str | None = Field(description="Pass as `after` for the next page.")


class Contact(BaseModel):
    """A contact's bounce state, suppression, recent bounces and history."""

    email: str
    state: str = Field(description="ok, soft_bouncing, hard_bounced or complained.")
    suppressed: bool
    suppression: Suppression | None
    bounces: list[dict[str, Any]] = Field(description="The 20 most recent bounces.")
    history: list[dict[str, Any]]


def normalize(email: str) -> str:
    return email.strip().lower()


def _suppression(doc: dict[str, Any]) -> Suppression:
    rest = {k: v for k, v in doc.items() if k not in {"_id", "tenant_id", "email", "reason"}}
    created_at = rest.pop("created_at", None)
    return Suppression(
        email=str(doc.get("email", "")),
        reason=None if doc.get("reason") is None else str(doc.get("reason")),
        created_at=created_at if isinstance(created_at, datetime) else None,
        details=json_safe(rest),
    )


@router.get("/v1/contacts/{email}", response_model=Contact, summary="A contact's bounce record")
async def get_contact(email: EmailPath, caller: CallerDep, platform: PlatformDep) -> Contact:
    """State, suppression, recent bounces and history of one address."""
    address = normalize(email)
    scope = {"tenant_id": caller.tenant_id, "email": address}
    contact = await platform.store.collection(CONTACTS).find_one(scope)
    suppression = await platform.store.collection(SUPPRESSIONS).find_one(scope)
    bounces = (
        await platform.store.collection(BOUNCES).find(scope).sort("occurred_at", -1).to_list(20)
    )
    if contact is None and suppression is None and not bounces:
        raise not_found("Contact")
    contact = contact or {}
    return Contact(
        email=address,
        state=str(contact.get("state") or "ok"),
        suppressed=suppression is not None,
        suppression=_suppression(suppression) if suppression else None,
        bounces=[
            json_safe({k: v for k, v in b.items() if k not in {"_id", "tenant_id"}})
            for b in bounces
        ],
        history=json_safe(list(contact.get("history") or [])),
    )


@router.get("/v1/suppressions", response_model=SuppressionList, summary="Suppressed addresses")
async def list_suppressions(
    caller: CallerDep,
    platform: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(max_length=320, description="Page cursor.")] = None,
) -> SuppressionList:
    """The tenant's suppression list in address order, a page at a time."""
    query: dict[str, Any] = {"tenant_id": caller.tenant_id}
    if after:
        query["email"] = {"$gt": normalize(after)}
    docs = (
        await platform.store.collection(SUPPRESSIONS)
        .find(query)
        .sort("email", 1)
        .to_list(limit + 1)
    )
    page = docs[:limit]
    next_after = str(page[-1]["email"]) if len(docs) > limit else None
    return SuppressionList(items=[_suppression(d) for d in page], next_after=next_after)


@router.delete(
    "/v1/suppressions/{email}",
    status_code=204,
    response_class=Response,
    summary="Lift a suppression",
)
async def delete_suppression(
    email: EmailPath, caller: CallerDep, platform: PlatformDep
) -> Response:
    """Send to this address again; the contact's history records who lifted it and why it was.

    `contact.unsuppressed` tells product services. It is published after the store
    changed: should the API stop in between, the event is missing and the address
    stays suppressed in their copies, the cautious side of the two.
    """
    address = normalize(email)
    scope = {"tenant_id": caller.tenant_id, "email": address}
    removed = await platform.store.collection(SUPPRESSIONS).find_one_and_delete(scope)
    if removed is None:
        raise not_found("Suppression")
    now = datetime.now(UTC)
    await platform.store.collection(CONTACTS).update_one(
        scope,
        {
            "$set": {"state": "ok", "updated_at": now},
            "$push": {
                "history": {
                    "at": now,
                    "action": "unsuppressed",
                    "by": caller.user,
                    "suppression_reason": removed.get("reason"),
                    "suppressed_at": removed.get("created_at"),
                }
            },
            "$setOnInsert": {"created_at": now},
        },
        upsert=True,
    )
    suppressed_at = removed.get("created_at")
    await platform.bus.publish(
        ContactUnsuppressed(
            tenant_id=caller.tenant_id,
            email=address,
            lifted_by=caller.user,
            suppression_reason=removed.get("reason"),
            suppressed_at=suppressed_at if isinstance(suppressed_at, datetime) else None,
        )
    )
    return Response(status_code=204)
