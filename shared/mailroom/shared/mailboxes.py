"""A connected mailbox as stored in MongoDB, and the one way its state changes.

The API writes mailbox documents; the sender, watcher and OAuth refresher read
them. Secrets (passwords, tokens) are stored only as envelope ciphertexts bound
to their tenant, mailbox and field (`secret_context`), and decrypted at the
moment of use by `MailboxSecrets`.

State rules, the same everywhere: only a server that *rejected the credentials*
moves a mailbox to `auth_failed`; timeouts, refused connections and server
errors make it `degraded`; the next success makes it `connected` again and
clears the error. Each change is published as `mailbox.state_changed`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mailroom.shared.bus import Bus
from mailroom.shared.collections import MAILBOXES
from mailroom.shared.contracts import MailboxState, MailboxStateChanged
from mailroom.shared.crypto import EnvelopeCipher
from mailroom.shared.store import Store

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]
IncomingProtocol = Literal["imap", "pop3"]
AuthMethod = Literal["password", "oauth2"]
OAuthProvider = Literal["google", "microsoft"]
SecretField = Literal[
    "smtp_password", "incoming_password", "oauth_access_token", "oauth_refresh_token"
]


def secret_context(tenant_id: str, mailbox_id: str, field: SecretField) -> str:
    """Binds a ciphertext to its record and field, so it cannot be moved elsewhere."""
    return f"tenant:{tenant_id}/mailbox:{mailbox_id}/{field}"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class SmtpSettings(_Doc):
    host: str
    port: int
    security: Security = "starttls"
    authenticate: bool = True
    username: str | None = None
    password_enc: str | None = None


class IncomingSettings(_Doc):
    protocol: IncomingProtocol = "imap"
    host: str
    port: int
    security: Security = "ssl"
    username: str | None = None
    password_enc: str | None = None
    batch_size: int = 50
    delete_processed_bounces: bool = False


class TlsTrust(_Doc):
    verify: bool = True
    ca_pem: str | None = None


class SendingLimits(_Doc):
    per_minute: int | None = None
    per_day: int | None = None


class FromOverride(_Doc):
    """Names of contact fields that supply the sender per recipient."""

    address_field: str | None = None
    name_field: str | None = None


class OAuthGrant(_Doc):
    provider: OAuthProvider
    access_token_enc: str
    refresh_token_enc: str | None = None
    expires_at: datetime
    scope: str | None = None


class MailboxRecord(_Doc):
    """The stored mailbox (collection `mailboxes`)."""

    id: str = Field(alias="_id")
    tenant_id: str
    owner: str
    shared: bool = False
    name: str
    email: str
    display_name: str | None = None
    reply_to: str | None = None
    reply_to_name: str | None = None
    from_override: FromOverride = Field(default_factory=FromOverride)
    auth_method: AuthMethod = "password"
    smtp: SmtpSettings | None = None
    incoming: IncomingSettings | None = None
    tls: TlsTrust = Field(default_factory=TlsTrust)
    limits: SendingLimits = Field(default_factory=SendingLimits)
    oauth: OAuthGrant | None = None
    save_sent_copy: bool = False
    state: MailboxState = "pending"
    last_success_at: datetime | None = None
    last_error_code: str | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


class MailboxSecrets:
    """Decrypts a mailbox's secrets at the moment of use; never caches them."""

    def __init__(self, cipher: EnvelopeCipher) -> None:
        self._cipher = cipher

    def encrypt(self, tenant_id: str, mailbox_id: str, field: SecretField, value: str) -> str:
        return self._cipher.encrypt(value, context=secret_context(tenant_id, mailbox_id, field))

    def decrypt(self, mailbox: MailboxRecord, field: SecretField) -> str | None:
        token: str | None
        if field == "smtp_password":
            token = mailbox.smtp.password_enc if mailbox.smtp else None
        elif field == "incoming_password":
            token = mailbox.incoming.password_enc if mailbox.incoming else None
        elif field == "oauth_access_token":
            token = mailbox.oauth.access_token_enc if mailbox.oauth else None
        else:
            token = mailbox.oauth.refresh_token_enc if mailbox.oauth else None
        if token is None:
            return None
        context = secret_context(mailbox.tenant_id, mailbox.id, field)
        return self._cipher.decrypt(token, context=context).decode()


async def load_mailbox(store: Store, mailbox_id: str) -> MailboxRecord | None:
    doc = await store.collection(MAILBOXES).find_one({"_id": mailbox_id})
    return MailboxRecord.model_validate(doc) if doc else None


async def record_success(store: Store, bus: Bus, mailbox: MailboxRecord) -> MailboxState:
    """A connection worked: clear the error, and leave any failure state."""
    now = datetime.now(UTC)
    update: dict[str, Any] = {"last_success_at": now}
    new_state: MailboxState = mailbox.state
    if mailbox.state in ("pending", "degraded", "auth_failed", "needs_attention"):
        new_state = "connected"
        update |= {"state": new_state, "last_error_code": None, "last_error": None}
    await _apply(store, bus, mailbox, update, new_state, None, None)
    return new_state


async def record_failure(
    store: Store,
    bus: Bus,
    mailbox: MailboxRecord,
    *,
    code: str,
    message: str,
    credentials_rejected: bool = False,
    needs_attention: bool = False,
) -> MailboxState:
    """A connection failed. Only a rejection of the credentials means `auth_failed`."""
    if mailbox.state == "disabled":
        new_state: MailboxState = "disabled"
    elif credentials_rejected:
        new_state = "auth_failed"
    elif needs_attention:
        new_state = "needs_attention"
    else:
        new_state = "degraded"
    update: dict[str, Any] = {
        "state": new_state,
        "last_error_code": code,
        "last_error": message[:500],
        "last_error_at": datetime.now(UTC),
    }
    await _apply(store, bus, mailbox, update, new_state, code, message)
    return new_state


async def _apply(
    store: Store,
    bus: Bus,
    mailbox: MailboxRecord,
    update: dict[str, Any],
    new_state: MailboxState,
    code: str | None,
    message: str | None,
) -> None:
    # Compare-and-set on the old state: when two replicas race, one publishes the change.
    result = await store.collection(MAILBOXES).update_one(
        {"_id": mailbox.id, "tenant_id": mailbox.tenant_id, "state": mailbox.state},
        {"$set": update},
    )
    if new_state == mailbox.state or result.modified_count == 0:
        return
    await announce_state_change(bus, mailbox, new_state, code, message)


async def announce_state_change(
    bus: Bus,
    mailbox: MailboxRecord,
    new_state: MailboxState,
    code: str | None = None,
    message: str | None = None,
    *,
    by: str | None = None,
) -> None:
    """Log and publish `mailbox.state_changed` for a change already stored (`mailbox` is
    the record as it was before; `by`: the user who made the change, if one did)."""
    extra: dict[str, Any] = {
        "mailbox_id": mailbox.id,
        "old_state": mailbox.state,
        "new_state": new_state,
    }
    if by is not None:
        extra["by"] = by
    log.info("mailbox state changed", extra=extra)
    await bus.publish(
        MailboxStateChanged(
            tenant_id=mailbox.tenant_id,
            mailbox_id=mailbox.id,
            old_state=mailbox.state,
            new_state=new_state,
            error_code=code,
            error_message=message[:500] if message else None,
        )
    )
