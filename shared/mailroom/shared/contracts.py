"""Every message that crosses the bus: one versioned, typed model per routing key.

This module is the contract between Mailroom's services and the product services
around them. Each message body is JSON and carries `schema` = `{"name", "version"}`;
the name is also the routing key on the `mailroom` topic exchange. Within a version,
changes only add optional fields, and consumers ignore fields they do not know, so
producers can upgrade first. JSON Schemas exported from these models live in
`schemas/` at the repository root (`mailroom schemas export`); a test fails when
they drift from the code.

Naming: commands are imperative (`SendEmail`), events are past-tense facts
(`EmailSent`, `ContactBounced`).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mailroom.shared.errors import InvalidMessage
from mailroom.shared.logs import current_trace_id

MailboxState = Literal[
    "pending", "connected", "degraded", "auth_failed", "needs_attention", "disabled"
]
BounceKind = Literal["hard", "soft", "unknown"]
FailureReason = Literal["suppressed", "rejected", "invalid", "auth_failed", "retries_exhausted"]

# Tenant and mailbox ids are opaque strings chosen by Mailroom; keep them printable.
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


def _now() -> datetime:
    return datetime.now(UTC)


def _new_event_id() -> str:
    return uuid.uuid4().hex


def message_id_for(tenant_id: str, idempotency_key: str) -> str:
    """Mailroom's id for a send request: the same request always gets the same id.

    Derived, not random, so a producer that publishes twice, or the API and the bus
    seeing the same request, agree on one message without a lookup.
    """
    digest = hashlib.sha256(f"{tenant_id}\x00{idempotency_key}".encode()).hexdigest()
    return f"msg_{digest[:26]}"


class SchemaRef(BaseModel):
    """Which contract a body follows."""

    model_config = ConfigDict(frozen=True)

    name: str
    version: int = Field(ge=1)


class Message(BaseModel):
    """Fields every message carries. Subclasses set the three class variables."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    SCHEMA_NAME: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1
    ROUTING_KEY: ClassVar[str]

    # Filled from the class by `_fill_schema_and_trace` when a producer omits it; the
    # default only exists so type checkers see the argument as optional.
    schema_ref: SchemaRef = Field(
        default=SchemaRef(name="", version=1),
        alias="schema",
        description="Contract name (also the routing key) and version.",
    )
    event_id: str = Field(
        default_factory=_new_event_id,
        min_length=1,
        max_length=100,
        description="Unique per message; logs of every service that handles it carry it.",
    )
    trace_id: str | None = Field(
        default=None,
        max_length=100,
        description="The event id of the first message in the chain that caused this one.",
    )
    occurred_at: datetime = Field(default_factory=_now)

    @model_validator(mode="before")
    @classmethod
    def _fill_schema_and_trace(cls, data: Any) -> Any:
        if isinstance(data, dict):
            if "schema" not in data and "schema_ref" not in data:
                data = {**data, "schema": {"name": cls.SCHEMA_NAME, "version": cls.SCHEMA_VERSION}}
            if data.get("trace_id") is None:
                data = {**data, "trace_id": current_trace_id.get()}
        return data

    @field_validator("schema_ref")
    @classmethod
    def _schema_matches(cls, value: SchemaRef) -> SchemaRef:
        if value.name != cls.SCHEMA_NAME or value.version != cls.SCHEMA_VERSION:
            raise ValueError(
                f"expected schema {cls.SCHEMA_NAME} v{cls.SCHEMA_VERSION}, "
                f"got {value.name} v{value.version}"
            )
        return value

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


# --------------------------------------------------------------------------- sending


class Address(BaseModel):
    """A mailbox address with an optional display name."""

    model_config = ConfigDict(frozen=True)

    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s<>]+@[^@\s<>]+$")
    name: str | None = Field(default=None, max_length=300)


class SendEmail(Message):
    """Command: deliver one message through a tenant's mailbox.

    Published by product services (or by the API's `POST /v1/messages`). The
    `idempotency_key` is unique per tenant: publishing the same request twice
    sends it once. `contact` supplies the sender address and name when the mailbox
    overrides FROM with contact fields. `metadata` is echoed back unchanged in
    every result event. Header values must not contain CR or LF (the message
    then fails as `invalid`).
    """

    SCHEMA_NAME: ClassVar[str] = "email.send.requested"
    ROUTING_KEY: ClassVar[str] = "email.send.requested"

    idempotency_key: str = Field(min_length=1, max_length=200)
    tenant_id: Id
    mailbox_id: Id
    to: list[Address] = Field(min_length=1, max_length=100)
    cc: list[Address] = Field(default_factory=list, max_length=100)
    bcc: list[Address] = Field(default_factory=list, max_length=100)
    subject: str = Field(default="", max_length=998)
    text: str | None = None
    html: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, max_length=50)
    list_unsubscribe: str | None = Field(
        default=None, description="List-Unsubscribe value, e.g. '<https://…>, <mailto:…>'."
    )
    list_unsubscribe_one_click: bool = Field(
        default=False, description="Add 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'."
    )
    contact: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @cached_property
    def message_id(self) -> str:
        """Mailroom's id of this request (derived, see `message_id_for`); computed once."""
        return message_id_for(self.tenant_id, self.idempotency_key)


class _SendOutcome(Message):
    tenant_id: Id
    mailbox_id: Id
    message_id: str = Field(description="Mailroom's id of the send request.")
    idempotency_key: str
    metadata: dict[str, Any] = Field(default_factory=dict)


class EmailSent(_SendOutcome):
    """Event: the mailbox's SMTP server accepted the message."""

    SCHEMA_NAME: ClassVar[str] = "email.sent"
    ROUTING_KEY: ClassVar[str] = "email.sent"

    message_id_header: str = Field(description="The Message-ID header, with angle brackets.")
    smtp_reply: str = Field(description="The server's reply to the end of DATA.")
    accepted: list[str] = Field(default_factory=list, description="Recipients the server took.")
    rejected: list[str] = Field(default_factory=list, description="Recipients refused with 5xx.")
    sent_at: datetime = Field(default_factory=_now)
    sent_folder_uid: int | None = Field(
        default=None, description="APPENDUID of the copy saved to the Sent folder, if any."
    )


class EmailDeferred(_SendOutcome):
    """Event: a transient failure; Mailroom will try again at `next_attempt_at`."""

    SCHEMA_NAME: ClassVar[str] = "email.deferred"
    ROUTING_KEY: ClassVar[str] = "email.deferred"

    attempt: int = Field(ge=1)
    next_attempt_at: datetime
    detail: str
    smtp_code: int | None = None
    enhanced_status: str | None = None


class EmailFailed(_SendOutcome):
    """Event: the message will not be sent, and why."""

    SCHEMA_NAME: ClassVar[str] = "email.failed"
    ROUTING_KEY: ClassVar[str] = "email.failed"

    reason: FailureReason
    detail: str
    smtp_code: int | None = None
    enhanced_status: str | None = None
    recipients: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- incoming mail


class MailLocation(BaseModel):
    """Where a message sits in a mailbox, precisely enough to delete just that one."""

    model_config = ConfigDict(frozen=True)

    protocol: Literal["imap", "pop3"]
    folder: str | None = None
    uidvalidity: int | None = None
    uid: int | None = None
    pop3_uidl: str | None = None


class BounceReceived(Message):
    """Event: something that may be a bounce, for the bounce service to classify.

    Either a message found in a mailbox (`source="mailbox"`, with the raw bytes
    base64-encoded in `raw_b64`, or `raw_ref` naming a stored copy when large),
    or a recipient refused during the sender's own SMTP dialogue
    (`source="smtp"`, with the reply).
    """

    SCHEMA_NAME: ClassVar[str] = "email.bounce.received"
    ROUTING_KEY: ClassVar[str] = "email.bounce.received"

    tenant_id: Id
    mailbox_id: Id
    source: Literal["mailbox", "smtp"]
    raw_b64: str | None = None
    raw_ref: str | None = None
    location: MailLocation | None = None
    recipient: str | None = None
    smtp_code: int | None = None
    enhanced_status: str | None = None
    diagnostic: str | None = None
    message_id: str | None = Field(default=None, description="The send that bounced, if known.")


class BounceProcessed(Message):
    """Event: the bounce service's verdict on a mailbox message.

    The watcher deletes the message (when the mailbox asks for it) only if
    `is_bounce` is true, using `location`.
    """

    SCHEMA_NAME: ClassVar[str] = "email.bounce.processed"
    ROUTING_KEY: ClassVar[str] = "email.bounce.processed"

    tenant_id: Id
    mailbox_id: Id
    location: MailLocation | None = None
    is_bounce: bool
    category: Literal["bounce", "delivered", "vacation", "feedback", "reply", "unknown"] = Field(
        description="What the message is: a bounce, a delivery report, an auto-reply "
        "(vacation), a complaint (ARF feedback), a reply, or unreadable."
    )


class ContactBounced(Message):
    """Event: a bounce was recorded against a contact, and what was decided."""

    SCHEMA_NAME: ClassVar[str] = "contact.bounced"
    ROUTING_KEY: ClassVar[str] = "contact.bounced"

    tenant_id: Id
    email: str
    kind: BounceKind
    reason: str
    status: str | None = None
    smtp_code: int | None = None
    diagnostic: str | None = None
    message_id: str | None = Field(default=None, description="The send that bounced, if known.")
    mailbox_id: str | None = None
    suppressed: bool = Field(description="The address is now on the tenant's suppression list.")
    contact_state: Literal["ok", "soft_bouncing", "hard_bounced", "complained"]


class ContactComplained(Message):
    """Event: a recipient reported a message as spam (an RFC 5965 feedback report).

    The address is suppressed: mailing someone who complained hurts the sender's
    reputation more than any bounce.
    """

    SCHEMA_NAME: ClassVar[str] = "contact.complained"
    ROUTING_KEY: ClassVar[str] = "contact.complained"

    tenant_id: Id
    email: str
    feedback_type: str = Field(description="`abuse`, `fraud`, `virus`, `other`, ...")
    message_id: str | None = Field(default=None, description="The send complained about.")
    mailbox_id: str | None = None
    suppressed: bool


class ContactUnsuppressed(Message):
    """Event: someone lifted an address's suppression (`DELETE /v1/suppressions/{email}`).

    Mailroom sends to the address again; product services that keep their own copy
    of the suppression list should drop it there too.
    """

    SCHEMA_NAME: ClassVar[str] = "contact.unsuppressed"
    ROUTING_KEY: ClassVar[str] = "contact.unsuppressed"

    tenant_id: Id
    email: str
    lifted_by: str = Field(description="The API user who lifted it.")
    suppression_reason: str | None = Field(
        default=None, description="Why the address had been suppressed (e.g. `hard_bounce`)."
    )
    suppressed_at: datetime | None = None


class ReplyReceived(Message):
    """Event: a message answering one Mailroom sent arrived in the mailbox."""

    SCHEMA_NAME: ClassVar[str] = "email.reply.received"
    ROUTING_KEY: ClassVar[str] = "email.reply.received"

    tenant_id: Id
    mailbox_id: Id
    message_id: str = Field(description="Mailroom's id of the message being answered.")
    reply_message_id_header: str | None = None
    from_email: str | None = None
    from_name: str | None = None
    subject: str = ""
    snippet: str = Field(default="", max_length=500)
    folder: str
    auto_reply: bool = Field(description="An out-of-office or other automatic answer.")
    received_at: datetime = Field(default_factory=_now)


# --------------------------------------------------------------------------- mailboxes


class _MailboxEvent(Message):
    tenant_id: Id
    mailbox_id: Id


class MailboxConnected(_MailboxEvent):
    """Event: a mailbox was created (or re-connected through OAuth)."""

    SCHEMA_NAME: ClassVar[str] = "mailbox.connected"
    ROUTING_KEY: ClassVar[str] = "mailbox.connected"


class MailboxUpdated(_MailboxEvent):
    """Event: a mailbox's settings or credentials changed."""

    SCHEMA_NAME: ClassVar[str] = "mailbox.updated"
    ROUTING_KEY: ClassVar[str] = "mailbox.updated"

    changed: list[str] = Field(default_factory=list, description="Names of changed fields.")


class MailboxDeleted(_MailboxEvent):
    """Event: a mailbox was removed; stop using it."""

    SCHEMA_NAME: ClassVar[str] = "mailbox.deleted"
    ROUTING_KEY: ClassVar[str] = "mailbox.deleted"


class MailboxStateChanged(_MailboxEvent):
    """Event: a mailbox moved between states (e.g. `connected` → `auth_failed`)."""

    SCHEMA_NAME: ClassVar[str] = "mailbox.state_changed"
    ROUTING_KEY: ClassVar[str] = "mailbox.state_changed"

    old_state: MailboxState | None = None
    new_state: MailboxState
    error_code: str | None = None
    error_message: str | None = None


class OAuthTokenRefreshed(_MailboxEvent):
    """Event: a mailbox's OAuth access token was renewed before it expired."""

    SCHEMA_NAME: ClassVar[str] = "oauth.token.refreshed"
    ROUTING_KEY: ClassVar[str] = "oauth.token.refreshed"

    expires_at: datetime


class OAuthTokenRefreshFailed(_MailboxEvent):
    """Event: renewing a token failed; `permanent` means the user must reconnect."""

    SCHEMA_NAME: ClassVar[str] = "oauth.token.refresh_failed"
    ROUTING_KEY: ClassVar[str] = "oauth.token.refresh_failed"

    permanent: bool
    error: str


# --------------------------------------------------------------------------- registry

MESSAGE_TYPES: tuple[type[Message], ...] = (
    SendEmail,
    EmailSent,
    EmailDeferred,
    EmailFailed,
    BounceReceived,
    BounceProcessed,
    ContactBounced,
    ContactComplained,
    ContactUnsuppressed,
    ReplyReceived,
    MailboxConnected,
    MailboxUpdated,
    MailboxDeleted,
    MailboxStateChanged,
    OAuthTokenRefreshed,
    OAuthTokenRefreshFailed,
)
MESSAGE_TYPES_BY_NAME: dict[str, type[Message]] = {t.SCHEMA_NAME: t for t in MESSAGE_TYPES}

MessageT = TypeVar("MessageT", bound=Message)


def parse_message(body: bytes, expected: type[MessageT]) -> MessageT:
    """Validate a body against its contract, or raise `InvalidMessage` saying why."""
    try:
        return expected.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:10]
        )
        raise InvalidMessage(f"{expected.SCHEMA_NAME}: {problems}") from None


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema (draft 2020-12) of every message, keyed by file name."""
    schemas: dict[str, dict[str, Any]] = {}
    for message_type in MESSAGE_TYPES:
        schema = message_type.model_json_schema(by_alias=True, mode="validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = (
            f"https://mailroom.dev/schemas/{message_type.SCHEMA_NAME}.v{message_type.SCHEMA_VERSION}.json"
        )
        schema["title"] = message_type.__name__
        schema["x-routing-key"] = message_type.ROUTING_KEY
        # Pin the schema ref so producers in other languages validate name and version.
        schema["properties"]["schema"] = {
            "type": "object",
            "properties": {
                "name": {"const": message_type.SCHEMA_NAME},
                "version": {"const": message_type.SCHEMA_VERSION},
            },
            "required": ["name", "version"],
        }
        schema.setdefault("required", [])
        if "schema" not in schema["required"]:
            schema["required"].insert(0, "schema")
        name = f"{message_type.SCHEMA_NAME}.v{message_type.SCHEMA_VERSION}.json"
        schemas[name] = schema
    return schemas


def export_json_schemas(directory: Path) -> list[Path]:
    """Write every schema into `directory` (stable formatting, for diffs)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in json_schemas().items():
        path = directory / name
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        written.append(path)
    return written
