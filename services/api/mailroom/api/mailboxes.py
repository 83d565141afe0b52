"""`/v1/mailboxes`: connect, list, read, change and remove a tenant's mailboxes.

Every query filters by the caller's tenant, so another tenant's mailbox is a 404
exactly like one that does not exist. Within a tenant a mailbox is visible to
its owner and, when `shared`, to the tenant's other users; only the owner may
change or remove it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from pydantic import SecretStr

from mailroom.api.deps import Caller, CallerDep, PlatformDep, SecretsDep, SettingsDep
from mailroom.api.errors import ApiError, ErrorResponse, not_found
from mailroom.api.models import (
    MailboxCreate,
    MailboxList,
    MailboxOut,
    MailboxPatch,
    editable_view,
    mailbox_out,
    merge_patch,
)
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.contracts import MailboxConnected, MailboxDeleted, MailboxUpdated
from mailroom.shared.mailboxes import MailboxRecord, MailboxSecrets, SecretField
from mailroom.shared.mailconn.ssrf import address_kind
from mailroom.shared.store import Store

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or invalid API key or user."},
    404: {"model": ErrorResponse, "description": "No such mailbox visible to this user."},
    422: {"model": ErrorResponse, "description": "Invalid input; `field` names it."},
}

router = APIRouter(prefix="/v1/mailboxes", tags=["mailboxes"], responses=ERRORS)

MailboxId = Annotated[str, Path(min_length=1, max_length=100, description="Mailbox id.")]

_SECRET_FIELDS: dict[str, SecretField] = {
    "smtp": "smtp_password",
    "incoming": "incoming_password",
}


def now_ms() -> datetime:
    """The current time as MongoDB stores it (milliseconds), so responses match reads."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def visible_to(caller: Caller) -> dict[str, Any]:
    """The filter for mailboxes this caller may see."""
    return {"tenant_id": caller.tenant_id, "$or": [{"owner": caller.user}, {"shared": True}]}


async def find_visible(store: Store, caller: Caller, mailbox_id: str) -> MailboxRecord:
    """The mailbox, if the caller may see it; a 404 otherwise (never a 403 that leaks it)."""
    doc = await store.collection(MAILBOXES).find_one({"_id": mailbox_id, **visible_to(caller)})
    if doc is None:
        raise not_found("Mailbox")
    return MailboxRecord.model_validate(doc)


def require_owner(caller: Caller, mailbox: MailboxRecord) -> None:
    if mailbox.owner != caller.user:
        raise ApiError(
            403, "forbidden", "Only the mailbox's owner may change or remove a shared mailbox."
        )


def refuse_private_hosts(body: MailboxCreate, allow_private: bool) -> None:
    """An IP address inside our own network is refused at once (names are checked on use)."""
    if allow_private:
        return
    for section in ("smtp", "incoming"):
        settings = getattr(body, section)
        if settings is None:
            continue
        try:
            kind = address_kind(settings.host)
        except ValueError:
            continue  # a name, not an address
        if kind is not None:
            raise ApiError(
                422,
                "target_not_allowed",
                f"{settings.host} is a {kind} address; Mailroom connects only to public "
                "mail servers unless the operator allows private ones.",
                field=f"{section}.host",
            )


def settings_document(body: MailboxCreate, password_enc: dict[str, str | None]) -> dict[str, Any]:
    """The stored form of validated settings, with ciphertexts in place of passwords."""
    smtp = body.smtp.model_dump(exclude={"password"})
    smtp["username"] = smtp["username"] or body.email
    smtp["password_enc"] = password_enc.get("smtp")
    incoming: dict[str, Any] | None = None
    if body.incoming is not None:
        incoming = body.incoming.model_dump(exclude={"password"})
        incoming["username"] = incoming["username"] or body.email
        incoming["password_enc"] = password_enc.get("incoming")
    return {
        "name": body.name,
        "email": body.email.lower(),
        "display_name": body.display_name,
        "reply_to": body.reply_to,
        "reply_to_name": body.reply_to_name,
        "from_override": body.from_override.model_dump(),
        "shared": body.shared,
        "smtp": smtp,
        "incoming": incoming,
        "tls": body.tls.model_dump(),
        "limits": body.limits.model_dump(),
        "save_sent_copy": body.save_sent_copy,
    }


def encrypt_password(
    cipher: MailboxSecrets,
    tenant_id: str,
    mailbox_id: str,
    section: str,
    password: SecretStr | None,
) -> str | None:
    if password is None:
        return None
    return cipher.encrypt(
        tenant_id, mailbox_id, _SECRET_FIELDS[section], password.get_secret_value()
    )


@router.post(
    "",
    status_code=201,
    response_model=MailboxOut,
    summary="Connect a mailbox",
)
async def create_mailbox(
    body: MailboxCreate,
    caller: CallerDep,
    platform: PlatformDep,
    settings: SettingsDep,
    cipher: SecretsDep,
) -> MailboxOut:
    """Store the mailbox (passwords encrypted), publish `mailbox.connected`.

    The new mailbox is `pending` until a connection test or the first use succeeds.
    """
    refuse_private_hosts(body, settings.allow_private_targets)
    mailbox_id = f"mbx_{secrets.token_hex(12)}"
    encs = {
        "smtp": encrypt_password(cipher, caller.tenant_id, mailbox_id, "smtp", body.smtp.password),
        "incoming": encrypt_password(
            cipher,
            caller.tenant_id,
            mailbox_id,
            "incoming",
            body.incoming.password if body.incoming else None,
        ),
    }
    now = now_ms()
    record = MailboxRecord.model_validate(
        {
            "_id": mailbox_id,
            "tenant_id": caller.tenant_id,
            "owner": caller.user,
            **settings_document(body, encs),
            "auth_method": "password",
            "state": "pending",
            "created_at": now,
            "updated_at": now,
        }
    )
    await platform.store.collection(MAILBOXES).insert_one(record.model_dump(by_alias=True))
    await platform.bus.publish(MailboxConnected(tenant_id=caller.tenant_id, mailbox_id=mailbox_id))
    return mailbox_out(record)


@router.get("", response_model=MailboxList, summary="List the mailboxes this user can use")
async def list_mailboxes(caller: CallerDep, platform: PlatformDep) -> MailboxList:
    """The caller's own mailboxes and the tenant's shared ones, oldest first."""
    cursor = platform.store.collection(MAILBOXES).find(visible_to(caller)).sort("created_at", 1)
    docs = await cursor.to_list(1000)
    return MailboxList(items=[mailbox_out(MailboxRecord.model_validate(d)) for d in docs])


@router.get("/{mailbox_id}", response_model=MailboxOut, summary="Read one mailbox")
async def get_mailbox(
    mailbox_id: MailboxId, caller: CallerDep, platform: PlatformDep
) -> MailboxOut:
    """Settings (without secrets), state, last success and last error."""
    return mailbox_out(await find_visible(platform.store, caller, mailbox_id))


@router.patch(
    "/{mailbox_id}",
    response_model=MailboxOut,
    summary="Change a mailbox",
    responses={403: {"model": ErrorResponse, "description": "Not the mailbox's owner."}},
)
async def update_mailbox(
    mailbox_id: MailboxId,
    body: MailboxPatch,
    caller: CallerDep,
    platform: PlatformDep,
    settings: SettingsDep,
    cipher: SecretsDep,
) -> MailboxOut:
    """Change the given fields, publish `mailbox.updated` naming them.

    A password is replaced when given, removed when `null`, kept when absent.
    """
    record = await find_visible(platform.store, caller, mailbox_id)
    require_owner(caller, record)
    patch = body.model_dump(exclude_unset=True)
    new_passwords: dict[str, SecretStr | None] = {}
    for section in ("smtp", "incoming"):
        section_patch = patch.get(section)
        if isinstance(section_patch, dict) and "password" in section_patch:
            new_passwords[section] = section_patch.pop("password")
    before = editable_view(record)
    merged = MailboxCreate.model_validate(merge_patch(before, patch))
    refuse_private_hosts(merged, settings.allow_private_targets)

    encs: dict[str, str | None] = {
        "smtp": record.smtp.password_enc if record.smtp else None,
        "incoming": record.incoming.password_enc if record.incoming else None,
    }
    for section, password in new_passwords.items():
        encs[section] = encrypt_password(cipher, caller.tenant_id, mailbox_id, section, password)
    document = settings_document(merged, encs)
    changed = changed_fields(
        before,
        editable_view(
            MailboxRecord.model_validate({**record.model_dump(by_alias=True), **document})
        ),
    )
    changed += [f"{section}.password" for section in new_passwords]
    if not changed:
        return mailbox_out(record)
    document["updated_at"] = now_ms()
    updated = await platform.store.collection(MAILBOXES).find_one_and_update(
        {"_id": mailbox_id, "tenant_id": caller.tenant_id},
        {"$set": document},
        return_document=True,
    )
    if updated is None:  # removed meanwhile
        raise not_found("Mailbox")
    await platform.bus.publish(
        MailboxUpdated(tenant_id=caller.tenant_id, mailbox_id=mailbox_id, changed=sorted(changed))
    )
    return mailbox_out(MailboxRecord.model_validate(updated))


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Dotted names of the settings that differ (nested objects compared by field)."""
    changed: list[str] = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            changed += [
                f"{key}.{sub}"
                for sub in sorted(set(old) | set(new))
                if old.get(sub) != new.get(sub)
            ]
        elif old != new:
            changed.append(key)
    return changed


@router.delete(
    "/{mailbox_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a mailbox",
    responses={403: {"model": ErrorResponse, "description": "Not the mailbox's owner."}},
)
async def delete_mailbox(
    mailbox_id: MailboxId, caller: CallerDep, platform: PlatformDep
) -> Response:
    """Remove the mailbox and its secrets; publish `mailbox.deleted` so services stop using it."""
    record = await find_visible(platform.store, caller, mailbox_id)
    require_owner(caller, record)
    result = await platform.store.collection(MAILBOXES).delete_one(
        {"_id": mailbox_id, "tenant_id": caller.tenant_id}
    )
    if result.deleted_count:
        await platform.bus.publish(
            MailboxDeleted(tenant_id=caller.tenant_id, mailbox_id=mailbox_id)
        )
    return Response(status_code=204)
