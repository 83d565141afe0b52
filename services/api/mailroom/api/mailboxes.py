"""`/v1/mailboxes`: connect, list, read, change and remove a tenant's mailboxes.

Every query filters by the caller's tenant, so another tenant's mailbox is a 404
exactly like one that does not exist. Within a tenant a mailbox is visible to
its owner and, when `shared`, to the tenant's other users; only the owner may
change, pause or remove it.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import SecretStr

from mailroom.api.deps import Caller, CallerDep, PlatformDep, SecretsDep, SettingsDep
from mailroom.api.errors import ApiError, ErrorResponse, not_found
from mailroom.api.models import (
    DisabledOut,
    MailboxCreate,
    MailboxDisable,
    MailboxList,
    MailboxOut,
    MailboxPatch,
    editable_view,
    mailbox_out,
    merge_patch,
)
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.contracts import (
    MailboxConnected,
    MailboxDeleted,
    MailboxState,
    MailboxUpdated,
)
from mailroom.shared.mailboxes import (
    MailboxRecord,
    MailboxSecrets,
    SecretField,
    announce_state_change,
)
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


async def find_visible_doc(store: Store, caller: Caller, mailbox_id: str) -> dict[str, Any]:
    """The stored document, if the caller may see it; a 404 otherwise (never a 403)."""
    doc: dict[str, Any] | None = await store.collection(MAILBOXES).find_one(
        {"_id": mailbox_id, **visible_to(caller)}
    )
    if doc is None:
        raise not_found("Mailbox")
    return doc


async def find_visible(store: Store, caller: Caller, mailbox_id: str) -> MailboxRecord:
    """The mailbox, if the caller may see it; a 404 otherwise (never a 403 that leaks it)."""
    return MailboxRecord.model_validate(await find_visible_doc(store, caller, mailbox_id))


def disabled_note(doc: dict[str, Any]) -> DisabledOut | None:
    """Who paused the mailbox, stored beside the record by `disable_mailbox`."""
    note = doc.get("disabled")
    return DisabledOut.model_validate(note) if isinstance(note, dict) else None


def mailbox_view(doc: dict[str, Any]) -> MailboxOut:
    """The response for a stored document, with the pause note when there is one."""
    return mailbox_out(MailboxRecord.model_validate(doc), disabled_note(doc))


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
    return MailboxList(items=[mailbox_view(d) for d in docs])


@router.get("/{mailbox_id}", response_model=MailboxOut, summary="Read one mailbox")
async def get_mailbox(
    mailbox_id: MailboxId, caller: CallerDep, platform: PlatformDep
) -> MailboxOut:
    """Settings (without secrets), state, last success and last error."""
    return mailbox_view(await find_visible_doc(platform.store, caller, mailbox_id))


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
    doc = await find_visible_doc(platform.store, caller, mailbox_id)
    record = MailboxRecord.model_validate(doc)
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
        return mailbox_view(doc)
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
    return mailbox_view(updated)


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


# How often a pause or resume re-reads the mailbox when its state moved under it (a
# connection test or a service recording a failure at the same moment).
_STATE_ATTEMPTS = 5

_OWNER_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Not the mailbox's owner."}
}


def state_conflict() -> ApiError:
    return ApiError(
        409, "conflict", "The mailbox's state kept changing while it was updated; try again."
    )


@router.post(
    "/{mailbox_id}/disable",
    response_model=MailboxOut,
    summary="Pause a mailbox",
    responses={
        **_OWNER_ONLY,
        409: {"model": ErrorResponse, "description": "The state kept changing; try again."},
    },
)
async def disable_mailbox(
    mailbox_id: MailboxId,
    caller: CallerDep,
    platform: PlatformDep,
    body: Annotated[MailboxDisable | None, Body()] = None,
) -> MailboxOut:
    """Make the mailbox `disabled` from any state; publish `mailbox.state_changed`.

    Only the owner may pause a mailbox, as only the owner may change or remove
    it: a shared mailbox's other users get a `403`. While disabled the sender
    holds its messages, the watcher stops reading it and OAuth tokens are not
    renewed. Who paused it, when and why is shown as `disabled`. Disabling a
    disabled mailbox changes nothing (not even the reason) and publishes nothing.
    """
    reason = body.reason if body is not None else None
    for _ in range(_STATE_ATTEMPTS):
        doc = await find_visible_doc(platform.store, caller, mailbox_id)
        record = MailboxRecord.model_validate(doc)
        require_owner(caller, record)
        if record.state == "disabled":
            return mailbox_view(doc)
        now = now_ms()
        # The state it leaves is kept so that enabling can go back to it.
        note = {"at": now, "by": caller.user, "reason": reason, "previous_state": record.state}
        # Compare-and-set on the state read above, like `_apply`: if a test or a service
        # moved it meanwhile, the note would name the wrong previous state, so read again.
        updated = await platform.store.collection(MAILBOXES).find_one_and_update(
            {"_id": record.id, "tenant_id": caller.tenant_id, "state": record.state},
            {"$set": {"state": "disabled", "disabled": note, "updated_at": now}},
            return_document=True,
        )
        if updated is None:
            continue
        await announce_state_change(platform.bus, record, "disabled", by=caller.user)
        return mailbox_view(updated)
    raise state_conflict()


def resume_update(record: MailboxRecord, note: DisabledOut | None, now: datetime) -> dict[str, Any]:
    """The fields to set when a pause ends, above all the state to go back to.

    Enabling proves nothing about the connection, so the mailbox goes back to
    the state it was paused in (`pending`, the state of a new mailbox, when that
    is unknown) rather than to `connected`. The one exception is a connection
    test that passed while the mailbox was disabled: that is proof.
    """
    paused_at = note.at if note is not None else None
    if (
        paused_at is not None
        and record.last_success_at is not None
        and record.last_success_at > paused_at
        and (record.last_error_at is None or record.last_success_at > record.last_error_at)
    ):
        # What `record_success` would have done had the mailbox not been disabled.
        return {
            "state": "connected",
            "last_error_code": None,
            "last_error": None,
            "updated_at": now,
        }

    previous = note.previous_state if note is not None else None
    state: MailboxState = previous if previous not in (None, "disabled") else "pending"
    update: dict[str, Any] = {"state": state, "updated_at": now}
    changed_while_paused = (
        paused_at is not None and record.updated_at is not None and record.updated_at > paused_at
    )
    if state == "auth_failed" and not changed_while_paused:
        # The sender keeps holding an `auth_failed` mailbox's messages until the mailbox
        # is changed after the failure (`updated_at > last_error_at`). Pausing and
        # resuming fixes no credentials, so the failure is carried forward to now;
        # a change made while paused (a new password, an OAuth reconnect) still counts.
        update["last_error_at"] = now
    return update


@router.post(
    "/{mailbox_id}/enable",
    response_model=MailboxOut,
    summary="Resume a paused mailbox",
    responses={
        **_OWNER_ONLY,
        409: {"model": ErrorResponse, "description": "The mailbox is not disabled."},
    },
)
async def enable_mailbox(
    mailbox_id: MailboxId, caller: CallerDep, platform: PlatformDep
) -> MailboxOut:
    """End a pause; publish `mailbox.state_changed` so the services use the mailbox again.

    Only the owner may enable it (a shared mailbox's other users get a `403`),
    and only a `disabled` mailbox (`409` otherwise). The mailbox returns to the
    state it was paused in, e.g. still `auth_failed` if its login was refused;
    it becomes `connected` only if a connection test passed while it was
    disabled. Run `POST /v1/mailboxes/{id}/test` to check it now.
    """
    for _ in range(_STATE_ATTEMPTS):
        doc = await find_visible_doc(platform.store, caller, mailbox_id)
        record = MailboxRecord.model_validate(doc)
        require_owner(caller, record)
        if record.state != "disabled":
            raise ApiError(
                409,
                "mailbox_not_disabled",
                f"The mailbox is not disabled (its state is {record.state}); "
                "only a disabled mailbox can be enabled.",
            )
        update = resume_update(record, disabled_note(doc), now_ms())
        # Compare-and-set on the state and on `updated_at`: the new state was chosen
        # from this version of the mailbox (was it changed while paused?).
        updated = await platform.store.collection(MAILBOXES).find_one_and_update(
            {
                "_id": record.id,
                "tenant_id": caller.tenant_id,
                "state": "disabled",
                "updated_at": doc.get("updated_at"),
            },
            {"$set": update, "$unset": {"disabled": ""}},
            return_document=True,
        )
        if updated is None:
            continue
        new_state: MailboxState = update["state"]
        failing = new_state in ("degraded", "auth_failed", "needs_attention")
        await announce_state_change(
            platform.bus,
            record,
            new_state,
            record.last_error_code if failing else None,
            record.last_error if failing else None,
            by=caller.user,
        )
        return mailbox_view(updated)
    raise state_conflict()
